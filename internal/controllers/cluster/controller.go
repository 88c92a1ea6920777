// Package cluster is the cluster controller: it moves each cluster record towards a running
// cluster through its provider — control plane, machines, then agent and packs — and tears the
// cluster down when it is deleted.
//
// A reconcile reads the cluster into a scope and runs phases (phases.go) that act through the
// provider and note what they found; status.go draws the conditions, the state and the health
// from that; the cluster is written once at the end, and not at all when nothing changed.
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/utils/clock"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/engine"
	"github.com/easelhq/easel/internal/logctx"
	"github.com/easelhq/easel/internal/provider"
	"github.com/easelhq/easel/internal/secret"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
)

// Poll is how soon a cluster waiting on its provider (a control plane starting, nodes getting
// Ready) is looked at again: the provider tells no one.
const Poll = 2 * time.Second

// QuotaRetry is how soon a cluster that did not fit is tried again.
const QuotaRetry = 15 * time.Second

// conflictRetry is how soon a cluster whose write lost a race is looked at again.
const conflictRetry = 10 * time.Millisecond

// DefaultHeartbeatTimeout is how long a cluster may go without a heartbeat before it is unhealthy.
const DefaultHeartbeatTimeout = 10 * time.Minute

// Controller reconciles clusters.
type Controller struct {
	Store     store.Store
	Providers map[string]provider.Provider // by cloud type
	Clock     clock.PassiveClock
	Log       *slog.Logger
	// HeartbeatTimeout is how long without a heartbeat makes a cluster unhealthy (default 10m).
	HeartbeatTimeout time.Duration
	// DrainTimeout is how long the agent may take to drain a node before its machine is deleted
	// anyway (default clusters.DefaultDrainTimeout).
	DrainTimeout time.Duration
	// NodesChanged, when set, is told of a cluster whose node operations the engine changed (a drain
	// to start), so that its agent's long-poll answers at once.
	NodesChanged func(clusterUID string)
	// Leases, with several hub replicas, says which clusters this one reconciles; nil is the
	// single hub, which reconciles every cluster.
	Leases Leases
}

// Leases are the cluster leases of hub replicas (internal/replica).
type Leases interface {
	// Hold returns the cluster's lease and a context that ends when this replica loses it, with
	// ok false when another replica reconciles the cluster. An observed lease is a local cluster
	// whose host is gone: the reconcile says so and leaves its processes alone.
	Hold(ctx context.Context, clusterUID string) (lease store.Lease, lost context.Context, ok bool, err error)
	// Lost says a write under fence was refused (store.ErrLeaseLost).
	Lost(fence store.Fence)
}

var _ engine.Reconciler = (*Controller)(nil)

// scope is one reconcile of one cluster: what it read, what its phases found, and what it writes
// at the end.
type scope struct {
	rec     store.Record
	cluster clusters.Cluster
	prov    provider.Provider
	log     *slog.Logger
	now     time.Time
	// events are written with the cluster, in one transaction.
	events []store.Event
	// fence is the cluster's lease this reconcile holds: every write checks it.
	fence store.Fence

	// remove are the machines the pools no longer want, deleted once drained.
	remove []clusters.Machine
	// What the phases found, from which status.go draws the conditions. A milestone the pass did
	// not get to keeps its condition as it was.
	infraChecked     bool  // the infrastructure was looked at…
	infraErr         error // …and this keeps it from being ready
	machinesObserved bool  // the provider's machines were looked at
	agentChecked     bool  // the agent was run…
	agentErr         error // …or this kept it from running
	packsChecked     bool  // the agent's pack report was looked at
}

// providerCluster is what the provider is told of the cluster as the pass has it now.
func (s *scope) providerCluster() provider.Cluster {
	return provider.Cluster{UID: s.rec.UID, Name: s.rec.Name, Spec: s.cluster}
}

func (c *Controller) Reconcile(ctx context.Context, key string) (engine.Result, error) {
	var lease store.Lease
	if c.Leases != nil {
		l, lost, ok, err := c.Leases.Hold(ctx, key)
		if err != nil || !ok {
			return engine.Result{}, err // another replica reconciles it
		}
		// Losing the session stops the reconcile: what it would write is refused anyway.
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(lost, cancel)()
		lease = l
	}
	res, err := c.reconcileHeld(ctx, key, lease)
	if errors.Is(err, store.ErrLeaseLost) && c.Leases != nil {
		c.Leases.Lost(lease.Fence)
		return engine.Result{}, nil
	}
	return res, err
}

// reconcileHeld reconciles a cluster whose lease this hub holds.
func (c *Controller) reconcileHeld(ctx context.Context, key string, lease store.Lease) (engine.Result, error) {
	rec, err := c.Store.GetObject(ctx, clusters.Kind, key)
	if errors.Is(err, store.ErrNotFound) {
		return engine.Result{}, nil
	}
	if err != nil {
		return engine.Result{}, err
	}
	// With the agent's newest heartbeat (most write a row of their own): health is judged from it.
	cl, err := service.DecodeCluster(ctx, c.Store, rec)
	if err != nil {
		return engine.Result{}, err
	}
	// The provider's lines carry the same keys as the controller's (logctx).
	log := c.Log.With("cluster", rec.Name, "clusterUID", rec.UID)
	ctx = logctx.With(ctx, log)
	prov, ok := c.Providers[cl.CloudType]
	if !ok {
		return engine.Result{}, fmt.Errorf("no provider for cloud type %q", cl.CloudType)
	}
	s := &scope{rec: rec, cluster: cl, prov: prov, log: log, now: c.Clock.Now(), fence: lease.Fence}
	if lease.Observed {
		return c.observe(ctx, s, lease.HostID)
	}
	if cl.Status.State == v1.ClusterStateDeleting {
		return engine.Result{}, c.delete(ctx, s)
	}

	before, nodesRevision := cl.Encode(), cl.Status.NodesRevision
	if s.cluster.Status.HasCondition(clusters.ConditionHostAvailable, "False") {
		c.condition(s, clusters.ConditionHostAvailable, "True", "HostBack",
			"The hub replica on this cluster's host reconciles it again", v1.SeverityInfo)
	}
	res, stepErr := c.reconcile(ctx, s)
	if bytes.Equal(s.cluster.Encode(), before) && len(s.events) == 0 {
		return res, stepErr
	}
	if err := c.writeStatus(ctx, s); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// The spec changed meanwhile: look again at once with what is stored now.
			return engine.Result{RequeueAfter: conflictRetry}, nil
		}
		return engine.Result{}, errors.Join(stepErr, err)
	}
	if s.cluster.Status.NodesRevision != nodesRevision && c.NodesChanged != nil {
		c.NodesChanged(rec.UID)
	}
	return res, stepErr
}

// event queues an event of the cluster, written with it.
func (c *Controller) event(s *scope, severity, reason, message string) {
	s.events = append(s.events, store.Event{UID: uid.New(), TenantUID: s.rec.TenantUID, ProjectUID: s.rec.ProjectUID,
		ObjectKind: s.rec.Kind, ObjectUID: s.rec.UID, ObjectName: s.rec.Name, Reason: reason, Message: message,
		Severity: severity, Component: "engine", CreatedAt: s.now})
}

// writeStatus stores the cluster and its new events in one transaction, optimistically.
func (c *Controller) writeStatus(ctx context.Context, s *scope) error {
	s.rec.Doc, s.rec.State = s.cluster.Encode(), s.cluster.Status.State
	return c.Store.FencedTx(ctx, s.fence, func(q store.Queries) error {
		if err := q.UpdateObject(ctx, &s.rec); err != nil {
			return err
		}
		for i := range s.events {
			if err := q.AddEvent(ctx, &s.events[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// delete tears the cluster's infrastructure down, then removes its record.
func (c *Controller) delete(ctx context.Context, s *scope) error {
	s.log.Info("Deleting cluster infrastructure")
	if err := s.prov.Delete(ctx, s.providerCluster()); err != nil {
		return fmt.Errorf("deleting the infrastructure of %s: %w", s.rec.Name, err)
	}
	return c.remove(ctx, s, "Cluster "+s.rec.Name+" torn down and removed")
}

// observe is the pass of a replica that holds a local cluster whose host is gone (its processes
// run there, under that host's data dir): it says so in the cluster's conditions and touches
// nothing else; a cluster being deleted is removed, saying where its processes are left.
func (c *Controller) observe(ctx context.Context, s *scope, hostID string) (engine.Result, error) {
	if s.cluster.Status.State == v1.ClusterStateDeleting {
		s.log.Warn("Removing a cluster whose host is gone; its processes stay there", "host", hostID)
		return engine.Result{}, c.remove(ctx, s, "Cluster "+s.rec.Name+" removed; its control plane's processes on host "+
			hostID+" could not be stopped (that host's hub is gone): stop them and remove the cluster's directory under that hub's data dir")
	}
	before := s.cluster.Encode()
	c.condition(s, clusters.ConditionHostAvailable, "False", "HostGone", "The hub replica on host "+hostID+
		", whose data dir runs this cluster's control plane, is gone: start easel server again there on that data dir, or delete the cluster",
		v1.SeverityWarning)
	if bytes.Equal(s.cluster.Encode(), before) {
		return engine.Result{}, nil
	}
	return engine.Result{}, c.writeStatus(ctx, s)
}

// remove deletes the cluster's record, events, usage series, reports, lease and credentials, with
// an audit entry saying message.
func (c *Controller) remove(ctx context.Context, s *scope, message string) error {
	rec := s.rec
	err := c.Store.FencedTx(ctx, s.fence, func(q store.Queries) error {
		if err := q.DeleteObject(ctx, clusters.Kind, rec.UID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := q.DeleteLease(ctx, rec.UID); err != nil {
			return err
		}
		if err := q.DeleteEvents(ctx, rec.UID); err != nil {
			return err
		}
		if err := q.DeleteUsage(ctx, rec.UID); err != nil {
			return err
		}
		if err := q.DeleteClusterReports(ctx, rec.UID); err != nil {
			return err
		}
		if err := secret.RevokeAgentTokens(ctx, q, rec.TenantUID, rec.UID); err != nil {
			return err
		}
		return q.AddAudit(ctx, &store.Audit{UID: uid.New(), TenantUID: rec.TenantUID, ProjectUID: rec.ProjectUID,
			ActorType: "system", ActorName: "engine", Action: "delete", ResourceKind: clusters.Kind, ResourceUID: rec.UID,
			ResourceName: rec.Name, Message: message, CreatedAt: s.now})
	})
	if err == nil {
		s.log.Info("Deleted cluster")
	}
	return err
}
