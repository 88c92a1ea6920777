package packs_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/packs"
)

// jsonObject round-trips v through JSON into a generic object.
func jsonObject(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSummaries(t *testing.T) {
	c := catalog(t)
	all := c.All()
	res := packs.Summaries(all)
	if len(res.Items) != len(all) || res.Listmeta == nil || res.Listmeta.Count != int64(len(all)) {
		t.Fatalf("Summaries: %d items, listmeta %+v", len(res.Items), res.Listmeta)
	}
	for i, s := range res.Items {
		p := all[i]
		if s.Metadata.UID != p.UID || s.Spec.Name != p.Name || s.Spec.Version != p.Version ||
			s.Spec.Layer != p.Layer || s.Spec.RegistryUID != packs.RegistryUID || s.Spec.Values != p.Values ||
			s.Spec.Type != v1.PackTypeSpectro || !slices.Equal(s.Spec.CloudTypes, p.CloudTypes) ||
			len(s.Spec.Manifests) != len(p.Manifests) {
			t.Errorf("summary of %s/%s = %+v", p.Name, p.Version, s)
		}
	}
	// Palette clients index these without nil checks.
	m := jsonObject(t, res.Items[0])
	spec := m["spec"].(map[string]any)
	for _, k := range []string{"cloudTypes", "manifests", "registryUid", "name", "version", "layer", "values"} {
		if _, ok := spec[k]; !ok {
			t.Errorf("summary spec lacks %q: %v", k, spec)
		}
	}
	if m["metadata"].(map[string]any)["uid"] != all[0].UID {
		t.Errorf("summary metadata = %v", m["metadata"])
	}
}

func TestSummaryIsDeterministic(t *testing.T) {
	c := catalog(t)
	p, _ := c.Find("cni-calico", "3.30.3")
	a, _ := json.Marshal(p.Summary(packs.RegistryUID))
	b, _ := json.Marshal(p.Summary(packs.RegistryUID))
	if !bytes.Equal(a, b) {
		t.Fatal("Summary is not deterministic")
	}
	s := p.Summary(packs.RegistryUID)
	if s.Spec.Digest == "" || s.Spec.Manifests[0].UID != p.ManifestUID("calico") || s.Spec.Manifests[0].Name != "calico" {
		t.Errorf("summary = %+v", s.Spec)
	}
}

func TestTagEntity(t *testing.T) {
	c := catalog(t)
	old, _ := c.Find("kubernetes", "1.33.8")
	te, ok := c.TagEntity(old.UID)
	if !ok {
		t.Fatal("TagEntity not found")
	}
	if te.Name != "kubernetes" || te.RegistryUID != packs.RegistryUID || te.Layer != "k8s" || len(te.Tags) != 2 {
		t.Fatalf("TagEntity = %+v", te)
	}
	if te.Tags[0].PackUID != old.UID || te.Tags[1].Version != "1.34.4" || te.Tags[1].Tag != "1.34.4" ||
		!slices.Equal(te.Tags[1].ParentTags, []string{"1.34.x", "1.x"}) {
		t.Errorf("tags = %+v", te.Tags)
	}
	if len(te.PackValues) != 2 || te.PackValues[0].PackUID != old.UID || te.PackValues[0].Values != old.Values {
		t.Errorf("packValues = %+v", te.PackValues)
	}
	if _, ok := c.TagEntity("nope"); ok {
		t.Error("TagEntity(nope) found")
	}
	named, ok := c.NamedTagEntity("ubuntu")
	if !ok || len(named.Tags) != 2 || named.Tags[1].Version != "24.04" || !slices.Equal(named.Tags[0].ParentTags, []string{"22.x"}) {
		t.Errorf("NamedTagEntity(ubuntu) = %+v, %v", named, ok)
	}
	if _, ok := c.NamedTagEntity("nope"); ok {
		t.Error("NamedTagEntity(nope) found")
	}
	// A pack on its own is its only tag.
	if solo := old.TagEntity("r", nil); len(solo.Tags) != 1 || solo.Tags[0].PackUID != old.UID || solo.RegistryUID != "r" {
		t.Errorf("TagEntity without versions = %+v", solo)
	}
	m := jsonObject(t, te)
	for _, k := range []string{"tags", "packValues", "cloudTypes"} {
		if _, ok := m[k]; !ok {
			t.Errorf("tag entity lacks %q", k)
		}
	}
	if r := old.Readme(); r.Readme != old.Description {
		t.Errorf("Readme = %q", r.Readme)
	}
}

func TestGroupMetadata(t *testing.T) {
	c := catalog(t)
	items := packs.GroupMetadata(c.All(), "reg", "Registry")
	if len(items) != 8 {
		t.Fatalf("%d groups", len(items))
	}
	k8s := items[1]
	latest, _ := c.Latest("kubernetes")
	if k8s.Spec.Name != "kubernetes" || k8s.Metadata.UID != latest.UID || len(k8s.Spec.Registries) != 1 {
		t.Fatalf("group = %+v", k8s)
	}
	if r := k8s.Spec.Registries[0]; r.UID != "reg" || r.Name != "Registry" || r.LatestVersion != "1.34.4" || r.LatestPackUID != latest.UID {
		t.Errorf("registry = %+v", r)
	}
	arp := items[len(items)-1]
	if !slices.Equal(arp.Spec.CloudTypes, []string{"vsphere", "generic"}) || arp.Spec.AddonType != "system app" {
		t.Errorf("arp group = %+v", arp.Spec)
	}
}

func TestRegistry(t *testing.T) {
	if sum := sha256.Sum256([]byte(packs.RegistryName)); packs.RegistryUID != hex.EncodeToString(sum[:])[:24] {
		t.Errorf("RegistryUID %s is not derived from RegistryName", packs.RegistryUID)
	}
	r := packs.Registry()
	if r.Metadata.UID != packs.RegistryUID || r.Metadata.Name != "easel-builtin" || r.Spec.Endpoint == "" || r.Spec.Auth.Type == "" {
		t.Errorf("Registry = %+v", r)
	}
	m := jsonObject(t, r)
	spec := m["spec"].(map[string]any)
	for _, k := range []string{"auth", "endpoint", "private"} {
		if _, ok := spec[k]; !ok {
			t.Errorf("registry spec lacks required %q", k)
		}
	}
	if s := packs.RegistrySummary(); s.Metadata.UID != packs.RegistryUID || s.Metadata.Name != packs.RegistryName {
		t.Errorf("RegistrySummary = %+v", s)
	}
	if md := packs.RegistryMetadata(); md.UID != packs.RegistryUID || md.Kind != "pack" {
		t.Errorf("RegistryMetadata = %+v", md)
	}
}

func TestSearchRequestJSON(t *testing.T) {
	// A request as the Palette SDK serialises it.
	body := `{"filter":{"addOnSubType":null,"addOnType":[""],"displayName":{"contains":"Kube"},
		"environment":["all"],"layer":["k8s"],"name":{"eq":"KUBERNETES","ignoreCase":true},
		"registryUid":["` + packs.RegistryUID + `"],"source":null,"state":null,"type":["spectro"]},
		"sort":[{"field":"name","order":"asc"}]}`
	var spec v1.PacksFilterSpec
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		t.Fatal(err)
	}
	res := catalog(t).SearchSpec(spec)
	if len(res.Items) != 1 || res.Items[0].Spec.Name != "kubernetes" {
		t.Errorf("search = %+v", res.Items)
	}
}
