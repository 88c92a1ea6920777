package packs

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	v1 "github.com/easelhq/easel/api/v1"
)

// The built-in registry that serves the catalog.
const (
	RegistryName = "easel-builtin"
	// RegistryUID is the first 24 hex digits of the SHA-256 of RegistryName.
	RegistryUID      = "7731ea2742aa1c1fc4aa9a4e"
	RegistryScope    = "system"
	RegistryEndpoint = "builtin://easel"
)

const (
	packAPIVersion = "v1"
	packKind       = "Pack"
)

// ManifestUID returns the stable UID of the pack's manifest with the given name.
func (p Pack) ManifestUID(name string) string {
	return hash24(p.UID + "/" + name)
}

// Digest returns "sha256:" and the hex SHA-256 of the pack's values and manifests.
func (p Pack) Digest() string {
	h := sha256.New()
	h.Write([]byte(p.Values))
	for _, m := range p.Manifests {
		h.Write([]byte{0})
		h.Write([]byte(m.Name))
		h.Write([]byte{0})
		h.Write([]byte(m.Content))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Summary returns the pack as an item of GET /v1/packs, served from the given registry.
func (p Pack) Summary(registryUID string) v1.PackSummary {
	refs := make([]v1.ObjectReference, len(p.Manifests))
	for i, m := range p.Manifests {
		refs[i] = v1.ObjectReference{Name: m.Name, UID: p.ManifestUID(m.Name)}
	}
	return v1.PackSummary{
		APIVersion: packAPIVersion,
		Kind:       packKind,
		Metadata:   v1.ObjectMeta{UID: p.UID, Name: p.Name},
		Spec: v1.PackSummarySpec{
			AddonType:   p.AddonType,
			CloudTypes:  slices.Clone(p.CloudTypes),
			Digest:      p.Digest(),
			DisplayName: p.DisplayName,
			Layer:       p.Layer,
			Manifests:   refs,
			Name:        p.Name,
			RegistryUID: registryUID,
			Type:        v1.PackTypeSpectro,
			Values:      p.Values,
			Version:     p.Version,
		},
	}
}

// Summaries returns the answer of GET /v1/packs for packs served from the built-in registry.
func Summaries(ps []Pack) v1.PackSummaries {
	out := v1.PackSummaries{Items: make([]v1.PackSummary, len(ps)), Listmeta: &v1.ListMeta{Count: int64(len(ps))}}
	for i, p := range ps {
		out.Items[i] = p.Summary(RegistryUID)
	}
	return out
}

// Readme returns the answer of GET /v1/packs/{uid}/readme.
func (p Pack) Readme() v1.PackReadme { return v1.PackReadme{Readme: p.Description} }

// TagEntity describes the pack name in the given registry with all its versions, as GET
// /v1/packs/{uid} and GET /v1/packs/{name}/registries/{registryUid} answer. versions are the
// pack's versions (as Catalog.Versions returns them, oldest first); if empty, p alone is used.
// Tags and PackValues follow the order of versions, so the last tag is the latest version.
func (p Pack) TagEntity(registryUID string, versions []Pack) v1.PackTagEntity {
	if len(versions) == 0 {
		versions = []Pack{p}
	}
	e := v1.PackTagEntity{
		AddonType:   p.AddonType,
		CloudTypes:  slices.Clone(p.CloudTypes),
		DisplayName: p.DisplayName,
		Layer:       p.Layer,
		Name:        p.Name,
		RegistryUID: registryUID,
		PackValues:  make([]v1.PackUIDValues, len(versions)),
		Tags:        make([]v1.PackTags, len(versions)),
	}
	for i, v := range versions {
		e.Tags[i] = v1.PackTags{PackUID: v.UID, ParentTags: parentTags(v.Version), Tag: v.Version, Version: v.Version}
		e.PackValues[i] = v1.PackUIDValues{PackUID: v.UID, Readme: v.Description, Values: v.Values}
	}
	return e
}

// parentTags returns the wildcard tags a version belongs to: "1.34.4" → ["1.34.x", "1.x"].
func parentTags(version string) []string {
	parts := strings.Split(version, ".")
	tags := []string{}
	for n := len(parts) - 1; n >= 1; n-- {
		tags = append(tags, strings.Join(parts[:n], ".")+".x")
	}
	return tags
}

// TagEntity returns the answer of GET /v1/packs/{uid}: the pack with that UID and all versions
// of its name.
func (c *Catalog) TagEntity(uid string) (v1.PackTagEntity, bool) {
	p, ok := c.Get(uid)
	if !ok {
		return v1.PackTagEntity{}, false
	}
	return p.TagEntity(RegistryUID, c.Versions(p.Name)), true
}

// NamedTagEntity returns the answer of GET /v1/packs/{name}/registries/{registryUid} for the
// built-in registry: all versions of the named pack, described by the latest.
func (c *Catalog) NamedTagEntity(name string) (v1.PackTagEntity, bool) {
	vs := c.Versions(name)
	if len(vs) == 0 {
		return v1.PackTagEntity{}, false
	}
	return vs[len(vs)-1].TagEntity(RegistryUID, vs), true
}

// GroupMetadata groups ps by name into the items of POST /v1/packs/search, in the order the
// names first appear. Each item describes the latest version and names the registry it is in.
func GroupMetadata(ps []Pack, registryUID, registryName string) []v1.PackMetadata {
	var names []string
	byName := map[string][]Pack{}
	for _, p := range ps {
		if _, seen := byName[p.Name]; !seen {
			names = append(names, p.Name)
		}
		byName[p.Name] = append(byName[p.Name], p)
	}
	out := make([]v1.PackMetadata, 0, len(names))
	for _, name := range names {
		vs := byName[name]
		latest := slices.MaxFunc(vs, func(a, b Pack) int { return CompareVersions(a.Version, b.Version) })
		var clouds []string
		for _, v := range vs {
			for _, ct := range v.CloudTypes {
				if !slices.Contains(clouds, ct) {
					clouds = append(clouds, ct)
				}
			}
		}
		out = append(out, v1.PackMetadata{
			APIVersion: packAPIVersion,
			Kind:       packKind,
			Metadata:   v1.ObjectMeta{UID: latest.UID, Name: name},
			Spec: v1.PackMetadataSpec{
				AddonType:   latest.AddonType,
				CloudTypes:  clouds,
				DisplayName: latest.DisplayName,
				Layer:       latest.Layer,
				Name:        name,
				Registries: []v1.RegistryPackMetadata{{
					LatestPackUID: latest.UID,
					LatestVersion: latest.Version,
					Name:          registryName,
					Scope:         RegistryScope,
					UID:           registryUID,
				}},
				Type: v1.PackTypeSpectro,
			},
		})
	}
	return out
}

// SortMetadata orders search results by the sort fields in turn (name, displayName, layer,
// addOnType, type; order asc or desc). Unknown fields are ignored; ties keep their order.
func SortMetadata(items []v1.PackMetadata, by []v1.PackSortSpec) {
	slices.SortStableFunc(items, func(a, b v1.PackMetadata) int {
		for _, s := range by {
			var c int
			switch s.Field {
			case v1.PackSortName:
				c = strings.Compare(a.Spec.Name, b.Spec.Name)
			case v1.PackSortDisplayName:
				c = strings.Compare(strings.ToLower(a.Spec.DisplayName), strings.ToLower(b.Spec.DisplayName))
			case v1.PackSortLayer:
				la, _ := LayerOrder(a.Spec.Layer)
				lb, _ := LayerOrder(b.Spec.Layer)
				c = cmp.Compare(la, lb)
			case v1.PackSortAddOnType:
				c = strings.Compare(a.Spec.AddonType, b.Spec.AddonType)
			case v1.PackSortType:
				c = strings.Compare(a.Spec.Type, b.Spec.Type)
			}
			if s.Order == v1.SortDesc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
}

// SearchSpec answers POST /v1/packs/search: the packs matching spec.Filter, grouped by name and
// sorted by spec.Sort (by layer and name when it is empty).
func (c *Catalog) SearchSpec(spec v1.PacksFilterSpec) v1.PackMetadataList {
	items := GroupMetadata(c.Search(FilterFromSpec(spec.Filter)), RegistryUID, RegistryName)
	SortMetadata(items, spec.Sort)
	return v1.PackMetadataList{Items: items, Listmeta: &v1.ListMeta{Count: int64(len(items))}}
}

func registryMeta() v1.ObjectMeta {
	return v1.ObjectMeta{
		UID:         RegistryUID,
		Name:        RegistryName,
		Annotations: map[string]string{"description": "Packs built into easel"},
	}
}

func registrySync() *v1.RegistrySyncStatus {
	return &v1.RegistrySyncStatus{IsSyncSupported: false, Status: "Completed", Message: "built in"}
}

// Registry describes the built-in registry as GET /v1/registries/pack and
// GET /v1/registries/pack/{uid} answer.
func Registry() v1.PackRegistry {
	return v1.PackRegistry{
		APIVersion: "v1",
		Kind:       "PackRegistry",
		Metadata:   registryMeta(),
		Spec: v1.PackRegistrySpec{
			Auth:        v1.RegistryAuth{Type: "noAuth"},
			Endpoint:    RegistryEndpoint,
			Name:        RegistryName,
			RegistryUID: RegistryUID,
			Scope:       RegistryScope,
		},
		Status: v1.PackRegistryStatus{PackSyncStatus: registrySync()},
	}
}

// RegistrySummary describes the built-in registry as GET /v1/registries/pack/summary answers.
func RegistrySummary() v1.PackRegistrySummary {
	return v1.PackRegistrySummary{
		Metadata: registryMeta(),
		Spec:     v1.PackRegistrySpecSummary{Endpoint: RegistryEndpoint, Scope: RegistryScope},
		Status:   v1.PackRegistryStatusSummary{Sync: registrySync()},
	}
}

// RegistryMetadata describes the built-in registry as GET /v1/registries/metadata answers.
func RegistryMetadata() v1.RegistryMetadata {
	return v1.RegistryMetadata{IsDefault: true, Kind: "pack", Name: RegistryName, Scope: RegistryScope, UID: RegistryUID}
}
