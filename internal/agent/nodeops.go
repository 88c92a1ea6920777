package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
)

// nodeOps converges the nodes to the node operations of the desired state (design 002): each
// operation runs in its own goroutine, so a drain that a PodDisruptionBudget holds blocks nothing
// else; a changed or withdrawn operation stops the one running for that node.
type nodeOps struct {
	a    *Agent
	mu   sync.Mutex
	want map[string]v1.AgentNodeOperation // by node
	wake chan struct{}
}

func newNodeOps(a *Agent) *nodeOps {
	return &nodeOps{a: a, want: map[string]v1.AgentNodeOperation{}, wake: make(chan struct{}, 1)}
}

// set replaces the wanted operations.
func (n *nodeOps) set(ops []v1.AgentNodeOperation) {
	n.mu.Lock()
	n.want = make(map[string]v1.AgentNodeOperation, len(ops))
	for _, op := range ops {
		n.want[op.Node] = op
	}
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// run starts and stops the operations as the wanted ones change, until ctx ends.
func (n *nodeOps) run(ctx context.Context) {
	type running struct {
		op     v1.AgentNodeOperation
		cancel context.CancelFunc
	}
	active := map[string]running{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		n.mu.Lock()
		want := n.want
		n.mu.Unlock()
		for node, r := range active {
			if op, ok := want[node]; !ok || op != r.op {
				r.cancel()
				delete(active, node)
			}
		}
		for node, op := range want {
			if _, ok := active[node]; ok {
				continue
			}
			opCtx, cancel := context.WithCancel(ctx)
			active[node] = running{op: op, cancel: cancel}
			go n.a.converge(opCtx, op)
		}
	}
}

// converge brings one node to what its operation asks, reporting each step to the hub.
func (a *Agent) converge(ctx context.Context, op v1.AgentNodeOperation) {
	log := a.log.With("node", op.Node, "action", op.Action)
	report := func(state, message, blockedBy string) {
		st := v1.MachineMaintenanceStatus{Action: op.Action, State: state, Message: message, BlockedBy: blockedBy}
		for b := newBackoff(a.clock); ctx.Err() == nil; b.sleep(ctx) {
			err := a.call(ctx, "PUT", op.StatusPath, st, nil)
			if err == nil {
				return
			}
			log.Warn("Reporting a node operation failed; retrying", "state", state, "err", err)
		}
	}
	if op.Action == v1.MaintenanceUncordon {
		log.Info("Uncordoning node")
		for b := newBackoff(a.clock); ctx.Err() == nil; b.sleep(ctx) {
			err := setUnschedulable(ctx, a.kube, op.Node, false)
			if err == nil {
				report(v1.MaintenanceCompleted, "node "+op.Node+" is schedulable again", "")
				return
			}
			log.Warn("Uncordoning failed; retrying", "err", err)
		}
		return
	}
	log.Info("Draining node")
	report(v1.MaintenanceInitiated, "cordoning node "+op.Node+" and evicting its pods", "")
	timeout := time.Duration(op.DrainTimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = defaultDrainTimeout
	}
	started := a.clock.Now()
	evicted, err := drain(ctx, a.kube, a.clock, op.Node, timeout, func(p drainProgress) {
		if p.BlockedBy != "" {
			log.Warn("Drain waits for a PodDisruptionBudget", "pdb", p.BlockedBy)
		}
		report(v1.MaintenanceInitiated, p.Message, p.BlockedBy)
	})
	switch {
	case ctx.Err() != nil:
		return // the operation changed or was withdrawn
	case err != nil:
		log.Warn("Draining node failed", "err", err)
		report(v1.MaintenanceFailed, err.Error(), "")
	default:
		log.Info("Drained node", "evicted", evicted, "took", a.clock.Since(started).Round(time.Millisecond))
		report(v1.MaintenanceCompleted, fmt.Sprintf("cordoned; %d pods evicted in %s (DaemonSet and static pods stay)",
			evicted, a.clock.Since(started).Round(time.Millisecond)), "")
	}
}
