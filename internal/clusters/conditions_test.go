package clusters_test

import (
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
)

// A condition's times move only when it changes: its transition time only when its status does,
// and setting what is already there changes nothing at all (so a reconcile that finds nothing new
// writes nothing).
func TestSetConditionMovesTimesOnlyOnChange(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Minute)
	initial := v1.ClusterCondition{Type: "AgentDeployed", Status: "False", Reason: "WaitingForAgent", Message: "Waiting",
		LastProbeTime: t0, LastTransitionTime: t0}
	for _, tc := range []struct {
		name                    string
		status, reason, message string
		changed                 bool
		want                    v1.ClusterCondition
	}{
		{"the same again", "False", "WaitingForAgent", "Waiting", false, initial},
		{"a new message", "False", "WaitingForAgent", "Still waiting", true, v1.ClusterCondition{Type: "AgentDeployed",
			Status: "False", Reason: "WaitingForAgent", Message: "Still waiting", LastProbeTime: t1, LastTransitionTime: t0}},
		{"a new reason", "False", "AgentNotStarted", "Waiting", true, v1.ClusterCondition{Type: "AgentDeployed",
			Status: "False", Reason: "AgentNotStarted", Message: "Waiting", LastProbeTime: t1, LastTransitionTime: t0}},
		{"a new status", "True", "AgentConnected", "Agent 0.1.0 is connected", true, v1.ClusterCondition{Type: "AgentDeployed",
			Status: "True", Reason: "AgentConnected", Message: "Agent 0.1.0 is connected", LastProbeTime: t1, LastTransitionTime: t1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := clusters.Status{Conditions: []v1.ClusterCondition{
				{Type: "InfrastructureReady", Status: "True", Reason: "ControlPlaneReady", LastProbeTime: t0, LastTransitionTime: t0},
				initial}}
			if got := st.SetCondition("AgentDeployed", tc.status, tc.reason, tc.message, t1); got != tc.changed {
				t.Fatalf("SetCondition changed = %v, want %v", got, tc.changed)
			}
			if len(st.Conditions) != 2 || st.Conditions[1] != tc.want || st.Conditions[0].LastProbeTime != t0 {
				t.Fatalf("conditions = %+v, want the first untouched and the second %+v", st.Conditions, tc.want)
			}
		})
	}
	// A new type is added after the others, its times now.
	st := clusters.Status{Conditions: []v1.ClusterCondition{initial}}
	if !st.SetCondition("PacksApplied", "False", "Applying", "Waiting for generation 1", t1) ||
		st.Conditions[1] != (v1.ClusterCondition{Type: "PacksApplied", Status: "False", Reason: "Applying",
			Message: "Waiting for generation 1", LastProbeTime: t1, LastTransitionTime: t1}) {
		t.Fatalf("conditions after adding one = %+v", st.Conditions)
	}
}
