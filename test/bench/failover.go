package bench

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to read what the hubs stored

	"github.com/easelhq/easel/internal/agent"
	"github.com/easelhq/easel/internal/testenv/metrics"
)

// FailoverConfig is a run of two hub replicas on one PostgreSQL, one of which dies.
type FailoverConfig struct {
	Easel    string // the easel binary both replicas run
	DB       string // the PostgreSQL store both share (postgres://…), empty
	Clusters int    // imported clusters, one virtual agent each, given both replicas' URLs
	Lease    time.Duration
	// Before and After are how long the agents run before the kill and after the takeover.
	Before, After time.Duration
	// Timeout bounds the wait for the survivor to hold every cluster.
	Timeout     time.Duration
	Concurrency int
	Progress    io.Writer
}

// FailoverResult is what happened.
type FailoverResult struct {
	Clusters int
	Lease    time.Duration
	// HeldBefore is how many clusters each replica held before the kill (A, B).
	HeldBefore [2]int
	// Takeover is how long after SIGKILL the survivor held every cluster.
	Takeover time.Duration
	// Agents are the virtual agents' calls, by kind, over the whole run.
	Agents []AgentCalls
	// DuplicateAudits are clusters with more than one create audit entry; DuplicateEvents events
	// stored twice (same cluster, reason, message and time); RefusedWrites the survivor's fenced
	// writes refused.
	DuplicateAudits, DuplicateEvents, RefusedWrites int
}

// Total is every agent call together.
func (r FailoverResult) Total() AgentCalls { return totalCalls(r.Agents) }

// RunFailover starts replicas A and B of `easel server` on one PostgreSQL with a short lease,
// imports the clusters through A, waits until both hold a share of them, runs a virtual agent per
// cluster that knows both replicas from its import manifest, SIGKILLs A, and measures how long B takes to hold every
// cluster; then it checks what the store holds for duplicates.
func RunFailover(ctx context.Context, cfg FailoverConfig) (FailoverResult, error) {
	res := FailoverResult{Clusters: cfg.Clusters, Lease: cfg.Lease}
	if !strings.HasPrefix(cfg.DB, "postgres") {
		return res, errors.New("the failover benchmark needs a PostgreSQL store (--db postgres://…)")
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, time.Minute)
	args := []string{"--lease-duration", cfg.Lease.String()}
	a, err := startHub(ctx, hubOptions{easel: cfg.Easel, db: cfg.DB, args: args, concurrency: cfg.Concurrency, progress: cfg.Progress})
	if err != nil {
		return res, err
	}
	defer a.stop()
	b, err := startHub(ctx, hubOptions{easel: cfg.Easel, db: cfg.DB, args: args, concurrency: cfg.Concurrency, progress: cfg.Progress})
	if err != nil {
		return res, err
	}
	defer b.stop()
	uids, err := seed(ctx, a.c, cfg.Clusters, cfg.Concurrency, cfg.Progress)
	if err != nil {
		return res, err
	}
	// Each agent gets what its import manifest says: a token, and the URLs of the live replicas.
	secrets := make([]map[string]string, len(uids))
	if err := forEach(len(uids), cfg.Concurrency, func(i int) (err error) {
		secrets[i], err = agentSecret(ctx, a.c, uids[i])
		return err
	}); err != nil {
		return res, err
	}
	want := []string{a.c.base, b.c.base}
	if got, _ := agent.ParseHubURLs([]string{secrets[0]["hubURL"]}); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		return res, fmt.Errorf("the import manifest gives the agent the hub URLs %q; want both replicas' %q", secrets[0]["hubURL"], want)
	}
	fmt.Fprintf(cfg.Progress, "Waiting for replicas A and B to share %d clusters\n", len(uids))
	err = poll(ctx, 100*time.Millisecond, time.Now().Add(cfg.Timeout), "both replicas to hold clusters", func() (bool, error) {
		ha, err := a.metric(ctx, "easel_replica_leases_held")
		if err != nil {
			return false, err
		}
		hb, err := b.metric(ctx, "easel_replica_leases_held")
		if err != nil {
			return false, err
		}
		res.HeldBefore = [2]int{int(ha), int(hb)}
		return ha > 0 && hb > 0 && int(ha+hb) == len(uids), nil
	})
	if err != nil {
		return res, fmt.Errorf("%w (A holds %d, B %d)", err, res.HeldBefore[0], res.HeldBefore[1])
	}

	fleetCfg := FleetConfig{Clusters: cfg.Clusters, Nodes: 3, Pods: 20, Heartbeat: 2 * time.Second, PollWait: 5 * time.Second,
		UsageInterval: 4 * time.Second, WorkloadInterval: 4 * time.Second}
	f := newFleet(fleetCfg)
	hc := &http.Client{Timeout: fleetCfg.PollWait + 10*time.Second, Transport: &http.Transport{
		MaxIdleConns: 4*len(uids) + 64, MaxIdleConnsPerHost: 2*len(uids) + 64}}
	defer hc.CloseIdleConnections()
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	quiet := slog.New(slog.DiscardHandler)
	for i, uid := range uids {
		hubs, err := agent.ParseHubURLs([]string{secrets[i]["hubURL"]})
		if err != nil {
			return res, err
		}
		if i%2 == 1 { // half of the agents start on each replica
			slices.Reverse(hubs)
		}
		c, err := agent.NewClient(hubs, uid, secrets[i]["token"], hc, fleetCfg.PollWait, quiet)
		if err != nil {
			return res, err
		}
		v := &virtualAgent{f: f, c: c, runID: fmt.Sprintf("%s-%d", uid, time.Now().UnixNano()), notReady: -1}
		wg.Add(1)
		go func() { defer wg.Done(); v.run(runCtx, rand.N(fleetCfg.Heartbeat)) }()
	}
	fmt.Fprintf(cfg.Progress, "A holds %d clusters, B %d; agents run for %s, then A is killed\n",
		res.HeldBefore[0], res.HeldBefore[1], cfg.Before)
	if err := sleep(ctx, cfg.Before); err != nil {
		return res, err
	}
	killed := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return res, fmt.Errorf("killing replica A: %w", err)
	}
	err = poll(ctx, 50*time.Millisecond, killed.Add(cfg.Timeout), "replica B to hold every cluster", func() (bool, error) {
		held, err := b.metric(ctx, "easel_replica_leases_held")
		return int(held) == len(uids), err
	})
	if err != nil {
		return res, err
	}
	res.Takeover = time.Since(killed)
	fmt.Fprintf(cfg.Progress, "B holds every cluster %s after A was killed; agents run for %s more\n",
		res.Takeover.Round(10*time.Millisecond), cfg.After)
	if err := sleep(ctx, cfg.After); err != nil {
		return res, err
	}
	cancel()
	wg.Wait()
	for k := range callKinds {
		res.Agents = append(res.Agents, f.calls[k].snapshot(callNames[k]))
	}
	refused, err := b.metric(ctx, "easel_fenced_writes_refused_total")
	if err != nil {
		return res, err
	}
	res.RefusedWrites = int(refused)
	res.DuplicateAudits, res.DuplicateEvents, err = duplicates(ctx, cfg.DB)
	return res, err
}

// duplicates counts the clusters with more than one create audit entry, and the events stored
// more than once (same cluster, reason, message and time): what two replicas reconciling one
// cluster at once would leave.
func duplicates(ctx context.Context, dsn string) (audits, events int, err error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT resource_uid FROM audits
		WHERE action = 'create' AND resource_kind = 'spectrocluster' GROUP BY resource_uid HAVING COUNT(*) > 1) d`).Scan(&audits); err != nil {
		return 0, 0, fmt.Errorf("counting duplicate audit entries: %w", err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM events
		GROUP BY object_uid, reason, message, created_at HAVING COUNT(*) > 1) d`).Scan(&events); err != nil {
		return 0, 0, fmt.Errorf("counting duplicate events: %w", err)
	}
	return audits, events, nil
}

// metric reads an unlabelled metric from the hub's /metrics.
func (h *hubProcess) metric(ctx context.Context, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", h.c.base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := h.c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	v, ok := metrics.Parse(page)[name]
	if !ok {
		return 0, fmt.Errorf("%s has no metric %s", h.c.base, name)
	}
	return v, nil
}
