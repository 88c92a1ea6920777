package local_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/easelhq/easel/internal/provider/local"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// A local cluster's pods use CPU and memory as KWOK simulates them (kwok.yaml), read where the
// agent reads them, the node's /metrics/resource on KWOK's server: a share of their requests that
// moves over time (CPU 40–90 %, memory 50–90 %), exactly what the kwok.x-k8s.io/usage-*
// annotations say when a pod has them, a small baseline (2m, 16Mi) without requests; the node uses
// the sum of its pods'.
func TestSimulatedUsage(t *testing.T) {
	cp, c := startControlPlane(t, "usage1")
	ctx := context.Background()
	m := local.Machine{Name: "workers-usage1", UID: "m1", Pool: "workers", InstanceType: "small", Zone: "local-a", CPU: 2, MemoryGiB: 4, DiskGiB: 60}
	if _, err := cp.EnsureMachine(ctx, c, m); err != nil {
		t.Fatal(err)
	}
	var url string
	eventually(t, 60*time.Second, "node Ready with KWOK's port", func() error {
		if err := allReady(ctx, c, 1); err != nil {
			return err
		}
		n, err := c.CoreV1().Nodes().Get(ctx, m.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		port := n.Status.DaemonEndpoints.KubeletEndpoint.Port
		if port == 0 {
			return fmt.Errorf("no kubelet port yet")
		}
		url = fmt.Sprintf("http://127.0.0.1:%d/metrics/nodes/%s/metrics/resource", port, m.Name)
		return nil
	})

	requests := corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")}}
	pods := []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "requested"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx", Resources: requests}}}},
		// The annotations win over the requests.
		{ObjectMeta: metav1.ObjectMeta{Name: "annotated", Annotations: map[string]string{
			"kwok.x-k8s.io/usage-cpu": "300m", "kwok.x-k8s.io/usage-memory": "100Mi"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx", Resources: requests}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "unrequested"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}},
	}
	for _, p := range pods {
		p.Namespace, p.Spec.NodeName = "default", m.Name
		// The namespace's default ServiceAccount, which admission wants, comes a moment later.
		eventually(t, 30*time.Second, "pod "+p.Name+" created", func() error {
			_, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
			return err
		})
	}

	// The first scrape that has every pod also starts KWOK's CPU counters.
	var s0 usageScrape
	eventually(t, 60*time.Second, "every pod in the node's resource metrics", func() (err error) {
		s0, err = scrapeUsage(url)
		if err != nil {
			return err
		}
		for _, p := range pods {
			if _, ok := s0.podMemory[p.Name]; !ok {
				return fmt.Errorf("no memory of pod %s in %v", p.Name, s0.podMemory)
			}
		}
		return nil
	})

	// The requested pod's memory moves from one second to the next; scrapes at least 5 s apart give
	// CPU rates precise to about 2 x a scrape's duration / 5 s.
	var s1 usageScrape
	eventually(t, 30*time.Second, "the requested pod's memory to change", func() (err error) {
		if time.Since(s0.after) < 5*time.Second {
			return fmt.Errorf("less than 5 s since the first scrape")
		}
		if s1, err = scrapeUsage(url); err != nil {
			return err
		}
		return poll.Unless(s1.podMemory["requested"] != s0.podMemory["requested"],
			"memory %v then %v", s0.podMemory["requested"], s1.podMemory["requested"])
	})

	const mi = 1 << 20
	for _, s := range []usageScrape{s0, s1} {
		if got := s.podMemory["requested"]; got < 0.5*256*mi || got > 0.9*256*mi {
			t.Errorf("memory of the pod requesting 256Mi = %.0f bytes (%.1f%%); want 50–90%% of the request", got, 100*got/(256*mi))
		}
		if got := s.podMemory["annotated"]; got != 100*mi {
			t.Errorf("memory of the pod annotated with 100Mi = %.0f bytes; want %d", got, 100*mi)
		}
		if got := s.podMemory["unrequested"]; got != 16*mi {
			t.Errorf("memory of the pod without requests = %.0f bytes; want %d (16Mi)", got, 16*mi)
		}
	}
	// CPU is a counter: its rate between the scrapes is known within the bounds that the scrapes'
	// durations leave.
	if lo, hi := s0.cpuRate(s1, "requested"); hi < 0.4*0.5 || lo > 0.9*0.5 {
		t.Errorf("CPU of the pod requesting 500m = %.4f–%.4f cores; want 40–90%% of the request", lo, hi)
	}
	if lo, hi := s0.cpuRate(s1, "annotated"); lo > 0.3 || hi < 0.3 {
		t.Errorf("CPU of the pod annotated with 300m = %.4f–%.4f cores; want 0.3", lo, hi)
	}
	if lo, hi := s0.cpuRate(s1, "unrequested"); lo > 0.002 || hi < 0.002 {
		t.Errorf("CPU of the pod without requests = %.5f–%.5f cores; want 0.002 (2m)", lo, hi)
	}
	// The node's CPU is its pods': its rate's bounds meet the sum of theirs.
	nodeLo, nodeHi := s0.cpuRate(s1, "")
	var sumLo, sumHi float64
	for _, p := range pods {
		lo, hi := s0.cpuRate(s1, p.Name)
		sumLo, sumHi = sumLo+lo, sumHi+hi
	}
	if nodeHi < sumLo || nodeLo > sumHi {
		t.Errorf("node CPU = %.4f–%.4f cores; want its pods' sum %.4f–%.4f", nodeLo, nodeHi, sumLo, sumHi)
	}

	// The requested pod's CPU moves too (by 0.4 to 1.8 millicores a second, changing direction
	// every 45 s).
	lo1, hi1 := s0.cpuRate(s1, "requested")
	eventually(t, 90*time.Second, "the requested pod's CPU to change", func() error {
		if time.Since(s1.after) < 5*time.Second {
			return fmt.Errorf("less than 5 s since the second scrape")
		}
		s2, err := scrapeUsage(url)
		if err != nil {
			return err
		}
		lo2, hi2 := s1.cpuRate(s2, "requested")
		return poll.Unless(hi2 < lo1 || lo2 > hi1, "CPU %.4f–%.4f then %.4f–%.4f cores", lo1, hi1, lo2, hi2)
	})

	// The node's memory is its pods' (the figures of one scrape are of one second, unless the scrape
	// straddles two).
	eventually(t, 30*time.Second, "the node's memory to be its pods' sum", func() error {
		s, err := scrapeUsage(url)
		if err != nil {
			return err
		}
		var sum float64
		for _, p := range pods {
			sum += s.podMemory[p.Name]
		}
		return poll.Unless(math.Abs(s.nodeMemory-sum) <= 1e-9*sum, "node memory %.0f; pods' sum %.0f", s.nodeMemory, sum)
	})
}

// usageScrape is one read of a node's resource metrics, between before and after.
type usageScrape struct {
	before, after       time.Time
	podCPU, podMemory   map[string]float64 // by pod name
	nodeCPU, nodeMemory float64
}

// cpuRate bounds the CPU rate of a pod (the node's with pod "") from s to the later scrape next:
// KWOK advanced the counter at some moment within each scrape.
func (s usageScrape) cpuRate(next usageScrape, pod string) (lo, hi float64) {
	delta := next.nodeCPU - s.nodeCPU
	if pod != "" {
		delta = next.podCPU[pod] - s.podCPU[pod]
	}
	return delta / next.after.Sub(s.before).Seconds(), delta / next.before.Sub(s.after).Seconds()
}

func scrapeUsage(url string) (usageScrape, error) {
	s := usageScrape{before: time.Now(), podCPU: map[string]float64{}, podMemory: map[string]float64{}}
	resp, err := http.Get(url)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	s.after = time.Now()
	if err != nil {
		return s, fmt.Errorf("parsing %s: %w", url, err)
	}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			var pod string
			for _, l := range m.GetLabel() {
				if l.GetName() == "pod" {
					pod = l.GetValue()
				}
			}
			switch name {
			case "pod_cpu_usage_seconds_total":
				s.podCPU[pod] = v
			case "pod_memory_working_set_bytes":
				s.podMemory[pod] = v
			case "node_cpu_usage_seconds_total":
				s.nodeCPU = v
			case "node_memory_working_set_bytes":
				s.nodeMemory = v
			}
		}
	}
	return s, nil
}
