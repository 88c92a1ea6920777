package clusters_test

import (
	"slices"
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
)

// A node's failed conditions are Ready other than True and a pressure or network condition that
// is True; the cluster's health names each, with the doctor to ask.
func TestNodeProblems(t *testing.T) {
	nodes := []v1.NodeReport{
		{Name: "w1", Conditions: []v1.NodeCondition{{Type: "Ready", Status: "True"}, {Type: "MemoryPressure", Status: "False"}}},
		{Name: "w2", Conditions: []v1.NodeCondition{{Type: "Ready", Status: "Unknown", Reason: "NodeStatusUnknown"},
			{Type: "DiskPressure", Status: "True", Reason: "KubeletHasDiskPressure"}, {Type: "Custom", Status: "True"}}},
	}
	var types []string
	for _, c := range clusters.FailedConditions(nodes[1]) {
		types = append(types, c.Type)
	}
	if len(clusters.FailedConditions(nodes[0])) != 0 || !slices.Equal(types, []string{"Ready", "DiskPressure"}) {
		t.Errorf("failed conditions: w1 %v, w2 %v; want none, then Ready and DiskPressure", clusters.FailedConditions(nodes[0]), types)
	}
	want := []string{
		"NodeNotReady: node w2 is Ready=Unknown (NodeStatusUnknown); easel doctor CLUSTER w2 says why",
		"NodeCondition: node w2 reports DiskPressure (KubeletHasDiskPressure); easel doctor CLUSTER w2 says why",
	}
	if got := clusters.NodeProblems(nodes); !slices.Equal(got, want) {
		t.Errorf("NodeProblems = %q; want %q", got, want)
	}
}
