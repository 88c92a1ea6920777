package doctor

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A taint key with two effects (the node controller's not-ready: NoSchedule and NoExecute) is one
// cause and one fix, with both taints in the evidence.
func TestTaintWithTwoEffectsIsOneCause(t *testing.T) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{Taints: []corev1.Taint{
		{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoSchedule},
		{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoExecute},
	}}}
	f := taints(n)
	if f.Status != "problem" || strings.Count(f.Cause, "not ready") != 1 || strings.Count(f.Fix, "kubelet-status") != 1 ||
		!strings.Contains(f.Evidence, "NoSchedule") || !strings.Contains(f.Evidence, "NoExecute") {
		t.Errorf("finding %+v; want one cause and one fix, both taints in the evidence", f)
	}
}
