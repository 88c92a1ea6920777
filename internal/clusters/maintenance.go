package clusters

import (
	"errors"
	"fmt"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
)

// DefaultDrainTimeout bounds how long an agent keeps trying to drain a node.
const DefaultDrainTimeout = 15 * time.Minute

// ErrMaintenanceRefused marks maintenance the cluster cannot take: no other node could run the
// node's workloads.
var ErrMaintenanceRefused = errors.New("maintenance refused")

// FindMachine returns the machine with that uid (or name).
func (c *Cluster) FindMachine(id string) (*Machine, bool) {
	for i := range c.Status.Machines {
		if m := &c.Status.Machines[i]; m.UID == id || m.Name == id {
			return m, true
		}
	}
	return nil, false
}

// InMaintenance reports whether the machine is cordoned for maintenance (asked for, under way,
// done or failed), as scans, backups and add-on changes must know.
func (m *Machine) InMaintenance() bool {
	return m.Maintenance != nil && m.Maintenance.Action == v1.MaintenanceCordon && m.DeletingSince.IsZero()
}

// Deleting reports whether the engine is taking the machine away.
func (m *Machine) Deleting() bool { return !m.DeletingSince.IsZero() }

// StartDeletion marks the machine for deletion and asks the agent to drain its node first.
func (c *Cluster) StartDeletion(m *Machine, now time.Time) {
	m.DeletingSince = now
	m.Maintenance = &v1.MachineMaintenanceStatus{Action: v1.MaintenanceCordon, State: v1.MaintenanceInitiated,
		Message: "draining before the machine is deleted", LastTransitionTime: now}
	c.Status.NodesRevision++
}

// runsWorkloads reports whether the machine's pool takes ordinary workloads.
func (c *Cluster) runsWorkloads(m *Machine) bool {
	p, ok := c.Pool(m.Pool)
	return ok && (!p.ControlPlane || p.UseControlPlaneAsWorker)
}

// SetMaintenance asks for a machine's node to be cordoned and drained (cordon) or made
// schedulable again (uncordon). Maintenance is refused where no other node could take the node's
// workloads: the last schedulable worker, or the only control-plane node. changed is false when
// the machine already has that action.
func (c *Cluster) SetMaintenance(m *Machine, action string, now time.Time) (changed bool, err error) {
	if m.Deleting() {
		return false, fmt.Errorf("%w: machine %s is being deleted", ErrMaintenanceRefused, m.Name)
	}
	if m.Maintenance != nil && m.Maintenance.Action == action {
		return false, nil
	}
	if action == v1.MaintenanceUncordon && m.Maintenance == nil {
		return false, nil // never in maintenance: nothing to undo
	}
	if action == v1.MaintenanceCordon {
		if err := c.checkMaintenance(m); err != nil {
			return false, err
		}
	}
	m.Maintenance = &v1.MachineMaintenanceStatus{Action: action, State: v1.MaintenanceInitiated, LastTransitionTime: now}
	c.Status.NodesRevision++
	return true, nil
}

func (c *Cluster) checkMaintenance(m *Machine) error {
	otherWorkers, otherControlPlanes := 0, 0
	for i := range c.Status.Machines {
		o := &c.Status.Machines[i]
		if o.UID == m.UID || o.InMaintenance() || o.Deleting() {
			continue
		}
		if c.runsWorkloads(o) {
			otherWorkers++
		}
		if o.ControlPlane {
			otherControlPlanes++
		}
	}
	switch {
	case m.ControlPlane && otherControlPlanes == 0:
		return fmt.Errorf("%w: %s is the only control-plane node in service; maintenance needs another one (scale the control plane to 3 first)", ErrMaintenanceRefused, m.Name)
	case c.runsWorkloads(m) && otherWorkers == 0:
		return fmt.Errorf("%w: %s is the last schedulable worker; no other node could take its workloads (add a worker or end another node's maintenance first)", ErrMaintenanceRefused, m.Name)
	}
	return nil
}

// RecordMaintenance takes the agent's report of a machine's node operation. A report for another
// action than the current one is stale and ignored; so is one that changes nothing. It returns the
// event to emit (zero reason when none).
func (c *Cluster) RecordMaintenance(m *Machine, st v1.MachineMaintenanceStatus, now time.Time) (reason, severity, message string) {
	cur := m.Maintenance
	if cur == nil || cur.Action != st.Action ||
		(cur.State == st.State && cur.Message == st.Message && cur.BlockedBy == st.BlockedBy) {
		return "", "", ""
	}
	if cur.State != st.State {
		cur.LastTransitionTime = now
	}
	blockedBefore := cur.BlockedBy
	cur.State, cur.Message, cur.BlockedBy = st.State, st.Message, st.BlockedBy
	switch {
	case m.Deleting() && st.State == v1.MaintenanceCompleted:
		return "NodeDrained", v1.SeverityInfo, fmt.Sprintf("Node %s is drained before its machine is deleted: %s", m.Name, st.Message)
	case m.Deleting() && st.State == v1.MaintenanceFailed:
		return "DrainFailed", v1.SeverityWarning, fmt.Sprintf("Drain of node %s before its deletion failed: %s", m.Name, st.Message)
	case st.Action == v1.MaintenanceUncordon && st.State == v1.MaintenanceCompleted:
		return "MaintenanceEnded", v1.SeverityInfo, fmt.Sprintf("Node %s is schedulable again; its pods were not moved back", m.Name)
	case st.State == v1.MaintenanceFailed:
		return "MaintenanceFailed", v1.SeverityError, fmt.Sprintf("Maintenance of node %s (%s) failed: %s", m.Name, st.Action, st.Message)
	case st.Action == v1.MaintenanceCordon && st.State == v1.MaintenanceCompleted:
		return "MaintenanceCompleted", v1.SeverityInfo, fmt.Sprintf("Node %s is cordoned and drained: %s", m.Name, st.Message)
	case st.BlockedBy != "" && st.BlockedBy != blockedBefore:
		return "DrainBlocked", v1.SeverityWarning, fmt.Sprintf("Draining node %s waits for PodDisruptionBudget %s: %s", m.Name, st.BlockedBy, st.Message)
	}
	return "", "", ""
}

// NodeOperations are what the hub wants of the nodes, for the agent: every machine cordoned for
// maintenance, and every one being made schedulable again until that is done. statusPath gives a
// machine's maintenance status path.
func (c *Cluster) NodeOperations(drainTimeout time.Duration, statusPath func(m *Machine) string) []v1.AgentNodeOperation {
	out := []v1.AgentNodeOperation{}
	for i := range c.Status.Machines {
		m := &c.Status.Machines[i]
		st := m.Maintenance
		if st == nil || (st.Action == v1.MaintenanceUncordon && st.State == v1.MaintenanceCompleted) {
			continue
		}
		purpose := v1.PurposeMaintenance
		if m.Deleting() {
			purpose = v1.PurposeDeletion
		}
		out = append(out, v1.AgentNodeOperation{Node: m.Name, Machine: m.UID, Pool: m.Pool, Action: st.Action,
			Purpose: purpose, DrainTimeoutSeconds: int64(drainTimeout / time.Second), StatusPath: statusPath(m)})
	}
	return out
}
