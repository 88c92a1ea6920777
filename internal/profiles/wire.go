package profiles

import (
	"crypto/sha256"
	"encoding/hex"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/packs"
)

// AssignManifestUIDs gives each custom manifest a uid derived from the profile's, so that the
// manifests of a stored profile can be addressed and re-deriving gives the same uids.
func (p *Profile) AssignManifestUIDs(profileUID string) {
	for i := range p.Packs {
		for j := range p.Packs[i].Manifests {
			m := &p.Packs[i].Manifests[j]
			sum := sha256.Sum256([]byte(profileUID + "/" + p.Packs[i].Name + "/" + m.Name))
			m.UID = hex.EncodeToString(sum[:])[:24]
		}
	}
}

// PackRefs returns the profile's packs in the API's shape.
func (p Profile) PackRefs() []v1.PackRef {
	refs := make([]v1.PackRef, 0, len(p.Packs))
	for _, pk := range p.Packs {
		ref := v1.PackRef{Name: pk.Name, Tag: pk.Version, Version: pk.Version, Layer: pk.Layer, Type: pk.Type,
			PackUID: pk.PackUID, Values: pk.Values, Manifests: []v1.ObjectReference{}}
		if pk.Type == PackTypeSpectro {
			ref.RegistryUID = packs.RegistryUID
		}
		for _, m := range pk.Manifests {
			ref.Manifests = append(ref.Manifests, v1.ObjectReference{Kind: "Manifest", Name: m.Name, UID: m.UID})
		}
		refs = append(refs, ref)
	}
	return refs
}

// Template returns the profile's content in the API's shape.
func (p Profile) Template(uid string) v1.ClusterProfileTemplate {
	return v1.ClusterProfileTemplate{UID: uid, Name: p.Name, CloudType: p.CloudType, Type: p.Type,
		ProfileVersion: p.Version, Version: 1, Packs: p.PackRefs()}
}

// Entity returns the profile as the body that would create it: the export format.
func (p Profile) Entity() v1.ClusterProfileEntity {
	var e v1.ClusterProfileEntity
	e.Metadata = v1.ObjectMeta{Name: p.Name, Labels: p.Labels, Annotations: p.Annotations}
	e.Spec.Version = p.Version
	e.Spec.Template = v1.ClusterProfileTemplateDraft{CloudType: p.CloudType, Type: p.Type, Packs: []v1.PackManifestEntity{}}
	for _, pk := range p.Packs {
		in := v1.PackManifestEntity{Name: pk.Name, Tag: pk.Version, Layer: pk.Layer, Type: pk.Type, Values: pk.Values}
		if pk.Type == PackTypeSpectro {
			in.UID, in.RegistryUID = pk.PackUID, packs.RegistryUID
		}
		for _, m := range pk.Manifests {
			in.Manifests = append(in.Manifests, v1.ManifestInput{Name: m.Name, Content: m.Content})
		}
		e.Spec.Template.Packs = append(e.Spec.Template.Packs, in)
	}
	return e
}

// FindPack returns the profile's pack of that name.
func (p Profile) FindPack(name string) (Pack, bool) {
	for _, pk := range p.Packs {
		if pk.Name == name {
			return pk, true
		}
	}
	return Pack{}, false
}
