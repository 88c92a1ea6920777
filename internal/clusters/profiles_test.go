package clusters_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/profiles"
)

func infraProfile(os, k8s, k8sValues string) profiles.Profile {
	return profiles.Profile{Name: "base", Version: os + "-" + k8s, Type: v1.ProfileTypeCluster, CloudType: "all", Published: true,
		Packs: []profiles.Pack{
			{Name: "ubuntu", Version: os, Layer: v1.PackLayerOS, Type: profiles.PackTypeSpectro},
			{Name: "kubernetes", Version: k8s, Layer: v1.PackLayerK8s, Type: profiles.PackTypeSpectro, Values: k8sValues},
			{Name: "cni-calico", Version: "3.30.3", Layer: v1.PackLayerCNI, Type: profiles.PackTypeSpectro},
		}}
}

// The machines' image follows the infra profile's OS and Kubernetes layers, with the values as
// they take effect: a change of either layer or of its values is a repave with that reason; the
// same values given at another level, or a change of another layer, is not.
func TestImageChangesAreRepaveReasons(t *testing.T) {
	catalog := packs.MustBuiltin()
	found := map[string]profiles.Profile{
		"old":        infraProfile("22.04", "1.33.8", ""),
		"new":        infraProfile("24.04", "1.34.4", ""),
		"cidr":       infraProfile("24.04", "1.34.4", "pack:\n  podCIDR: 10.245.0.0/16\n"),
		"cidr-again": infraProfile("24.04", "1.34.4", "pack:\n  podCIDR: 10.245.0.0/16\n"),
	}
	resolve := func(uid string) (profiles.Profile, bool) { p, ok := found[uid]; return p, ok }
	for _, tc := range []struct {
		name     string
		from, to []v1.SpectroClusterProfileEntity
		want     []string
	}{
		{"both layers", []v1.SpectroClusterProfileEntity{{UID: "old"}}, []v1.SpectroClusterProfileEntity{{UID: "new"}},
			[]string{"Kubernetes layer changed from kubernetes 1.33.8 to kubernetes 1.34.4", "OS layer changed from ubuntu 22.04 to ubuntu 24.04"}},
		{"values in the cluster", []v1.SpectroClusterProfileEntity{{UID: "new"}},
			[]v1.SpectroClusterProfileEntity{{UID: "new", PackValues: []v1.PackValuesEntity{{Name: "kubernetes", Values: "pack:\n  podCIDR: 10.245.0.0/16\n"}}}},
			[]string{"Kubernetes layer kubernetes 1.34.4: values changed"}},
		{"values in the profile", []v1.SpectroClusterProfileEntity{{UID: "new"}}, []v1.SpectroClusterProfileEntity{{UID: "cidr"}},
			[]string{"Kubernetes layer kubernetes 1.34.4: values changed"}},
		{"the same values at the other level", []v1.SpectroClusterProfileEntity{{UID: "cidr"}},
			[]v1.SpectroClusterProfileEntity{{UID: "new", PackValues: []v1.PackValuesEntity{{Name: "kubernetes", Values: "pack:\n  podCIDR: 10.245.0.0/16\n"}}}}, nil},
		{"another profile, the same layers", []v1.SpectroClusterProfileEntity{{UID: "cidr"}}, []v1.SpectroClusterProfileEntity{{UID: "cidr-again"}}, nil},
		{"a CNI value", []v1.SpectroClusterProfileEntity{{UID: "new"}},
			[]v1.SpectroClusterProfileEntity{{UID: "new", PackValues: []v1.PackValuesEntity{{Name: "cni-calico", Values: "a: 1"}}}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refs, img, err := clusters.ResolveProfiles("local", tc.from, resolve, catalog)
			if err != nil {
				t.Fatal(err)
			}
			cl := clusters.Cluster{CloudType: "local", Profiles: refs, Image: img,
				Pools: []clusters.Pool{{Name: "cp", ControlPlane: true, Size: 1, InstanceType: "small", DiskGiB: 60, Zones: []string{"local-a"}}}}
			cl.Status.Machines = []clusters.Machine{{UID: "m1", Name: "cp-1", Pool: "cp", ControlPlane: true, InstanceType: "small",
				DiskGiB: 60, Zone: "local-a", Image: img, CreatedAt: time.Now()}}
			changes, err := cl.SetProfiles(tc.to, resolve, catalog)
			if err != nil {
				t.Fatal(err)
			}
			if len(changes) == 0 {
				t.Fatal("SetProfiles saw no change")
			}
			if got := cl.RepaveReasons(); !slices.Equal(got, tc.want) {
				t.Fatalf("repave reasons = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestPatchAndDetachProfiles(t *testing.T) {
	current := []clusters.ProfileRef{{UID: "infra", Name: "base", Type: v1.ProfileTypeCluster},
		{UID: "a1", Name: "team", Type: v1.ProfileTypeAddOn, PackValues: []clusters.PackValues{{Name: "s", Values: "a: 1"}}}}
	uids := func(es []v1.SpectroClusterProfileEntity) (out []string) {
		for _, e := range es {
			out = append(out, e.UID)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		patch []v1.SpectroClusterProfileEntity
		want  []string
		err   string
	}{
		{"attach", []v1.SpectroClusterProfileEntity{{UID: "a9"}}, []string{"infra", "a1", "a9"}, ""},
		{"replace in place", []v1.SpectroClusterProfileEntity{{UID: "a2", ReplaceWithProfile: "a1"}}, []string{"infra", "a2"}, ""},
		{"replace the infra profile", []v1.SpectroClusterProfileEntity{{UID: "infra2", ReplaceWithProfile: "infra"}}, []string{"infra2", "a1"}, ""},
		{"change values", []v1.SpectroClusterProfileEntity{{UID: "a1"}}, []string{"infra", "a1"}, ""},
		{"replace what is not attached", []v1.SpectroClusterProfileEntity{{UID: "a2", ReplaceWithProfile: "zz"}}, nil, "not attached"},
		{"replace by what is attached", []v1.SpectroClusterProfileEntity{{UID: "a1", ReplaceWithProfile: "infra"}}, nil, "attached already"},
		{"no uid", []v1.SpectroClusterProfileEntity{{}}, nil, "uid is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := clusters.PatchProfiles(current, tc.patch)
			if tc.err != "" {
				if !containsErr(err, tc.err) {
					t.Fatalf("err = %v; want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(uids(got), tc.want) {
				t.Fatalf("PatchProfiles = %v, %v; want %v", uids(got), err, tc.want)
			}
			if tc.name == "change values" && len(got[1].PackValues) != 0 {
				t.Fatalf("the patch's (empty) values did not replace the cluster's: %+v", got[1])
			}
		})
	}
	if got, err := clusters.DetachProfiles(current, []string{"a1"}); err != nil || !slices.Equal(uids(got), []string{"infra"}) {
		t.Fatalf("DetachProfiles(a1) = %v, %v", uids(got), err)
	}
	if _, err := clusters.DetachProfiles(current, []string{"infra"}); !containsErr(err, "infra profile") {
		t.Fatalf("DetachProfiles(infra) = %v; want a refusal", err)
	}
}

// containsErr: err is an ErrInvalid that says text.
func containsErr(err error, text string) bool {
	return errors.Is(err, clusters.ErrInvalid) && strings.Contains(err.Error(), text)
}

// A cluster stored before machines recorded their image is repaved by its first layer change too.
func TestMachinesWithoutAnImageTakeTheOldOne(t *testing.T) {
	catalog := packs.MustBuiltin()
	found := map[string]profiles.Profile{"old": infraProfile("22.04", "1.33.8", ""), "new": infraProfile("24.04", "1.33.8", "")}
	resolve := func(uid string) (profiles.Profile, bool) { p, ok := found[uid]; return p, ok }
	cl := clusters.Cluster{CloudType: "local", Profiles: []clusters.ProfileRef{{UID: "old", Name: "base", Type: v1.ProfileTypeCluster}},
		Pools: []clusters.Pool{{Name: "cp", ControlPlane: true, Size: 1, InstanceType: "small", DiskGiB: 60, Zones: []string{"local-a"}}}}
	cl.Status.Machines = []clusters.Machine{{UID: "m1", Name: "cp-1", Pool: "cp", ControlPlane: true, InstanceType: "small", DiskGiB: 60, Zone: "local-a"}}
	if _, err := cl.SetProfiles([]v1.SpectroClusterProfileEntity{{UID: "new"}}, resolve, catalog); err != nil {
		t.Fatal(err)
	}
	if got := cl.RepaveReasons(); !slices.Equal(got, []string{"OS layer changed from ubuntu 22.04 to ubuntu 24.04"}) {
		t.Fatalf("repave reasons = %q", got)
	}
}
