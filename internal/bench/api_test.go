package bench_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/bench"
	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/testenv/easelbin"
	"github.com/easelhq/easel/internal/testenv/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The benchmark itself runs end to end on both stores (tiny numbers; the speed is not asserted).
func TestRunAPI(t *testing.T) {
	for _, db := range []string{"", pgtest.DSN(t)} {
		results, err := bench.RunAPI(context.Background(), bench.APIConfig{DB: db, Clusters: 30,
			Duration: 200 * time.Millisecond, Concurrency: 2, Progress: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		if len(results) != 3 {
			t.Fatalf("%d results, want 3", len(results))
		}
		for _, r := range results {
			if r.Requests == 0 || r.Errors != 0 || r.P99 < r.P50 {
				t.Errorf("%s: %+v", r.Operation, r)
			}
		}
	}
}

// The provisioning benchmark runs end to end on one small cluster (its speed is not asserted).
func TestRunProvision(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("the provisioning benchmark needs the Kubernetes binaries: %v", err)
	}
	res, err := bench.RunProvision(context.Background(), bench.ProvisionConfig{Clusters: 1, Workers: 1,
		AgentBinary: easelbin.Path(t), Timeout: 3 * time.Minute, Progress: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ToRunning) != 1 || res.ToRunning[0] <= 0 || res.ClusterRSS < 100<<20 || res.HubRSS <= 0 || res.Deleted <= 0 {
		t.Fatalf("result = %+v; want a time to Running, the cluster's processes' memory (over 100 MiB) and a delete time", res)
	}
}

// The ingestion benchmark runs end to end on both stores (tiny numbers; speed is not asserted).
func TestRunIngest(t *testing.T) {
	for _, db := range []string{"", pgtest.DSN(t)} {
		results, err := bench.RunIngest(context.Background(), bench.IngestConfig{DB: db, Agents: 5, Nodes: 3,
			Duration: 200 * time.Millisecond, Concurrency: 2, Progress: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		if len(results) != 3 {
			t.Fatalf("%d results, want heartbeats, node reports and usage samples", len(results))
		}
		for _, r := range results {
			if r.Requests == 0 || r.Errors != 0 {
				t.Errorf("%s: %+v", r.Operation, r)
			}
		}
	}
}

// The drain benchmark runs end to end: both tools drain a node and every pod moves (tiny numbers;
// speed is not asserted).
func TestRunDrain(t *testing.T) {
	res, err := bench.RunDrain(context.Background(), bench.DrainConfig{Pods: 5, Rounds: 1, Progress: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Easel) != 1 || len(res.Kubectl) != 1 || res.Easel[0] <= 0 || res.Kubectl[0] <= 0 {
		t.Fatalf("result = %+v; want one timed drain per tool", res)
	}
}

// The day-2 benchmark runs end to end: a repave of one worker, one relaunch and an add-on attached
// and detached (speed is not asserted).
func TestRunDay2(t *testing.T) {
	res, err := bench.RunDay2(context.Background(), bench.Day2Config{Workers: 1, NodeReadyTimeout: 2 * time.Second,
		AgentBinary: easelbin.Path(t), Timeout: 3 * time.Minute, Progress: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.PerNode) != 1 || res.Repave <= 0 || res.ToRelaunch < 2*time.Second || res.ToReplaced < res.ToRelaunch ||
		res.AddOnApplied <= 0 || res.AddOnPruned <= 0 {
		t.Fatalf("result = %+v; want one replaced node, a relaunch after the 2s timeout and an add-on change", res)
	}
}
