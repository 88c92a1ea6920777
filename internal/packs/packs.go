// Package packs is easel's built-in pack catalog.
//
// A pack is one versioned layer of a cluster profile: an operating system, a Kubernetes
// distribution, a network (CNI) or storage (CSI) plugin, or an add-on. Each pack version is a
// directory catalog/<name>/<version>/ embedded in the binary, holding
//
//   - pack.yaml: name, displayName, layer, version, cloudTypes, addonType and description;
//   - values.yaml: the default values, a YAML mapping;
//   - manifests/*.yaml: Kubernetes manifests written as Go text/templates over .Values (the
//     defaults with the user's values merged over them) and .Pack (Name, Version, UID).
//
// The catalog is served as the single pack registry "easel-builtin" (see RegistryUID).
package packs

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	v1 "github.com/easelhq/easel/api/v1"
)

//go:embed catalog
var catalogFS embed.FS

// Pack is one version of a pack.
type Pack struct {
	// UID is stable across builds and installations: see PackUID.
	UID         string
	Name        string
	DisplayName string
	// Layer is one of Layers().
	Layer   string
	Version string
	// AddonType classifies the pack the way Palette does ("cni", "csi", "monitoring", "system app"
	// ...); empty for the os and k8s layers.
	AddonType   string
	Description string
	// CloudTypes are the environments the pack suits; "all" means any.
	CloudTypes []string
	// Values is the raw default values YAML.
	Values string
	// Manifests are ordered by name; apply them in that order.
	Manifests []Manifest
}

// Manifest is one template file of a pack.
type Manifest struct {
	// Name is the file name without its .yaml extension.
	Name string
	// Content is the text/template source.
	Content string
}

var layers = []string{v1.PackLayerOS, v1.PackLayerK8s, v1.PackLayerCNI, v1.PackLayerCSI, v1.PackLayerAddon}

// Layers returns the pack layers from the bottom of a cluster profile to its top.
func Layers() []string { return slices.Clone(layers) }

// LayerOrder returns the position of layer in Layers(), and false if layer is not a layer.
func LayerOrder(layer string) (int, bool) {
	i := slices.Index(layers, layer)
	return i, i >= 0
}

// PackUID returns the UID of pack version name/version: the first 24 hex digits of the SHA-256 of
// "name/version", the same shape as Palette's object UIDs.
func PackUID(name, version string) string {
	return hash24(name + "/" + version)
}

func hash24(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:24]
}

// Catalog is an immutable set of packs. Its methods are safe for concurrent use; the packs they
// return share no mutable state with it.
type Catalog struct {
	packs []Pack // sorted by comparePacks
	byUID map[string]int
}

var builtin = sync.OnceValues(func() (*Catalog, error) {
	sub, err := fs.Sub(catalogFS, "catalog")
	if err != nil {
		return nil, err
	}
	return Load(sub)
})

// Builtin returns the catalog embedded in the binary. It is loaded and checked once.
func Builtin() (*Catalog, error) { return builtin() }

// MustBuiltin is Builtin for callers that treat a broken embedded catalog as a programming error.
func MustBuiltin() *Catalog {
	c, err := Builtin()
	if err != nil {
		panic(err)
	}
	return c
}

// packFile is the schema of pack.yaml.
type packFile struct {
	Name        string   `yaml:"name"`
	DisplayName string   `yaml:"displayName"`
	Layer       string   `yaml:"layer"`
	Version     string   `yaml:"version"`
	CloudTypes  []string `yaml:"cloudTypes"`
	AddonType   string   `yaml:"addonType"`
	Description string   `yaml:"description"`
}

// Load reads a catalog laid out as <name>/<version>/{pack.yaml,values.yaml,manifests/*.yaml} at
// the root of fsys. Every pack must be well formed and render with its default values.
func Load(fsys fs.FS) (*Catalog, error) {
	defs, err := fs.Glob(fsys, "*/*/pack.yaml")
	if err != nil {
		return nil, err
	}
	c := &Catalog{byUID: make(map[string]int, len(defs))}
	var errs []error
	for _, def := range defs {
		p, err := loadPack(fsys, path.Dir(def))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.packs = append(c.packs, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(c.packs, comparePacks)
	for i, p := range c.packs {
		if _, dup := c.byUID[p.UID]; dup {
			return nil, fmt.Errorf("pack %s/%s: duplicate uid %s", p.Name, p.Version, p.UID)
		}
		c.byUID[p.UID] = i
	}
	return c, nil
}

func loadPack(fsys fs.FS, dir string) (Pack, error) {
	fail := func(format string, args ...any) (Pack, error) {
		return Pack{}, fmt.Errorf("pack %s: %s", dir, fmt.Sprintf(format, args...))
	}
	raw, err := fs.ReadFile(fsys, path.Join(dir, "pack.yaml"))
	if err != nil {
		return fail("%v", err)
	}
	var def packFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&def); err != nil {
		return fail("pack.yaml: %v", err)
	}
	switch {
	case def.Name+"/"+def.Version != dir:
		return fail("pack.yaml names %s/%s", def.Name, def.Version)
	case def.DisplayName == "":
		return fail("pack.yaml: displayName is empty")
	case len(def.CloudTypes) == 0:
		return fail("pack.yaml: cloudTypes is empty")
	}
	if _, ok := LayerOrder(def.Layer); !ok {
		return fail("pack.yaml: unknown layer %q", def.Layer)
	}
	values, err := fs.ReadFile(fsys, path.Join(dir, "values.yaml"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail("%v", err)
	}
	p := Pack{
		UID:         PackUID(def.Name, def.Version),
		Name:        def.Name,
		DisplayName: def.DisplayName,
		Layer:       def.Layer,
		Version:     def.Version,
		AddonType:   def.AddonType,
		Description: strings.TrimSpace(def.Description),
		CloudTypes:  def.CloudTypes,
		Values:      string(values),
	}
	files, err := fs.Glob(fsys, path.Join(dir, "manifests", "*.yaml"))
	if err != nil {
		return fail("%v", err)
	}
	for _, f := range files { // fs.Glob sorts by name
		content, err := fs.ReadFile(fsys, f)
		if err != nil {
			return fail("%v", err)
		}
		p.Manifests = append(p.Manifests, Manifest{
			Name:    strings.TrimSuffix(path.Base(f), ".yaml"),
			Content: string(content),
		})
	}
	if _, err := p.Render(""); err != nil {
		return Pack{}, fmt.Errorf("rendering defaults: %w", err)
	}
	return p, nil
}

// comparePacks orders packs by layer, then name, then ascending version.
func comparePacks(a, b Pack) int {
	la, _ := LayerOrder(a.Layer)
	lb, _ := LayerOrder(b.Layer)
	return cmp.Or(cmp.Compare(la, lb), strings.Compare(a.Name, b.Name), CompareVersions(a.Version, b.Version))
}

// clone returns a deep copy of p so that callers cannot modify the catalog.
func (p Pack) clone() Pack {
	p.CloudTypes = slices.Clone(p.CloudTypes)
	p.Manifests = slices.Clone(p.Manifests)
	return p
}

// All returns every pack, ordered by layer (os, k8s, cni, csi, addon), then name, then ascending
// version.
func (c *Catalog) All() []Pack {
	out := make([]Pack, len(c.packs))
	for i, p := range c.packs {
		out[i] = p.clone()
	}
	return out
}

// Get returns the pack with the given UID.
func (c *Catalog) Get(uid string) (Pack, bool) {
	i, ok := c.byUID[uid]
	if !ok {
		return Pack{}, false
	}
	return c.packs[i].clone(), true
}

// Find returns the pack with the given name and version (exact match).
func (c *Catalog) Find(name, version string) (Pack, bool) {
	return c.Get(PackUID(name, version))
}

// Versions returns every version of the named pack, oldest first; nil if there is none.
func (c *Catalog) Versions(name string) []Pack {
	var out []Pack
	for _, p := range c.packs {
		if p.Name == name {
			out = append(out, p.clone())
		}
	}
	return out
}

// Latest returns the newest version of the named pack.
func (c *Catalog) Latest(name string) (Pack, bool) {
	vs := c.Versions(name)
	if len(vs) == 0 {
		return Pack{}, false
	}
	return vs[len(vs)-1], true
}
