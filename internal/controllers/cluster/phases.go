package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/engine"
	"github.com/easelhq/easel/internal/projects"
	"github.com/easelhq/easel/internal/provider"
	"github.com/easelhq/easel/internal/secret"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
)

// A phase takes one step of a reconcile. It returns when to look at the cluster again, and whether
// the phases after it may run in this pass: they build on what it waits for.
type phase func(ctx context.Context, s *scope) (res engine.Result, proceed bool, err error)

// reconcile runs the phases in order until one fails or waits, then draws the status from what
// they found (status.go). The results of every phase that ran, and of the health verdict, are
// merged: the soonest look again wins.
func (c *Controller) reconcile(ctx context.Context, s *scope) (engine.Result, error) {
	var (
		res engine.Result
		err error
	)
	for _, p := range []phase{c.planRepave, c.planMachines, c.reconcileControlPlane, c.reconcileDeletions,
		c.observeMachines, c.remediate, c.reconcileAgentAndPacks} {
		r, proceed, perr := p(ctx, s)
		res = engine.LowestRequeue(res, r)
		if perr != nil {
			err = perr
			break
		}
		if !proceed {
			break
		}
	}
	return engine.LowestRequeue(res, c.updateStatus(s, err)), err
}

// planRepave starts, holds for approval, extends or ends the repave the pools call for: machines
// whose instance type, disk size or zone no longer match their pool, and control-plane machines
// older than a certificate renewal request, are replaced one at a time (PlanMachines). Each repave
// that starts is an entry of status.upgrades with its reasons.
func (c *Controller) planRepave(_ context.Context, s *scope) (engine.Result, bool, error) {
	cl := &s.cluster
	reasons := cl.RepaveReasons()
	rp := &cl.Status.Repave
	switch {
	case len(reasons) == 0 && rp.State == clusters.RepaveApproved && slices.ContainsFunc(cl.Status.Machines, func(m clusters.Machine) bool { return m.Deleting() }):
		// the last outdated machine is still being drained and deleted
	case len(reasons) == 0:
		if rp.State == clusters.RepaveApproved {
			c.event(s, v1.SeverityInfo, "RepaveCompleted", "Repave completed: every machine matches its pool")
		}
		*rp = clusters.Repave{}
	case rp.State == "" && cl.RepaveApproval:
		*rp = clusters.Repave{State: clusters.RepavePending, Reasons: reasons, Since: s.now}
		c.event(s, v1.SeverityWarning, "RepavePending", "Repave waits for approval (PATCH …/repave/approve): "+strings.Join(reasons, "; "))
	case rp.State == "":
		*rp = clusters.Repave{State: clusters.RepaveApproved, Reasons: reasons, Since: s.now}
		c.startRepave(s, reasons)
	case rp.State == clusters.RepavePending && !slices.Equal(rp.Reasons, reasons):
		rp.Reasons = reasons
		c.event(s, v1.SeverityWarning, "RepavePending", "Repave waits for approval (PATCH …/repave/approve): "+strings.Join(reasons, "; "))
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
			c.startRepave(s, added)
		}
	}
	return engine.Result{}, true, nil
}

// startRepave records a repave's reasons in status.upgrades and as an event.
func (c *Controller) startRepave(s *scope, reasons []string) {
	s.cluster.RecordUpgrade(reasons, s.now)
	c.event(s, v1.SeverityInfo, "RepaveStarted", "Repaving, one machine at a time: "+strings.Join(reasons, "; "))
}

// planMachines records the machines the pools call for before any is created, and ends the pass
// so that they are written first: a crash in between never duplicates one. The capacity is taken
// before: a pool scaled far beyond it records nothing that could not be made, and says why.
func (c *Controller) planMachines(ctx context.Context, s *scope) (engine.Result, bool, error) {
	add, remove := clusters.PlanMachines(&s.cluster, s.now, uid.New)
	if len(add) == 0 {
		s.remove = remove
		return engine.Result{}, true, nil
	}
	if r, ok := s.prov.(provider.Reserver); ok {
		if err := r.Reserve(ctx, s.providerCluster()); err != nil {
			return c.infrastructureNotReady(s, err), false, nil
		}
	}
	s.cluster.Status.Machines = append(s.cluster.Status.Machines, add...)
	for _, m := range add {
		c.event(s, v1.SeverityInfo, "MachineCreating", fmt.Sprintf("Creating machine %s in pool %s (%s, %s)", m.Name, m.Pool, m.InstanceType, m.Zone))
	}
	return engine.Result{RequeueAfter: time.Millisecond}, false, nil
}

// reconcileControlPlane brings the control plane up and reads its certificates. It runs after
// planRepave: the provider carries out a certificate renewal only once its repave may run.
func (c *Controller) reconcileControlPlane(ctx context.Context, s *scope) (engine.Result, bool, error) {
	pc := s.providerCluster()
	if err := s.prov.EnsureControlPlane(ctx, pc); err != nil {
		return c.infrastructureNotReady(s, err), false, nil
	}
	s.infraChecked = true
	if r, ok := s.prov.(provider.CertificateReporter); ok {
		// Read each time: a renewal, or the provider's own renewal before expiry, changes them.
		certs, err := r.Certificates(ctx, pc)
		if err != nil {
			return engine.Result{}, false, fmt.Errorf("reading the control plane's certificates: %w", err)
		}
		s.cluster.Status.Certificates = certs
	}
	return engine.Result{}, true, nil
}

// infrastructureNotReady notes why the infrastructure is not ready (the quota, missing binaries, a
// control plane on its way) and says when to look again.
func (c *Controller) infrastructureNotReady(s *scope, err error) engine.Result {
	s.infraChecked, s.infraErr = true, err
	reason, _, retry := infrastructureProblem(err)
	s.log.Info("Waiting for the infrastructure", "reason", reason, "err", err)
	return engine.Result{RequeueAfter: retry}
}

// reconcileDeletions deletes the machines the pools no longer want, each once its node is drained.
// A drain's report wakes the engine, but its timeout does not, nor a repave's next step (its new
// machine Ready, which the provider tells no one): a cluster draining or repaving is polled.
func (c *Controller) reconcileDeletions(ctx context.Context, s *scope) (engine.Result, bool, error) {
	draining := false
	for _, m := range s.remove {
		if !c.drained(s, m.UID) {
			draining = true
			continue
		}
		s.log.Info("Deleting machine", "machine", m.Name)
		if err := s.prov.DeleteMachine(ctx, s.providerCluster(), m); err != nil {
			return engine.Result{}, false, fmt.Errorf("deleting machine %s: %w", m.Name, err)
		}
		s.cluster.Status.Machines = slices.DeleteFunc(s.cluster.Status.Machines, func(x clusters.Machine) bool { return x.UID == m.UID })
		c.event(s, v1.SeverityInfo, "MachineDeleted", fmt.Sprintf("Deleted machine %s of pool %s", m.Name, m.Pool))
	}
	if draining || s.cluster.Status.Repave.State == clusters.RepaveApproved {
		return engine.Result{RequeueAfter: Poll}, true, nil
	}
	return engine.Result{}, true, nil
}

// drained says whether a machine to remove may go now: the agent drained its node (or the drain
// failed, or no report came within the drain timeout), or there is nothing to drain — the node
// never got Ready, or no agent ever connected. The first call asks the agent to drain the node.
func (c *Controller) drained(s *scope, machineUID string) bool {
	cl := &s.cluster
	m, ok := cl.FindMachine(machineUID)
	if !ok || m.Remediation != "" {
		return true // a relaunched machine's node is broken: nothing to drain
	}
	if !m.Deleting() {
		if !m.Ready || cl.Status.Health.LastHeartbeat.IsZero() {
			return true
		}
		cl.StartDeletion(m, s.now)
		why := ""
		if reasons := cl.ReplacementReasons(*m); reasons != "" {
			why = " (replaced: " + reasons + ")"
		}
		c.event(s, v1.SeverityInfo, "MachineDraining", fmt.Sprintf("Draining node %s of pool %s before its machine is deleted%s", m.Name, m.Pool, why))
		return false
	}
	timeout := c.DrainTimeout
	if timeout <= 0 {
		timeout = clusters.DefaultDrainTimeout
	}
	switch st := m.Maintenance; {
	case st != nil && (st.State == v1.MaintenanceCompleted || st.State == v1.MaintenanceFailed):
		return true
	case s.now.Sub(m.DeletingSince) > timeout+time.Minute:
		c.event(s, v1.SeverityWarning, "DrainTimedOut", fmt.Sprintf("The agent did not report draining node %s within %s; deleting its machine anyway", m.Name, timeout))
		return true
	}
	return false
}

// observeMachines creates the recorded machines the provider does not have, brings the labels and
// taints of the others up to date in place, and notes which are Ready.
func (c *Controller) observeMachines(ctx context.Context, s *scope) (engine.Result, bool, error) {
	pc := s.providerCluster()
	observed, err := s.prov.Machines(ctx, pc)
	if err != nil {
		return engine.Result{}, false, fmt.Errorf("listing the machines: %w", err)
	}
	cl := &s.cluster
	for i := range cl.Status.Machines {
		m := &cl.Status.Machines[i]
		st := observed[m.Name]
		switch {
		case !st.Exists:
			if err := s.prov.EnsureMachine(ctx, pc, *m); err != nil {
				return engine.Result{}, false, fmt.Errorf("creating machine %s: %w", m.Name, err)
			}
		case cl.LabelsOutdated(*m, st.Labels, st.Taints):
			// Labels and taints change in place: the provider updates the existing node. What the node
			// was given is observed, not remembered, so a pass whose status write is lost to a
			// concurrent spec change is repeated in full by the next.
			if err := s.prov.EnsureMachine(ctx, pc, *m); err != nil {
				return engine.Result{}, false, fmt.Errorf("updating machine %s: %w", m.Name, err)
			}
			c.event(s, v1.SeverityInfo, "MachineUpdated", fmt.Sprintf("Node %s has the labels and taints of pool %s (changed in place)", m.Name, m.Pool))
		}
		if st.Ready && !m.Ready {
			c.event(s, v1.SeverityInfo, "MachineReady", fmt.Sprintf("Machine %s of pool %s is Ready", m.Name, m.Pool))
		}
		m.Ready = st.Ready
	}
	s.machinesObserved = true
	return engine.Result{}, true, nil
}

// remediate relaunches the machines whose nodes stayed unhealthy past their pool's timeout, when
// the project allows it, and never more of a pool at once than its cap (node auto-remediation).
// Every relaunch is an event and an entry of status.upgrades; a pool that waits above its cap,
// and an invalid override, are an event each time they change. It looks again at once after a
// relaunch, else just after another machine's timeout ends.
func (c *Controller) remediate(ctx context.Context, s *scope) (engine.Result, bool, error) {
	cl := &s.cluster
	cl.ObserveHealth(s.now)
	relaunch, paused, invalid, next := cl.Remediations(s.now)
	if len(relaunch) > 0 || len(paused) > 0 {
		settings, err := projects.Load(ctx, c.Store, s.rec.ProjectUID)
		if err != nil {
			return engine.Result{}, false, err
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
			c.event(s, v1.SeverityWarning, "InvalidHealthCheck", n)
		} else {
			c.event(s, v1.SeverityWarning, "RemediationPaused", n)
		}
	}
	cl.Status.RemediationNotices = notices
	for _, r := range relaunch {
		cl.Relaunch(r, s.now)
		c.event(s, v1.SeverityWarning, "MachineRemediating", "Relaunching "+strings.TrimPrefix(r.Reason, "machine "))
	}
	if len(relaunch) > 0 {
		// The next pass deletes the machines and plans their replacements. Nothing else need wake
		// the engine before that: a node whose network is down is still Ready, so no poll for
		// nodes is due, and the agent's heartbeats do not wake it.
		return engine.Result{RequeueAfter: time.Millisecond}, true, nil
	}
	if next == 0 {
		return engine.Result{}, true, nil
	}
	return engine.Result{RequeueAfter: next + 10*time.Millisecond}, true, nil
}

// reconcileAgentAndPacks runs the agent once every node is Ready, then waits for its first
// heartbeat and for it to apply the current generation's packs. An agent that has run before is
// kept running while a node is not Ready: it is what reports the node and runs the doctor on it.
// Nodes come from the provider, which tells no one: they are polled. The heartbeat and the pack
// report come from the agent, and the hub wakes the engine when they arrive: the pass does not
// poll for them.
func (c *Controller) reconcileAgentAndPacks(ctx context.Context, s *scope) (engine.Result, bool, error) {
	ready := nodesReady(&s.cluster)
	if !ready && s.cluster.Status.Health.LastHeartbeat.IsZero() {
		return engine.Result{RequeueAfter: Poll}, false, nil
	}
	s.agentChecked = true
	s.agentErr = s.prov.EnsureAgent(ctx, s.providerCluster(), func() (string, error) {
		var token string
		err := c.Store.FencedTx(ctx, s.fence, func(q store.Queries) (err error) {
			token, err = secret.IssueAgentTokenIn(ctx, q, s.rec.TenantUID, s.rec.UID)
			return err
		})
		return token, err
	})
	if s.agentErr != nil || !ready {
		return engine.Result{RequeueAfter: Poll}, false, nil
	}
	if s.cluster.Status.Health.LastHeartbeat.IsZero() {
		return engine.Result{}, false, nil
	}
	s.packsChecked = true
	return engine.Result{}, true, nil
}
