package doctor

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingcorev1 "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	v1 "github.com/easelhq/easel/api/v1"
)

// daemonSet is a kube-system DaemonSet with what decides, as the DaemonSet controller decides it,
// whether it places a pod on a node.
type daemonSet struct {
	name, uid   string
	affinity    nodeaffinity.RequiredNodeAffinity
	tolerations []corev1.Toleration
	// selects are the label keys its nodeSelector and required node affinity read.
	selects []string
}

// daemonTolerations are the tolerations the DaemonSet controller adds to every pod it makes
// (k8s.io/kubernetes/pkg/controller/daemon/util.AddOrUpdateDaemonPodTolerations); hostNetwork
// pods also tolerate network-unavailable.
var daemonTolerations = []corev1.Toleration{
	{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeDiskPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeMemoryPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodePIDPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
}

// controlPlaneTaint keeps workloads off control-plane nodes by design: a DaemonSet that does not
// tolerate it is meant for workers only.
const controlPlaneTaint = "node-role.kubernetes.io/control-plane"

func newDaemonSet(ds *appsv1.DaemonSet) daemonSet {
	spec := ds.Spec.Template.Spec
	tolerations := append(slices.Clone(spec.Tolerations), daemonTolerations...)
	if spec.HostNetwork {
		tolerations = append(tolerations, corev1.Toleration{Key: corev1.TaintNodeNetworkUnavailable,
			Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
	}
	var selects []string
	for k := range spec.NodeSelector {
		selects = append(selects, k)
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, e := range term.MatchExpressions {
				selects = append(selects, e.Key)
			}
		}
	}
	return daemonSet{name: ds.Name, uid: string(ds.UID), tolerations: tolerations, selects: selects,
		affinity: nodeaffinity.GetRequiredNodeAffinity(&corev1.Pod{Spec: spec})}
}

// dsVerdict is one DaemonSet's state on one node; a zero one means nothing is wrong.
type dsVerdict struct {
	evidence, cause, fix string
	// notForNode: the DaemonSet does not place a pod on this node by design.
	notForNode bool
}

// daemonSetPods: every kube-system DaemonSet meant for the node has a Ready pod on it, and one
// that does not place a pod where it should is explained (the node's labels or taints).
func (s *snapshot) daemonSetPods(n *corev1.Node) v1.Finding {
	if s.dsErr != nil {
		return listFailed(s.dsErr)
	}
	var evidence, causes, fixes []string
	running, skipped := 0, 0
	for i := range s.daemonSets {
		v := s.daemonSetOn(&s.daemonSets[i], n)
		switch {
		case v.notForNode:
			skipped++
		case v.evidence == "":
			running++
		default:
			evidence = append(evidence, v.evidence)
			causes = append(causes, v.cause)
			fixes = append(fixes, v.fix)
		}
	}
	summary := fmt.Sprintf("%d of the %d kube-system DaemonSets have a Ready pod on the node", running, len(s.daemonSets))
	if skipped > 0 {
		summary += fmt.Sprintf(", %d are not meant for it", skipped)
	}
	if len(evidence) == 0 {
		return ok(summary)
	}
	return v1.Finding{Status: v1.FindingProblem, Evidence: strings.Join(evidence, "; ") + " (" + summary + ")",
		Cause: strings.Join(causes, "; "), Fix: strings.Join(slices.Compact(fixes), "; ")}
}

// daemonSetOn judges one DaemonSet on one node.
func (s *snapshot) daemonSetOn(ds *daemonSet, n *corev1.Node) dsVerdict {
	describeDS := fmt.Sprintf("kubectl -n kube-system describe daemonset %s", ds.name)
	pod := s.dsPods[ds.uid][n.Name]
	if pod != nil && pod.DeletionTimestamp == nil {
		return podVerdict(ds, pod)
	}
	// No pod: would the DaemonSet controller place one here?
	if match, err := ds.affinity.Match(n); err != nil || !match {
		var missing []string
		for _, key := range ds.selects {
			if _, has := n.Labels[key]; !has && (key == corev1.LabelOSStable || key == corev1.LabelArchStable) {
				missing = append(missing, key)
			}
		}
		if len(missing) == 0 {
			return dsVerdict{notForNode: true} // it selects other nodes
		}
		return dsVerdict{
			evidence: fmt.Sprintf("DaemonSet %s has no pod on the node: its node selector needs %s, which the node lacks", ds.name, strings.Join(missing, " and ")),
			cause:    fmt.Sprintf("the node lacks the %s label(s) DaemonSet %s selects nodes by, so it places no pod there", strings.Join(missing, ", "), ds.name),
			fix:      "see the os-arch-labels check",
		}
	}
	untolerated, found := schedulingcorev1.FindMatchingUntoleratedTaint(n.Spec.Taints, ds.tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	})
	if found {
		if untolerated.Key == controlPlaneTaint {
			return dsVerdict{notForNode: true}
		}
		return dsVerdict{
			evidence: fmt.Sprintf("DaemonSet %s has no pod on the node: it does not tolerate the taint %s", ds.name, taintString(untolerated)),
			cause:    fmt.Sprintf("the node's taint %s keeps DaemonSet %s off it", taintString(untolerated), ds.name),
			fix: fmt.Sprintf("remove the taint if it is unexpected: kubectl taint node %s %s:%s-; or add a toleration of it to DaemonSet %s",
				n.Name, untolerated.Key, untolerated.Effect, ds.name),
		}
	}
	return dsVerdict{
		evidence: fmt.Sprintf("DaemonSet %s has no pod on the node although the node fits it", ds.name),
		cause:    fmt.Sprintf("the DaemonSet controller has not made DaemonSet %s's pod for the node (yet)", ds.name),
		fix:      describeDS + " (its events); kubectl -n kube-system get events --field-selector involvedObject.name=" + ds.name,
	}
}

// podVerdict judges a DaemonSet's pod on its node: Pending (with the scheduler's word) or not
// Ready is a problem.
func podVerdict(ds *daemonSet, pod *corev1.Pod) dsVerdict {
	describePod := fmt.Sprintf("kubectl -n kube-system describe pod %s", pod.Name)
	if pod.Status.Phase == corev1.PodPending {
		why := "not started"
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				why = fmt.Sprintf("not scheduled, %s: %q", c.Reason, c.Message)
			}
		}
		return dsVerdict{
			evidence: fmt.Sprintf("pod %s of DaemonSet %s is Pending, %s", pod.Name, ds.name, why),
			cause:    fmt.Sprintf("DaemonSet %s's pod on the node does not run", ds.name),
			fix:      describePod,
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return dsVerdict{}
		}
	}
	return dsVerdict{
		evidence: fmt.Sprintf("pod %s of DaemonSet %s is %s and not Ready", pod.Name, ds.name, pod.Status.Phase),
		cause:    fmt.Sprintf("DaemonSet %s's pod on the node is not Ready", ds.name),
		fix:      describePod + "; kubectl -n kube-system logs " + pod.Name,
	}
}
