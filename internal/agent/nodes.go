package agent

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/uid"
)

// Labels of the nodes easel's local provider makes (see internal/provider/local).
const (
	labelPool    = "easel.dev/pool"
	labelMachine = "easel.dev/machine"
)

// nodesReport describes every node: role, pool, conditions, cordon state, taints, capacity,
// kubelet version and lease renew time.
func nodesReport(ctx context.Context, c kubernetes.Interface) (v1.AgentNodeReport, error) {
	out := v1.AgentNodeReport{Nodes: []v1.NodeReport{}}
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return out, fmt.Errorf("listing nodes: %w", err)
	}
	leases, err := c.CoordinationV1().Leases(corev1.NamespaceNodeLease).List(ctx, metav1.ListOptions{})
	if err != nil {
		return out, fmt.Errorf("listing node leases: %w", err)
	}
	renewed := map[string]metav1.MicroTime{}
	for _, l := range leases.Items {
		if l.Spec.RenewTime != nil {
			renewed[l.Name] = *l.Spec.RenewTime
		}
	}
	for _, n := range nodes.Items {
		r := v1.NodeReport{Name: n.Name, Machine: n.Labels[labelMachine], Pool: n.Labels[labelPool], Role: "worker",
			Unschedulable: n.Spec.Unschedulable, KubeletVersion: n.Status.NodeInfo.KubeletVersion,
			Conditions: []v1.NodeCondition{}, Capacity: quantities(n.Status.Capacity), Allocatable: quantities(n.Status.Allocatable)}
		if _, ok := n.Labels["node-role.kubernetes.io/control-plane"]; ok {
			r.Role = "control-plane"
		}
		for _, cond := range n.Status.Conditions {
			r.Conditions = append(r.Conditions, v1.NodeCondition{Type: string(cond.Type), Status: string(cond.Status),
				Reason: cond.Reason, Message: cond.Message})
			if cond.Type == corev1.NodeReady {
				r.Ready = cond.Status == corev1.ConditionTrue
			}
		}
		for _, t := range n.Spec.Taints {
			r.Taints = append(r.Taints, v1.Taint{Key: t.Key, Value: t.Value, Effect: string(t.Effect)})
		}
		if t, ok := renewed[n.Name]; ok {
			r.LeaseRenewTime = t.Time
		}
		out.Nodes = append(out.Nodes, r)
	}
	slices.SortFunc(out.Nodes, func(a, b v1.NodeReport) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func quantities(l corev1.ResourceList) map[string]string {
	out := make(map[string]string, len(l))
	for k, q := range l {
		out[string(k)] = q.String()
	}
	return out
}

// sendNodes sends the node report, in pages.
func (a *Agent) sendNodes(ctx context.Context) error {
	r, err := nodesReport(ctx, a.kube)
	if err != nil {
		return err
	}
	_, err = a.sendNodeReport(ctx, uid.New(), r.Nodes)
	return err
}

// sendNodeReport sends report id of these nodes, in pages; the status is a refused page's.
func (a *Agent) sendNodeReport(ctx context.Context, id string, nodes []v1.NodeReport) (int, error) {
	pages, err := nodePages(a.log, id, nodes)
	if err != nil {
		return 0, err
	}
	return a.sendPages(ctx, "/agent/nodes", pages)
}

// nodePages splits a node report into pages of at most v1.MaxAgentMessageBytes.
func nodePages(log *slog.Logger, id string, nodes []v1.NodeReport) (*pagedReport, error) {
	items, err := encodeItems(nodes)
	if err != nil {
		return nil, err
	}
	return paginate(log, "nodes", id, "nodes", v1.MaxAgentMessageBytes, items, func(pg v1.ReportPage) any { return pg })
}
