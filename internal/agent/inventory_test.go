package agent

import (
	"context"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
)

// The inventory outlives the agent: what one agent records, the next one loads; recording only
// what is known already writes nothing.
func TestInventoryIsKeptInAConfigMap(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset()
	inv, err := loadInventory(ctx, kube, "easel-system")
	if err != nil || len(inv.packs) != 0 {
		t.Fatalf("a missing inventory loads as %v, %v; want empty", inv, err)
	}
	cm := objectRef{Version: "v1", Kind: "ConfigMap", Namespace: "team", Name: "settings"}
	ns := objectRef{Version: "v1", Kind: "Namespace", Name: "team"}
	if !inv.record(inventoryPack{Profile: "team", Name: "settings", Version: "1.0.0", Objects: []objectRef{ns, cm}}) {
		t.Fatal("recording a new pack reported nothing new")
	}
	if err := inv.save(ctx); err != nil {
		t.Fatal(err)
	}
	if inv.record(inventoryPack{Profile: "team", Name: "settings", Version: "1.0.0", Objects: []objectRef{cm}}) {
		t.Fatal("recording known objects reported something new")
	}
	// The same object at another version of its kind is the same object, its version updated.
	cmV2 := cm
	cmV2.Version = "v2"
	if !inv.record(inventoryPack{Profile: "team", Name: "settings", Version: "1.1.0", Objects: []objectRef{cmV2}}) {
		t.Fatal("a new version of the pack and of a kind reported nothing new")
	}
	if err := inv.save(ctx); err != nil {
		t.Fatal(err)
	}

	again, err := loadInventory(ctx, kube, "easel-system")
	if err != nil {
		t.Fatal(err)
	}
	got := again.packs[packKey("team", "settings")]
	if got == nil || got.Version != "1.1.0" || len(got.Objects) != 2 || got.Objects[0] != ns || got.Objects[1] != cmV2 {
		t.Fatalf("loaded inventory = %+v", got)
	}
}
