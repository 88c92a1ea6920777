package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	v1 "github.com/easelhq/easel/api/v1"
)

// applyAll applies every pack in order, prunes what the inventory holds that no pack wants any
// more (objects of detached packs, objects a pack no longer has) and reports each pack's state,
// removed packs included. A failed pack stops the ones above it (they may depend on it) and the
// whole generation is retried. DaemonSets are not rolled onto nodes in maintenance (daemonsets.go).
func (a *Agent) applyAll(ctx context.Context, d v1.AgentDesired) error {
	a.log.Info("Applying packs", "generation", d.Generation, "packs", len(d.Packs))
	inv, err := loadInventory(ctx, a.kube, a.cfg.Namespace)
	if err != nil {
		return err
	}
	maintenance := maintenanceNodes(d.Nodes)
	report := v1.AgentPackReport{Generation: d.Generation, Packs: []v1.PackStatus{}}
	wanted := map[string]string{} // every object some pack has: object key → pack key
	complete := true              // every object of every pack is identified: pruning is safe
	var failed error
	for _, p := range d.Packs {
		st := v1.PackStatus{Name: p.Name, Version: p.Version}
		objs, err := packObjects(p)
		if err != nil {
			complete = false
			if failed == nil {
				failed = fmt.Errorf("pack %s: %w", p.Name, err)
			}
			st.State, st.Message = v1.PackStateFailed, err.Error()
			report.Packs = append(report.Packs, st)
			continue
		}
		if failed != nil {
			for _, obj := range objs {
				ref, ok := a.applier.identify(obj)
				complete = complete && ok
				wanted[ref.key()] = packKey(p.Profile, p.Name)
			}
			st.State, st.Message = v1.PackStateFailed, "waiting for a pack below it: "+failed.Error()
			report.Packs = append(report.Packs, st)
			continue
		}
		n, deferred, err := a.applyPack(ctx, inv, p, objs, maintenance, wanted, &complete)
		st.Objects = n
		switch {
		case err != nil:
			failed = fmt.Errorf("pack %s: %w", p.Name, err)
			st.State, st.Message = v1.PackStateFailed, err.Error()
		case len(deferred) > 0:
			st.State, st.Message = v1.PackStatePending, strings.Join(deferred, "; ")
		default:
			st.State = v1.PackStateApplied
		}
		report.Packs = append(report.Packs, st)
	}
	if complete {
		removed, err := a.prune(ctx, inv, d.Packs, wanted, report.Packs)
		if err != nil {
			return err
		}
		report.Packs = append(report.Packs, removed...)
	} else {
		a.log.Warn("Not pruning: some objects of the packs could not be identified", "generation", d.Generation)
	}
	if err := a.call(ctx, "PUT", "/agent/packs", report, nil); err != nil {
		return fmt.Errorf("reporting the pack states: %w", err)
	}
	return failed
}

// applyPack applies a pack's objects in order, each recorded in the inventory first; it returns how
// many it applied and, for DaemonSets kept off nodes in maintenance, what waits for them.
func (a *Agent) applyPack(ctx context.Context, inv *inventory, p v1.AgentPack, objs []*unstructured.Unstructured, maintenance []string,
	wanted map[string]string, complete *bool) (int, []string, error) {
	record := func(refs []objectRef) error {
		if inv.record(inventoryPack{Profile: p.Profile, Name: p.Name, Version: p.Version, Objects: refs}) {
			return inv.save(ctx)
		}
		return nil
	}
	// What can be named now is recorded before anything is applied; kinds of a CRD of this pack
	// are named once the CRD is in.
	refs := make([]objectRef, len(objs))
	known := make([]bool, len(objs))
	var now []objectRef
	for i, obj := range objs {
		if refs[i], known[i] = a.applier.identify(obj); known[i] {
			now = append(now, refs[i])
		}
	}
	if err := record(now); err != nil {
		return 0, nil, err
	}
	var deferred []string
	for i, obj := range objs {
		if !known[i] {
			if refs[i], known[i] = a.applier.identify(obj); !known[i] {
				*complete = false
				return i, deferred, fmt.Errorf("%s %s: the cluster has no kind %s", obj.GetKind(), obj.GetName(), obj.GroupVersionKind())
			}
			if err := record(refs[i : i+1]); err != nil {
				return i, deferred, err
			}
		}
		wanted[refs[i].key()] = packKey(p.Profile, p.Name)
		daemonSet := refs[i].Group == "apps" && refs[i].Kind == "DaemonSet"
		if daemonSet && len(maintenance) > 0 {
			keepOffNodes(obj)
		}
		if err := a.applier.apply(ctx, refs[i], obj); err != nil {
			return i, deferred, fmt.Errorf("%s: %w", refs[i], err)
		}
		if daemonSet && len(maintenance) > 0 {
			waiting, err := a.rollDaemonSet(ctx, refs[i].Namespace, refs[i].Name, maintenance)
			if err != nil {
				return i, deferred, fmt.Errorf("%s: %w", refs[i], err)
			}
			deferred = append(deferred, waiting...)
		}
	}
	return len(objs), deferred, nil
}

// prune deletes, newest first, every object of the inventory that no pack has any more, and keeps
// in each pack's inventory only what that pack still has (and what failed to go, to try again); an
// object another pack has now is that pack's to keep. It counts the objects each pack lost in its
// status and returns a Removed status for each pack that is gone.
func (a *Agent) prune(ctx context.Context, inv *inventory, packs []v1.AgentPack, wanted map[string]string, statuses []v1.PackStatus) ([]v1.PackStatus, error) {
	var removed []v1.PackStatus
	changed := false
	for key, ip := range inv.packs {
		var keep []objectRef
		deleted, failures := 0, []string{}
		for i := len(ip.Objects) - 1; i >= 0; i-- {
			ref := ip.Objects[i]
			owner, ok := wanted[ref.key()]
			switch {
			case owner == key:
				keep = append(keep, ref)
				continue
			case ok && !inv.holds(owner, ref):
				keep = append(keep, ref) // another pack has it, but has not recorded it yet
				continue
			}
			changed = true
			if ok {
				continue // it moved to another pack, whose inventory holds it
			}
			if ref.Group == "" && ref.Kind == "Namespace" && (ref.Name == a.cfg.Namespace || slices.Contains(systemNamespaces, ref.Name)) {
				continue // the agent's own namespace holds the inventory, and the system's are not a pack's to take
			}
			a.log.Info("Deleting an object no pack has any more", "pack", key, "object", ref.String())
			if err := a.applier.remove(ctx, ref); err != nil {
				failures = append(failures, fmt.Sprintf("%s: %v", ref, err))
				keep = append(keep, ref)
				continue
			}
			deleted++
		}
		slices.Reverse(keep)
		ip.Objects = keep
		attached := slices.ContainsFunc(packs, func(p v1.AgentPack) bool { return packKey(p.Profile, p.Name) == key })
		if attached {
			if i := slices.IndexFunc(statuses, func(s v1.PackStatus) bool { return s.Name == ip.Name }); i >= 0 {
				statuses[i].Pruned = deleted
			}
			continue
		}
		st := v1.PackStatus{Name: ip.Name, Version: ip.Version, State: v1.PackStateRemoved, Pruned: deleted,
			Message: fmt.Sprintf("detached from the cluster (profile %s): %d objects deleted", ip.Profile, deleted)}
		if len(failures) > 0 {
			st.State, st.Message = v1.PackStateFailed, "detached, but deleting failed: "+strings.Join(failures, "; ")
		}
		removed = append(removed, st)
		if len(ip.Objects) == 0 {
			delete(inv.packs, key)
		}
	}
	if !changed {
		return removed, nil
	}
	return removed, inv.save(ctx)
}

// systemNamespaces are never deleted, even when a detached pack applied them.
var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// maintenanceNodes are the nodes the hub keeps in maintenance.
func maintenanceNodes(ops []v1.AgentNodeOperation) []string {
	var out []string
	for _, op := range ops {
		if op.Purpose == v1.PurposeMaintenance && op.Action == v1.MaintenanceCordon {
			out = append(out, op.Node)
		}
	}
	slices.Sort(out)
	return out
}
