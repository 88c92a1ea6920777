package bench_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/testenv/easelbin"
	"github.com/easelhq/easel/internal/testenv/pgtest"
	"github.com/easelhq/easel/test/bench"
)

// TestMain is also the fleet simulator's people's process when the fleet test starts this
// binary as its own executable (bench.PeopleCommand).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == bench.PeopleCommand {
		if err := bench.RunPeople(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	pgtest.Main(m)
}

// needK8s fails a test of local clusters when the Kubernetes binaries are missing.
func needK8s(t *testing.T) {
	t.Helper()
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this benchmark provisions a local cluster and needs the Kubernetes binaries: %v", err)
	}
}

// The benchmark itself runs end to end on both stores (tiny numbers; the speed is not asserted).
func TestRunAPI(t *testing.T) {
	for _, db := range []string{"", pgtest.DSN(t)} {
		results, err := bench.RunAPI(context.Background(), bench.APIConfig{Easel: easelbin.Path(t), DB: db, Clusters: 30,
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
	needK8s(t)
	res, err := bench.RunProvision(context.Background(), bench.ProvisionConfig{Easel: easelbin.Path(t), Clusters: 1, Workers: 1,
		Timeout: 3 * time.Minute, Progress: io.Discard})
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
		results, err := bench.RunIngest(context.Background(), bench.IngestConfig{Easel: easelbin.Path(t), DB: db, Agents: 5, Nodes: 3,
			Pods: 20, Duration: 200 * time.Millisecond, Concurrency: 2, Progress: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		if len(results) != 4 {
			t.Fatalf("%d results, want heartbeats, node reports, usage samples and workload reports", len(results))
		}
		for _, r := range results {
			if r.Requests == 0 || r.Errors != 0 {
				t.Errorf("db %q: %s: %+v", db, r.Operation, r)
			}
		}
	}
}

// The drain benchmark runs end to end: maintenance mode and kubectl each drain a node and every
// pod moves (tiny numbers; speed is not asserted).
func TestRunDrain(t *testing.T) {
	needK8s(t)
	res, err := bench.RunDrain(context.Background(), bench.DrainConfig{Easel: easelbin.Path(t), Pods: 5, Rounds: 1,
		Timeout: 3 * time.Minute, Progress: io.Discard})
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
	needK8s(t)
	res, err := bench.RunDay2(context.Background(), bench.Day2Config{Easel: easelbin.Path(t), Workers: 1, NodeReadyTimeout: 2 * time.Second,
		Timeout: 3 * time.Minute, Progress: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.PerNode) != 1 || res.Repave <= 0 || res.ToRelaunch < 2*time.Second || res.ToReplaced < res.ToRelaunch ||
		res.AddOnApplied <= 0 || res.AddOnPruned <= 0 {
		t.Fatalf("result = %+v; want one replaced node, a relaunch after the 2s timeout and an add-on change", res)
	}
}

// The idle benchmark runs end to end with a reference binary: each hub holds its imported
// clusters, the engine has looked at every one, and its CPU and memory are measured over windows.
func TestRunIdle(t *testing.T) {
	easel := easelbin.Path(t)
	results, err := bench.RunIdle(context.Background(), bench.IdleConfig{Easel: easel, Reference: easel, Clusters: 10,
		Duration: 2 * time.Second, Window: time.Second, SettleTimeout: time.Minute, Concurrency: 2, Progress: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("%d results, want one per binary", len(results))
	}
	for _, r := range results {
		if r.Binary != easel || r.Clusters != 10 || r.Settled != 10 || r.Windows != 2 || r.CPUAverage < 0 ||
			r.CPUP95 < r.CPUAverage*0.99 || r.RSS <= 0 || r.Writes < int64(r.Written) {
			t.Errorf("result = %+v; want 10 settled clusters, two CPU windows, the hub's CPU and memory", r)
		}
	}
}

// The console benchmark runs end to end on a few clusters (its speed is not asserted).
func TestRunConsole(t *testing.T) {
	res, err := bench.RunConsole(context.Background(), bench.ConsoleConfig{Easel: easelbin.Path(t), Clusters: 30,
		Duration: 200 * time.Millisecond, Chromium: os.Getenv("EASEL_CHROMIUM"), Logins: 1, Progress: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Grid {
		if r.Requests == 0 || r.Errors != 0 || r.P95 < r.P50 {
			t.Errorf("%s: %+v", r.Operation, r)
		}
	}
	for _, p := range res.Pages {
		// Every page loads the stylesheet and the scripts; the overview fetches its usage data.
		if p.HTML == 0 || p.Assets < 100_000 || (strings.HasPrefix(p.Page, "/clusters/{uid} (") && p.Data == 0) {
			t.Errorf("page %s: %+v", p.Page, p)
		}
	}
	if len(res.LoginToDrawn) != 1 || res.LoginToDrawn[0] <= 0 {
		t.Errorf("login → drawn overview: %v", res.LoginToDrawn)
	}
}

// The fleet simulator runs end to end on both stores, and over HTTPS, with short intervals: every
// kind of agent call is sent and accepted, none is lost, every user call is made, and every
// agent's first reports are accepted within the run (speed is not asserted).
func TestRunFleet(t *testing.T) {
	for _, run := range []struct {
		db   string
		tls  bool
		nice int
	}{{"", false, 0}, {pgtest.DSN(t), false, 0}, {"", true, 10}} {
		db := run.db
		heap, userCalls := filepath.Join(t.TempDir(), "heap.pb.gz"), filepath.Join(t.TempDir(), "calls.csv")
		res, err := bench.RunFleet(context.Background(), bench.FleetConfig{Easel: easelbin.Path(t), DB: db, TLS: run.tls,
			HeapProfile: heap, UserCallsFile: userCalls, Clusters: 5, Nodes: 3, Pods: 20, Duration: 5 * time.Second, Heartbeat: time.Second, PollWait: time.Second,
			NodeChange: 2 * time.Second, UsageInterval: time.Second, WorkloadInterval: time.Second, UserRate: 5,
			AgentsNice: run.nice, Window: time.Second, Concurrency: 2, Progress: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		if run.nice > 0 && res.AgentsNice < run.nice {
			t.Errorf("the agents ran at nice %d, want %d", res.AgentsNice, run.nice)
		}
		if res.TLS != run.tls || res.Settled <= 0 || len(res.SettledUsers) != 4 || res.StoreSettled <= 0 {
			t.Errorf("db %q, TLS %v: TLS %v, first reports all in after %s, %d user calls after, store then %d bytes; want "+
				"the run's transport, and the first reports all in within the run", db, run.tls, res.TLS, res.Settled,
				len(res.SettledUsers), res.StoreSettled)
		}
		if len(res.Agents) != 5 {
			t.Fatalf("%d kinds of agent calls, want heartbeats, long-polls, node, usage and workload reports", len(res.Agents))
		}
		for _, c := range append(res.Agents, res.Total()) {
			if c.Accepted == 0 || c.Lost != 0 || c.Refused() != 0 || c.Sent != c.Accepted {
				t.Errorf("db %q: %+v; want calls sent and all accepted", db, c)
			}
		}
		if len(res.Users) != 4 {
			t.Fatalf("%d user calls, want 4", len(res.Users))
		}
		made := 0
		for _, u := range res.Users {
			if u.Requests == 0 || u.Errors != 0 || u.P99 < u.P50 {
				t.Errorf("db %q: %s: %+v", db, u.Operation, u)
			}
			made += u.Requests
		}
		if csv, err := os.ReadFile(userCalls); err != nil || strings.Count(string(csv), "\n") != made+1 {
			t.Errorf("db %q: the user calls' file has %d lines, want a header and %d calls (%v)", db, strings.Count(string(csv), "\n"), made, err)
		}
		if res.Windows == 0 || res.PeakRSS <= 0 || res.StoreStart <= 0 || res.StoreEnd < res.StoreStart {
			t.Errorf("db %q: result = %+v; want CPU windows, the hub's memory and the store's size", db, res)
		}
		// Read near the end, with every agent's long-poll held: a goroutine at least for each.
		if m := res.Memory; m == nil || m.Live <= 0 || m.HeapInUse < m.Live || m.Stacks <= 0 || m.Goroutines < 5 ||
			m.At < 4*time.Second {
			t.Errorf("db %q: the hub's memory read from its profiles: %+v", db, m)
		}
		if profile, err := os.ReadFile(heap); err != nil || len(profile) < 2 || profile[0] != 0x1f || profile[1] != 0x8b {
			t.Errorf("db %q: the heap profile is not a gzipped profile (%d bytes): %v", db, len(profile), err)
		}
	}
}

// The people's process refuses a configuration it cannot run, before making any call.
func TestRunPeopleRefusesAnEmptyConfiguration(t *testing.T) {
	for _, in := range []string{"", "{", `{"Base":"http://127.0.0.1:1","Rate":5}`, `{"Base":"http://127.0.0.1:1","UIDs":["a"]}`} {
		var out strings.Builder
		if err := bench.RunPeople(context.Background(), strings.NewReader(in), &out); err == nil || out.Len() != 0 {
			t.Errorf("RunPeople(%q) = %v, wrote %q; want an error and no call", in, err, out.String())
		}
	}
}

// Two replicas on one PostgreSQL share the clusters; when one is killed the other takes every
// cluster over, the agents (which know both) lose no call, and nothing is stored twice. The
// takeover's time is the benchmark's to report, not asserted here beyond the wait's bound.
func TestRunFailover(t *testing.T) {
	res, err := bench.RunFailover(context.Background(), bench.FailoverConfig{Easel: easelbin.Path(t), DB: pgtest.DSN(t),
		Clusters: 40, Lease: 5 * time.Second, Before: 3 * time.Second, After: 2 * time.Second, Timeout: time.Minute,
		Concurrency: 4, Progress: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("takeover %s; agent calls %+v", res.Takeover, res.Total())
	if res.HeldBefore[0] == 0 || res.HeldBefore[1] == 0 || res.HeldBefore[0]+res.HeldBefore[1] != 40 {
		t.Errorf("before the kill A held %d clusters and B %d; want both some, 40 together", res.HeldBefore[0], res.HeldBefore[1])
	}
	if total := res.Total(); total.Accepted == 0 || total.Lost != 0 || total.Refused() != 0 {
		t.Errorf("agent calls %+v; want some accepted, none refused or lost (each agent moves to the live replica)", total)
	}
	// Refused writes are not counted against it: on a loaded machine the survivor's own session
	// may expire too, and then refusing its writes is what fencing is for.
	if res.DuplicateAudits != 0 || res.DuplicateEvents != 0 {
		t.Errorf("%d clusters with two create audit entries, %d events stored twice; want none",
			res.DuplicateAudits, res.DuplicateEvents)
	}
}

// testLog writes a benchmark's progress to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
