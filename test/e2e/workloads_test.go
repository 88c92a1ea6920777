package e2e_test

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/spectrocloud/palette-sdk-go/api/models"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/testenv/metrics"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// A namespace of 5,000 pods: the workload report arrives whole through the hub in several pages,
// none over 1 MiB, and the dashboard lists every pod by paging; palette-agent-config turns the
// report off and on again without restarting the agent.
func TestWorkloadReportOf5000Pods(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	const interval = 2 * time.Second // the agent's report intervals are the hub's agent heartbeat
	addr := startHub(t, func(c *server.Config) { c.AgentHeartbeat = interval })
	project, uid := createLocalCluster(t, addr, "busy", 1, "")
	kc := clusterClient(t, addr, project, uid)
	ctx := context.Background()

	// 5,000 pods no node matches: they stay Pending, so neither the scheduler nor KWOK works on them.
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "load"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 30*time.Second, "the namespace's default service account", func() error {
		_, err := kc.CoreV1().ServiceAccounts("load").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
	start := time.Now()
	createPods(t, kc, "load", 5000)
	t.Logf("Created 5000 pods in %s", time.Since(start).Round(time.Millisecond))

	list := func(query string) workloadPage {
		var out workloadPage
		if status := api(t, addr, project, "POST", "/v1/dashboard/spectroclusters/"+uid+"/workloads/pod"+query,
			`{"filter":{"namespaces":["load"]}}`, &out); status != 200 {
			t.Fatalf("workloads/pod%s: %d", query, status)
		}
		return out
	}
	// The pods arrive in deltas while they are created.
	poll.Eventually(t, time.Minute, "the workload report to list 5000 pods in namespace load", func() error {
		n := list("?limit=1").Listmeta.Count
		return poll.Unless(n == 5000, "%d pods listed", n)
	})

	// The switch: off, and the hub says so, serves nothing and receives no more pages…
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "easel-system"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "palette-agent-config", Namespace: "easel-system"},
		Data: map[string]string{"feature.workloads": "disable"}}
	if _, err := kc.CoreV1().ConfigMaps("easel-system").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 30*time.Second, "the hub to say the workload report is disabled", func() error {
		page := list("")
		return poll.Unless(page.Disabled && len(page.Pods) == 0 && page.Listmeta.Count == 0,
			"disabled %v, %d pods served, count %d", page.Disabled, len(page.Pods), page.Listmeta.Count)
	})
	// Three report intervals: were the report still on, the agent would have sent it twice or more.
	before := hubMetrics(t, addr)
	poll.Consistently(t, 3*interval, "no workload page received while the report is disabled", func() error {
		after := hubMetrics(t, addr)[pagesReceived]
		return poll.Unless(after == before[pagesReceived], "%v pages received, %v before", after, before[pagesReceived])
	})

	// …and on again when the ConfigMap is gone: a full report of the 5,000 pods, whole, in several
	// pages, none over 1 MiB (the hub would refuse more with 413).
	if err := kc.CoreV1().ConfigMaps("easel-system").Delete(ctx, "palette-agent-config", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 30*time.Second, "the workload report to resume", func() error {
		page := list("?limit=1")
		return poll.Unless(!page.Disabled && page.Listmeta.Count == 5000, "disabled %v, %d pods listed", page.Disabled, page.Listmeta.Count)
	})
	paged := func(m map[string]float64) float64 {
		return m[`easel_agent_report_pages_count{report="workloads"}`] - m[`easel_agent_report_pages_bucket{report="workloads",le="1"}`]
	}
	// The hub counts a report's pages once its transaction has committed, a moment after the list
	// above can see it: wait for the count.
	var after map[string]float64
	poll.Eventually(t, 30*time.Second, "the hub to count the full report of several pages", func() error {
		after = hubMetrics(t, addr)
		return poll.Unless(paged(after)-paged(before) >= 1, "%v reports of several pages applied", paged(after)-paged(before))
	})
	pages := after[pagesReceived] - before[pagesReceived]
	underLimit := after[`easel_agent_report_page_bytes_bucket{report="workloads",le="1.048576e+06"}`] -
		before[`easel_agent_report_page_bytes_bucket{report="workloads",le="1.048576e+06"}`]
	if paged(after)-paged(before) < 1 || pages < 2 || underLimit != pages ||
		after[`easel_http_requests_total{code="413",method="PUT",route="PUT /v1/spectroclusters/{uid}/agent/workloads"}`] != 0 {
		t.Fatalf("after turning the report on: %v reports of several pages applied, %v pages received, %v of them at most 1 MiB",
			paged(after)-paged(before), pages, underLimit)
	}
	t.Logf("The full report of 5000 pods came in %v pages, all at most 1 MiB", pages)

	// Every pod, by following the continue token.
	seen := map[string]bool{}
	query := "?limit=1000"
	for range 10 {
		page := list(query)
		for _, p := range page.Pods {
			if p.Metadata.Namespace != "load" || p.Status.Phase != "Pending" || len(p.Spec.Containers) != 1 {
				t.Fatalf("pod %+v", p)
			}
			seen[p.Metadata.Entity.Name] = true
		}
		if page.Listmeta.Continue == "" {
			break
		}
		query = "?limit=1000&continue=" + page.Listmeta.Continue
	}
	if len(seen) != 5000 || !seen["pod-0000"] || !seen["pod-4999"] {
		t.Fatalf("paging through the pods saw %d distinct pods", len(seen))
	}
	// The answer is in Palette's shape: the SDK's own model decodes it.
	var sdk models.V1ClusterWorkloadPods
	api(t, addr, project, "POST", "/v1/dashboard/spectroclusters/"+uid+"/workloads/pod?limit=1", `{"filter":{"namespaces":["load"]}}`, &sdk)
	if len(sdk.Pods) != 1 || sdk.Pods[0].Metadata.Entity.Name != "pod-0000" || sdk.Pods[0].Metadata.Namespace != "load" ||
		sdk.Pods[0].Status.Phase != "Pending" || sdk.Pods[0].Spec.Containers[0].Resources.Requests.CPU != 10 ||
		sdk.Pods[0].Spec.Containers[0].Resources.Requests.Memory != 16 || time.Time(sdk.Pods[0].Metadata.CreationTimestamp).IsZero() {
		t.Fatalf("the first pod as the Palette SDK model reads it: %s", dump(sdk.Pods))
	}
}

// pagesReceived is the hub's count of workload report pages received.
const pagesReceived = `easel_agent_report_page_bytes_count{report="workloads"}`

// workloadPage is the part of the dashboard's answer this test reads.
type workloadPage struct {
	Pods []struct {
		Metadata struct {
			Namespace string
			Entity    struct{ Name string }
		}
		Spec   struct{ Containers []any }
		Status struct{ Phase string }
	}
	Listmeta struct {
		Count    int
		Continue string
	}
	Disabled bool
}

// createPods creates n pods that no node can take, from a few concurrent clients.
func createPods(t *testing.T, kc kubernetes.Interface, namespace string, n int) {
	t.Helper()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%04d", i), Namespace: namespace,
					Labels: map[string]string{"app": "load", "shard": strconv.Itoa(i % 50)}},
					Spec: corev1.PodSpec{NodeSelector: map[string]string{"easel.dev/nowhere": "true"},
						Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10",
							Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
								corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")}}}}}}
				if _, err := kc.CoreV1().Pods(namespace).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("creating pods: %v", firstErr)
	}
}

// hubMetrics reads the hub's /metrics as series → value.
func hubMetrics(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return metrics.Parse(body)
}
