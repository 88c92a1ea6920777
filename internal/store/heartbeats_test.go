package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/store"
)

// A heartbeat replaces its cluster's older one and never a newer one (two requests of one agent,
// or two hub replicas, may land out of order); a deleted cluster's heartbeat goes with its reports.
func TestHeartbeats(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		if live, err := s.Live(ctx, "c1"); err != nil || !live.Heartbeat.At.IsZero() || live.Usage != nil {
			t.Fatalf("what the agent of a cluster that never sent anything said = %+v, %v; want nothing", live, err)
		}
		for _, hb := range []store.Heartbeat{
			{ClusterUID: "c1", At: t0, AgentVersion: "0.1.0"},
			{ClusterUID: "c1", At: t0.Add(30 * time.Second), AgentVersion: "0.2.0"},
			{ClusterUID: "c1", At: t0.Add(10 * time.Second), AgentVersion: "0.1.0"}, // late
			{ClusterUID: "c2", At: t0, AgentVersion: "0.1.0"},
		} {
			if err := s.PutHeartbeat(ctx, hb); err != nil {
				t.Fatal(err)
			}
		}
		live, err := s.Live(ctx, "c1")
		if hb := live.Heartbeat; err != nil || !hb.At.Equal(t0.Add(30*time.Second)) || hb.AgentVersion != "0.2.0" {
			t.Fatalf("c1's heartbeat = %+v, %v; want the newest (0.2.0 at +30s)", hb, err)
		}
		if err := s.DeleteClusterReports(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		if live, err := s.Live(ctx, "c1"); err != nil || !live.Heartbeat.At.IsZero() {
			t.Fatalf("c1's heartbeat after its reports were deleted = %+v, %v; want none", live.Heartbeat, err)
		}
	})
}
