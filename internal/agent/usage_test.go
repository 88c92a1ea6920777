package agent

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/clock"
)

// A kubelet's /metrics/resource as a real kubelet serves it (timestamps in milliseconds).
const kubeletMetrics = `# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 1234.5 1795350000000
# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 2.147483648e+09 1795350000000
# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="default",pod="web-1"} 10 1795350000000
`

func TestParseResourceMetrics(t *testing.T) {
	cpu, mem, err := parseResourceMetrics([]byte(kubeletMetrics), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if cpu.seconds != 1234.5 || !cpu.at.Equal(time.UnixMilli(1795350000000)) || mem != 2<<30 {
		t.Fatalf("parsed cpu %+v memory %v", cpu, mem)
	}
	// KWOK's simulation carries no timestamps: the scrape time counts.
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	cpu, _, err = parseResourceMetrics([]byte("node_cpu_usage_seconds_total 3\nnode_memory_working_set_bytes 5\n"), now)
	if err != nil || !cpu.at.Equal(now) {
		t.Fatalf("untimestamped: %+v %v", cpu, err)
	}
	if _, _, err := parseResourceMetrics([]byte("node_memory_working_set_bytes 5\n"), now); err == nil {
		t.Fatal("metrics without the CPU counter must be an error")
	}
	if _, _, err := parseResourceMetrics([]byte("node_cpu_usage_seconds_total{ 5\n"), now); err == nil {
		t.Fatal("malformed metrics must be an error")
	}
}

func TestCPUUsageIsTheCounterRate(t *testing.T) {
	u := newUsageCollector(nil, "", clock.RealClock{})
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	bodies := []string{
		"node_cpu_usage_seconds_total 100 " + ms(t0) + "\nnode_memory_working_set_bytes 7\n",
		"node_cpu_usage_seconds_total 115 " + ms(t0.Add(10*time.Second)) + "\nnode_memory_working_set_bytes 8\n",
	}
	scrape := func(context.Context, string) ([]byte, error) {
		b := bodies[0]
		bodies = bodies[1:]
		return []byte(b), nil
	}
	first := u.kubeletSample(context.Background(), "w-1", scrape)
	if first.cpuKnown || first.memory != 7 || first.err != nil {
		t.Fatalf("first scrape = %+v; want memory only (a rate needs two)", first)
	}
	second := u.kubeletSample(context.Background(), "w-1", scrape)
	if !second.cpuKnown || second.cpu != 1.5 || second.memory != 8 {
		t.Fatalf("second scrape = %+v; want 15 core-seconds in 10 s = 1.5 cores", second)
	}
	failed := u.kubeletSample(context.Background(), "w-2", func(context.Context, string) ([]byte, error) {
		return nil, errors.New("connection refused")
	})
	if failed.err == nil || failed.cpuKnown {
		t.Fatalf("unreachable kubelet = %+v; want an error", failed)
	}
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func TestPodRequestCountsInitContainersAndOverhead(t *testing.T) {
	req := func(cpu, mem string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}
	}
	spec := corev1.PodSpec{
		Containers:     []corev1.Container{{Resources: req("100m", "64Mi")}, {Resources: req("200m", "64Mi")}},
		InitContainers: []corev1.Container{{Resources: req("500m", "32Mi")}},
		Overhead:       corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")},
	}
	cpu, mem := podRequest(spec)
	if cpu != 0.51 || mem != 128<<20 {
		t.Fatalf("requests = %v cores, %v bytes; want 0.51 (init container's 500m + 10m overhead) and 128Mi", cpu, mem)
	}
}
