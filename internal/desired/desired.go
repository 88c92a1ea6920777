// Package desired renders what a cluster's agent must apply: the packs of its profiles, in layer
// order, with their manifests rendered from the catalog and the profile's and cluster's values.
package desired

import (
	"fmt"
	"slices"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/profiles"
)

// Render returns the cluster's desired packs: the infra profile's first, then each add-on
// profile's in attachment order, bottom layer first within each. profileOf returns an attached
// profile by uid.
func Render(cl clusters.Cluster, generation int64, profileOf func(uid string) (profiles.Profile, error), catalog *packs.Catalog) (v1.AgentDesired, error) {
	out := v1.AgentDesired{Generation: generation, Packs: []v1.AgentPack{}}
	refs := slices.Clone(cl.Profiles)
	// Infra first: it brings the CNI and CSI that add-ons run on.
	slices.SortStableFunc(refs, func(a, b clusters.ProfileRef) int {
		return boolRank(a.Type == v1.ProfileTypeAddOn) - boolRank(b.Type == v1.ProfileTypeAddOn)
	})
	for _, ref := range refs {
		p, err := profileOf(ref.UID)
		if err != nil {
			return out, fmt.Errorf("profile %s (%s): %w", ref.Name, ref.UID, err)
		}
		for _, pk := range p.Packs {
			ap := v1.AgentPack{Name: pk.Name, Version: pk.Version, Layer: pk.Layer, Profile: p.Name, Manifests: []v1.AgentManifest{}}
			switch pk.Type {
			case profiles.PackTypeManifest:
				for _, m := range pk.Manifests {
					ap.Manifests = append(ap.Manifests, v1.AgentManifest{Name: m.Name, Content: m.Content})
				}
			default:
				cat, ok := catalog.Find(pk.Name, pk.Version)
				if !ok {
					return out, fmt.Errorf("pack %s %s of profile %s is not in the catalog", pk.Name, pk.Version, p.Name)
				}
				rendered, err := cat.Render(pk.Values, ref.Values(pk.Name))
				if err != nil {
					return out, err
				}
				for _, r := range rendered {
					ap.Manifests = append(ap.Manifests, v1.AgentManifest{Name: r.Name, Content: r.Content})
				}
			}
			out.Packs = append(out.Packs, ap)
		}
	}
	return out, nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
