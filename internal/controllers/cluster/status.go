package cluster

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/engine"
	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/provider"
)

// updateStatus draws what the engine says of the cluster from what the pass found: the conditions
// of the milestones it got to, the state derived from them, the health verdict — each change an
// event — and, after a pass without error, the generation acted on. It returns when the health
// verdict would change without news from the agent.
func (c *Controller) updateStatus(s *scope, passErr error) engine.Result {
	cl := &s.cluster
	if s.infraChecked {
		if s.infraErr == nil {
			c.condition(s, clusters.ConditionInfrastructureReady, "True", "ControlPlaneReady", "The control plane answers", v1.SeverityInfo)
		} else {
			reason, severity, _ := infrastructureProblem(s.infraErr)
			c.condition(s, clusters.ConditionInfrastructureReady, "False", reason, s.infraErr.Error(), severity)
		}
	}
	if s.machinesObserved {
		c.nodesCondition(s, clusters.ConditionControlPlaneNodesReady, true)
		c.nodesCondition(s, clusters.ConditionWorkerNodesReady, false)
	}
	if s.agentChecked {
		switch {
		case s.agentErr != nil:
			c.condition(s, clusters.ConditionAgentDeployed, "False", "AgentNotStarted", s.agentErr.Error(), v1.SeverityWarning)
		case cl.Status.Health.LastHeartbeat.IsZero():
			c.condition(s, clusters.ConditionAgentDeployed, "False", "WaitingForAgent", "Waiting for the agent's first heartbeat", v1.SeverityInfo)
		default:
			c.condition(s, clusters.ConditionAgentDeployed, "True", "AgentConnected", "Agent "+cl.Status.Health.AgentVersion+" is connected", v1.SeverityInfo)
		}
	}
	if s.packsChecked {
		status, reason, message, severity := packsApplied(cl, s.rec.Generation)
		c.condition(s, clusters.ConditionPacksApplied, status, reason, message, severity)
	}
	if next := state(&cl.Status); next != cl.Status.State {
		cl.Status.State = next
		if next == v1.ClusterStateRunning {
			s.log.Info("Cluster is running")
			c.event(s, v1.SeverityInfo, "Running", "Cluster is Running: control plane, nodes, agent and packs are ready")
		}
	}
	next := c.assessHealth(s)
	if passErr == nil {
		cl.Status.ObservedGeneration = s.rec.Generation
	}
	return engine.Result{RequeueAfter: next}
}

// state derives the cluster's state from its conditions: Running once every milestone the engine
// owns is True (control plane, nodes, agent and packs), Provisioning until then. A cluster that was
// Running stays Running through the day-2 changes that take a milestone back to False (scaling, a
// repave, a profile update), as Palette shows a provisioned cluster; the API allows some of them
// only on a Running cluster. (Pending is a cluster no reconcile has looked at yet; Deleting is
// set by the API and ends reconciling.)
func state(st *clusters.Status) string {
	if st.State == v1.ClusterStateRunning {
		return st.State
	}
	for _, t := range clusters.EngineConditions() {
		if !st.HasCondition(t, "True") {
			return v1.ClusterStateProvisioning
		}
	}
	return v1.ClusterStateRunning
}

// infrastructureProblem classifies what keeps the infrastructure from being ready: the reason of
// its condition, the severity of its event and how soon to try again.
func infrastructureProblem(err error) (reason, severity string, retry time.Duration) {
	switch {
	case errors.Is(err, provider.ErrQuota):
		return "QuotaExceeded", v1.SeverityError, QuotaRetry
	case errors.Is(err, k8sbin.ErrMissing):
		return "BinariesMissing", v1.SeverityError, QuotaRetry
	default:
		return "ControlPlaneNotReady", v1.SeverityWarning, Poll
	}
}

// nodeCounts counts the control-plane or the worker machines, and those of them Ready.
func nodeCounts(cl *clusters.Cluster, controlPlane bool) (ready, total int) {
	for _, m := range cl.Status.Machines {
		if m.ControlPlane == controlPlane {
			total++
			if m.Ready {
				ready++
			}
		}
	}
	return ready, total
}

// nodesReady says whether every machine, control plane and workers, is Ready.
func nodesReady(cl *clusters.Cluster) bool {
	cpReady, cpTotal := nodeCounts(cl, true)
	ready, total := nodeCounts(cl, false)
	return cpReady == cpTotal && ready == total
}

// nodesCondition sets the readiness condition of the control-plane or the worker machines.
func (c *Controller) nodesCondition(s *scope, condType string, controlPlane bool) {
	ready, total := nodeCounts(&s.cluster, controlPlane)
	what := "worker"
	if controlPlane {
		what = "control-plane"
	}
	message := fmt.Sprintf("%d of %d %s nodes Ready", ready, total, what)
	if ready == total {
		c.condition(s, condType, "True", "NodesReady", message, v1.SeverityInfo)
	} else {
		c.condition(s, condType, "False", "WaitingForNodes", message, v1.SeverityInfo)
	}
}

// packsApplied draws the PacksApplied condition from the agent's pack report: True once the agent
// applied the current generation's packs (those held back by nodes in maintenance said so).
func packsApplied(cl *clusters.Cluster, generation int64) (status, reason, message, severity string) {
	if cl.Status.PacksGeneration != generation {
		return "False", "Applying", fmt.Sprintf("Waiting for the agent to apply generation %d", generation), v1.SeverityInfo
	}
	applied, pending := 0, []string{}
	for _, ps := range cl.Status.Packs {
		switch ps.State {
		case v1.PackStateFailed:
			return "False", "PackFailed", fmt.Sprintf("Pack %s %s: %s", ps.Name, ps.Version, ps.Message), v1.SeverityWarning
		case v1.PackStatePending:
			pending = append(pending, fmt.Sprintf("pack %s %s waits for nodes in maintenance (%s)", ps.Name, ps.Version, ps.Message))
		case v1.PackStateApplied:
			applied++
		}
	}
	if len(pending) > 0 {
		return "True", "WaitingForMaintenance", fmt.Sprintf("%d packs applied; %s", applied, strings.Join(pending, "; ")), v1.SeverityInfo
	}
	return "True", "Applied", fmt.Sprintf("%d packs applied", applied), v1.SeverityInfo
}

// assessHealth draws the cluster's health verdict and records each change as an event; it returns
// when to look again for the verdict to change without news from the agent.
func (c *Controller) assessHealth(s *scope) time.Duration {
	timeout := c.HeartbeatTimeout
	if timeout <= 0 {
		timeout = DefaultHeartbeatTimeout
	}
	h := &s.cluster.Status.Health
	before, reasonsBefore := h.State, h.Reasons
	next := h.Assess(s.now, timeout, s.cluster.Status.Nodes, &s.cluster.Status.Usage)
	switch after := h.State; {
	case after == before && (after != clusters.HealthUnhealthy || slices.Equal(reasonsBefore, h.Reasons)):
	case after == clusters.HealthUnhealthy:
		c.event(s, v1.SeverityWarning, "Unhealthy", "Cluster is unhealthy: "+strings.Join(h.Reasons, "; "))
	case after == clusters.HealthHealthy:
		c.event(s, v1.SeverityInfo, "Healthy", "Cluster is healthy: heartbeats arrive and no node reports trouble")
	}
	return next
}

// condition sets one of the engine's conditions and, when it changed, queues an event telling the
// story.
func (c *Controller) condition(s *scope, condType, status, reason, message, severity string) {
	if s.cluster.Status.SetCondition(condType, status, reason, message, s.now) {
		c.event(s, severity, reason, condType+": "+message)
	}
}
