package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/agent"
	"github.com/easelhq/easel/internal/hubtrust"
)

// FleetConfig is one run of the fleet simulator.
type FleetConfig struct {
	Easel string // the easel binary whose `easel server` is measured
	// DB is the store URL; empty means a fresh SQLite file. A PostgreSQL database must be empty.
	DB       string
	Clusters int           // imported clusters, one virtual agent each
	Nodes    int           // nodes per cluster
	Pods     int           // pods per cluster, in its workload report
	Duration time.Duration // how long the agents run and the hub is measured
	// TLS serves HTTPS with the hub's self-signed certificate, as a hub that agents reach over the
	// network does; each agent then has its own HTTP/2 connection, which carries its long-poll
	// and its reports, as a real agent's does. Without it the agents share one plain HTTP
	// transport and each holds about two connections: its long-poll's and one for its reports.
	TLS bool
	// HubMemoryLimit, if set, is the hub's GOMEMLIMIT (Go's soft memory limit, such as 1800MiB):
	// its garbage collector then runs more often as the hub nears it, instead of letting the heap
	// grow to twice what is live.
	HubMemoryLimit string
	// IdleConns bounds the idle connections the agents' shared plain-HTTP transport keeps
	// (default two per agent): fewer let a fleet fit in the machine's open files, at the price of
	// a new connection for a call that finds none idle. Unused with TLS.
	IdleConns int
	// HeapProfile, if set, is a file to write the hub's heap profile to when its memory is read,
	// near the end of the run.
	HeapProfile string

	// The virtual agents' intervals. Heartbeat also spreads the agents' starts: each starts at a
	// random moment of the first heartbeat interval.
	Heartbeat time.Duration
	PollWait  time.Duration // the desired-state long-poll's wait
	// NodeInterval, if positive, sends the node report every interval, as today's agent does
	// (its nodes' lease renew times change); zero sends it at start and when a node changes.
	NodeInterval time.Duration
	// NodeChange is the mean time between a cluster's node changes: one node goes NotReady, or
	// the NotReady one Ready again.
	NodeChange       time.Duration
	UsageInterval    time.Duration // a usage sample of every node
	WorkloadInterval time.Duration // a workload delta (a few pods restarted)

	// UserCallsFile, if set, is a CSV file to write every user call to: when it began (seconds
	// from the agents' start), its latency and its error.
	UserCallsFile string
	// AgentsNice is the nice value the virtual agents run at (nice.go); 0 leaves it alone.
	AgentsNice  int
	UserRate    float64       // calls per second of each user client
	Window      time.Duration // the hub CPU percentiles' window (default 10 s)
	Concurrency int           // clients that import the clusters and fetch their agent tokens
	Progress    io.Writer
}

// Agent call kinds, in the order the result lists them.
const (
	callHeartbeat = iota
	callDesired
	callNodes
	callUsage
	callWorkloads
	callKinds
)

var callNames = [callKinds]string{"PUT …/heartbeat", "GET …/agent/desired (long-poll)", "PUT …/agent/nodes",
	"PUT …/agent/usage", "PUT …/agent/workloads"}

// AgentCalls counts one kind of the virtual agents' calls by the hub's answer. Calls that the end
// of the run cut short are not counted.
type AgentCalls struct {
	Kind     string
	Sent     int64
	Accepted int64 // 2xx, and 304 for a long-poll that saw no change
	// Refused are the hub's answers outside 2xx: 429, 503, and any other 4xx or 5xx.
	TooMany, Unavailable, Other4xx, Other5xx int64
	Lost                                     int64 // no answer: a transport error or a timeout
}

// Refused is every refusal.
func (c AgentCalls) Refused() int64 { return c.TooMany + c.Unavailable + c.Other4xx + c.Other5xx }

// FleetResult is what the fleet simulator measured.
type FleetResult struct {
	Clusters, Nodes, Pods int
	TLS                   bool
	HubMemoryLimit        string
	HubGODEBUG            string // the GODEBUG the hub ran with, read from its process (easel server sets its own)
	IdleConns             int
	Duration              time.Duration
	// CPU is the hub process's CPU (user+system) as a percentage of one core: the average over the
	// run, and the 95th percentile of its windows.
	CPUAverage, CPUP95 float64
	Windows            int
	// SteadyAverage and SteadyP95 are the same over the windows after every agent started (one
	// heartbeat interval in): without the agents' first full reports, what the fleet costs from
	// then on. SteadyWindows is how many.
	SteadyAverage, SteadyP95 float64
	SteadyWindows            int
	// Settled is when every agent's first reports had been accepted — its full workload report
	// the last, which waits its turn behind the others' — from the agents' start; zero if not
	// within the run. SettledAverage, SettledP95 and SettledWindows are the CPU over the windows
	// that began after it: what the fleet costs once the start's storm of full reports is over.
	Settled                    time.Duration
	SettledAverage, SettledP95 float64
	SettledWindows             int
	PeakRSS                    int64 // the hub's largest resident set size (VmHWM), seeding included
	// Memory is the hub's memory after a collection, read from its runtime profiles at 95 % of
	// the run, every agent still connected; nil if the run ended before.
	Memory *HubMemory
	// SimulatorCPU is this process's CPU over the run (% of one core): it shares the machine.
	SimulatorCPU float64
	// AgentsNice is the lowest nice value of this process's threads once the agents started.
	AgentsNice int
	// The store's size when the agents start, once every agent has started (a heartbeat interval
	// later), once every agent's first reports were accepted (zero if not within the run) and at
	// the end. GrowthPerHour is the growth to the end from the third, or from the second when
	// there is no third, per hour: the first is the fleet's steady growth, the second holds the
	// first reports still arriving.
	StoreStart, StoreWarm, StoreSettled, StoreEnd int64
	GrowthPerHour                                 float64
	Agents                                        []AgentCalls // by kind
	Users                                         []Result     // each user call
	// SettledUsers is each user call made after Settled, with no errors counted; empty if the
	// agents' first reports were not all accepted within the run.
	SettledUsers []Result
}

// Total is every agent call together.
func (r FleetResult) Total() AgentCalls { return totalCalls(r.Agents) }

// totalCalls adds calls of every kind up.
func totalCalls(calls []AgentCalls) AgentCalls {
	t := AgentCalls{Kind: "all"}
	for _, c := range calls {
		t.Sent += c.Sent
		t.Accepted += c.Accepted
		t.TooMany += c.TooMany
		t.Unavailable += c.Unavailable
		t.Other4xx += c.Other4xx
		t.Other5xx += c.Other5xx
		t.Lost += c.Lost
	}
	return t
}

// WorstP99 is the largest p99 of the user calls.
func (r FleetResult) WorstP99() time.Duration { return worstP99(r.Users) }

// WorstSettledP99 is the largest p99 of the user calls made after every agent's first reports
// were accepted.
func (r FleetResult) WorstSettledP99() time.Duration { return worstP99(r.SettledUsers) }

func worstP99(results []Result) time.Duration {
	var worst time.Duration
	for _, u := range results {
		worst = max(worst, u.P99)
	}
	return worst
}

// RunFleet starts a hub on loopback over the configured store, imports cfg.Clusters clusters
// through the API and runs a virtual agent for each — the agent's own hub client, with made-up
// reports — for cfg.Duration, while user clients call the API and the console at a steady rate.
// It measures the hub's CPU and memory, the store's size and every call's outcome.
func RunFleet(ctx context.Context, cfg FleetConfig) (FleetResult, error) {
	res := FleetResult{Clusters: cfg.Clusters, Nodes: cfg.Nodes, Pods: cfg.Pods, TLS: cfg.TLS, HubMemoryLimit: cfg.HubMemoryLimit,
		IdleConns: cfg.IdleConns, Duration: cfg.Duration}
	cfg.Window = cmp.Or(cfg.Window, 10*time.Second)
	profiles, err := freeAddr()
	if err != nil {
		return res, err
	}
	h, err := startHub(ctx, hubOptions{easel: cfg.Easel, db: cfg.DB, concurrency: cfg.Concurrency, progress: cfg.Progress, tls: cfg.TLS,
		env: hubMemoryLimit(cfg.HubMemoryLimit), args: []string{"--profiling-listen", profiles}})
	if err != nil {
		return res, err
	}
	defer h.stop()
	res.HubGODEBUG = procEnv(h.pid(), "GODEBUG")
	uids, err := seed(ctx, h.c, cfg.Clusters, cfg.Concurrency, cfg.Progress)
	if err != nil {
		return res, err
	}
	tokens := make([]string, len(uids))
	if err := forEach(len(uids), cfg.Concurrency, func(i int) (err error) {
		tokens[i], err = agentToken(ctx, h.c, uids[i])
		return err
	}); err != nil {
		return res, err
	}
	session, err := signInBenchUser(ctx, h.c)
	if err != nil {
		return res, err
	}
	storeSize := func() (int64, error) { return h.storeSize(ctx, cfg.DB) }
	if res.StoreStart, err = storeSize(); err != nil {
		return res, err
	}

	fmt.Fprintf(cfg.Progress, "Running %d virtual agents and the user clients for %s\n", len(uids), cfg.Duration)
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	f := newFleet(cfg)
	agentHTTP, closeAgentHTTP, err := agentClients(cfg, h.pin, len(uids))
	if err != nil {
		return res, err
	}
	defer closeAgentHTTP()
	peopleCtx, stopPeople := context.WithCancel(ctx)
	defer stopPeople() // on an early return; else the process has ended
	peopleStart := time.Now()
	peopleDone, err := startPeople(peopleCtx, peopleConfig{Base: h.c.base, Project: h.c.project, Pin: h.pin, Session: session,
		UIDs: uids, Rate: cfg.UserRate, Duration: cfg.Duration}, cfg.Progress)
	if err != nil {
		return res, err
	}
	if cfg.AgentsNice != 0 {
		restore, err := setNice(cfg.AgentsNice)
		if err != nil {
			return res, err
		}
		defer restore()
	}
	quiet := slog.New(slog.DiscardHandler)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // on an early return too: no agent outlives the run
	for i, uid := range uids {
		c, err := agent.NewClient([]string{h.c.base}, uid, tokens[i], agentHTTP(), cfg.PollWait, quiet)
		if err != nil {
			return res, err
		}
		v := &virtualAgent{f: f, c: c, runID: fmt.Sprintf("%s-%d", uid, time.Now().UnixNano()), notReady: -1}
		wg.Add(1)
		go func() { defer wg.Done(); v.run(runCtx, rand.N(cfg.Heartbeat)) }()
	}
	if res.AgentsNice, err = threadsNice(); err != nil {
		return res, err
	}

	simStart, err := cpuSeconds(os.Getpid())
	if err != nil {
		return res, err
	}
	var (
		windows   []cpuWindow
		windowErr error
		sampled   = make(chan struct{})
	)
	sampleStart := time.Now()
	go func() {
		defer close(sampled)
		// Bounded by the duration itself: the run's context would end it before its last window.
		windows, windowErr = cpuWindows(ctx, h.pid(), cfg.Duration, cfg.Window)
	}()
	type memoryRead struct {
		m   *HubMemory
		err error
	}
	memory := make(chan memoryRead, 1)
	go func() {
		if sleep(runCtx, cfg.Duration-cfg.Duration/20) != nil {
			memory <- memoryRead{}
			return
		}
		at := time.Since(sampleStart)
		m, err := readHubMemory(ctx, "http://"+profiles+"/debug/pprof/", cfg.HeapProfile)
		m.At = at
		memory <- memoryRead{&m, err}
	}()
	growthFrom, fromSize := time.Now(), int64(0)
	if err := sleep(runCtx, min(cfg.Heartbeat, cfg.Duration/2)); err == nil {
		growthFrom = time.Now()
		if res.StoreWarm, err = storeSize(); err != nil {
			return res, err
		}
		fromSize = res.StoreWarm
	}
	for f.settledAt.Load() == nil {
		if sleep(runCtx, time.Second) != nil {
			break
		}
	}
	if runCtx.Err() == nil {
		growthFrom = time.Now()
		if res.StoreSettled, err = storeSize(); err != nil {
			return res, err
		}
		fromSize = res.StoreSettled
	}
	<-runCtx.Done()
	<-sampled
	wg.Wait()
	read := <-memory
	if read.err != nil {
		return res, read.err
	}
	res.Memory = read.m
	simEnd, err := cpuSeconds(os.Getpid())
	if err != nil {
		return res, err
	}
	if windowErr != nil {
		return res, windowErr
	}
	res.SimulatorCPU = 100 * (simEnd - simStart) / cfg.Duration.Seconds()
	res.Windows = len(windows)
	res.CPUAverage, res.CPUP95 = cpuPercents(windows)
	steady := windowsFrom(windows, cfg.Heartbeat)
	res.SteadyWindows = len(steady)
	res.SteadyAverage, res.SteadyP95 = cpuPercents(steady)
	if at := f.settledAt.Load(); at != nil {
		res.Settled = at.Sub(sampleStart)
		settled := windowsFrom(windows, res.Settled)
		res.SettledWindows = len(settled)
		res.SettledAverage, res.SettledP95 = cpuPercents(settled)
	}
	res.PeakRSS = peakRSS(h.pid())
	if res.StoreEnd, err = storeSize(); err != nil {
		return res, err
	}
	if d := time.Since(growthFrom); fromSize > 0 && d > 0 {
		res.GrowthPerHour = float64(res.StoreEnd-fromSize) / d.Hours()
	}
	for k := range callKinds {
		res.Agents = append(res.Agents, f.calls[k].snapshot(callNames[k]))
	}
	calls, err := peopleDone()
	if err != nil {
		return res, err
	}
	var settledAt time.Time
	if at := f.settledAt.Load(); at != nil {
		settledAt = *at
	}
	res.Users, res.SettledUsers = summarizePeople(calls, peopleStart, time.Now(), settledAt, cfg.Progress)
	if cfg.UserCallsFile != "" {
		if err := writePeopleCalls(cfg.UserCallsFile, calls, peopleStart); err != nil {
			return res, err
		}
	}
	return res, nil
}

// hubMemoryLimit is the hub's environment for a GOMEMLIMIT, none when limit is empty.
func hubMemoryLimit(limit string) []string {
	if limit == "" {
		return nil
	}
	return []string{"GOMEMLIMIT=" + limit}
}

// agentClients makes the virtual agents' HTTP clients. Over plain HTTP they share one transport:
// each long-poll holds a connection and the other calls reuse the idle ones, so the hub serves
// about two connections per agent. Over HTTPS each agent has the transport the agent itself
// builds (Go's default one, pinning the hub's certificate), so one HTTP/2 connection per agent.
func agentClients(cfg FleetConfig, pin string, agents int) (next func() *http.Client, closeAll func(), err error) {
	timeout := cfg.PollWait + 30*time.Second
	if !cfg.TLS {
		idle := cmp.Or(cfg.IdleConns, 2*agents+64)
		hc := &http.Client{Timeout: timeout, Transport: &http.Transport{
			MaxIdleConns: idle, MaxIdleConnsPerHost: idle, IdleConnTimeout: 2 * time.Minute}}
		return func() *http.Client { return hc }, hc.CloseIdleConnections, nil
	}
	tlsConfig, err := hubtrust.Options{Fingerprint: pin}.TLSConfig()
	if err != nil {
		return nil, nil, err
	}
	var made []*http.Client
	next = func() *http.Client {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tlsConfig.Clone() // each transport adds "h2" to its own
		hc := &http.Client{Timeout: timeout, Transport: t}
		made = append(made, hc)
		return hc
	}
	return next, func() {
		for _, hc := range made {
			hc.CloseIdleConnections()
		}
	}, nil
}

// windowsFrom is the windows that began at least `from` after the first one did.
func windowsFrom(windows []cpuWindow, from time.Duration) []cpuWindow {
	var began time.Duration
	for i, w := range windows {
		if began >= from {
			return windows[i:]
		}
		began += w.wall
	}
	return nil
}

// fleet is what the virtual agents share: immutable report contents and the call counters.
type fleet struct {
	cfg FleetConfig
	// ready and notReady are each node as Ready and as NotReady; usage a sample of every node;
	// workloads the full workload report. Agents copy what they change.
	ready, notReady []v1.NodeReport
	usage           []v1.NodeUsage
	workloads       []v1.WorkloadItem
	firstPod        int // the index of the first pod in workloads
	calls           [callKinds]callCounter
	// settled counts the agents whose first full workload report was accepted; settledAt is when
	// the last one's was.
	settled   atomic.Int64
	settledAt atomic.Pointer[time.Time]
}

func newFleet(cfg FleetConfig) *fleet {
	f := &fleet{cfg: cfg, ready: benchNodes(cfg.Nodes), notReady: benchNodes(cfg.Nodes), usage: benchUsage(cfg.Nodes)}
	for i := range f.notReady {
		n := &f.notReady[i]
		n.Ready = false
		n.Conditions = append([]v1.NodeCondition{{Type: "Ready", Status: "Unknown", Reason: "NodeStatusUnknown",
			Message: "Kubelet stopped posting node status."}}, n.Conditions[1:]...)
	}
	f.workloads, f.firstPod = benchWorkloads(cfg.Pods, cfg.Nodes)
	return f
}

// benchWorkloads are the items of a cluster's full workload report: a namespace, a deployment per
// ten pods and the pods, spread over the nodes; firstPod is the index of the first pod.
func benchWorkloads(pods, nodes int) (items []v1.WorkloadItem, firstPod int) {
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	items = append(items, v1.WorkloadItem{Kind: v1.WorkloadNamespace, Name: "apps", Phase: "Active", Created: created})
	deployments := (pods + 9) / 10
	for d := range deployments {
		items = append(items, v1.WorkloadItem{Kind: v1.WorkloadDeployment, Namespace: "apps", Name: fmt.Sprintf("app-%03d", d),
			Labels: map[string]string{"app": fmt.Sprintf("app-%03d", d)}, Created: created,
			Replicas: &v1.ReplicasItem{Desired: 10, Ready: 10, Available: 10, Updated: 10}})
	}
	firstPod = len(items)
	for p := range pods {
		node := ""
		if nodes > 0 {
			node = fmt.Sprintf("workers-%05d", p%nodes)
		}
		app := fmt.Sprintf("app-%03d", p/10)
		items = append(items, v1.WorkloadItem{Kind: v1.WorkloadPod, Namespace: "apps", Name: fmt.Sprintf("%s-%05d", app, p),
			UID: fmt.Sprintf("00000000-0000-0000-0000-%012d", p), Labels: map[string]string{"app": app}, Created: created,
			Pod: &v1.PodItem{Phase: "Running", Node: node, IP: fmt.Sprintf("10.%d.%d.%d", p>>16&255, p>>8&255, p&255),
				QOSClass: "Burstable", Owner: "ReplicaSet/" + app + "-7d4b9c",
				Containers: []v1.ContainerItem{{Name: "app", Image: "registry.example.com/" + app + ":1.0", Ready: true,
					Started: true, MilliCPU: 100, Memory: 128 << 20}}}})
	}
	return items, firstPod
}

// callCounter counts one kind of agent call.
type callCounter struct {
	sent, accepted, tooMany, unavailable, other4xx, other5xx, lost atomic.Int64
}

func (c *callCounter) snapshot(kind string) AgentCalls {
	return AgentCalls{Kind: kind, Sent: c.sent.Load(), Accepted: c.accepted.Load(), TooMany: c.tooMany.Load(),
		Unavailable: c.unavailable.Load(), Other4xx: c.other4xx.Load(), Other5xx: c.other5xx.Load(), Lost: c.lost.Load()}
}

// count records a call's outcome, unless the end of the run (ctx) cut it short.
func (f *fleet) count(ctx context.Context, kind, status int, err error) {
	if err != nil && ctx.Err() != nil {
		return
	}
	c := &f.calls[kind]
	c.sent.Add(1)
	switch {
	case err == nil:
		c.accepted.Add(1)
	case status == http.StatusTooManyRequests:
		c.tooMany.Add(1)
	case status == http.StatusServiceUnavailable:
		c.unavailable.Add(1)
	case status >= 400 && status < 500:
		c.other4xx.Add(1)
	case status >= 500:
		c.other5xx.Add(1)
	default:
		c.lost.Add(1)
	}
}

// virtualAgent is one cluster's agent: what it remembers between reports, and nothing else.
type virtualAgent struct {
	f        *fleet
	c        *agent.Client
	runID    string // names this agent's usage samples and reports
	seq      int64
	notReady int           // the node that is NotReady, or -1
	base     string        // the last workload report the hub accepted, "" for none
	restarts map[int]int32 // pods (by index) that restarted, with their restart counts
	reports  int64         // numbers report ids
	settled  bool          // its first full workload report was accepted
}

// run starts the agent after delay, then sends its first reports and its periodic ones until ctx
// ends, long-polling the desired state meanwhile.
func (v *virtualAgent) run(ctx context.Context, delay time.Duration) {
	if sleep(ctx, delay) != nil {
		return
	}
	cfg := v.f.cfg
	done := make(chan struct{})
	go func() { defer close(done); v.poll(ctx) }()
	defer func() { <-done }()

	v.heartbeat(ctx)
	v.sendNodes(ctx)
	v.sendUsage(ctx)
	v.sendWorkloads(ctx)
	now := time.Now()
	next := [4]time.Time{now.Add(cfg.Heartbeat), now.Add(cfg.UsageInterval), now.Add(cfg.WorkloadInterval), now.Add(cfg.NodeInterval)}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		due := next[0]
		for i, t := range next {
			if i == 3 && cfg.NodeInterval <= 0 {
				continue
			}
			if t.Before(due) {
				due = t
			}
		}
		timer.Reset(time.Until(due))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		now := time.Now()
		if !now.Before(next[0]) {
			next[0] = now.Add(cfg.Heartbeat)
			v.heartbeat(ctx)
			// Nodes change rarely: on average once per NodeChange, checked at each heartbeat.
			if cfg.NodeChange > 0 && rand.Float64() < float64(cfg.Heartbeat)/float64(cfg.NodeChange) && cfg.Nodes > 0 {
				if v.notReady < 0 {
					v.notReady = rand.IntN(cfg.Nodes)
				} else {
					v.notReady = -1
				}
				v.sendNodes(ctx)
			}
		}
		if !now.Before(next[1]) {
			next[1] = now.Add(cfg.UsageInterval)
			v.sendUsage(ctx)
		}
		if !now.Before(next[2]) {
			next[2] = now.Add(cfg.WorkloadInterval)
			v.sendWorkloads(ctx)
		}
		if cfg.NodeInterval > 0 && !now.Before(next[3]) {
			next[3] = now.Add(cfg.NodeInterval)
			v.sendNodes(ctx)
		}
	}
}

// poll long-polls the desired state until ctx ends, as the agent does: again at once after each
// answer, after a growing pause after a failure.
func (v *virtualAgent) poll(ctx context.Context) {
	var generation, nodes, requests int64
	pause := time.Second
	for ctx.Err() == nil {
		d, status, err := v.c.Desired(ctx, generation, nodes, requests)
		v.f.count(ctx, callDesired, status, err)
		if err != nil {
			sleep(ctx, pause)
			pause = min(2*pause, time.Minute)
			continue
		}
		pause = time.Second
		if status == http.StatusOK {
			generation, nodes, requests = d.Generation, d.NodesRevision, d.RequestsRevision
		}
	}
}

func (v *virtualAgent) heartbeat(ctx context.Context) {
	status, err := v.c.Heartbeat(ctx)
	v.f.count(ctx, callHeartbeat, status, err)
}

func (v *virtualAgent) id(kind string) string {
	v.reports++
	return fmt.Sprintf("%s-%s-%d", v.runID, kind, v.reports)
}

// sendNodes sends every node, the NotReady one as such, with lease renew times of now.
func (v *virtualAgent) sendNodes(ctx context.Context) {
	nodes := make([]v1.NodeReport, len(v.f.ready))
	now := time.Now().UTC().Truncate(time.Second)
	for i := range nodes {
		if i == v.notReady {
			nodes[i] = v.f.notReady[i]
			nodes[i].LeaseRenewTime = now.Add(-10 * time.Minute) // the kubelet stopped renewing it
			continue
		}
		nodes[i] = v.f.ready[i]
		nodes[i].LeaseRenewTime = now
	}
	status, err := v.c.SendNodes(ctx, v.id("nodes"), nodes)
	v.f.count(ctx, callNodes, status, err)
}

func (v *virtualAgent) sendUsage(ctx context.Context) {
	v.seq++
	status, err := v.c.SendUsage(ctx, v1.AgentUsageReport{Run: v.runID, Seq: v.seq, SampledAt: time.Now().UTC(),
		Source: "metrics.k8s.io", Nodes: v.f.usage})
	v.f.count(ctx, callUsage, status, err)
}

// sendWorkloads sends the full report first, and later deltas of one to three restarted pods; a
// delta the hub refuses with 409 (it no longer holds its base) is followed by a full report.
func (v *virtualAgent) sendWorkloads(ctx context.Context) {
	var items []v1.WorkloadItem
	if v.base == "" {
		items = v.f.workloads
	} else if pods := len(v.f.workloads) - v.f.firstPod; pods > 0 {
		if v.restarts == nil {
			v.restarts = map[int]int32{}
		}
		for range 1 + rand.IntN(3) {
			p := rand.IntN(pods)
			v.restarts[p]++
			it := v.f.workloads[v.f.firstPod+p]
			pod := *it.Pod
			pod.Containers = []v1.ContainerItem{pod.Containers[0]}
			pod.Containers[0].Restarts = v.restarts[p]
			it.Pod = &pod
			items = append(items, it)
		}
	}
	id := v.id("workloads")
	status, err := v.c.SendWorkloads(ctx, id, v.base, items)
	v.f.count(ctx, callWorkloads, status, err)
	switch {
	case err == nil:
		if v.base == "" && !v.settled {
			v.settled = true
			if v.f.settled.Add(1) == int64(v.f.cfg.Clusters) {
				now := time.Now()
				v.f.settledAt.Store(&now)
			}
		}
		v.base = id
	case status == http.StatusConflict:
		v.base = ""
	}
}

// storeSize is the size of the hub's store: its SQLite files, or its PostgreSQL database.
func (h *hubProcess) storeSize(ctx context.Context, db string) (int64, error) {
	if db != "" {
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			return 0, fmt.Errorf("connecting to the store to read its size: %w", err)
		}
		defer conn.Close(ctx)
		var size int64
		if err := conn.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&size); err != nil {
			return 0, fmt.Errorf("reading the store's size: %w", err)
		}
		return size, nil
	}
	files, err := filepath.Glob(filepath.Join(h.dataDir, "easel.db*"))
	if err != nil || len(files) == 0 {
		return 0, fmt.Errorf("no SQLite store in %s: %v", h.dataDir, err)
	}
	var size int64
	for _, name := range files {
		// The database and its WAL; the shared-memory index is not data.
		if st, err := os.Stat(name); err == nil && !strings.HasSuffix(name, "-shm") {
			size += st.Size()
		}
	}
	return size, nil
}

// forEach calls fn(0) … fn(n-1) from concurrency goroutines and returns the first error; after
// one, no further calls start.
func forEach(n, concurrency int, fn func(i int) error) error {
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range max(concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := fn(i); err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}
