// Package cluster is the cluster controller: it moves each cluster record towards a running
// cluster through its provider — control plane, then machines — recording every milestone as a
// condition and an event, and tears the cluster down when it is deleted.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/utils/clock"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/engine"
	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/projects"
	"github.com/easelhq/easel/internal/provider"
	"github.com/easelhq/easel/internal/secret"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
)

// Kind is the stored kind of clusters.
const Kind = "spectrocluster"

// Condition types after InfrastructureReady, in order.
const (
	ConditionControlPlaneNodesReady = "ControlPlaneNodesReady"
	ConditionWorkerNodesReady       = "WorkerNodesReady"
	ConditionAgentDeployed          = "AgentDeployed"
	ConditionPacksApplied           = "PacksApplied"
)

// Poll is how soon a cluster that is on its way is looked at again.
const Poll = 2 * time.Second

// QuotaRetry is how soon a cluster that did not fit is tried again.
const QuotaRetry = 15 * time.Second

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
}

var _ engine.Reconciler = (*Controller)(nil)

// pending collects what one reconcile changes, written at the end in one transaction.
type pending struct {
	events []store.Event
}

func (c *Controller) Reconcile(ctx context.Context, key string) (engine.Result, error) {
	rec, err := c.Store.GetObject(ctx, Kind, key)
	if errors.Is(err, store.ErrNotFound) {
		return engine.Result{}, nil
	}
	if err != nil {
		return engine.Result{}, err
	}
	cl, err := clusters.Decode(rec.Doc)
	if err != nil {
		return engine.Result{}, err
	}
	log := c.Log.With("cluster", rec.Name, "uid", rec.UID)
	prov, ok := c.Providers[cl.CloudType]
	if !ok {
		return engine.Result{}, fmt.Errorf("no provider for cloud type %q", cl.CloudType)
	}
	pc := provider.Cluster{UID: rec.UID, Name: rec.Name, Spec: cl}
	if cl.Status.State == v1.ClusterStateDeleting {
		return engine.Result{}, c.delete(ctx, log, rec, prov, pc)
	}

	var p pending
	before, nodesRevision := string(cl.Encode()), cl.Status.NodesRevision
	res, stepErr := c.provision(ctx, log, &rec, &cl, prov, &p)
	if next := c.assessHealth(&rec, &cl, &p); next > 0 && (res.RequeueAfter == 0 || next < res.RequeueAfter) {
		res.RequeueAfter = next
	}
	cl.Status.ObservedGeneration = rec.Generation
	if string(cl.Encode()) == before && len(p.events) == 0 {
		return res, stepErr
	}
	if err := c.writeStatus(ctx, &rec, cl, p); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// The spec changed meanwhile: look again at once with what is stored now.
			return engine.Result{RequeueAfter: 10 * time.Millisecond}, nil
		}
		return engine.Result{}, errors.Join(stepErr, err)
	}
	if cl.Status.NodesRevision != nodesRevision && c.NodesChanged != nil {
		c.NodesChanged(rec.UID)
	}
	return res, stepErr
}

// provision takes the next steps towards a running cluster.
func (c *Controller) provision(ctx context.Context, log *slog.Logger, rec *store.Record, cl *clusters.Cluster,
	prov provider.Provider, p *pending) (engine.Result, error) {
	now := c.Clock.Now()
	if cl.Status.State == v1.ClusterStatePending {
		cl.Status.State = v1.ClusterStateProvisioning
	}
	c.repave(rec, cl, p, now)
	// Machines are recorded before they are created: a crash in between never duplicates one.
	add, remove := clusters.PlanMachines(cl, now, uid.New)
	if len(add) > 0 {
		// The capacity is taken first: a pool scaled far beyond it records nothing that could not
		// be made, and says why.
		if r, ok := prov.(provider.Reserver); ok {
			if err := r.Reserve(ctx, provider.Cluster{UID: rec.UID, Name: rec.Name, Spec: *cl}); err != nil {
				return c.infrastructureNotReady(log, p, rec, cl, err), nil
			}
		}
		cl.Status.Machines = append(cl.Status.Machines, add...)
		for _, m := range add {
			c.event(p, rec, v1.SeverityInfo, "MachineCreating", fmt.Sprintf("Creating machine %s in pool %s (%s, %s)", m.Name, m.Pool, m.InstanceType, m.Zone))
		}
		return engine.Result{RequeueAfter: time.Millisecond}, nil
	}

	// After repave: the provider carries out a certificate renewal only once its repave may run.
	pc := provider.Cluster{UID: rec.UID, Name: rec.Name, Spec: *cl}
	if err := prov.EnsureControlPlane(ctx, pc); err != nil {
		return c.infrastructureNotReady(log, p, rec, cl, err), nil
	}
	c.condition(p, rec, cl, clusters.ConditionInfrastructureReady, "True", "ControlPlaneReady",
		"The control plane answers", v1.SeverityInfo)
	if r, ok := prov.(provider.CertificateReporter); ok {
		// Read each time: a renewal, or the provider's own renewal before expiry, changes them.
		certs, err := r.Certificates(ctx, pc)
		if err != nil {
			return engine.Result{}, fmt.Errorf("reading the control plane's certificates: %w", err)
		}
		cl.Status.Certificates = certs
	}

	draining := false
	for _, m := range remove {
		if !c.drained(rec, cl, m.UID, p) {
			draining = true
			continue
		}
		log.Info("Deleting machine", "machine", m.Name)
		if err := prov.DeleteMachine(ctx, pc, m); err != nil {
			return engine.Result{}, err
		}
		cl.Status.Machines = slices.DeleteFunc(cl.Status.Machines, func(x clusters.Machine) bool { return x.UID == m.UID })
		c.event(p, rec, v1.SeverityInfo, "MachineDeleted", fmt.Sprintf("Deleted machine %s of pool %s", m.Name, m.Pool))
	}

	observed, err := prov.Machines(ctx, pc)
	if err != nil {
		return engine.Result{}, err
	}
	for i := range cl.Status.Machines {
		m := &cl.Status.Machines[i]
		st := observed[m.Name]
		switch {
		case !st.Exists:
			if err := prov.EnsureMachine(ctx, pc, *m); err != nil {
				return engine.Result{}, err
			}
		case cl.LabelsOutdated(*m):
			// Labels and taints change in place: the provider updates the existing node.
			if err := prov.EnsureMachine(ctx, pc, *m); err != nil {
				return engine.Result{}, err
			}
			pool, _ := cl.Pool(m.Pool)
			m.Labels, m.Taints = maps.Clone(pool.Labels), slices.Clone(pool.Taints)
			c.event(p, rec, v1.SeverityInfo, "MachineUpdated", fmt.Sprintf("Node %s has the labels and taints of pool %s (changed in place)", m.Name, m.Pool))
		}
		if st.Ready && !m.Ready {
			c.event(p, rec, v1.SeverityInfo, "MachineReady", fmt.Sprintf("Machine %s of pool %s is Ready", m.Name, m.Pool))
		}
		m.Ready = st.Ready
	}
	cl.ObserveHealth(now)
	remediateNext, err := c.remediate(ctx, rec, cl, p, now)
	if err != nil {
		return engine.Result{}, err
	}
	cpReady := c.nodesCondition(p, rec, cl, ConditionControlPlaneNodesReady, true)
	workersReady := c.nodesCondition(p, rec, cl, ConditionWorkerNodesReady, false)
	if !cpReady || !workersReady {
		return engine.Result{RequeueAfter: Poll}, nil
	}
	res, err := c.agentAndPacks(ctx, log, rec, cl, prov, p)
	// A drain's report wakes the engine, but a repave's next step (its new machine Ready) does not.
	if (draining || cl.Status.Repave.State == clusters.RepaveApproved) && (res.RequeueAfter == 0 || res.RequeueAfter > Poll) {
		res.RequeueAfter = Poll
	}
	if remediateNext > 0 && (res.RequeueAfter == 0 || res.RequeueAfter > remediateNext) {
		res.RequeueAfter = remediateNext + 10*time.Millisecond
	}
	return res, err
}

// infrastructureNotReady records why the infrastructure is not ready (the quota, missing binaries,
// a control plane on its way) and when to look again.
func (c *Controller) infrastructureNotReady(log *slog.Logger, p *pending, rec *store.Record, cl *clusters.Cluster, err error) engine.Result {
	reason, severity, retry := "ControlPlaneNotReady", v1.SeverityWarning, Poll
	switch {
	case errors.Is(err, provider.ErrQuota):
		reason, severity, retry = "QuotaExceeded", v1.SeverityError, QuotaRetry
	case errors.Is(err, k8sbin.ErrMissing):
		reason, severity, retry = "BinariesMissing", v1.SeverityError, QuotaRetry
	}
	c.condition(p, rec, cl, clusters.ConditionInfrastructureReady, "False", reason, err.Error(), severity)
	log.Info("Waiting for the infrastructure", "reason", reason, "err", err)
	return engine.Result{RequeueAfter: retry}
}

// remediate relaunches the machines whose nodes stayed unhealthy past their pool's timeout, when
// the project allows it, and never more of a pool at once than its cap (node auto-remediation).
// Every relaunch is an event and an entry of status.upgrades; a pool that waits above its cap,
// and an invalid override, are an event each time they change. It returns when another machine's
// timeout ends.
func (c *Controller) remediate(ctx context.Context, rec *store.Record, cl *clusters.Cluster, p *pending, now time.Time) (time.Duration, error) {
	relaunch, paused, invalid, next := cl.Remediations(now)
	if len(relaunch) > 0 || len(paused) > 0 {
		settings, err := projects.Load(ctx, c.Store, rec.ProjectUID)
		if err != nil {
			return 0, err
		}
		if !settings.Remediates() {
			relaunch, paused = nil, nil
		}
	}
	notices := append(slices.Clone(invalid), paused...)
	for _, n := range notices {
		if slices.Contains(cl.Status.RemediationNotices, n) {
			continue
		}
		if slices.Contains(invalid, n) {
			c.event(p, rec, v1.SeverityWarning, "InvalidHealthCheck", n)
		} else {
			c.event(p, rec, v1.SeverityWarning, "RemediationPaused", n)
		}
	}
	cl.Status.RemediationNotices = notices
	for _, r := range relaunch {
		cl.Relaunch(r, now)
		c.event(p, rec, v1.SeverityWarning, "MachineRemediating", "Relaunching "+strings.TrimPrefix(r.Reason, "machine "))
	}
	return next, nil
}

// repave starts, holds for approval, extends or ends the repave the pools call for: machines whose
// instance type, disk size or zone no longer match their pool, and control-plane machines older
// than a certificate renewal request, are replaced one at a time
// (PlanMachines). Each repave that starts is an entry of status.upgrades with its reasons.
func (c *Controller) repave(rec *store.Record, cl *clusters.Cluster, p *pending, now time.Time) {
	reasons := cl.RepaveReasons()
	rp := &cl.Status.Repave
	switch {
	case len(reasons) == 0 && rp.State == clusters.RepaveApproved && slices.ContainsFunc(cl.Status.Machines, func(m clusters.Machine) bool { return m.Deleting() }):
		// the last outdated machine is still being drained and deleted
	case len(reasons) == 0:
		if rp.State == clusters.RepaveApproved {
			c.event(p, rec, v1.SeverityInfo, "RepaveCompleted", "Repave completed: every machine matches its pool")
		}
		*rp = clusters.Repave{}
	case rp.State == "" && cl.RepaveApproval:
		*rp = clusters.Repave{State: clusters.RepavePending, Reasons: reasons, Since: now}
		c.event(p, rec, v1.SeverityWarning, "RepavePending", "Repave waits for approval (PATCH …/repave/approve): "+strings.Join(reasons, "; "))
	case rp.State == "":
		*rp = clusters.Repave{State: clusters.RepaveApproved, Reasons: reasons, Since: now}
		c.startRepave(rec, cl, p, reasons, now)
	case rp.State == clusters.RepavePending && !slices.Equal(rp.Reasons, reasons):
		rp.Reasons = reasons
		c.event(p, rec, v1.SeverityWarning, "RepavePending", "Repave waits for approval (PATCH …/repave/approve): "+strings.Join(reasons, "; "))
	case rp.State == clusters.RepaveApproved:
		// Changes made during a repave join it, as an entry of their own.
		var added []string
		for _, r := range reasons {
			if !slices.Contains(rp.Reasons, r) {
				added = append(added, r)
			}
		}
		if len(added) > 0 {
			rp.Reasons = append(rp.Reasons, added...)
			c.startRepave(rec, cl, p, added, now)
		}
	}
}

// startRepave records a repave's reasons in status.upgrades and as an event.
func (c *Controller) startRepave(rec *store.Record, cl *clusters.Cluster, p *pending, reasons []string, now time.Time) {
	cl.RecordUpgrade(reasons, now)
	c.event(p, rec, v1.SeverityInfo, "RepaveStarted", "Repaving, one machine at a time: "+strings.Join(reasons, "; "))
}

// drained says whether a machine to remove may go now: the agent drained its node (or the drain
// failed, or no report came within the drain timeout), or there is nothing to drain — the node
// never got Ready, or no agent ever connected. The first call asks the agent to drain the node.
func (c *Controller) drained(rec *store.Record, cl *clusters.Cluster, machineUID string, p *pending) bool {
	m, ok := cl.FindMachine(machineUID)
	if !ok || m.Remediation != "" {
		return true // a relaunched machine's node is broken: nothing to drain
	}
	if !m.Deleting() {
		if !m.Ready || cl.Status.Health.LastHeartbeat.IsZero() {
			return true
		}
		cl.StartDeletion(m, c.Clock.Now())
		why := ""
		if reasons := cl.ReplacementReasons(*m); reasons != "" {
			why = " (replaced: " + reasons + ")"
		}
		c.event(p, rec, v1.SeverityInfo, "MachineDraining", fmt.Sprintf("Draining node %s of pool %s before its machine is deleted%s", m.Name, m.Pool, why))
		return false
	}
	timeout := c.DrainTimeout
	if timeout <= 0 {
		timeout = clusters.DefaultDrainTimeout
	}
	switch st := m.Maintenance; {
	case st != nil && (st.State == v1.MaintenanceCompleted || st.State == v1.MaintenanceFailed):
		return true
	case c.Clock.Since(m.DeletingSince) > timeout+time.Minute:
		c.event(p, rec, v1.SeverityWarning, "DrainTimedOut", fmt.Sprintf("The agent did not report draining node %s within %s; deleting its machine anyway", m.Name, timeout))
		return true
	}
	return false
}

// agentAndPacks runs the agent, waits for its first heartbeat, then for it to apply the current
// generation's packs; then the cluster is Running.
func (c *Controller) agentAndPacks(ctx context.Context, log *slog.Logger, rec *store.Record, cl *clusters.Cluster,
	prov provider.Provider, p *pending) (engine.Result, error) {
	pc := provider.Cluster{UID: rec.UID, Name: rec.Name, Spec: *cl}
	err := prov.EnsureAgent(ctx, pc, func() (string, error) {
		return secret.IssueAgentToken(ctx, c.Store, rec.TenantUID, rec.UID)
	})
	if err != nil {
		c.condition(p, rec, cl, ConditionAgentDeployed, "False", "AgentNotStarted", err.Error(), v1.SeverityWarning)
		return engine.Result{RequeueAfter: Poll}, nil
	}
	if cl.Status.Health.LastHeartbeat.IsZero() {
		c.condition(p, rec, cl, ConditionAgentDeployed, "False", "WaitingForAgent",
			"Waiting for the agent's first heartbeat", v1.SeverityInfo)
		return engine.Result{RequeueAfter: Poll}, nil
	}
	c.condition(p, rec, cl, ConditionAgentDeployed, "True", "AgentConnected",
		"Agent "+cl.Status.Health.AgentVersion+" is connected", v1.SeverityInfo)

	if cl.Status.PacksGeneration != rec.Generation {
		c.condition(p, rec, cl, ConditionPacksApplied, "False", "Applying",
			fmt.Sprintf("Waiting for the agent to apply generation %d", rec.Generation), v1.SeverityInfo)
		return engine.Result{RequeueAfter: Poll}, nil
	}
	applied, pending := 0, []string{}
	for _, ps := range cl.Status.Packs {
		switch ps.State {
		case v1.PackStateFailed:
			c.condition(p, rec, cl, ConditionPacksApplied, "False", "PackFailed",
				fmt.Sprintf("Pack %s %s: %s", ps.Name, ps.Version, ps.Message), v1.SeverityWarning)
			return engine.Result{RequeueAfter: Poll}, nil
		case v1.PackStatePending:
			pending = append(pending, fmt.Sprintf("pack %s %s waits for nodes in maintenance (%s)", ps.Name, ps.Version, ps.Message))
		case v1.PackStateApplied:
			applied++
		}
	}
	if len(pending) > 0 {
		c.condition(p, rec, cl, ConditionPacksApplied, "True", "WaitingForMaintenance",
			fmt.Sprintf("%d packs applied; %s", applied, strings.Join(pending, "; ")), v1.SeverityInfo)
	} else {
		c.condition(p, rec, cl, ConditionPacksApplied, "True", "Applied", fmt.Sprintf("%d packs applied", applied), v1.SeverityInfo)
	}
	if cl.Status.State != v1.ClusterStateRunning {
		cl.Status.State = v1.ClusterStateRunning
		log.Info("Cluster is running")
		c.event(p, rec, v1.SeverityInfo, "Running", "Cluster is Running: control plane, nodes, agent and packs are ready")
	}
	return engine.Result{}, nil
}

// assessHealth draws the cluster's health verdict and records each change as an event; it returns
// when to look again for the verdict to change without news from the agent.
func (c *Controller) assessHealth(rec *store.Record, cl *clusters.Cluster, p *pending) time.Duration {
	timeout := c.HeartbeatTimeout
	if timeout <= 0 {
		timeout = DefaultHeartbeatTimeout
	}
	before, reasonsBefore := cl.Status.Health.State, cl.Status.Health.Reasons
	next := cl.Status.Health.Assess(c.Clock.Now(), timeout, cl.Status.Nodes, &cl.Status.Usage)
	switch after := cl.Status.Health.State; {
	case after == before && (after != clusters.HealthUnhealthy || slices.Equal(reasonsBefore, cl.Status.Health.Reasons)):
	case after == clusters.HealthUnhealthy:
		c.event(p, rec, v1.SeverityWarning, "Unhealthy", "Cluster is unhealthy: "+strings.Join(cl.Status.Health.Reasons, "; "))
	case after == clusters.HealthHealthy:
		c.event(p, rec, v1.SeverityInfo, "Healthy", "Cluster is healthy: heartbeats arrive and no node reports trouble")
	}
	return next
}

// nodesCondition sets the readiness condition of the control-plane or the worker machines.
func (c *Controller) nodesCondition(p *pending, rec *store.Record, cl *clusters.Cluster, condType string, controlPlane bool) bool {
	total, ready := 0, 0
	for _, m := range cl.Status.Machines {
		if m.ControlPlane == controlPlane {
			total++
			if m.Ready {
				ready++
			}
		}
	}
	what := "worker"
	if controlPlane {
		what = "control-plane"
	}
	if ready == total {
		c.condition(p, rec, cl, condType, "True", "NodesReady", fmt.Sprintf("%d of %d %s nodes Ready", ready, total, what), v1.SeverityInfo)
		return true
	}
	c.condition(p, rec, cl, condType, "False", "WaitingForNodes", fmt.Sprintf("%d of %d %s nodes Ready", ready, total, what), v1.SeverityInfo)
	return false
}

// condition sets a condition and, when it changed, queues an event telling the story.
func (c *Controller) condition(p *pending, rec *store.Record, cl *clusters.Cluster, condType, status, reason, message, severity string) {
	if cl.Status.SetCondition(condType, status, reason, message, c.Clock.Now()) {
		c.event(p, rec, severity, reason, condType+": "+message)
	}
}

func (c *Controller) event(p *pending, rec *store.Record, severity, reason, message string) {
	p.events = append(p.events, store.Event{UID: uid.New(), TenantUID: rec.TenantUID, ProjectUID: rec.ProjectUID,
		ObjectKind: rec.Kind, ObjectUID: rec.UID, ObjectName: rec.Name, Reason: reason, Message: message,
		Severity: severity, Component: "engine", CreatedAt: c.Clock.Now()})
}

// writeStatus stores the cluster and its new events in one transaction, optimistically.
func (c *Controller) writeStatus(ctx context.Context, rec *store.Record, cl clusters.Cluster, p pending) error {
	rec.Doc, rec.State = cl.Encode(), cl.Status.State
	return c.Store.Tx(ctx, func(q store.Queries) error {
		if err := q.UpdateObject(ctx, rec); err != nil {
			return err
		}
		for i := range p.events {
			if err := q.AddEvent(ctx, &p.events[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// delete tears the cluster's infrastructure down, then removes its record, events, usage series and
// credentials.
func (c *Controller) delete(ctx context.Context, log *slog.Logger, rec store.Record, prov provider.Provider, pc provider.Cluster) error {
	log.Info("Deleting cluster infrastructure")
	if err := prov.Delete(ctx, pc); err != nil {
		return fmt.Errorf("deleting the infrastructure of %s: %w", rec.Name, err)
	}
	err := c.Store.Tx(ctx, func(q store.Queries) error {
		if err := q.DeleteObject(ctx, Kind, rec.UID); err != nil && !errors.Is(err, store.ErrNotFound) {
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
			ActorType: "system", ActorName: "engine", Action: "delete", ResourceKind: Kind, ResourceUID: rec.UID,
			ResourceName: rec.Name, Message: "Cluster " + rec.Name + " torn down and removed", CreatedAt: c.Clock.Now()})
	})
	if err == nil {
		log.Info("Deleted cluster")
	}
	return err
}
