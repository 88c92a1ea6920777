package clusters_test

import (
	"encoding/json"
	"errors"
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/profiles"
)

func resolver(uid string) (profiles.Profile, bool) {
	switch uid {
	case "infra":
		return profiles.Profile{Name: "base", Version: "1.0.0", Type: v1.ProfileTypeCluster, CloudType: "local", Published: true,
			Packs: []profiles.Pack{{Name: "kubernetes", Version: "1.34.4", Layer: "k8s"}}}, true
	case "addon":
		return profiles.Profile{Name: "mon", Version: "1.0.0", Type: v1.ProfileTypeAddOn, CloudType: "all", Published: true}, true
	}
	return profiles.Profile{}, false
}

// FuzzFromEntity feeds arbitrary cluster specs through validation: it must never panic, and an
// accepted cluster has exactly one control-plane pool of size >= 1 and sane pools.
func FuzzFromEntity(f *testing.F) {
	f.Add(`{"metadata":{"name":"web"},"spec":{"profiles":[{"uid":"infra"}],"machinepoolconfig":[{"poolConfig":{"name":"cp","size":1,"isControlPlane":true}},{"poolConfig":{"name":"w","size":2},"cloudConfig":{"instanceType":"large","azs":["local-b"]}}]}}`)
	f.Add(`{"metadata":{"name":"y"},"spec":{"profiles":[{"uid":"infra","packValues":[{"name":"kubernetes","values":"a: 1"}]},{"uid":"addon"}],"machinepoolconfig":[{"cloudConfig":{"values":"kind: KubeadmControlPlane\nmetadata:\n  name: cp\nspec:\n  replicas: 3\n"}}]}}`)
	f.Add(`{"metadata":{"name":"z"},"spec":{"profiles":[{"uid":"infra"}],"machinepoolconfig":[{"cloudConfig":{"values":"kind: MachineDeployment\nspec:\n  replicas: -4\n---\n- [\n"}}]}}`)
	f.Fuzz(func(t *testing.T, body string) {
		var e v1.SpectroClusterEntity
		if json.Unmarshal([]byte(body), &e) != nil {
			return
		}
		c, err := clusters.FromEntity("local", e, resolver, packs.MustBuiltin())
		if err != nil {
			if !errors.Is(err, clusters.ErrInvalid) {
				t.Fatalf("error is not ErrInvalid: %v", err)
			}
			return
		}
		cps := 0
		for _, p := range c.Pools {
			if p.ControlPlane {
				cps++
				if p.Size < 1 {
					t.Fatalf("accepted a control plane of size %d", p.Size)
				}
			}
			if p.Size < 0 || p.Size > v1.MaxMachinesPerCluster || len(p.Zones) == 0 {
				t.Fatalf("accepted pool %+v", p)
			}
		}
		if cps != 1 {
			t.Fatalf("accepted %d control-plane pools", cps)
		}
		if _, err := clusters.Decode(c.Encode()); err != nil {
			t.Fatal(err)
		}
	})
}
