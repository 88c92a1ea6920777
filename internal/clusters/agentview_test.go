package clusters_test

import (
	"testing"
	"time"

	"github.com/easelhq/easel/internal/clusters"
)

// The agent's view of a stored cluster is what the whole document says of its health and
// revisions.
func TestAgentViewReadsTheDocument(t *testing.T) {
	var cl clusters.Cluster
	cl.Status.Health = clusters.Health{State: clusters.HealthHealthy, AgentVersion: "0.1.0",
		LastHeartbeat: time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC)}
	cl.Status.NodesRevision, cl.Status.RequestsRevision = 7, 3
	view, err := clusters.DecodeAgentView(cl.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if view.Health.State != clusters.HealthHealthy || view.Health.AgentVersion != "0.1.0" ||
		!view.Health.LastHeartbeat.Equal(cl.Status.Health.LastHeartbeat) || view.NodesRevision != 7 || view.RequestsRevision != 3 {
		t.Errorf("agent view = %+v, want the document's health and revisions 7 and 3", view)
	}
	if _, err := clusters.DecodeAgentView([]byte(`{"status":`)); err == nil {
		t.Error("a broken document decoded")
	}
}
