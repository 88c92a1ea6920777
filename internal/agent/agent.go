// Package agent is the easel agent: it runs inside (or, for local clusters, beside) a managed
// cluster, dials out to the hub with its cluster's token, sends heartbeats, long-polls the desired
// state and applies the profiles' packs by server-side apply, reporting each pack's state. It keeps
// working through a hub outage: every call is retried with backoff and nothing makes it exit but
// its context.
package agent

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	v1 "github.com/easelhq/easel/api/v1"
)

// The agent's rate limit on its cluster's API server: one client doing a controller's work (drains
// evict a node's pods at once), above client-go's default of 5 requests/s.
const (
	ClientQPS   = 50
	ClientBurst = 100
)

// Version is the agent's version, reported in heartbeats.
var Version = "0.1.0"

// Config is how an agent runs.
type Config struct {
	// HubURLs are the hub's URLs, one per replica or one for a balancer in front of them; each
	// entry may list several separated by commas (ParseHubURLs). The agent calls one at a time and
	// moves to the next when it stops serving (hubs.go).
	HubURLs           []string
	ClusterUID        string
	Token             string
	Kube              *rest.Config
	HeartbeatInterval time.Duration // default 30s
	ReportInterval    time.Duration // how often reports are rebuilt and sent when changed (default 30s)
	WorkloadInterval  time.Duration // how often the workload report is sent (default 60s)
	PollWait          time.Duration // long-poll wait asked of the hub (default 30s)
	UsageInterval     time.Duration // how often node usage is sampled and sent (default 30s)
	// KubeletMetricsURL is where the agent reads a kubelet's resource metrics directly, {node}
	// standing for the node's name; empty means through the API server's node proxy.
	KubeletMetricsURL string
	Logger            *slog.Logger
	// Namespace is where the agent reads its palette-agent-config ConfigMap (default env
	// POD_NAMESPACE, else easel-system).
	Namespace string
	// TLS verifies an https hub's certificate (hubtrust.Options.TLSConfig, with the pins of
	// every replica); nil means the system's roots.
	TLS *tls.Config
	// Clock times the loops (heartbeats, reports, usage samples), the retries and the drains;
	// nil means the real clock. Tests step a fake one instead of sleeping.
	Clock clock.WithTickerAndDelayedExecution
}

// Agent is one running agent.
type Agent struct {
	cfg     Config
	hubs    *hubs
	http    *http.Client
	applier *applier
	kube    kubernetes.Interface
	clock   clock.WithTickerAndDelayedExecution
	log     *slog.Logger
}

// New prepares an agent.
func New(cfg Config) (*Agent, error) {
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 30 * time.Second
	}
	if cfg.ReportInterval <= 0 {
		cfg.ReportInterval = 30 * time.Second
	}
	if cfg.UsageInterval <= 0 {
		cfg.UsageInterval = 30 * time.Second
	}
	if cfg.WorkloadInterval <= 0 {
		cfg.WorkloadInterval = 60 * time.Second
	}
	if cfg.Namespace == "" {
		cfg.Namespace = cmp.Or(os.Getenv("POD_NAMESPACE"), "easel-system")
	}
	if cfg.PollWait <= 0 {
		cfg.PollWait = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.ClusterUID == "" || cfg.Token == "" {
		return nil, fmt.Errorf("the agent needs the hub URL, the cluster uid and its token")
	}
	urls, err := ParseHubURLs(cfg.HubURLs)
	if err != nil {
		return nil, err
	}
	cfg.HubURLs = urls
	if cfg.Kube.QPS == 0 {
		kube := *cfg.Kube
		kube.QPS, kube.Burst = ClientQPS, ClientBurst
		cfg.Kube = &kube
	}
	ap, err := newApplier(cfg.Kube)
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	kube, err := kubernetes.NewForConfig(cfg.Kube)
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	hc := &http.Client{Timeout: cfg.PollWait + 30*time.Second}
	if cfg.TLS != nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = cfg.TLS
		hc.Transport = t
	}
	log := cfg.Logger.With("cluster", cfg.ClusterUID)
	return &Agent{cfg: cfg, hubs: newHubs(urls, log), applier: ap, kube: kube, clock: cfg.Clock, log: log, http: hc}, nil
}

// Run sends heartbeats and applies the desired state until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	a.log.Info("Starting the easel agent", "hubs", a.cfg.HubURLs, "version", Version)
	go a.heartbeats(ctx)
	go a.reportLoop(ctx)
	go a.usageLoop(ctx)
	go a.workloadLoop(ctx)
	ops := newNodeOps(a)
	go ops.run(ctx)
	reqs := newRequests(a)
	var applied, nodesRevision, requestsRevision int64
	var appliedMaintenance []string
	backoff := newBackoff(a.clock)
	for ctx.Err() == nil {
		desired, status, err := a.poll(ctx, applied, nodesRevision, requestsRevision)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			a.log.Warn("Asking the hub for the desired state failed; retrying", "err", err, "in", backoff.peek())
			backoff.sleep(ctx)
			continue
		}
		if status != http.StatusOK { // 304: nothing changed within the wait
			backoff.reset()
			continue
		}
		// Node operations and requests first: a drain must not wait for the packs, nor the packs
		// for a drain.
		if desired.NodesRevision != nodesRevision {
			ops.set(desired.Nodes)
			nodesRevision = desired.NodesRevision
		}
		if desired.RequestsRevision != requestsRevision {
			reqs.set(ctx, desired.Requests)
			requestsRevision = desired.RequestsRevision
		}
		// The packs are applied again when a node enters or leaves maintenance: DaemonSets are
		// kept off nodes in maintenance, and rolled onto them when they leave it.
		maintenance := maintenanceNodes(desired.Nodes)
		if desired.Generation == applied && slices.Equal(maintenance, appliedMaintenance) {
			continue
		}
		if err := a.applyAll(ctx, desired); err != nil {
			a.log.Warn("Applying the desired state failed; retrying", "generation", desired.Generation, "err", err)
			backoff.sleep(ctx)
			continue
		}
		applied, appliedMaintenance = desired.Generation, maintenance
		backoff.reset()
	}
	a.log.Info("Stopping the easel agent")
	return nil
}

// ConditionAPIServerReachable is the condition the agent keeps: whether it reaches its cluster's
// API server.
const ConditionAPIServerReachable = "APIServerReachable"

func (a *Agent) heartbeats(ctx context.Context) {
	reported := ""
	a.every(ctx, a.cfg.HeartbeatInterval, func() {
		err := a.call(ctx, "PUT", "/heartbeat", v1.Heartbeat{AgentVersion: Version}, nil)
		if err != nil && ctx.Err() == nil {
			a.log.Warn("Heartbeat failed; the next one is due soon", "err", err)
		}
		// Tell the hub when reaching the API server starts or stops working.
		cond := v1.ClusterCondition{Type: ConditionAPIServerReachable, Status: "True", Reason: "Reachable"}
		if v, err := a.applier.disc.ServerVersion(); err != nil {
			cond.Status, cond.Reason, cond.Message = "False", "Unreachable", err.Error()
		} else {
			cond.Message = "Kubernetes " + v.GitVersion
		}
		if key := cond.Status + cond.Message; key != reported && ctx.Err() == nil {
			if err := a.call(ctx, "PATCH", "/status/conditions", []v1.ClusterCondition{cond}, nil); err == nil {
				reported = key
			}
		}
	})
}

// every runs fn at once and then every interval of the agent's clock, until ctx ends; a run that
// takes longer than the interval delays the next one instead of piling runs up.
func (a *Agent) every(ctx context.Context, interval time.Duration, fn func()) {
	t := a.clock.NewTicker(interval)
	defer t.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// poll long-polls the hub; the status is 200 with the desired state when something changed, 304
// when nothing did within the wait.
func (a *Agent) poll(ctx context.Context, generation, nodesRevision, requestsRevision int64) (v1.AgentDesired, int, error) {
	var d v1.AgentDesired
	path := fmt.Sprintf("/agent/desired?generation=%d&nodes=%d&requests=%d&wait=%s", generation, nodesRevision, requestsRevision, a.cfg.PollWait)
	hub, status, err := a.doOn(ctx, "GET", path, nil, &d)
	if ctx.Err() == nil {
		a.hubs.polled(hub, err)
	}
	return d, status, err
}

func (a *Agent) call(ctx context.Context, method, path string, in, out any) error {
	_, err := a.do(ctx, method, path, in, out)
	return err
}

// do calls one of the cluster's agent endpoints: path is under /v1/spectroclusters/{uid}, or from
// the hub's root when it starts with /v1/ (a machine's operations live under its cloud config). No
// body over the message size limit is sent: the builders of reports that grow with the cluster
// page them (pager.go). A hub that is not serving passes the call to the next (hubs.go).
func (a *Agent) do(ctx context.Context, method, path string, in, out any) (int, error) {
	_, status, err := a.doOn(ctx, method, path, in, out)
	return status, err
}

// doOn is do, also returning the index of the hub that answered last.
func (a *Agent) doOn(ctx context.Context, method, path string, in, out any) (int, int, error) {
	var body []byte
	if in != nil {
		b, ok := in.(json.RawMessage) // a report page, encoded already
		if !ok {
			var err error
			if b, err = json.Marshal(in); err != nil {
				return 0, 0, err
			}
		}
		if len(b) > v1.MaxAgentMessageBytes {
			return 0, 0, fmt.Errorf("not sending %s %s: %d bytes is over the message size limit of %d", method, path, len(b), v1.MaxAgentMessageBytes)
		}
		body = b
	}
	var (
		hub, status int
		err         error
	)
	for range a.cfg.HubURLs {
		var base string
		hub, base = a.hubs.current()
		status, err = a.send(ctx, base, method, path, body, out)
		why := unserving(status, err)
		if why == "" || ctx.Err() != nil {
			break
		}
		a.hubs.leave(hub, why)
	}
	return hub, status, err
}

// send makes one call to the hub at base; the status is 0 when the hub did not answer.
func (a *Agent) send(ctx context.Context, base, method, path string, body []byte, out any) (int, error) {
	url := base + "/v1/spectroclusters/" + a.cfg.ClusterUID + path
	if strings.HasPrefix(path, "/v1/") {
		url = base + path
	}
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(smallReads{bytes.NewReader(body)}), nil }
		req.Body, _ = req.GetBody()
		req.ContentLength = int64(len(body))
	}
	req.Header.Set("Authorization", "Bearer "+a.cfg.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode == http.StatusNotModified {
		return resp.StatusCode, nil
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decoding the answer of %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// bodyReadBytes is the most of a request's body the agent's transport gets per read, so the hub
// reads it in frames and TLS records of at most this size. Go's HTTP/2 client sends what one read
// of the body gave as one DATA frame (up to the 16 KiB the hub allows), and the hub's side of each
// connection keeps, for the connection's life, a frame buffer as large as the largest frame it
// read and a TLS read buffer that grows to about two and a half times the largest record
// (golang/go#43563). With an agent on each connection that is multiplied by the fleet: 4 KiB
// reads keep the hub's buffers about 40 KiB smaller per agent than full frames do
// (docs/benchmarks.md, "Agents write in small frames"); a 300-pod report is then 40 frames
// instead of 10.
const bodyReadBytes = 4 << 10

// smallReads reads at most bodyReadBytes at a time.
type smallReads struct{ r *bytes.Reader }

func (s smallReads) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), bodyReadBytes)]) }

// backoff doubles from 1 s to 1 min, on the agent's clock.
type backoff struct {
	clock clock.Clock
	d     time.Duration
}

func newBackoff(c clock.Clock) *backoff { return &backoff{clock: c, d: time.Second} }

func (b *backoff) peek() time.Duration { return b.d }

func (b *backoff) reset() { b.d = time.Second }

func (b *backoff) sleep(ctx context.Context) {
	sleep(ctx, b.clock, b.d)
	b.d = min(2*b.d, time.Minute)
}

// sleep waits d on the clock, or less if ctx ends first; it reports whether the whole d passed.
func sleep(ctx context.Context, c clock.Clock, d time.Duration) bool {
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}
