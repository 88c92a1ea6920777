package local_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/provider/local"
)

func binaries(t testing.TB) k8sbin.Paths {
	t.Helper()
	bins, err := k8sbin.Find()
	if err != nil {
		t.Fatalf("the local provider tests need the pinned Kubernetes binaries: %v", err)
	}
	return bins
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: still not true after %s: %v", what, d, err)
}

// A real control plane comes up, KWOK makes its nodes Ready, pods run on them, and a restart of
// the supervising side adopts the running processes instead of starting new ones.
func TestControlPlaneLifecycle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c1")
	cp := &local.ControlPlane{Name: "c1", Dir: dir, Bins: binaries(t)}
	t.Cleanup(func() { cp.Destroy() })
	ctx := context.Background()

	eventually(t, 60*time.Second, "control plane up", func() error { return up(ctx, cp) })
	if got := cp.Running(); len(got) != 5 {
		t.Fatalf("running components = %v, want all five\n%s", got, logTails(dir))
	}
	c, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	machines := []local.Machine{
		{Name: "cp-abcde", UID: "m1", Pool: "cp", ControlPlane: true, InstanceType: "small", Zone: "local-a", CPU: 2, MemoryGiB: 4, DiskGiB: 60},
		{Name: "workers-fghij", UID: "m2", Pool: "workers", InstanceType: "medium", Zone: "local-b", CPU: 4, MemoryGiB: 8, DiskGiB: 60,
			Labels: map[string]string{"team": "web"}, Taints: []v1.Taint{{Key: "dedicated", Value: "web", Effect: "NoSchedule"}}},
	}
	for _, m := range machines {
		if changed, err := cp.EnsureMachine(ctx, c, m); err != nil || !changed {
			t.Fatalf("registering %s = %t, %v; want a change", m.Name, changed, err)
		}
		if changed, err := cp.EnsureMachine(ctx, c, m); err != nil || changed {
			t.Fatalf("registering %s twice = %t, %v; want no change", m.Name, changed, err)
		}
	}
	eventually(t, 60*time.Second, "nodes Ready", func() error { return allReady(ctx, c, 2) })
	n, _ := c.CoreV1().Nodes().Get(ctx, "workers-fghij", metav1.GetOptions{})
	if n.Labels["node.kubernetes.io/instance-type"] != "medium" || n.Labels["topology.kubernetes.io/zone"] != "local-b" ||
		n.Labels["team"] != "web" || n.Status.Capacity.Cpu().Value() != 4 ||
		!slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == "dedicated" && t.Value == "web" }) {
		t.Fatalf("worker node = labels %v capacity %v taints %v", n.Labels, n.Status.Capacity, n.Spec.Taints)
	}
	cpNode, _ := c.CoreV1().Nodes().Get(ctx, "cp-abcde", metav1.GetOptions{})
	if !slices.ContainsFunc(cpNode.Spec.Taints, func(t corev1.Taint) bool { return t.Key == "node-role.kubernetes.io/control-plane" }) {
		t.Fatalf("control-plane node taints = %v", cpNode.Spec.Taints)
	}

	// The pool's label and taint go, a label put on by hand stays: what the node was given is read
	// from the node, not from the caller.
	if _, err := c.CoreV1().Nodes().Patch(ctx, "workers-fghij", types.MergePatchType, []byte(`{"metadata":{"labels":{"owner":"ops"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	bare := machines[1]
	bare.Labels, bare.Taints = nil, nil
	if changed, err := cp.EnsureMachine(ctx, c, bare); err != nil || !changed {
		t.Fatalf("removing the pool's label and taint = %t, %v; want a change", changed, err)
	}
	n, _ = c.CoreV1().Nodes().Get(ctx, "workers-fghij", metav1.GetOptions{})
	if _, has := n.Labels["team"]; has || n.Labels["owner"] != "ops" || n.Labels[local.LabelPool] != "workers" ||
		slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == "dedicated" }) {
		t.Fatalf("worker node after its pool's label and taint were removed = labels %v taints %v", n.Labels, n.Spec.Taints)
	}

	// A restart adopts the running processes: the same PIDs, the same cluster.
	before := pids(t, dir)
	again := &local.ControlPlane{Name: "c1", Dir: dir, Bins: cp.Bins}
	if err := again.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if after := pids(t, dir); !slices.Equal(before, after) {
		t.Fatalf("adoption restarted processes: %v → %v", before, after)
	}

	// A hub killed between starting a process and recording it: the state forgot the PIDs, and
	// the running processes are found by their command lines instead of started twice.
	forgetPIDs(t, dir)
	orphaned := &local.ControlPlane{Name: "c1", Dir: dir, Bins: cp.Bins}
	if err := orphaned.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if after := pids(t, dir); !slices.Equal(before, after) {
		t.Fatalf("orphans were not adopted: %v → %v", before, after)
	}

	// Stop keeps the data; Ensure brings the same nodes back.
	if err := again.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := again.Running(); len(got) != 0 {
		t.Fatalf("still running after Stop: %v", got)
	}
	eventually(t, 60*time.Second, "control plane up after restart", func() error { return up(ctx, again) })
	c, _ = again.Client()
	eventually(t, 60*time.Second, "the same nodes after restart", func() error { return allReady(ctx, c, 2) })

	if err := again.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("data dir left after Destroy: %v", err)
	}
}
