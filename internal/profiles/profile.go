// Package profiles turns cluster profiles submitted through the API into validated, stored
// profiles: ordered layers of catalog packs (or custom manifests) with their values.
package profiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/validate"
)

// Kind is the stored kind of cluster profiles.
const Kind = "clusterprofile"

// ErrInvalid marks a profile the API must refuse with 400.
var ErrInvalid = errors.New("invalid cluster profile")

// Pack types: a pack from the catalog, or a custom pack of the user's own manifests.
const (
	PackTypeSpectro  = "spectro"
	PackTypeManifest = "manifest"
)

// infraLayers are the layers that shape the machines; a profile holds at most one pack of each.
var infraLayers = []string{v1.PackLayerOS, v1.PackLayerK8s, v1.PackLayerCNI, v1.PackLayerCSI}

// Manifest is one manifest of a pack, with a stable uid.
type Manifest struct {
	UID     string `json:"uid"`
	Name    string `json:"name"`
	Content string `json:"content"`
}

// Pack is one layer of a stored profile.
type Pack struct {
	Name      string     `json:"name"`
	Version   string     `json:"version"`
	Layer     string     `json:"layer"`
	Type      string     `json:"type"`
	PackUID   string     `json:"packUid,omitempty"`
	Values    string     `json:"values"`
	Manifests []Manifest `json:"manifests,omitempty"`
}

// Profile is the stored document of a cluster profile.
type Profile struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Type        string            `json:"type"`
	CloudType   string            `json:"cloudType"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Packs       []Pack            `json:"packs"`
	Published   bool              `json:"published"`
}

var versionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$`)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// FromEntity validates a profile entity against the catalog and returns the profile to store.
// Every problem is an ErrInvalid naming the field, the pack or the YAML line.
func FromEntity(e v1.ClusterProfileEntity, catalog *packs.Catalog) (Profile, error) {
	p := Profile{
		Name:        e.Metadata.Name,
		Version:     e.Spec.Version,
		Type:        e.Spec.Template.Type,
		CloudType:   e.Spec.Template.CloudType,
		Labels:      e.Metadata.Labels,
		Annotations: e.Metadata.Annotations,
		Description: e.Metadata.Annotations["description"],
	}
	if err := validate.Name("metadata.name", p.Name); err != nil {
		return p, invalid("%v", err)
	}
	if err := validate.Labels("metadata.labels", p.Labels); err != nil {
		return p, invalid("%v", err)
	}
	if err := validate.Annotations("metadata.annotations", p.Annotations); err != nil {
		return p, invalid("%v", err)
	}
	if p.Version == "" {
		p.Version = "1.0.0"
	}
	if !versionPattern.MatchString(p.Version) {
		return p, invalid("spec.version %q must be a semantic version such as 1.0.0", p.Version)
	}
	if p.Type == "" {
		p.Type = v1.ProfileTypeCluster
	}
	if !slices.Contains([]string{v1.ProfileTypeInfra, v1.ProfileTypeAddOn, v1.ProfileTypeCluster}, p.Type) {
		return p, invalid("spec.template.type %q must be one of infra, add-on, cluster", p.Type)
	}
	if p.CloudType == "" {
		p.CloudType = "all"
	}
	if err := validate.Name("spec.template.cloudType", p.CloudType); err != nil {
		return p, invalid("%v", err)
	}
	if len(e.Spec.Template.Packs) == 0 {
		return p, invalid("spec.template.packs: a profile needs at least one pack")
	}
	seen := map[string]bool{}
	for i, in := range e.Spec.Template.Packs {
		pk, err := resolvePack(i, in, p.CloudType, catalog)
		if err != nil {
			return p, err
		}
		if seen[pk.Name] {
			return p, invalid("spec.template.packs[%d]: pack %q appears twice", i, pk.Name)
		}
		seen[pk.Name] = true
		p.Packs = append(p.Packs, pk)
	}
	if err := checkLayers(p); err != nil {
		return p, err
	}
	// Bottom layer first; add-ons keep the order they were given in.
	slices.SortStableFunc(p.Packs, func(a, b Pack) int {
		oa, _ := packs.LayerOrder(a.Layer)
		ob, _ := packs.LayerOrder(b.Layer)
		return oa - ob
	})
	return p, nil
}

func resolvePack(i int, in v1.PackManifestEntity, cloudType string, catalog *packs.Catalog) (Pack, error) {
	field := fmt.Sprintf("spec.template.packs[%d]", i)
	if in.Name == "" {
		return Pack{}, invalid("%s.name is required", field)
	}
	field = fmt.Sprintf("%s (%s)", field, in.Name)
	if in.Type == PackTypeManifest {
		return customPack(field, in)
	}
	if in.Type != "" && in.Type != PackTypeSpectro {
		return Pack{}, invalid("%s: type %q is not supported (spectro or manifest)", field, in.Type)
	}
	if in.Tag == "" {
		return Pack{}, invalid("%s: tag (the pack version) is required", field)
	}
	cat, ok := catalog.Find(in.Name, in.Tag)
	if !ok {
		if versions := catalog.Versions(in.Name); len(versions) > 0 {
			var tags []string
			for _, v := range versions {
				tags = append(tags, v.Version)
			}
			return Pack{}, invalid("%s: pack %s has no version %q (available: %s)", field, in.Name, in.Tag, strings.Join(tags, ", "))
		}
		return Pack{}, invalid("%s: unknown pack %q", field, in.Name)
	}
	if in.UID != "" && in.UID != cat.UID {
		return Pack{}, invalid("%s: uid %q is not the uid of %s %s (%s)", field, in.UID, in.Name, in.Tag, cat.UID)
	}
	if in.Layer != "" && in.Layer != cat.Layer {
		return Pack{}, invalid("%s: layer %q does not match the pack's layer %q", field, in.Layer, cat.Layer)
	}
	if cloudType != "all" && !slices.Contains(cat.CloudTypes, "all") && !slices.Contains(cat.CloudTypes, cloudType) {
		return Pack{}, invalid("%s: pack %s %s does not support cloud type %q (it supports %s)", field, in.Name, in.Tag, cloudType, strings.Join(cat.CloudTypes, ", "))
	}
	values := in.Values
	if strings.TrimSpace(values) == "" {
		values = cat.Values
	}
	if err := validate.YAML(field+".values", values); err != nil {
		return Pack{}, invalid("%v", err)
	}
	pk := Pack{Name: cat.Name, Version: cat.Version, Layer: cat.Layer, Type: PackTypeSpectro, PackUID: cat.UID, Values: values}
	if len(in.Manifests) > 0 {
		return Pack{}, invalid("%s: manifest %q: only packs of type manifest carry manifests", field, in.Manifests[0].Name)
	}
	return pk, nil
}

// customPack is a layer of the user's own manifests (Palette's "manifest" pack type).
func customPack(field string, in v1.PackManifestEntity) (Pack, error) {
	if err := validate.Name(field+".name", in.Name); err != nil {
		return Pack{}, invalid("%v", err)
	}
	layer := in.Layer
	if layer == "" {
		layer = v1.PackLayerAddon
	}
	if _, ok := packs.LayerOrder(layer); !ok {
		return Pack{}, invalid("%s: layer %q must be one of %s", field, layer, strings.Join(packs.Layers(), ", "))
	}
	if len(in.Manifests) == 0 {
		return Pack{}, invalid("%s: a manifest pack needs at least one manifest", field)
	}
	if err := validate.YAML(field+".values", in.Values); err != nil {
		return Pack{}, invalid("%v", err)
	}
	version := in.Tag
	if version == "" {
		version = "1.0.0"
	}
	pk := Pack{Name: in.Name, Version: version, Layer: layer, Type: PackTypeManifest, Values: in.Values}
	names := map[string]bool{}
	for j, m := range in.Manifests {
		mfield := fmt.Sprintf("%s.manifests[%d]", field, j)
		if err := validate.Name(mfield+".name", m.Name); err != nil {
			return Pack{}, invalid("%v", err)
		}
		if names[m.Name] {
			return Pack{}, invalid("%s: manifest %q appears twice", mfield, m.Name)
		}
		names[m.Name] = true
		docs, err := validate.YAMLDocuments(m.Content)
		if err != nil {
			return Pack{}, invalid("%s (%s): %v", mfield, m.Name, err)
		}
		if len(docs) == 0 {
			return Pack{}, invalid("%s (%s): content is empty", mfield, m.Name)
		}
		pk.Manifests = append(pk.Manifests, Manifest{Name: m.Name, Content: m.Content})
	}
	return pk, nil
}

func checkLayers(p Profile) error {
	count := map[string][]string{}
	for _, pk := range p.Packs {
		count[pk.Layer] = append(count[pk.Layer], pk.Name)
	}
	for _, layer := range infraLayers {
		if len(count[layer]) > 1 {
			return invalid("spec.template.packs: layer %s holds %s; a profile has at most one %s pack", layer, strings.Join(count[layer], " and "), layer)
		}
	}
	switch p.Type {
	case v1.ProfileTypeAddOn:
		for _, layer := range infraLayers {
			if len(count[layer]) > 0 {
				return invalid("spec.template.packs: an add-on profile holds only add-on packs, not %s (layer %s); use an infra or cluster profile", count[layer][0], layer)
			}
		}
	case v1.ProfileTypeInfra, v1.ProfileTypeCluster:
		for _, layer := range []string{v1.PackLayerOS, v1.PackLayerK8s} {
			if len(count[layer]) == 0 {
				return invalid("spec.template.packs: an %s profile needs a %s layer", p.Type, layer)
			}
		}
		if p.Type == v1.ProfileTypeInfra && len(count[v1.PackLayerAddon]) > 0 {
			return invalid("spec.template.packs: an infra profile holds no add-on packs (%s); put them in an add-on profile", count[v1.PackLayerAddon][0])
		}
	}
	return nil
}

// Encode and Decode convert a profile to and from its stored document.
func (p Profile) Encode() []byte {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err) // a Profile always marshals
	}
	return b
}

// Decode reads a stored profile document.
func Decode(doc []byte) (Profile, error) {
	var p Profile
	if err := json.Unmarshal(doc, &p); err != nil {
		return p, fmt.Errorf("decoding stored profile: %w", err)
	}
	return p, nil
}

// Infra reports whether the profile shapes machines (an infra or full cluster profile).
func (p Profile) Infra() bool {
	return p.Type == v1.ProfileTypeInfra || p.Type == v1.ProfileTypeCluster
}

// SupportsCloud reports whether a cluster of cloudType may use the profile.
func (p Profile) SupportsCloud(cloudType string) bool {
	return p.CloudType == "all" || p.CloudType == cloudType
}
