package e2e_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// Maintenance mode on a local cluster: the agent cordons and drains the node; a PodDisruptionBudget
// that allows no disruption holds the drain (reported at once, naming it) until it is relaxed;
// DaemonSet pods stay; the last schedulable worker is refused; turning it off makes the node
// schedulable and does not move pods back.
func TestMaintenanceMode(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	addr := startHub(t, func(c *server.Config) { c.AgentHeartbeat, c.DrainTimeout = time.Second, 15*time.Second })
	project, uid := createLocalCluster(t, addr, "upkeep", 2, `,{"name":"cni-calico","tag":"3.30.3"}`)
	kc := clusterClient(t, addr, project, uid)
	ctx := context.Background()

	// A web app of 4 replicas over the two workers, and a budget that allows no disruption.
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := deployWeb(t, kc, "shop", 4)
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: policyv1.PodDisruptionBudgetSpec{
		MinAvailable: ptr(intstr.FromInt32(4)), Selector: &metav1.LabelSelector{MatchLabels: labels}}}
	if _, err := kc.PolicyV1().PodDisruptionBudgets("shop").Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 30*time.Second, "the budget to count 4 healthy pods", func() error {
		b, err := kc.PolicyV1().PodDisruptionBudgets("shop").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		return poll.Unless(b.Status.CurrentHealthy == 4 && b.Status.ObservedGeneration == b.Generation, "budget status %+v", b.Status)
	})

	// The worker that runs web pods goes into maintenance.
	node := runningPods(t, kc, "shop", "")[0].Spec.NodeName
	var other string
	for _, n := range workerNodes(t, kc) {
		if n != node {
			other = n
		}
	}
	machinePath := func(nodeName string) string { return workerMachinePath(t, addr, project, uid, nodeName) }
	status := func(nodeName string) (state, blockedBy string) {
		var m struct {
			Status struct {
				MaintenanceStatus struct{ Action, State, BlockedBy string }
			}
		}
		api(t, addr, project, "GET", strings.Replace(machinePath(nodeName), "/v1/cloudconfigs/local/", "/v1/cloudconfigs/cloudTypes/local/", 1), "", &m)
		return m.Status.MaintenanceStatus.State, m.Status.MaintenanceStatus.BlockedBy
	}
	calicoBefore := daemonPods(t, kc, node)
	if len(calicoBefore) == 0 {
		t.Fatalf("no DaemonSet pod on node %s to check that it stays", node)
	}
	if code := api(t, addr, project, "PUT", machinePath(node)+"/maintenance", `{"action":"cordon"}`, nil); code != 204 {
		t.Fatalf("maintenance on: %d", code)
	}
	// Held by the budget: reported at once, naming it, and the node is cordoned meanwhile.
	waitForEvent(t, addr, project, uid, "DrainBlocked", "PodDisruptionBudget shop/web")
	if state, blockedBy := status(node); state != "Initiated" || blockedBy != "shop/web" {
		t.Fatalf("maintenance status while blocked = %s, blocked by %q", state, blockedBy)
	}
	if n, _ := kc.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); !n.Spec.Unschedulable {
		t.Fatalf("node %s is not cordoned while its drain waits", node)
	}
	// The last schedulable worker is refused.
	if code := api(t, addr, project, "PUT", machinePath(other)+"/maintenance", `{"action":"cordon"}`, nil); code != 409 {
		t.Fatalf("maintenance of the last schedulable worker: %d; want 409", code)
	}

	// The budget relaxes: the drain completes, the web pods move to the other worker, the
	// DaemonSet pod stays.
	patch := []byte(`{"spec":{"minAvailable":2}}`)
	if _, err := kc.PolicyV1().PodDisruptionBudgets("shop").Patch(ctx, "web", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, time.Minute, "the drain to complete", func() error {
		state, blockedBy := status(node)
		return poll.Unless(state == "Completed", "maintenance state %q, blocked by %q", state, blockedBy)
	})
	waitForEvent(t, addr, project, uid, "MaintenanceCompleted", "cordoned and drained")
	if left := runningPods(t, kc, "shop", node); len(left) != 0 {
		t.Fatalf("%d web pods still on node %s after the drain", len(left), node)
	}
	poll.Eventually(t, time.Minute, "4 web pods running on the other worker", func() error {
		n := len(runningPods(t, kc, "shop", other))
		return poll.Unless(n == 4, "%d running there", n)
	})
	if after := daemonPods(t, kc, node); !slices.Equal(after, calicoBefore) {
		t.Fatalf("DaemonSet pods on the drained node: %v, before %v", after, calicoBefore)
	}
	var sum struct {
		Status struct {
			Nodes []struct {
				Name        string
				Maintenance *struct{ Action, State string }
			}
		}
	}
	api(t, addr, project, "GET", "/v1/dashboard/spectroclusters/"+uid+"/overview", "", &sum)
	shown := false
	for _, n := range sum.Status.Nodes {
		shown = shown || n.Name == node && n.Maintenance != nil && n.Maintenance.Action == "cordon" && n.Maintenance.State == "Completed"
	}
	if !shown {
		t.Fatalf("the overview's nodes do not show %s in maintenance: %+v", node, sum.Status.Nodes)
	}

	// Off: schedulable again; pods are not moved back.
	if code := api(t, addr, project, "PUT", machinePath(node)+"/maintenance", `{"action":"uncordon"}`, nil); code != 204 {
		t.Fatalf("maintenance off: %d", code)
	}
	poll.Eventually(t, 30*time.Second, "the node to be schedulable", func() error {
		n, err := kc.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		return poll.Unless(!n.Spec.Unschedulable, "node %s unschedulable", node)
	})
	waitForEvent(t, addr, project, uid, "MaintenanceEnded", "schedulable again")
	// Nothing rebalances: the web pods stay where they are. The agent acted on the uncordon at once
	// (MaintenanceEnded is its report); a rebalance would be its next step, or the engine's on that
	// report, so it would start within a few of the agent's 1 s heartbeats: 5 s is enough to see one.
	web := podsByUID(runningPods(t, kc, "shop", ""))
	poll.Consistently(t, 5*time.Second, "the web pods staying where they are after maintenance", func() error {
		if back := runningPods(t, kc, "shop", node); len(back) != 0 {
			return fmt.Errorf("%d web pods moved back to %s", len(back), node)
		}
		now := podsByUID(runningPods(t, kc, "shop", ""))
		return poll.Unless(maps.Equal(now, web), "web pods (uid → node) %v; before %v", now, web)
	})

	// A drain the budget holds past the drain timeout fails, saying why; the node stays cordoned.
	patch = []byte(`{"spec":{"minAvailable":4}}`)
	if _, err := kc.PolicyV1().PodDisruptionBudgets("shop").Patch(ctx, "web", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if code := api(t, addr, project, "PUT", machinePath(other)+"/maintenance", `{"action":"cordon"}`, nil); code != 204 {
		t.Fatalf("maintenance of the other worker: %d", code)
	}
	poll.Eventually(t, time.Minute, "the held drain to fail", func() error {
		state, blockedBy := status(other)
		return poll.Unless(state == "Failed", "maintenance state %q, blocked by %q", state, blockedBy)
	})
	waitForEvent(t, addr, project, uid, "MaintenanceFailed", "PodDisruptionBudget shop/web does not allow their eviction")
	if n, _ := kc.CoreV1().Nodes().Get(ctx, other, metav1.GetOptions{}); !n.Spec.Unschedulable {
		t.Fatalf("node %s is not cordoned after its drain failed", other)
	}
}
