package clusters

import (
	"time"

	v1 "github.com/easelhq/easel/api/v1"
)

// Kind is the stored kind of clusters (Palette's "spectrocluster").
const Kind = "spectrocluster"

// Condition types the engine owns: the milestones of a cluster's life, in order. Every other
// condition type of a cluster is its agent's, and an agent may not set these.
const (
	ConditionInfrastructureReady    = "InfrastructureReady"
	ConditionControlPlaneNodesReady = "ControlPlaneNodesReady"
	ConditionWorkerNodesReady       = "WorkerNodesReady"
	ConditionAgentDeployed          = "AgentDeployed"
	ConditionPacksApplied           = "PacksApplied"
)

// ConditionHostAvailable is the hub's too, not a milestone: set False (reason HostGone) on a local
// cluster while the hub replica that runs its processes is gone, True again once it is back.
const ConditionHostAvailable = "HostAvailable"

// EngineConditions returns the milestones the engine owns, in order.
func EngineConditions() []string {
	return []string{ConditionInfrastructureReady, ConditionControlPlaneNodesReady, ConditionWorkerNodesReady,
		ConditionAgentDeployed, ConditionPacksApplied}
}

// HubConditions returns every condition type the hub owns: the milestones and HostAvailable. An
// agent may set none of them.
func HubConditions() []string { return append(EngineConditions(), ConditionHostAvailable) }

// HasCondition reports whether the status has the condition with that status.
func (s *Status) HasCondition(condType, status string) bool {
	for _, c := range s.Conditions {
		if c.Type == condType {
			return c.Status == status
		}
	}
	return false
}

// SetCondition sets a condition of the status and reports whether it changed (callers emit an
// event when it did). Setting what is already there changes nothing, not even a time, so that a
// reconcile that finds nothing new writes nothing; the transition time moves only when the status
// does, the probe time whenever the condition changes.
func (s *Status) SetCondition(condType, status, reason, message string, now time.Time) bool {
	for i := range s.Conditions {
		c := &s.Conditions[i]
		if c.Type != condType {
			continue
		}
		if c.Status == status && c.Reason == reason && c.Message == message {
			return false
		}
		if c.Status != status {
			c.LastTransitionTime = now
		}
		c.Status, c.Reason, c.Message, c.LastProbeTime = status, reason, message, now
		return true
	}
	s.Conditions = append(s.Conditions, v1.ClusterCondition{Type: condType, Status: status, Reason: reason,
		Message: message, LastProbeTime: now, LastTransitionTime: now})
	return true
}
