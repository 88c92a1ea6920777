package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

// fakeCluster is a fake clientset that behaves like an API server where a drain needs it: pods
// are listed by node (the fake ignores field selectors), an accepted eviction deletes its pod,
// and a PodDisruptionBudget that allows no disruption refuses the eviction with the API server's
// 429.
type fakeCluster struct {
	*fake.Clientset
	mu      sync.Mutex
	evicted []string        // namespace/name, in the order accepted
	tries   map[string]int  // eviction attempts by pod
	holding map[string]bool // pods whose eviction a budget refuses
}

func newFakeCluster(objs ...runtime.Object) *fakeCluster {
	f := &fakeCluster{Clientset: fake.NewClientset(objs...), tries: map[string]int{}, holding: map[string]bool{}}
	pods := corev1.SchemeGroupVersion.WithResource("pods")
	f.PrependReactor("list", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		obj, err := f.Tracker().List(pods, corev1.SchemeGroupVersion.WithKind("Pod"), action.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		list := obj.(*corev1.PodList)
		sel := action.(k8stesting.ListAction).GetListRestrictions().Fields
		list.Items = slices.DeleteFunc(list.Items, func(p corev1.Pod) bool {
			return !sel.Matches(fields.Set{"spec.nodeName": p.Spec.NodeName})
		})
		return true, list, nil
	})
	f.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() != "eviction" {
			return false, nil, nil
		}
		ev := action.(k8stesting.CreateAction).GetObject().(*policyv1.Eviction)
		pod := ev.Namespace + "/" + ev.Name
		f.mu.Lock()
		defer f.mu.Unlock()
		f.tries[pod]++
		if f.holding[pod] {
			return true, nil, &apierrors.StatusError{ErrStatus: metav1.Status{
				Status: metav1.StatusFailure, Code: 429, Reason: metav1.StatusReasonTooManyRequests,
				Message: "Cannot evict pod as it would violate the pod's disruption budget.",
				Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: policyv1.DisruptionBudgetCause,
					Message: "The disruption budget web needs 2 healthy pods and has 2 currently"}}},
			}}
		}
		f.evicted = append(f.evicted, pod)
		return true, nil, f.Tracker().Delete(pods, ev.Namespace, ev.Name)
	})
	return f
}

func (f *fakeCluster) hold(pod string, held bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holding[pod] = held
}

func (f *fakeCluster) attempts(pod string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tries[pod]
}

func (f *fakeCluster) evictions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(slices.Values(f.evicted))
}

func pod(namespace, name, node string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: types.UID(namespace + "/" + name), Labels: labels},
		Spec: corev1.PodSpec{NodeName: node}}
}

// drainRun is a drain running in its own goroutine on a fake clock.
type drainRun struct {
	clock    *clocktesting.FakeClock
	started  time.Time
	progress chan drainProgress
	done     chan error
	evicted  int
}

func startDrain(ctx context.Context, t *testing.T, kube *fakeCluster, node string, timeout time.Duration) *drainRun {
	t.Helper()
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	r := &drainRun{clock: clocktesting.NewFakeClock(start), started: start,
		progress: make(chan drainProgress, 16), done: make(chan error, 1)}
	go func() {
		n, err := drain(ctx, kube, r.clock, node, timeout, func(p drainProgress) { r.progress <- p })
		r.evicted = n
		r.done <- err
	}()
	return r
}

// waiting waits (in real time, bounded) until the drain has finished a pass and waits for the
// clock: its timeout and its next poll are both pending.
func (r *drainRun) waiting(t *testing.T) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return r.clock.Waiters() == 2, nil
	})
	if err != nil {
		t.Fatalf("the drain does not wait for its next poll (%d clock waiters): %v", r.clock.Waiters(), err)
	}
}

// step moves the clock on by d once the drain waits for it, and waits for the pass that follows,
// after which the drain must still run.
func (r *drainRun) step(t *testing.T, d time.Duration) {
	t.Helper()
	r.waiting(t)
	r.clock.Step(d)
	r.waitChange(t)
	select {
	case err := <-r.done:
		t.Fatalf("the drain ended (%v) %s after it started; want it still running", err, r.clock.Since(r.started))
	default:
	}
}

// result steps the clock a poll at a time until the drain ends, and returns its error.
func (r *drainRun) result(t *testing.T) error {
	t.Helper()
	for range 100 {
		select {
		case err := <-r.done:
			return err
		default:
		}
		if r.clock.Waiters() == 2 {
			r.clock.Step(drainPoll)
		}
		r.waitChange(t)
	}
	t.Fatal("the drain did not end within 100 polls")
	return nil
}

// waitChange waits until the drain ends or waits for the clock again.
func (r *drainRun) waitChange(t *testing.T) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return len(r.done) > 0 || r.clock.Waiters() == 2, nil
	})
	if err != nil {
		t.Fatalf("the drain neither ends nor waits: %v", err)
	}
}

func (r *drainRun) nextProgress(t *testing.T) drainProgress {
	t.Helper()
	select {
	case p := <-r.progress:
		return p
	case err := <-r.done:
		t.Fatalf("the drain ended (%v) without reporting progress", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no progress report within 10 s")
	}
	return drainProgress{}
}

func TestDrainEvictsOrdinaryPodsAndLeavesDaemonSetAndStaticPods(t *testing.T) {
	isController := true
	daemon := pod("kube-system", "calico-node-x1", "w-1", nil)
	daemon.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "calico-node", UID: "ds", Controller: &isController}}
	static := pod("kube-system", "etcd-w-1", "w-1", nil)
	static.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "hash"}
	replica := pod("shop", "web-1", "w-1", map[string]string{"app": "web"})
	replica.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d9", UID: "rs", Controller: &isController}}
	kube := newFakeCluster(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w-1"}}, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w-2"}},
		daemon, static, replica, pod("shop", "single", "w-1", nil), pod("shop", "web-2", "w-2", map[string]string{"app": "web"}))

	r := startDrain(context.Background(), t, kube, "w-1", time.Minute)
	if p := r.nextProgress(t); p.Remaining != 2 || p.BlockedBy != "" || p.Message != "2 pods to move off node w-1" {
		t.Fatalf("first progress = %+v; want 2 pods to move and nothing blocking", p)
	}
	if err := r.result(t); err != nil || r.evicted != 2 {
		t.Fatalf("drain = %d evicted, %v; want 2, nil", r.evicted, err)
	}
	if got := kube.evictions(); !slices.Equal(got, []string{"shop/single", "shop/web-1"}) {
		t.Fatalf("evicted %v; want the ordinary pods of w-1 only (not the DaemonSet pod, the static pod, or w-2's pod)", got)
	}
	ctx := context.Background()
	left, _ := kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	var names []string
	for _, p := range left.Items {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	slices.Sort(names)
	if want := []string{"kube-system/calico-node-x1", "kube-system/etcd-w-1", "shop/web-2"}; !slices.Equal(names, want) {
		t.Fatalf("pods left = %v; want %v", names, want)
	}
	for node, cordoned := range map[string]bool{"w-1": true, "w-2": false} {
		if n, _ := kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); n.Spec.Unschedulable != cordoned {
			t.Fatalf("node %s unschedulable = %v; want %v", node, n.Spec.Unschedulable, cordoned)
		}
	}
}

// holdingBudget is a budget over the web pods that allows no disruption; the other one selects
// nothing on the node.
func holdingBudgets() []runtime.Object {
	budget := func(name string, labels map[string]string) *policyv1.PodDisruptionBudget {
		return &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name},
			Spec: policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}}}
	}
	return []runtime.Object{budget("web", map[string]string{"app": "web"}), budget("db", map[string]string{"app": "db"})}
}

func TestDrainRetriesWhatABudgetRefusesAndReportsTheBudgetAtOnce(t *testing.T) {
	objs := append(holdingBudgets(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w-1"}},
		pod("shop", "web-1", "w-1", map[string]string{"app": "web"}), pod("shop", "web-2", "w-1", map[string]string{"app": "web"}))
	kube := newFakeCluster(objs...)
	kube.hold("shop/web-1", true)
	kube.hold("shop/web-2", true)
	r := startDrain(context.Background(), t, kube, "w-1", 15*time.Minute)

	// Reported at once: the first pass's report names the budget, before the clock has moved.
	p := r.nextProgress(t)
	if p.BlockedBy != "shop/web" || p.Message != "2 pods cannot be evicted yet (e.g. shop/web-1): PodDisruptionBudget shop/web allows no more disruptions; retrying" {
		t.Fatalf("first progress = %+v; want it blocked by shop/web", p)
	}
	// Not retried before evictRetry has passed, and retried once it has.
	for range evictRetry/drainPoll - 1 {
		r.step(t, drainPoll)
	}
	if n := kube.attempts("shop/web-1"); n != 1 {
		t.Fatalf("%d eviction attempts of shop/web-1 %s after the refusal; want 1 (the retry is due after %s)", n, evictRetry-drainPoll, evictRetry)
	}
	select {
	case p := <-r.progress:
		t.Fatalf("progress while still blocked by the same budget = %+v; want no new report", p)
	default:
	}
	r.step(t, drainPoll)
	if n := kube.attempts("shop/web-1"); n != 2 {
		t.Fatalf("%d eviction attempts of shop/web-1 %s after the refusal; want 2", n, evictRetry)
	}

	// The budget relaxes: the next retry evicts both and the drain completes.
	kube.hold("shop/web-1", false)
	kube.hold("shop/web-2", false)
	if err := r.result(t); err != nil || r.evicted != 2 {
		t.Fatalf("drain = %d evicted, %v; want 2, nil", r.evicted, err)
	}
	if p := r.nextProgress(t); p.BlockedBy != "" || p.Message != "2 pods to move off node w-1" {
		t.Fatalf("progress once the budget allows the evictions = %+v; want it no longer blocked", p)
	}
}

// heldDrain starts a drain of w-1, whose one pod a budget holds, and waits for its first report,
// which names the budget.
func heldDrain(t *testing.T, timeout time.Duration) (*fakeCluster, *drainRun) {
	t.Helper()
	objs := append(holdingBudgets(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w-1"}},
		pod("shop", "web-1", "w-1", map[string]string{"app": "web"}))
	kube := newFakeCluster(objs...)
	kube.hold("shop/web-1", true)
	r := startDrain(context.Background(), t, kube, "w-1", timeout)
	if p := r.nextProgress(t); p.BlockedBy != "shop/web" {
		t.Fatalf("first progress = %+v; want it blocked by shop/web", p)
	}
	return kube, r
}

func TestDrainGivesUpAfterItsTimeoutNamingTheBudget(t *testing.T) {
	const timeout = 10 * time.Minute
	kube, r := heldDrain(t, timeout)
	r.step(t, timeout-drainPoll) // still running a poll before the timeout
	r.clock.Step(drainPoll)
	r.waitChange(t)
	select {
	case err := <-r.done:
		want := "the drain timed out with 1 pods still on the node (shop/web-1); PodDisruptionBudget shop/web does not allow their eviction"
		if err == nil || err.Error() != want {
			t.Fatalf("drain past its timeout = %v; want %q", err, want)
		}
	default:
		t.Fatalf("the drain still runs %s after it started; want it to give up after its timeout", timeout)
	}
	if n, _ := kube.CoreV1().Nodes().Get(context.Background(), "w-1", metav1.GetOptions{}); !n.Spec.Unschedulable {
		t.Fatal("the node is not cordoned after its drain timed out; want it left cordoned")
	}
}

// The timeout can end the drain in the middle of an API call; the drain still says it timed out
// and why, not that the call was canceled (the e2e suite once saw "listing the pods of node …:
// context canceled" instead of the budget's name).
func TestDrainTimeoutDuringAnAPICallSaysItTimedOut(t *testing.T) {
	const timeout = 10 * time.Minute
	kube, r := heldDrain(t, timeout)
	// The next listing of the node's pods is in flight when the timeout passes.
	kube.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		r.clock.Step(timeout)
		return true, nil, fmt.Errorf("Get \"https://127.0.0.1/api/v1/pods\": %w", context.Canceled)
	})
	r.waiting(t)
	r.clock.Step(drainPoll)
	select {
	case err := <-r.done:
		want := "the drain timed out with 1 pods still on the node (shop/web-1); PodDisruptionBudget shop/web does not allow their eviction"
		if err == nil || err.Error() != want {
			t.Fatalf("drain whose timeout interrupted a listing = %v; want %q", err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the drain goes on after its timeout passed")
	}
}

func TestDrainWithdrawnIsNotATimeout(t *testing.T) {
	objs := append(holdingBudgets(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w-1"}},
		pod("shop", "web-1", "w-1", map[string]string{"app": "web"}))
	kube := newFakeCluster(objs...)
	kube.hold("shop/web-1", true)
	ctx, cancel := context.WithCancel(context.Background())
	r := startDrain(ctx, t, kube, "w-1", time.Minute)
	r.nextProgress(t)
	r.waiting(t)
	cancel()
	select {
	case err := <-r.done:
		if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "timed out") {
			t.Fatalf("withdrawn drain = %v; want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the drain goes on after its context ended")
	}
}
