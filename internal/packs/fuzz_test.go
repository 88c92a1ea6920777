package packs_test

import (
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/packs"
)

// FuzzParseFilters feeds arbitrary "filters" query parameters of GET /v1/packs to the parser: it
// never panics, and a filter it accepts passes Check (at most MaxFilterValues values of
// MaxFilterValueLength) and can be searched with.
func FuzzParseFilters(f *testing.F) {
	f.Add("spec.name=kubernetesANDspec.version=1.34.4")
	f.Add("spec.name=vsphere-arp-cache-cleaner AND spec.cloudTypes_in_vsphere,all")
	f.Add("metadata.uid=abcANDspec.displayName=CiliumANDspec.layer_in_cni,csi")
	f.Add("spec.registryUid=x_in_yANDspec.type=spectro")
	f.Add("spec.layer_in_" + "a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a")
	catalog := packs.MustBuiltin()
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := packs.ParseFilters(expr)
		if err != nil {
			return
		}
		if err := flt.Check(); err != nil {
			t.Fatalf("ParseFilters(%q) accepted a filter that Check refuses: %v", expr, err)
		}
		n := 0
		for _, list := range [][]string{flt.Names, flt.UIDs, flt.Versions, flt.Layers, flt.AddonTypes, flt.CloudTypes, flt.Types, flt.RegistryUIDs} {
			n += len(list)
		}
		if n > v1.MaxFilterValues {
			t.Fatalf("ParseFilters(%q) accepted %d values", expr, n)
		}
		catalog.Search(flt)
	})
}
