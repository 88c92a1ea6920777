package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	v1 "github.com/easelhq/easel/api/v1"
)

// Where usage comes from, in the order the collector tries.
const (
	SourceMetricsAPI    = "metrics.k8s.io"
	SourceKubeletProxy  = "kubelet-proxy"
	SourceKubeletDirect = "kubelet-direct"
)

// scrapeParallelism bounds the kubelets scraped at once.
const scrapeParallelism = 8

// usageCollector reads node usage as metrics-server does: the metrics.k8s.io API when the cluster
// serves it, else each kubelet's resource metrics (/metrics/resource) — directly at kubeletURL
// when the agent can reach the kubelets (local clusters, whose kubelets KWOK plays), else through
// the API server's node proxy. Requests are the sums of the pods' requests, as kubectl describe
// node counts them.
type usageCollector struct {
	kube kubernetes.Interface
	// kubeletURL is the resource-metrics URL of a node, {node} standing for its name.
	kubeletURL string
	http       *http.Client
	clock      clock.PassiveClock // stamps the samples
	run        string
	seq        int64
	// cpu keeps each node's last CPU counter: usage is its rate between two scrapes.
	mu  sync.Mutex
	cpu map[string]cpuCounter
}

type cpuCounter struct {
	seconds float64
	at      time.Time
}

func newUsageCollector(kube kubernetes.Interface, kubeletURL string, clk clock.PassiveClock) *usageCollector {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &usageCollector{kube: kube, kubeletURL: kubeletURL, http: &http.Client{Timeout: 10 * time.Second}, clock: clk,
		run: hex.EncodeToString(b), cpu: map[string]cpuCounter{}}
}

// nodeSample is what one source says of one node.
type nodeSample struct {
	cpu, memory   float64
	cpuKnown      bool
	disk, diskCap float64
	err           error
}

// collect takes one sample of every node. ready is false while no node has a CPU rate yet (the
// first scrape of kubelet counters only primes them).
func (u *usageCollector) collect(ctx context.Context) (report v1.AgentUsageReport, ready bool, err error) {
	nodes, err := u.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return report, false, fmt.Errorf("listing nodes: %w", err)
	}
	requests, err := podRequests(ctx, u.kube)
	if err != nil {
		return report, false, err
	}
	source, samples, err := u.sample(ctx, nodes.Items)
	if err != nil {
		return report, false, err
	}
	u.seq++
	report = v1.AgentUsageReport{Run: u.run, Seq: u.seq, SampledAt: u.clock.Now(), Source: source, Nodes: []v1.NodeUsage{}}
	for _, n := range nodes.Items {
		s := samples[n.Name]
		req := requests[n.Name]
		nu := v1.NodeUsage{Name: n.Name, Role: "worker",
			CPURequest: req.cpu, CPUAllocatable: n.Status.Allocatable.Cpu().AsApproximateFloat64(),
			MemoryRequest: req.memory, MemoryAllocatable: n.Status.Allocatable.Memory().AsApproximateFloat64(),
			CPUUsage: s.cpu, MemoryUsage: s.memory, DiskUsage: s.disk, DiskCapacity: s.diskCap}
		if _, ok := n.Labels["node-role.kubernetes.io/control-plane"]; ok {
			nu.Role = "control-plane"
		}
		switch {
		case s.err != nil:
			nu.UsageNotAvailable = true
			if report.Error == "" {
				report.Error = s.err.Error()
			}
		case !s.cpuKnown:
			nu.UsageNotAvailable = true
		default:
			ready = true
		}
		report.Nodes = append(report.Nodes, nu)
	}
	slices.SortFunc(report.Nodes, func(a, b v1.NodeUsage) int { return strings.Compare(a.Name, b.Name) })
	return report, ready, nil
}

// sample reads every node's usage from the first source that answers.
func (u *usageCollector) sample(ctx context.Context, nodes []corev1.Node) (string, map[string]nodeSample, error) {
	if out, err := u.metricsAPI(ctx); err == nil {
		u.disks(ctx, nodes, out)
		return SourceMetricsAPI, out, nil
	} else if !errors.Is(err, errNoMetricsAPI) {
		return "", nil, err
	}
	source, scrape := SourceKubeletProxy, u.scrapeProxy
	if u.kubeletURL != "" {
		source, scrape = SourceKubeletDirect, u.scrapeDirect
	}
	out := make(map[string]nodeSample, len(nodes))
	var mu sync.Mutex
	eachNode(nodes, func(n corev1.Node) {
		s := u.kubeletSample(ctx, n.Name, scrape)
		mu.Lock()
		out[n.Name] = s
		mu.Unlock()
	})
	if source == SourceKubeletProxy {
		u.disks(ctx, nodes, out)
	}
	return source, out, nil
}

// eachNode runs fn for every node, scrapeParallelism at a time.
func eachNode(nodes []corev1.Node, fn func(corev1.Node)) {
	sem := make(chan struct{}, scrapeParallelism)
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(n)
		}()
	}
	wg.Wait()
}

var errNoMetricsAPI = errors.New("the cluster does not serve metrics.k8s.io")

// metricsAPI reads metrics.k8s.io's node metrics, when the cluster serves them.
func (u *usageCollector) metricsAPI(ctx context.Context) (map[string]nodeSample, error) {
	if _, err := u.kube.Discovery().ServerResourcesForGroupVersion("metrics.k8s.io/v1beta1"); err != nil {
		return nil, errNoMetricsAPI
	}
	body, err := u.kube.CoreV1().RESTClient().Get().AbsPath("/apis/metrics.k8s.io/v1beta1/nodes").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading metrics.k8s.io node metrics: %w", err)
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Usage map[string]resource.Quantity `json:"usage"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("decoding metrics.k8s.io node metrics: %w", err)
	}
	out := make(map[string]nodeSample, len(list.Items))
	for _, it := range list.Items {
		cpu, mem := it.Usage["cpu"], it.Usage["memory"]
		out[it.Metadata.Name] = nodeSample{cpu: cpu.AsApproximateFloat64(), memory: mem.AsApproximateFloat64(), cpuKnown: true}
	}
	return out, nil
}

func (u *usageCollector) scrapeProxy(ctx context.Context, node string) ([]byte, error) {
	return u.kube.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", node, "proxy/metrics/resource").DoRaw(ctx)
}

func (u *usageCollector) scrapeDirect(ctx context.Context, node string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", strings.ReplaceAll(u.kubeletURL, "{node}", node), nil)
	if err != nil {
		return nil, err
	}
	resp, err := u.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s answered %d", req.URL, resp.StatusCode)
	}
	return body, err
}

// kubeletSample scrapes one kubelet's resource metrics; CPU usage is the counter's rate since the
// previous scrape of that node.
func (u *usageCollector) kubeletSample(ctx context.Context, node string, scrape func(context.Context, string) ([]byte, error)) nodeSample {
	body, err := scrape(ctx, node)
	if err != nil {
		return nodeSample{err: fmt.Errorf("scraping the kubelet metrics of node %s: %w", node, err)}
	}
	cpu, mem, err := parseResourceMetrics(body, u.clock.Now())
	if err != nil {
		return nodeSample{err: fmt.Errorf("node %s: %w", node, err)}
	}
	s := nodeSample{memory: mem}
	u.mu.Lock()
	prev, ok := u.cpu[node]
	u.cpu[node] = cpu
	u.mu.Unlock()
	if dt := cpu.at.Sub(prev.at).Seconds(); ok && dt > 0 && cpu.seconds >= prev.seconds {
		s.cpu, s.cpuKnown = (cpu.seconds-prev.seconds)/dt, true
	}
	return s
}

// parseResourceMetrics reads node_cpu_usage_seconds_total and node_memory_working_set_bytes from
// a kubelet's /metrics/resource (Prometheus text format); a sample without a timestamp counts as
// taken at now.
func parseResourceMetrics(body []byte, now time.Time) (cpuCounter, float64, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		return cpuCounter{}, 0, fmt.Errorf("parsing kubelet resource metrics: %w", err)
	}
	first := func(name string) (*dto.Metric, error) {
		f, ok := families[name]
		if !ok || len(f.GetMetric()) == 0 {
			return nil, fmt.Errorf("kubelet resource metrics lack %s", name)
		}
		return f.GetMetric()[0], nil
	}
	c, err := first("node_cpu_usage_seconds_total")
	if err != nil {
		return cpuCounter{}, 0, err
	}
	m, err := first("node_memory_working_set_bytes")
	if err != nil {
		return cpuCounter{}, 0, err
	}
	at := now
	if c.TimestampMs != nil {
		at = time.UnixMilli(c.GetTimestampMs())
	}
	value := func(m *dto.Metric) float64 {
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		}
		return m.GetUntyped().GetValue() // no # TYPE line
	}
	return cpuCounter{seconds: value(c), at: at}, value(m), nil
}

// disks adds each node's filesystem use from its kubelet's summary API (through the node proxy),
// where the kubelet serves it; a node without it simply has no disk figures.
func (u *usageCollector) disks(ctx context.Context, nodes []corev1.Node, out map[string]nodeSample) {
	var mu sync.Mutex
	eachNode(nodes, func(n corev1.Node) {
		body, err := u.kube.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", n.Name, "proxy/stats/summary").DoRaw(ctx)
		if err != nil {
			return
		}
		var summary struct {
			Node struct {
				Fs struct {
					UsedBytes     float64 `json:"usedBytes"`
					CapacityBytes float64 `json:"capacityBytes"`
				} `json:"fs"`
			} `json:"node"`
		}
		if json.Unmarshal(body, &summary) != nil {
			return
		}
		mu.Lock()
		s := out[n.Name]
		s.disk, s.diskCap = summary.Node.Fs.UsedBytes, summary.Node.Fs.CapacityBytes
		out[n.Name] = s
		mu.Unlock()
	})
}

type requested struct{ cpu, memory float64 }

// podRequests sums the requests of the pods bound to each node that have not finished, as the
// scheduler counts them: the larger of the containers' sum and any init container, plus overhead.
func podRequests(ctx context.Context, c kubernetes.Interface) (map[string]requested, error) {
	out := map[string]requested{}
	opts := metav1.ListOptions{FieldSelector: "status.phase!=Succeeded,status.phase!=Failed", Limit: 500}
	for {
		pods, err := c.CoreV1().Pods("").List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing pods: %w", err)
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName == "" {
				continue
			}
			cpu, mem := podRequest(p.Spec)
			r := out[p.Spec.NodeName]
			r.cpu += cpu
			r.memory += mem
			out[p.Spec.NodeName] = r
		}
		if opts.Continue = pods.Continue; opts.Continue == "" {
			return out, nil
		}
	}
}

func podRequest(spec corev1.PodSpec) (cpu, mem float64) {
	for _, c := range spec.Containers {
		cpu += c.Resources.Requests.Cpu().AsApproximateFloat64()
		mem += c.Resources.Requests.Memory().AsApproximateFloat64()
	}
	for _, c := range spec.InitContainers {
		cpu = max(cpu, c.Resources.Requests.Cpu().AsApproximateFloat64())
		mem = max(mem, c.Resources.Requests.Memory().AsApproximateFloat64())
	}
	cpu += spec.Overhead.Cpu().AsApproximateFloat64()
	mem += spec.Overhead.Memory().AsApproximateFloat64()
	return cpu, mem
}

// usageLoop samples node usage every interval and sends each sample; a sample that could not be
// sent is dropped, never sent twice (the next one follows an interval later).
func (a *Agent) usageLoop(ctx context.Context) {
	u := newUsageCollector(a.kube, a.cfg.KubeletMetricsURL, a.clock)
	a.every(ctx, a.cfg.UsageInterval, func() {
		report, ready, err := u.collect(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Warn("Sampling node usage failed", "err", err)
		case err == nil && ready:
			if _, err := a.sendUsage(ctx, report); err != nil && ctx.Err() == nil {
				a.log.Warn("Sending node usage failed; the next sample follows", "err", err)
			}
		}
	})
}

// sendUsage sends one sample, in pages; the sample's run and number name the report. The status
// is a refused page's.
func (a *Agent) sendUsage(ctx context.Context, report v1.AgentUsageReport) (int, error) {
	pages, err := usagePages(a.log, report)
	if err != nil {
		return 0, err
	}
	return a.sendPages(ctx, "/agent/usage", pages)
}

// usagePages splits a sample into pages of at most v1.MaxAgentMessageBytes, each carrying the
// sample's own fields.
func usagePages(log *slog.Logger, report v1.AgentUsageReport) (*pagedReport, error) {
	items, err := encodeItems(report.Nodes)
	if err != nil {
		return nil, err
	}
	id := fmt.Sprintf("%s-%d", report.Run, report.Seq)
	return paginate(log, "usage", id, "nodes", v1.MaxAgentMessageBytes, items, func(pg v1.ReportPage) any {
		env := report
		env.ReportPage, env.Nodes = pg, nil
		return env
	})
}
