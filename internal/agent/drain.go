package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// Drain: cordon a node and evict every pod that may move, through the eviction API so that
// PodDisruptionBudgets hold — the pods `kubectl drain --ignore-daemonsets --delete-emptydir-data`
// evicts. DaemonSet pods and static (mirror) pods stay; finished pods are simply deleted.

// evictParallelism bounds the evictions in flight on one node.
const evictParallelism = 32

// drainPoll is how often a drain looks at the node's pods again.
const drainPoll = 250 * time.Millisecond

// evictRetry is how long a drain waits before evicting again pods that a PodDisruptionBudget kept.
const evictRetry = 2 * time.Second

// defaultDrainTimeout bounds a drain whose operation names no timeout.
const defaultDrainTimeout = 15 * time.Minute

// errDrainTimeout ends a drain's context when its timeout passes.
var errDrainTimeout = errors.New("the drain timed out")

// drainProgress is what a drain says while it runs: the pods still to go and, when a
// PodDisruptionBudget refuses an eviction, which one.
type drainProgress struct {
	Remaining int
	BlockedBy string // namespace/name of the PodDisruptionBudget
	Message   string
}

// setUnschedulable cordons (true) or uncordons (false) a node.
func setUnschedulable(ctx context.Context, c kubernetes.Interface, node string, unschedulable bool) error {
	patch := fmt.Appendf(nil, `{"spec":{"unschedulable":%t}}`, unschedulable)
	if _, err := c.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("setting node %s unschedulable=%t: %w", node, unschedulable, err)
	}
	return nil
}

// movablePods are the pods a drain must move off the node: not DaemonSet pods, not static pods.
func movablePods(ctx context.Context, c kubernetes.Interface, node string) ([]corev1.Pod, error) {
	list, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return nil, fmt.Errorf("listing the pods of node %s: %w", node, err)
	}
	out := list.Items[:0]
	for _, p := range list.Items {
		if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
			continue
		}
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.Kind == "DaemonSet" {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// drain cordons node and evicts its movable pods until none is left, calling progress whenever
// what it waits for changes. It gives up once timeout has passed on clk (which also times the
// retries), saying why, or when ctx ends.
func drain(ctx context.Context, c kubernetes.Interface, clk clock.WithDelayedExecution, node string, timeout time.Duration,
	progress func(drainProgress)) (evicted int, err error) {
	// The timeout ends the context, so that it also interrupts the API calls in flight.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := clk.AfterFunc(timeout, func() { cancel(errDrainTimeout) })
	defer timer.Stop()
	var pods []corev1.Pod // those left on the node when last listed
	var last drainProgress
	// failed is the drain's error once err ended it: the timeout, saying why, if the timer ended
	// the context (whichever call that interrupted), else err.
	failed := func(err error) error {
		if !errors.Is(context.Cause(ctx), errDrainTimeout) {
			return err
		}
		names := make([]string, 0, min(len(pods), 5))
		for _, p := range pods[:min(len(pods), 5)] {
			names = append(names, p.Namespace+"/"+p.Name)
		}
		reason := fmt.Sprintf("the drain timed out with %d pods still on the node (%s)", len(pods), strings.Join(names, ", "))
		if last.BlockedBy != "" {
			reason += "; PodDisruptionBudget " + last.BlockedBy + " does not allow their eviction"
		}
		return errors.New(reason)
	}
	if err := setUnschedulable(ctx, c, node, true); err != nil {
		return 0, failed(err)
	}
	asked := map[types.UID]time.Time{} // evictions accepted, or refused and due again
	for {
		left, err := movablePods(ctx, c, node)
		if err != nil {
			return evicted, failed(err)
		}
		pods = left
		if len(pods) == 0 {
			return evicted, nil
		}
		var due []corev1.Pod
		now := clk.Now()
		for _, p := range pods {
			if at, ok := asked[p.UID]; (!ok || !now.Before(at)) && p.DeletionTimestamp == nil {
				due = append(due, p)
			}
		}
		refused := evictAll(ctx, c, due)
		if ctx.Err() != nil { // the evictions were interrupted: their refusals say nothing
			return evicted, failed(ctx.Err())
		}
		for _, p := range due {
			if _, no := refused[p.UID]; no {
				asked[p.UID] = now.Add(evictRetry)
			} else {
				asked[p.UID] = now.Add(24 * time.Hour) // gone soon; evicted again only if it stays
				evicted++
			}
		}
		next := drainProgress{Remaining: len(pods), Message: fmt.Sprintf("%d pods to move off node %s", len(pods), node)}
		if len(refused) > 0 {
			next.BlockedBy, next.Message = blockReason(refused)
		} else if len(due) == 0 && last.BlockedBy != "" {
			next.BlockedBy, next.Message = last.BlockedBy, last.Message // still waiting for the refused pods' turn
		}
		if next.BlockedBy != last.BlockedBy || last.Message == "" {
			progress(next)
		}
		last = next
		if !sleep(ctx, clk, drainPoll) {
			return evicted, failed(ctx.Err())
		}
	}
}

// refusal is why an eviction was refused: a PodDisruptionBudget's name, or another error.
type refusal struct {
	pod    string // namespace/name
	budget string // namespace/name of the PodDisruptionBudget(s), if one refused it
	err    string
}

// evictAll asks the eviction API to evict pods, evictParallelism at a time, and returns the
// refusals. A pod already gone counts as evicted; a refused one is evicted again later.
func evictAll(ctx context.Context, c kubernetes.Interface, pods []corev1.Pod) map[types.UID]refusal {
	refused := map[types.UID]refusal{}
	var mu sync.Mutex
	sem := make(chan struct{}, evictParallelism)
	var wg sync.WaitGroup
	for _, p := range pods {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := c.PolicyV1().Evictions(p.Namespace).Evict(ctx, &policyv1.Eviction{
				ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}})
			if err == nil || apierrors.IsNotFound(err) {
				return
			}
			r := refusal{pod: p.Namespace + "/" + p.Name, err: err.Error()}
			if apierrors.IsTooManyRequests(err) {
				r.budget = budgetsOf(ctx, c, p)
			}
			mu.Lock()
			refused[p.UID] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	return refused
}

// budgetsOf names the PodDisruptionBudgets that select pod (namespace/name, comma-separated).
func budgetsOf(ctx context.Context, c kubernetes.Interface, pod corev1.Pod) string {
	pdbs, err := c.PolicyV1().PodDisruptionBudgets(pod.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return ""
	}
	var names []string
	for _, b := range pdbs.Items {
		sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) {
			names = append(names, b.Namespace+"/"+b.Name)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// blockReason sums up the refused evictions: the budget that refused a pod (the first by name),
// and a message naming the pods and why.
func blockReason(refused map[types.UID]refusal) (budget, message string) {
	all := make([]refusal, 0, len(refused))
	for _, r := range refused {
		all = append(all, r)
	}
	slices.SortFunc(all, func(a, b refusal) int { return strings.Compare(a.pod, b.pod) })
	for _, r := range all {
		if r.budget != "" {
			return r.budget, fmt.Sprintf("%d pods cannot be evicted yet (e.g. %s): PodDisruptionBudget %s allows no more disruptions; retrying",
				len(all), r.pod, r.budget)
		}
	}
	return "", fmt.Sprintf("%d pods cannot be evicted yet (e.g. %s: %s); retrying", len(all), all[0].pod, all[0].err)
}
