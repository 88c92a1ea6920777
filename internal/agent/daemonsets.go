package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
)

// A pack change made while nodes are in maintenance does not touch them: a DaemonSet is applied
// with the OnDelete update strategy, the agent itself replaces its outdated pods on the other
// nodes, one node at a time, and the pods on nodes in maintenance keep the previous version. When
// the last node leaves maintenance the packs are applied again without it, and the DaemonSet's own
// strategy rolls the pods that waited.

// Bounds of rolling one DaemonSet pod by hand.
const (
	daemonSetPoll       = 250 * time.Millisecond
	daemonSetPodTimeout = 2 * time.Minute
	revisionHashLabel   = "controller-revision-hash" // apps.DefaultDaemonSetUniqueLabelKey
)

// keepOffNodes makes the DaemonSet's controller leave existing pods alone.
func keepOffNodes(obj *unstructured.Unstructured) {
	unstructured.RemoveNestedField(obj.Object, "spec", "updateStrategy")
	_ = unstructured.SetNestedField(obj.Object, string(appsv1.OnDeleteDaemonSetStrategyType), "spec", "updateStrategy", "type")
}

// rollDaemonSet replaces the DaemonSet's outdated pods on the nodes not in maintenance, one at a
// time, each time waiting for the new pod on that node to be Ready; it returns, one line per node
// in maintenance, the outdated pods left there.
func (a *Agent) rollDaemonSet(ctx context.Context, namespace, name string, maintenance []string) ([]string, error) {
	hash, ds, err := a.daemonSetRevision(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	selector, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return nil, err
	}
	pods, err := a.daemonSetPods(ctx, ds, selector)
	if err != nil {
		return nil, err
	}
	var waiting []string
	for _, pod := range pods {
		if pod.Labels[revisionHashLabel] == hash || pod.DeletionTimestamp != nil {
			continue
		}
		node := pod.Spec.NodeName
		if slices.Contains(maintenance, node) {
			waiting = append(waiting, fmt.Sprintf("DaemonSet %s/%s: pod %s on node %s keeps the previous version until the node leaves maintenance",
				namespace, name, pod.Name, node))
			continue
		}
		a.log.Info("Replacing an outdated DaemonSet pod (nodes are in maintenance)", "daemonSet", namespace+"/"+name, "pod", pod.Name, "node", node)
		if err := a.kube.CoreV1().Pods(namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return waiting, fmt.Errorf("deleting pod %s: %w", pod.Name, err)
		}
		err := wait.PollUntilContextTimeout(ctx, daemonSetPoll, daemonSetPodTimeout, true, func(ctx context.Context) (bool, error) {
			pods, err := a.daemonSetPods(ctx, ds, selector)
			if err != nil {
				return false, err
			}
			return slices.ContainsFunc(pods, func(p corev1.Pod) bool {
				return p.Spec.NodeName == node && p.Labels[revisionHashLabel] == hash && podReady(p)
			}), nil
		})
		if err != nil {
			return waiting, fmt.Errorf("the new pod on node %s is not Ready within %s: %w", node, daemonSetPodTimeout, err)
		}
	}
	return waiting, nil
}

// daemonSetRevision waits for the DaemonSet's controller to see its latest spec and returns the
// hash of its current revision (the label its up-to-date pods carry).
func (a *Agent) daemonSetRevision(ctx context.Context, namespace, name string) (string, *appsv1.DaemonSet, error) {
	var (
		ds   *appsv1.DaemonSet
		hash string
	)
	err := wait.PollUntilContextTimeout(ctx, daemonSetPoll, daemonSetPodTimeout, true, func(ctx context.Context) (bool, error) {
		var err error
		if ds, err = a.kube.AppsV1().DaemonSets(namespace).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return false, err
		}
		if ds.Status.ObservedGeneration < ds.Generation {
			return false, nil
		}
		selector, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
		if err != nil {
			return false, err
		}
		revs, err := a.kube.AppsV1().ControllerRevisions(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
		if err != nil {
			return false, err
		}
		var newest int64
		for _, r := range revs.Items {
			if metav1.IsControlledBy(&r, ds) && r.Revision > newest {
				newest, hash = r.Revision, r.Labels[revisionHashLabel]
			}
		}
		return hash != "", nil
	})
	if err != nil {
		return "", nil, fmt.Errorf("waiting for the DaemonSet controller to take the new spec: %w", err)
	}
	return hash, ds, nil
}

// daemonSetPods are the pods the DaemonSet controls, by node name.
func (a *Agent) daemonSetPods(ctx context.Context, ds *appsv1.DaemonSet, selector labels.Selector) ([]corev1.Pod, error) {
	list, err := a.kube.CoreV1().Pods(ds.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, err
	}
	pods := slices.DeleteFunc(list.Items, func(p corev1.Pod) bool { return !metav1.IsControlledBy(&p, ds) })
	slices.SortFunc(pods, func(x, y corev1.Pod) int { return strings.Compare(x.Spec.NodeName, y.Spec.NodeName) })
	return pods, nil
}

func podReady(p corev1.Pod) bool {
	return slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
		return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
	})
}
