package e2e_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// Scaling a worker pool 2 → 4 → 1 on a local cluster: new machines join; on the way down every
// machine's node is drained by the agent before the machine is deleted, and the workloads end up
// on the remaining worker. Labels and taints then change in place.
func TestScaleWorkerPoolWithDrains(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	addr := startHub(t, func(c *server.Config) { c.AgentHeartbeat = time.Second })
	project, uid := createLocalCluster(t, addr, "elastic", 2, "")
	kc := clusterClient(t, addr, project, uid)
	ctx := context.Background()
	deployWeb(t, kc, "default", 6)

	var cl struct {
		Spec struct{ CloudConfigRef struct{ UID string } }
	}
	api(t, addr, project, "GET", "/v1/spectroclusters/"+uid, "", &cl)
	pool := "/v1/cloudconfigs/cloudTypes/local/" + cl.Spec.CloudConfigRef.UID + "/machinePools/workers"
	machines := func() map[string]string { // name → instance state
		var out struct {
			Items []struct {
				Metadata struct{ Name string }
				Status   struct{ InstanceState string }
			}
		}
		api(t, addr, project, "GET", pool+"/machines", "", &out)
		m := map[string]string{}
		for _, it := range out.Items {
			m[it.Metadata.Name] = it.Status.InstanceState
		}
		return m
	}
	scale := func(n int) {
		t.Helper()
		if code := api(t, addr, project, "PUT", pool, fmt.Sprintf(`{"poolConfig":{"name":"workers","size":%d},"cloudConfig":{}}`, n), nil); code != 204 {
			t.Fatalf("scaling to %d: %d", n, code)
		}
	}

	scale(4)
	poll.Eventually(t, time.Minute, "4 running workers", func() error {
		m := machines()
		return poll.Unless(len(m) == 4 && !slices.ContainsFunc(slices.Collect(maps.Values(m)), func(s string) bool { return s != "Running" }), "machines %v", m)
	})
	before := machines()

	scale(1)
	poll.Eventually(t, 2*time.Minute, "1 worker left", func() error {
		m := machines()
		return poll.Unless(len(m) == 1, "machines %v", m)
	})
	var kept string
	for name := range machines() {
		kept = name
	}
	// Every removed machine was drained before it was deleted.
	var events struct {
		Items []struct{ Reason, Message string }
	}
	api(t, addr, project, "GET", "/v1/events/components/spectrocluster/"+uid+"?limit=200", "", &events)
	slices.Reverse(events.Items) // oldest first
	for name := range before {
		if name == kept {
			continue
		}
		var order []string
		for _, e := range events.Items {
			if strings.Contains(e.Message, name+" ") || strings.HasSuffix(e.Message, name) {
				order = append(order, e.Reason)
			}
		}
		i, j, k := slices.Index(order, "MachineDraining"), slices.Index(order, "NodeDrained"), slices.Index(order, "MachineDeleted")
		if i < 0 || j < i || k < j {
			t.Fatalf("events of removed machine %s = %v; want MachineDraining, NodeDrained, MachineDeleted in that order", name, order)
		}
	}
	poll.Eventually(t, time.Minute, "6 web pods running on the remaining worker", func() error {
		there, all := len(runningPods(t, kc, "default", kept)), len(runningPods(t, kc, "default", ""))
		return poll.Unless(there == 6 && all == 6, "%d web pods running there, %d in all", there, all)
	})
	nodes, err := kc.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "easel.dev/pool=workers"})
	if err != nil || len(nodes.Items) != 1 || nodes.Items[0].Name != kept {
		t.Fatalf("worker nodes after scaling to 1: %v, %v", nodes, err)
	}

	// Labels and taints change in place: the same node, no repave.
	hasTaint := func(n *corev1.Node) bool {
		return slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == "dedicated" && t.Value == "web" })
	}
	if code := api(t, addr, project, "PUT", pool, `{"poolConfig":{"name":"workers","size":1,"additionalLabels":{"tier":"web"},
		"taints":[{"key":"dedicated","value":"web","effect":"NoSchedule"}]},"cloudConfig":{}}`, nil); code != 204 {
		t.Fatalf("setting labels and taints: %d", code)
	}
	poll.Eventually(t, time.Minute, "the node to have the label and the taint", func() error {
		n, err := kc.CoreV1().Nodes().Get(ctx, kept, metav1.GetOptions{})
		if err != nil {
			return err
		}
		return poll.Unless(n.Labels["tier"] == "web" && hasTaint(n), "labels %v, taints %v", n.Labels, n.Spec.Taints)
	})
	if code := api(t, addr, project, "PUT", pool, `{"poolConfig":{"name":"workers","size":1},"cloudConfig":{}}`, nil); code != 204 {
		t.Fatalf("removing labels and taints: %d", code)
	}
	poll.Eventually(t, time.Minute, "the label and the taint to be gone", func() error {
		n, err := kc.CoreV1().Nodes().Get(ctx, kept, metav1.GetOptions{})
		if err != nil {
			return err
		}
		_, labelled := n.Labels["tier"]
		return poll.Unless(!labelled && !hasTaint(n) && n.Labels["easel.dev/pool"] == "workers", "labels %v, taints %v", n.Labels, n.Spec.Taints)
	})
	if m := machines(); len(m) != 1 || m[kept] != "Running" {
		t.Fatalf("machines after label and taint changes = %v; want %s alone, not replaced", m, kept)
	}
}

// A local cluster whose agent stops (frozen, so the hub's supervision does not replace it) turns
// unhealthy for the right reason once the (shortened) heartbeat timeout passes, and healthy again
// when the agent resumes.
func TestLocalAgentStopIsUnhealthy(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	addr := startHub(t, func(c *server.Config) { c.AgentHeartbeat, c.HeartbeatTimeout = time.Second, 4*time.Second })
	project, uid := createLocalCluster(t, addr, "frozen", 1, "")
	waitForEvent(t, addr, project, uid, "Healthy", "heartbeats arrive")
	pids := processIDs(t, "easel", "--cluster="+uid)
	if len(pids) != 1 {
		t.Fatalf("agent processes of cluster %s: %v; want one", uid, pids)
	}
	agent, err := os.FindProcess(pids[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Signal(syscall.SIGCONT) })
	waitForEvent(t, addr, project, uid, "Unhealthy", "NoHeartbeat: no heartbeat from the agent since")
	if err := agent.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitForEvent(t, addr, project, uid, "Healthy", "heartbeats arrive")
}
