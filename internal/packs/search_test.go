package packs_test

import (
	"slices"
	"strings"
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/packs"
)

func names(ps []packs.Pack) []string {
	var out []string
	for _, p := range ps {
		if !slices.Contains(out, p.Name) {
			out = append(out, p.Name)
		}
	}
	return out
}

func TestSearch(t *testing.T) {
	c := catalog(t)
	allNames := names(c.All())
	tests := []struct {
		name   string
		filter packs.Filter
		want   []string
	}{
		{"zero filter", packs.Filter{}, allNames},
		{"name eq", packs.Filter{Name: packs.StringMatch{Eq: "kubernetes"}}, []string{"kubernetes"}},
		{"name eq is case-sensitive", packs.Filter{Name: packs.StringMatch{Eq: "Kubernetes"}}, nil},
		{"name eq ignoreCase", packs.Filter{Name: packs.StringMatch{Eq: "KUBERNETES", IgnoreCase: true}}, []string{"kubernetes"}},
		{"name beginsWith", packs.Filter{Name: packs.StringMatch{BeginsWith: "cni-"}}, []string{"cni-calico", "cni-cilium"}},
		{"name beginsWith ignoreCase", packs.Filter{Name: packs.StringMatch{BeginsWith: "CSI", IgnoreCase: true}}, []string{"csi-local-path"}},
		{"name contains", packs.Filter{Name: packs.StringMatch{Contains: "operator"}}, []string{"prometheus-operator"}},
		{"name contains ignoreCase", packs.Filter{Name: packs.StringMatch{Contains: "ARP", IgnoreCase: true}}, []string{"vsphere-arp-cache-cleaner"}},
		{"name ne", packs.Filter{Layers: []string{"os", "k8s"}, Name: packs.StringMatch{Ne: "ubuntu"}}, []string{"kubernetes"}},
		{"operators combine", packs.Filter{Name: packs.StringMatch{BeginsWith: "cni-", Contains: "lico"}}, []string{"cni-calico"}},
		{"displayName contains ignoreCase", packs.Filter{DisplayName: packs.StringMatch{Contains: "prometheus", IgnoreCase: true}}, []string{"prometheus-operator"}},
		{"names", packs.Filter{Names: []string{"ubuntu", "easel-agent"}}, []string{"ubuntu", "easel-agent"}},
		{"layer", packs.Filter{Layers: []string{"cni"}}, []string{"cni-calico", "cni-cilium"}},
		{"layers", packs.Filter{Layers: []string{"OS", "csi"}}, []string{"ubuntu", "csi-local-path"}},
		{"cloud type vsphere includes all-cloud packs", packs.Filter{CloudTypes: []string{"vsphere"}, Layers: []string{"addon"}},
			[]string{"easel-agent", "prometheus-operator", "vsphere-arp-cache-cleaner"}},
		{"cloud type edge excludes vsphere-only packs", packs.Filter{CloudTypes: []string{"edge-native"}, Layers: []string{"addon"}},
			[]string{"easel-agent", "prometheus-operator"}},
		{"cloud type all matches every pack", packs.Filter{CloudTypes: []string{"all"}}, allNames},
		{"addon type", packs.Filter{AddonTypes: []string{"monitoring"}}, []string{"prometheus-operator"}},
		{"addon type empty string selects os and k8s", packs.Filter{AddonTypes: []string{""}}, []string{"ubuntu", "kubernetes"}},
		{"version", packs.Filter{Versions: []string{"1.33.8"}}, []string{"kubernetes"}},
		{"type spectro", packs.Filter{Types: []string{"spectro"}, Layers: []string{"k8s"}}, []string{"kubernetes"}},
		{"type helm", packs.Filter{Types: []string{"helm"}}, nil},
		{"registry", packs.Filter{RegistryUIDs: []string{packs.RegistryUID}, Layers: []string{"os"}}, []string{"ubuntu"}},
		{"other registry", packs.Filter{RegistryUIDs: []string{"5ee9c5adc172449eeb9c30cf"}}, nil},
		{"fips", packs.Filter{FIPS: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Search(tt.filter)
			if g := names(got); !slices.Equal(g, tt.want) {
				t.Errorf("Search = %v, want %v", g, tt.want)
			}
			for _, p := range got {
				if !tt.filter.Match(p) {
					t.Errorf("Search returned %s, which does not Match", p.Name)
				}
			}
		})
	}
	if got := c.Search(packs.Filter{Name: packs.StringMatch{Eq: "kubernetes"}}); len(got) != 2 {
		t.Errorf("Search(kubernetes) returned %d versions, want 2", len(got))
	}
}

func ptr[T any](v T) *T { return &v }

func TestFilterFromSpec(t *testing.T) {
	c := catalog(t)
	tests := []struct {
		name string
		spec *v1.PackFilterSpec
		want []string
	}{
		{"nil", nil, names(c.All())},
		{"name eq", &v1.PackFilterSpec{Name: &v1.FilterString{Eq: ptr("cni-cilium")}}, []string{"cni-cilium"}},
		{"name beginsWith ignoreCase", &v1.PackFilterSpec{Name: &v1.FilterString{BeginsWith: ptr("CNI"), IgnoreCase: ptr(true)}}, []string{"cni-calico", "cni-cilium"}},
		{"displayName contains", &v1.PackFilterSpec{DisplayName: &v1.FilterString{Contains: ptr("Path")}}, []string{"csi-local-path"}},
		{"layer and environment", &v1.PackFilterSpec{Layer: []string{"addon"}, Environment: []string{"vsphere"}, AddOnType: []string{"system app"}},
			[]string{"easel-agent", "vsphere-arp-cache-cleaner"}},
		// What the Terraform provider sends to find the latest version of a pack by name.
		{"terraform latest-version lookup", &v1.PackFilterSpec{
			Name:        &v1.FilterString{Eq: ptr("kubernetes")},
			Type:        []string{"spectro", "helm", "manifest", "oci"},
			Layer:       []string{"kernel", "os", "k8s", "cni", "csi", "addon"},
			Environment: []string{"all"},
			AddOnType:   []string{"load balancer", "ingress", "logging", "monitoring", "security", "authentication", "servicemesh", "system app", "app services", "registry", "csi", "cni", "integration", ""},
			RegistryUID: []string{packs.RegistryUID},
			Source:      []string{"community"},
		}, []string{"kubernetes"}},
		{"fips", &v1.PackFilterSpec{IsFips: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(c.Search(packs.FilterFromSpec(tt.spec))); !slices.Equal(got, tt.want) {
				t.Errorf("Search = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSearchSpec(t *testing.T) {
	c := catalog(t)
	res := c.SearchSpec(v1.PacksFilterSpec{Filter: &v1.PackFilterSpec{Layer: []string{"k8s", "os"}}})
	if len(res.Items) != 2 || res.Listmeta == nil || res.Listmeta.Count != 2 {
		t.Fatalf("SearchSpec = %+v", res)
	}
	k8s := res.Items[1]
	if k8s.Spec.Name != "kubernetes" || len(k8s.Spec.Registries) != 1 {
		t.Fatalf("items[1] = %+v", k8s)
	}
	reg := k8s.Spec.Registries[0]
	latest, _ := c.Find("kubernetes", "1.34.4")
	if reg.LatestVersion != "1.34.4" || reg.LatestPackUID != latest.UID || reg.UID != packs.RegistryUID || reg.Name != packs.RegistryName {
		t.Errorf("registry = %+v", reg)
	}

	sorted := c.SearchSpec(v1.PacksFilterSpec{Sort: []v1.PackSortSpec{{Field: "layer", Order: "desc"}, {Field: "name", Order: "desc"}}})
	var got []string
	for _, it := range sorted.Items {
		got = append(got, it.Spec.Name)
	}
	want := []string{"vsphere-arp-cache-cleaner", "prometheus-operator", "easel-agent", "csi-local-path", "cni-cilium", "cni-calico", "kubernetes", "ubuntu"}
	if !slices.Equal(got, want) {
		t.Errorf("sorted = %v, want %v", got, want)
	}
}

// The filter of POST /v1/packs/search has the same bounds as the filters query parameter.
func TestFilterCheck(t *testing.T) {
	hundred := make([]string, 100)
	for i := range hundred {
		hundred[i] = "os"
	}
	long := strings.Repeat("k", 254)
	for _, tt := range []struct {
		name    string
		spec    *v1.PackFilterSpec
		wantErr string
	}{
		{"100 values", &v1.PackFilterSpec{Layer: hundred}, ""},
		{"101 values over two fields", &v1.PackFilterSpec{Layer: hundred, Type: []string{"spectro"}}, "101 values; at most 100 (MaxFilterValues)"},
		{"string conditions count", &v1.PackFilterSpec{Layer: hundred, Name: &v1.FilterString{Contains: new(string)}, DisplayName: &v1.FilterString{Eq: &hundred[0]}}, "101 values"},
		{"a long list value", &v1.PackFilterSpec{Environment: []string{long}}, "(MaxFilterValueLength)"},
		{"a long string condition", &v1.PackFilterSpec{Name: &v1.FilterString{BeginsWith: &long}}, "(MaxFilterValueLength)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := packs.FilterFromSpec(tt.spec).Check()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Check = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseFilters(t *testing.T) {
	c := catalog(t)
	k8s, _ := c.Find("kubernetes", "1.33.8")
	tests := []struct {
		expr    string
		want    []string // name/version
		wantErr string
	}{
		{"", nil, ""},
		{"spec.name=kubernetesANDspec.version=1.34.4", []string{"kubernetes/1.34.4"}, ""},
		{"spec.name=kubernetes AND spec.version=1.34.4", []string{"kubernetes/1.34.4"}, ""},
		{"metadata.uid=" + k8s.UID, []string{"kubernetes/1.33.8"}, ""},
		{"spec.name=vsphere-arp-cache-cleanerANDspec.cloudTypes_in_vsphere,all", []string{"vsphere-arp-cache-cleaner/1.0.0"}, ""},
		{"spec.name=vsphere-arp-cache-cleanerANDspec.cloudTypes_in_aws", nil, ""},
		{"spec.layer=cniANDspec.displayName=Cilium", []string{"cni-cilium/1.18.2"}, ""},
		{"spec.name_in_ubuntu,easel-agentANDspec.version_in_24.04,0.1.0", []string{"ubuntu/24.04", "easel-agent/0.1.0"}, ""},
		{"spec.registryUid=" + packs.RegistryUID + "ANDspec.layer=csi", []string{"csi-local-path/0.0.32"}, ""},
		{"spec.bogus=1", nil, "unknown field"},
		{"spec.name", nil, "neither"},
		{"spec.name=aANDspec.name=b", nil, "twice"},
		// 100 values of 253 characters at most, in one condition or over several.
		{"spec.layer_in_" + strings.Repeat("a,", 99) + "os", []string{"ubuntu/22.04", "ubuntu/24.04"}, ""},
		{"spec.layer_in_" + strings.Repeat("a,", 100) + "os", nil, "gives 101 values; at most 100 (MaxFilterValues)"},
		{"spec.layer_in_" + strings.Repeat("a,", 60) + "osANDspec.version_in_" + strings.Repeat("1,", 40) + "2", nil, "the filter gives 102 values; at most 100 (MaxFilterValues)"},
		{"spec.name=" + strings.Repeat("k", 253), nil, ""},
		{"spec.name=" + strings.Repeat("k", 254), nil, "longer than 253 characters (MaxFilterValueLength)"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			f, err := packs.ParseFilters(tt.expr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range c.Search(f) {
				got = append(got, p.Name+"/"+p.Version)
			}
			if tt.expr == "" {
				if len(got) != len(c.All()) {
					t.Errorf("empty filters matched %d packs", len(got))
				}
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
