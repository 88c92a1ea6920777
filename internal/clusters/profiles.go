package clusters

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/profiles"
)

// Layer is one machine-shaping layer a machine is built from: its pack and version, and a digest
// of its values (for the Kubernetes layer, the kubeadm configuration).
type Layer struct {
	Pack    string `json:"pack"`
	Version string `json:"version"`
	Values  string `json:"values,omitempty"`
}

func (l Layer) String() string { return l.Pack + " " + l.Version }

// Image is what a cluster's machines are built from: the OS and Kubernetes layers of its infra
// profile, with the cluster's values. A machine built from another image is replaced by a repave;
// the other layers (CNI, CSI, add-ons) are applied in place by the agent.
type Image struct {
	OS         Layer `json:"os"`
	Kubernetes Layer `json:"kubernetes"`
}

// imageOf is the image of an infra profile attached as ref.
func imageOf(p profiles.Profile, ref ProfileRef, catalog *packs.Catalog) Image {
	var img Image
	for _, pk := range p.Packs {
		l := Layer{Pack: pk.Name, Version: pk.Version, Values: valuesDigest(catalog, pk, ref.Values(pk.Name))}
		switch pk.Layer {
		case v1.PackLayerOS:
			img.OS = l
		case v1.PackLayerK8s:
			img.Kubernetes = l
		}
	}
	return img
}

// valuesDigest digests a pack's values as they take effect: the cluster's merged over the
// profile's over the catalog's defaults (the same values given at any level digest the same).
func valuesDigest(catalog *packs.Catalog, pk profiles.Pack, clusterValues string) string {
	cat, _ := catalog.Find(pk.Name, pk.Version) // a pack not in the catalog has no defaults
	merged, err := cat.ResolveValues(pk.Values, clusterValues)
	b, _ := json.Marshal(merged) // map keys are sorted: equal values encode equally
	if err != nil {
		b = []byte(pk.Values + "\x00" + clusterValues) // checked YAML already; never here in practice
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// imageReasons are the field-level reasons a machine built from built must be replaced to match
// want. A machine recorded without an image (made before easel kept them) matches.
func imageReasons(built, want Image) []string {
	if built == (Image{}) {
		return nil
	}
	var out []string
	for _, l := range []struct {
		name        string
		built, want Layer
	}{{"OS", built.OS, want.OS}, {"Kubernetes", built.Kubernetes, want.Kubernetes}} {
		switch {
		case l.built.Pack != l.want.Pack || l.built.Version != l.want.Version:
			out = append(out, fmt.Sprintf("%s layer changed from %s to %s", l.name, l.built, l.want))
		case l.built.Values != l.want.Values:
			out = append(out, fmt.Sprintf("%s layer %s: values changed", l.name, l.want))
		}
	}
	return out
}

// Values is the cluster's override of one pack's values, if any.
func (ref ProfileRef) Values(pack string) string {
	for _, pv := range ref.PackValues {
		if pv.Name == pack {
			return pv.Values
		}
	}
	return ""
}

// entities are the attachments as the API takes them.
func entities(refs []ProfileRef) []v1.SpectroClusterProfileEntity {
	out := make([]v1.SpectroClusterProfileEntity, 0, len(refs))
	for _, ref := range refs {
		out = append(out, ref.entity())
	}
	return out
}

// entity is the attachment as the API takes it.
func (ref ProfileRef) entity() v1.SpectroClusterProfileEntity {
	e := v1.SpectroClusterProfileEntity{UID: ref.UID}
	for _, pv := range ref.PackValues {
		e.PackValues = append(e.PackValues, v1.PackValuesEntity{Name: pv.Name, Tag: pv.Tag, Values: pv.Values})
	}
	return e
}

// PatchProfiles merges a PATCH of a cluster's profiles into the attached ones: a profile that
// names replaceWithProfile takes that profile's place (with its own values unless the patch gives
// some), one already attached gets the patch's pack values, any other is attached after the
// others. The result is checked by SetProfiles.
func PatchProfiles(current []ProfileRef, patch []v1.SpectroClusterProfileEntity) ([]v1.SpectroClusterProfileEntity, error) {
	out := entities(current)
	index := func(uid string) int {
		return slices.IndexFunc(out, func(e v1.SpectroClusterProfileEntity) bool { return e.UID == uid })
	}
	for i, e := range patch {
		field := fmt.Sprintf("profiles[%d]", i)
		if e.UID == "" {
			return nil, invalid("%s.uid is required", field)
		}
		at := index(e.UID)
		if e.ReplaceWithProfile != "" && e.ReplaceWithProfile != e.UID {
			old := index(e.ReplaceWithProfile)
			if old < 0 {
				return nil, invalid("%s.replaceWithProfile: profile %s is not attached to the cluster", field, e.ReplaceWithProfile)
			}
			if at >= 0 {
				return nil, invalid("%s: profile %s is attached already; it cannot also replace %s", field, e.UID, e.ReplaceWithProfile)
			}
			e.ReplaceWithProfile = ""
			out[old] = e
			continue
		}
		e.ReplaceWithProfile = ""
		if at >= 0 {
			out[at] = e
		} else {
			out = append(out, e)
		}
	}
	return out, nil
}

// DetachProfiles returns the attached profiles without those of uids; each must be attached, and
// the infra profile cannot go (a cluster needs one: replace it instead).
func DetachProfiles(current []ProfileRef, uids []string) ([]v1.SpectroClusterProfileEntity, error) {
	if len(uids) == 0 {
		return nil, invalid("profileUids: name at least one profile to detach")
	}
	for i, uid := range uids {
		at := slices.IndexFunc(current, func(ref ProfileRef) bool { return ref.UID == uid })
		switch {
		case at < 0:
			return nil, invalid("profileUids[%d]: profile %s is not attached to the cluster", i, uid)
		case current[at].Type != v1.ProfileTypeAddOn:
			return nil, invalid("profileUids[%d]: profile %s (%s) is the cluster's infra profile; a cluster needs one, so replace it (PATCH with replaceWithProfile) instead", i, current[at].Name, uid)
		}
	}
	kept := slices.DeleteFunc(slices.Clone(current), func(ref ProfileRef) bool { return slices.Contains(uids, ref.UID) })
	return entities(kept), nil
}

// SetProfiles checks a new list of profiles for the cluster (as ResolveProfiles does at creation)
// and puts it in place; the image follows the infra profile, so an OS or Kubernetes layer change
// makes every machine outdated (a repave). It returns what changed, one phrase each, for the
// event and the audit trail; none when nothing did.
func (c *Cluster) SetProfiles(in []v1.SpectroClusterProfileEntity, resolve ProfileResolver, catalog *packs.Catalog) ([]string, error) {
	refs, img, err := ResolveProfiles(c.CloudType, in, resolve, catalog)
	if err != nil {
		return nil, err
	}
	changes := profileChanges(c.Profiles, refs)
	if len(changes) == 0 {
		return nil, nil
	}
	// Machines recorded without an image (before easel kept them) were built from the profiles in
	// place until now.
	if c.Image == (Image{}) {
		if _, was, err := ResolveProfiles(c.CloudType, entities(c.Profiles), resolve, catalog); err == nil {
			c.Image = was
		}
	}
	for i := range c.Status.Machines {
		if c.Status.Machines[i].Image == (Image{}) {
			c.Status.Machines[i].Image = c.Image
		}
	}
	c.Profiles, c.Image = refs, img
	return changes, nil
}

// profileChanges describes how the attached profiles change from old to new.
func profileChanges(old, new []ProfileRef) []string {
	var out []string
	byName := func(refs []ProfileRef, name string) (ProfileRef, bool) {
		i := slices.IndexFunc(refs, func(r ProfileRef) bool { return r.Name == name })
		if i < 0 {
			return ProfileRef{}, false
		}
		return refs[i], true
	}
	for _, n := range new {
		o, ok := byName(old, n.Name)
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("attached %s profile %s %s", n.Type, n.Name, n.Version))
		case o.UID != n.UID:
			out = append(out, fmt.Sprintf("profile %s changed from %s to %s", n.Name, o.Version, n.Version))
		case !slices.Equal(o.PackValues, n.PackValues):
			out = append(out, fmt.Sprintf("changed the values of profile %s %s", n.Name, n.Version))
		}
	}
	for _, o := range old {
		if _, ok := byName(new, o.Name); !ok {
			out = append(out, fmt.Sprintf("detached %s profile %s %s", o.Type, o.Name, o.Version))
		}
	}
	if len(out) == 0 && !slices.EqualFunc(old, new, func(a, b ProfileRef) bool { return a.UID == b.UID }) {
		out = append(out, "changed the order of the profiles to "+profileNames(new))
	}
	return out
}

func profileNames(refs []ProfileRef) string {
	var names []string
	for _, r := range refs {
		names = append(names, r.Name)
	}
	return strings.Join(names, ", ")
}
