package agent

import (
	"context"
	"log/slog"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	v1 "github.com/easelhq/easel/api/v1"
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

// An object that moved from a detached pack to another one is not deleted; the detached pack is
// reported Removed once and leaves the inventory, while the object stays in its new pack's.
func TestPruneKeepsAnObjectThatMovedPacks(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset()
	a := &Agent{cfg: Config{Namespace: "easel-system"}, kube: kube, log: slog.New(slog.DiscardHandler)}
	inv, _ := loadInventory(ctx, kube, "easel-system")
	cm := objectRef{Version: "v1", Kind: "ConfigMap", Namespace: "team", Name: "settings"}
	inv.record(inventoryPack{Profile: "old", Name: "settings", Version: "1.0.0", Objects: []objectRef{cm}})
	inv.record(inventoryPack{Profile: "new", Name: "settings", Version: "2.0.0", Objects: []objectRef{cm}})
	attached := []v1.AgentPack{{Profile: "new", Name: "settings", Version: "2.0.0"}}
	statuses := []v1.PackStatus{{Name: "settings", Version: "2.0.0", State: v1.PackStateApplied}}
	wanted := map[string]string{cm.key(): packKey("new", "settings")}

	removed, err := a.prune(ctx, inv, attached, wanted, statuses)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0].State != v1.PackStateRemoved || removed[0].Pruned != 0 {
		t.Fatalf("removed = %+v; want the old pack Removed with nothing deleted", removed)
	}
	if _, left := inv.packs[packKey("old", "settings")]; left || !inv.holds(packKey("new", "settings"), cm) {
		t.Fatalf("inventory after prune = %+v", inv.packs)
	}
	if removed, _ := a.prune(ctx, inv, attached, wanted, statuses); len(removed) != 0 {
		t.Fatalf("the detached pack is reported again: %+v", removed)
	}
}
