// Package doctor runs the checks an engineer runs by hand when a node will not join or is
// NotReady (`easel doctor`), from the cluster's API server alone: the nodes, their Leases, the
// kube-system DaemonSets and their pods, the kubelets' certificate signing requests and the
// server's version. The agent calls Run for a doctor request and reports the findings to the hub;
// docs/troubleshooting.md lists the checks, and every non-ok finding can be reproduced on local
// clusters with a node fault.
package doctor

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	certv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/pager"

	v1 "github.com/easelhq/easel/api/v1"
)

// Check names, stable: scripts and the console filter on them. Findings of a node come in this
// order (checkOrder).
const (
	CheckNodeRegistered     = "node-registered"
	CheckKubeletStatus      = "kubelet-status"
	CheckNodeLease          = "node-lease"
	CheckClockSkew          = "clock-skew"
	CheckCNI                = "cni"
	CheckPressure           = "pressure"
	CheckTaints             = "taints"
	CheckCordoned           = "cordoned"
	CheckOSArchLabels       = "os-arch-labels"
	CheckDaemonSets         = "daemonsets"
	CheckPendingCSR         = "pending-csr"
	CheckKubeletCertificate = "kubelet-certificate"
	CheckKubeletVersion     = "kubelet-version"
)

var checkOrder = []string{CheckNodeRegistered, CheckKubeletStatus, CheckNodeLease, CheckClockSkew, CheckCNI,
	CheckPressure, CheckTaints, CheckCordoned, CheckOSArchLabels, CheckDaemonSets, CheckPendingCSR,
	CheckKubeletCertificate, CheckKubeletVersion}

// Thresholds of the checks.
const (
	// ClockSkewTolerance is how far ahead of the checker's clock a Lease's renewTime may be before
	// it counts as clock skew: request latency and NTP's usual drift stay well below it.
	ClockSkewTolerance = 10 * time.Second
	// CertificateWarning is how close to its expiry a kubelet's serving certificate is a warning.
	CertificateWarning = 30 * 24 * time.Hour
	// DefaultNodeTimeout is a machine's time to register its node when the request gives none (the
	// new-node timeout of node auto-remediation).
	DefaultNodeTimeout = 30 * time.Minute
	// defaultLeaseDuration is the kubelet's, for a Lease that does not say.
	defaultLeaseDuration = 40 * time.Second
	// maxSkewedMinors is how many minor versions a kubelet may be behind the API server (the
	// Kubernetes version skew policy since 1.28).
	maxSkewedMinors = 3
)

// Run checks the nodes the request names (every node when it names none) and the machines it
// lists, and returns one finding per node and check, ok ones included, sorted by node and then in
// the order of the checks; a machine whose node does not exist has a node-registered (and a
// pending-csr) finding under the machine's name.
//
// now is the caller's clock. The agent passes its own: the node-lease and clock-skew checks then
// measure the nodes' Lease times against the agent's clock, which stands for the API server's
// (both run on NTP-synchronised hosts; a skewed agent shows as every node skewed alike).
//
// It lists each kind once (paged), whatever the number of nodes. A list that fails makes the
// findings of the checks that need it warnings that say so; only when the nodes cannot be listed
// (the API server is unreachable) does Run return an error.
func Run(ctx context.Context, kube kubernetes.Interface, req v1.AgentDoctorRequest, now time.Time) ([]v1.Finding, error) {
	s, err := read(ctx, kube, now)
	if err != nil {
		return nil, err
	}
	asked := make(map[string]bool, len(req.Nodes))
	for _, name := range req.Nodes {
		asked[name] = true
	}
	wanted := func(name string) bool { return len(asked) == 0 || asked[name] }
	var out []v1.Finding
	seen := map[string]bool{}
	for i := range s.nodes {
		n := &s.nodes[i]
		if !wanted(n.Name) {
			continue
		}
		seen[n.Name] = true
		out = append(out, s.checkNode(n)...)
	}
	for _, m := range req.Machines {
		if seen[m.Name] || !wanted(m.Name) {
			continue
		}
		seen[m.Name] = true
		csr := s.pendingCSR(m.Name)
		csr.Node, csr.Check = m.Name, CheckPendingCSR
		out = append(out, s.machineWithoutNode(m), csr)
	}
	for _, name := range req.Nodes {
		if !seen[name] {
			seen[name] = true
			out = append(out, v1.Finding{Node: name, Check: CheckNodeRegistered, Status: v1.FindingProblem,
				Evidence: fmt.Sprintf("no Node named %s exists and easel made no machine of that name", name),
				Cause:    "no node of that name has registered, or the name is mistyped",
				Fix:      "kubectl get nodes"})
		}
	}
	rank := func(check string) int { return slices.Index(checkOrder, check) }
	slices.SortStableFunc(out, func(a, b v1.Finding) int {
		if c := strings.Compare(a.Node, b.Node); c != 0 {
			return c
		}
		return rank(a.Check) - rank(b.Check)
	})
	return out, nil
}

// snapshot is what the checks read, each kind listed once; an error stands for a list that failed.
type snapshot struct {
	now   time.Time
	nodes []corev1.Node

	leases   map[string]*coordinationv1.Lease
	leaseErr error

	daemonSets []daemonSet
	// dsPods is each DaemonSet's pod on each node: DaemonSet uid → node → pod.
	dsPods map[string]map[string]*corev1.Pod
	dsErr  error

	csrs   map[string][]kubeletCSR // by node name
	csrErr error

	server    *version.Info
	serverErr error
}

// read lists what the checks need, the kinds in parallel.
func read(ctx context.Context, kube kubernetes.Interface, now time.Time) (*snapshot, error) {
	s := &snapshot{now: now}
	var nodesErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		nodesErr = each(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return kube.CoreV1().Nodes().List(ctx, o)
		}, func(n *corev1.Node) { s.nodes = append(s.nodes, *n) })
		if nodesErr != nil {
			nodesErr = fmt.Errorf("listing nodes: %w", nodesErr)
		}
	})
	wg.Go(func() {
		leases := map[string]*coordinationv1.Lease{}
		s.leaseErr = each(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return kube.CoordinationV1().Leases(corev1.NamespaceNodeLease).List(ctx, o)
		}, func(l *coordinationv1.Lease) { leases[l.Name] = l })
		s.leases = leases
		if s.leaseErr != nil {
			s.leaseErr = fmt.Errorf("listing the Leases of %s: %w", corev1.NamespaceNodeLease, s.leaseErr)
		}
	})
	wg.Go(func() { s.daemonSets, s.dsPods, s.dsErr = readDaemonSets(ctx, kube) })
	wg.Go(func() {
		csrs := map[string][]kubeletCSR{}
		s.csrErr = each(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return kube.CertificatesV1().CertificateSigningRequests().List(ctx, o)
		}, func(c *certv1.CertificateSigningRequest) {
			if k, ok := parseKubeletCSR(c); ok {
				csrs[k.node] = append(csrs[k.node], k)
			}
		})
		s.csrs = csrs
		if s.csrErr != nil {
			s.csrErr = fmt.Errorf("listing certificate signing requests: %w", s.csrErr)
		}
	})
	wg.Go(func() {
		s.server, s.serverErr = kube.Discovery().ServerVersion()
		if s.serverErr != nil {
			s.serverErr = fmt.Errorf("reading the API server's version: %w", s.serverErr)
		}
	})
	wg.Wait()
	if nodesErr != nil {
		return nil, nodesErr
	}
	return s, nil
}

// each lists a kind page by page (500 objects a page, client-go's pager) and calls fn for each.
func each[T runtime.Object](ctx context.Context, list func(context.Context, metav1.ListOptions) (runtime.Object, error), fn func(T)) error {
	p := pager.New(pager.SimplePageFunc(func(o metav1.ListOptions) (runtime.Object, error) { return list(ctx, o) }))
	return p.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		fn(obj.(T))
		return nil
	})
}

// readDaemonSets lists kube-system's DaemonSets and their pods, indexed by DaemonSet and node.
func readDaemonSets(ctx context.Context, kube kubernetes.Interface) ([]daemonSet, map[string]map[string]*corev1.Pod, error) {
	var sets []daemonSet
	err := each(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return kube.AppsV1().DaemonSets(metav1.NamespaceSystem).List(ctx, o)
	}, func(ds *appsv1.DaemonSet) { sets = append(sets, newDaemonSet(ds)) })
	if err != nil {
		return nil, nil, fmt.Errorf("listing the DaemonSets of kube-system: %w", err)
	}
	slices.SortFunc(sets, func(a, b daemonSet) int { return strings.Compare(a.name, b.name) })
	pods := map[string]map[string]*corev1.Pod{}
	err = each(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return kube.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, o)
	}, func(p *corev1.Pod) {
		owner := metav1.GetControllerOf(p)
		if owner == nil || owner.Kind != "DaemonSet" {
			return
		}
		node := podNode(p)
		if node == "" {
			return
		}
		byNode := pods[string(owner.UID)]
		if byNode == nil {
			byNode = map[string]*corev1.Pod{}
			pods[string(owner.UID)] = byNode
		}
		// A pod on its way out yields to its replacement.
		if old := byNode[node]; old == nil || old.DeletionTimestamp != nil {
			byNode[node] = p
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("listing the pods of kube-system: %w", err)
	}
	return sets, pods, nil
}

// podNode is the node a DaemonSet pod is for: where it is bound, or, while it is Pending, the node
// its required node affinity names (the DaemonSet controller pins each pod to its node that way).
func podNode(p *corev1.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range term.MatchFields {
			if f.Key == "metadata.name" && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

// checkNode runs every check of a node that exists.
func (s *snapshot) checkNode(n *corev1.Node) []v1.Finding {
	out := []v1.Finding{
		ok("registered " + n.CreationTimestamp.UTC().Format(time.RFC3339)),
		s.kubeletStatus(n), s.nodeLease(n), s.clockSkew(n), cni(n), pressure(n), taints(n), cordoned(n),
		osArchLabels(n), s.daemonSetPods(n), s.pendingCSR(n.Name), s.kubeletCertificate(n.Name), s.kubeletVersion(n),
	}
	for i := range out {
		out[i].Node, out[i].Check = n.Name, checkOrder[i]
	}
	return out
}

// machineWithoutNode is the node-registered finding of a machine easel made whose node is not
// there: a problem past the machine's timeout, a warning before.
func (s *snapshot) machineWithoutNode(m v1.DoctorMachine) v1.Finding {
	timeout := time.Duration(m.NodeTimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = DefaultNodeTimeout
	}
	age := s.now.Sub(m.CreatedAt).Truncate(time.Second)
	f := v1.Finding{Node: m.Name, Check: CheckNodeRegistered,
		Evidence: fmt.Sprintf("no Node named %s; machine of pool %s created %s (%s ago), node timeout %s",
			m.Name, m.Pool, m.CreatedAt.UTC().Format(time.RFC3339), age, timeout),
		Fix: "on the machine: systemctl status kubelet; journalctl -u kubelet (can it reach the API server? " +
			"has it a bootstrap token?); kubectl get csr (a pending client CSR waits for approval)"}
	if left := timeout - age; left > 0 {
		f.Status = v1.FindingWarning
		f.Cause = fmt.Sprintf("the machine's kubelet has not registered its node yet, %d s left before the node timeout", int(left.Seconds()))
		return f
	}
	f.Status = v1.FindingProblem
	f.Cause = "the machine's kubelet never registered its node: it did not start, cannot reach the API server, or has no client certificate"
	return f
}

func ok(evidence string) v1.Finding { return v1.Finding{Status: v1.FindingOK, Evidence: evidence} }

// listFailed is the finding of a check whose read failed: it could not look.
func listFailed(err error) v1.Finding {
	return v1.Finding{Status: v1.FindingWarning, Evidence: err.Error(),
		Cause: "not checked: the API server did not answer what this check reads",
		Fix:   "run the doctor again; if it persists, check the agent's permissions and the API server's health"}
}

func condition(n *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == t {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

func describe(c *corev1.NodeCondition) string {
	return fmt.Sprintf("%s=%s reason %s: %q (last heartbeat %s)", c.Type, c.Status, c.Reason, c.Message,
		c.LastHeartbeatTime.UTC().Format(time.RFC3339))
}

// kubeletStatus: whether the kubelet posts the node's status, and what Ready says.
func (s *snapshot) kubeletStatus(n *corev1.Node) v1.Finding {
	fix := fmt.Sprintf("kubectl describe node %s; on the node: systemctl status kubelet; journalctl -u kubelet", n.Name)
	ready := condition(n, corev1.NodeReady)
	switch {
	case ready == nil:
		return v1.Finding{Status: v1.FindingProblem, Evidence: "the node has no Ready condition",
			Cause: "the kubelet has never posted the node's status", Fix: fix}
	case ready.Status == corev1.ConditionUnknown && ready.Reason == "NodeStatusNeverUpdated":
		return v1.Finding{Status: v1.FindingProblem, Evidence: describe(ready),
			Cause: "the kubelet registered the node but never posted its status: it stopped right after, or cannot reach the API server", Fix: fix}
	case ready.Status == corev1.ConditionUnknown:
		return v1.Finding{Status: v1.FindingProblem, Evidence: describe(ready),
			Cause: "the kubelet stopped posting the node's status: it is down, the node is off, or it cannot reach the API server", Fix: fix}
	case ready.Status == corev1.ConditionFalse:
		cause := "the kubelet reports the node NotReady (" + ready.Reason + ")"
		if networkNotReady(ready.Message) {
			cause = "the kubelet reports the node NotReady because the container network is not ready (see the cni check)"
		}
		return v1.Finding{Status: v1.FindingProblem, Evidence: describe(ready), Cause: cause, Fix: fix}
	}
	return ok(describe(ready))
}

// networkNotReady reports whether a Ready condition's message says the container network is not
// ready (the kubelet's words when the CNI plugin has not written its configuration).
func networkNotReady(message string) bool {
	m := strings.ToLower(message)
	return strings.Contains(m, "networkpluginnotready") || strings.Contains(m, "network not ready") ||
		strings.Contains(m, "cni plugin not initialized")
}

func leaseFix(node string) string {
	return fmt.Sprintf("kubectl -n %s get lease %s -o yaml; on the node: systemctl status kubelet; journalctl -u kubelet",
		corev1.NamespaceNodeLease, node)
}

// nodeLease: the kubelet's Lease exists and was renewed within its duration.
func (s *snapshot) nodeLease(n *corev1.Node) v1.Finding {
	if s.leaseErr != nil {
		return listFailed(s.leaseErr)
	}
	l := s.leases[n.Name]
	if l == nil {
		return v1.Finding{Status: v1.FindingProblem, Evidence: fmt.Sprintf("no Lease %s/%s", corev1.NamespaceNodeLease, n.Name),
			Cause: "the kubelet has not created its node Lease: it is not running, cannot reach the API server, or may not write its Lease; " +
				"the node controller then marks the node unreachable",
			Fix: leaseFix(n.Name)}
	}
	if l.Spec.RenewTime == nil {
		return v1.Finding{Status: v1.FindingProblem, Evidence: fmt.Sprintf("Lease %s/%s has no renewTime", l.Namespace, l.Name),
			Cause: "the kubelet never renewed its node Lease", Fix: leaseFix(n.Name)}
	}
	duration := defaultLeaseDuration
	if l.Spec.LeaseDurationSeconds != nil {
		duration = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	renewed := l.Spec.RenewTime.Time
	age := s.now.Sub(renewed).Truncate(time.Second)
	evidence := fmt.Sprintf("Lease %s/%s renewTime %s (%s ago), leaseDurationSeconds %d, holder %s", l.Namespace, l.Name,
		renewed.UTC().Format(time.RFC3339), age, int(duration.Seconds()), holder(l))
	if age > duration {
		return v1.Finding{Status: v1.FindingProblem, Evidence: evidence,
			Cause: fmt.Sprintf("the kubelet stopped renewing its node Lease %s ago: it is down or cannot reach the API server; "+
				"the node controller marks the node unreachable", age),
			Fix: leaseFix(n.Name)}
	}
	return ok(evidence)
}

func holder(l *coordinationv1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return "none"
	}
	return *l.Spec.HolderIdentity
}

// clockSkew: the node's Lease was not renewed in the future of the checker's clock.
func (s *snapshot) clockSkew(n *corev1.Node) v1.Finding {
	if s.leaseErr != nil {
		return listFailed(s.leaseErr)
	}
	l := s.leases[n.Name]
	if l == nil || l.Spec.RenewTime == nil {
		return ok("not checked: the node has no renewed Lease (see the node-lease check)")
	}
	ahead := l.Spec.RenewTime.Sub(s.now).Truncate(time.Second)
	evidence := fmt.Sprintf("Lease %s/%s renewTime %s, the checker's clock %s", l.Namespace, l.Name,
		l.Spec.RenewTime.UTC().Format(time.RFC3339), s.now.UTC().Format(time.RFC3339))
	if ahead > ClockSkewTolerance {
		return v1.Finding{Status: v1.FindingProblem, Evidence: evidence + fmt.Sprintf(": %s ahead", ahead),
			Cause: "the node's clock is ahead of the cluster's: certificates and tokens look not yet valid to others, " +
				"and Lease and heartbeat times are misjudged",
			Fix: "on the node: timedatectl status; chronyc tracking; turn time synchronisation on: timedatectl set-ntp true"}
	}
	return ok(evidence)
}

// cni: the container network is initialised (no NetworkPluginNotReady, NetworkUnavailable not
// True).
func cni(n *corev1.Node) v1.Finding {
	var evidence, causes []string
	if r := condition(n, corev1.NodeReady); r != nil && r.Status == corev1.ConditionFalse && networkNotReady(r.Message) {
		evidence = append(evidence, describe(r))
		causes = append(causes, "the CNI plugin has not initialised the node's container network (no configuration in /etc/cni/net.d yet): pods cannot start")
	}
	if c := condition(n, corev1.NodeNetworkUnavailable); c != nil && c.Status == corev1.ConditionTrue {
		evidence = append(evidence, describe(c))
		causes = append(causes, "the node's network (its pod routes) is not configured")
	}
	if len(evidence) == 0 {
		return ok("the kubelet reports the container network ready")
	}
	return v1.Finding{Status: v1.FindingProblem, Evidence: strings.Join(evidence, "; "), Cause: strings.Join(causes, "; "),
		Fix: fmt.Sprintf("kubectl -n kube-system get pods -o wide --field-selector spec.nodeName=%s (is the CNI's pod Running? see the daemonsets check); "+
			"on the node: ls /etc/cni/net.d; journalctl -u kubelet | grep -i cni", n.Name)}
}

// pressure: no Memory, Disk or PID pressure.
func pressure(n *corev1.Node) v1.Finding {
	var evidence []string
	for _, t := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
		if c := condition(n, t); c != nil && c.Status == corev1.ConditionTrue {
			evidence = append(evidence, describe(c))
		}
	}
	if len(evidence) == 0 {
		return ok("no memory, disk or PID pressure")
	}
	return v1.Finding{Status: v1.FindingProblem, Evidence: strings.Join(evidence, "; "),
		Cause: "the kubelet is short of memory, disk or process IDs: it evicts pods and the node is tainted against new ones",
		Fix: fmt.Sprintf("kubectl describe node %s; kubectl top pods -A --sort-by=memory; on the node: df -h /var/lib; "+
			"crictl rmi --prune (unused images)", n.Name)}
}

// taintCauses say what each of the well-known taints that keep workloads off a node means, and
// what to do about it.
var taintCauses = map[string]struct{ cause, fix string }{
	"node.kubernetes.io/not-ready":                   {"the node controller marks the node not ready", "see the kubelet-status check; the node controller removes the taint once the node is Ready"},
	"node.kubernetes.io/unreachable":                 {"the node controller lost contact with the kubelet", "see the kubelet-status and node-lease checks; the node controller removes the taint once the kubelet reports again"},
	"node.kubernetes.io/memory-pressure":             {"the kubelet reports memory pressure", "see the pressure check"},
	"node.kubernetes.io/disk-pressure":               {"the kubelet reports disk pressure", "see the pressure check"},
	"node.kubernetes.io/pid-pressure":                {"the kubelet reports PID pressure", "see the pressure check"},
	"node.kubernetes.io/network-unavailable":         {"the node's network is not configured", "see the cni check"},
	"node.kubernetes.io/unschedulable":               {"the node is cordoned", "kubectl uncordon NODE"},
	"node.cloudprovider.kubernetes.io/uninitialized": {"the cloud controller manager has not initialised the node", "kubectl -n kube-system get pods | grep cloud-controller; read its logs"},
	"node.kubernetes.io/out-of-service":              {"the node is marked out of service (non-graceful shutdown): its pods were deleted", "once the node is back: kubectl taint node NODE node.kubernetes.io/out-of-service-"},
}

// taints: none of the well-known taints that keep workloads off the node. Cordoning is only a
// warning: it is deliberate.
func taints(n *corev1.Node) v1.Finding {
	f := ok("no taint that keeps workloads off")
	var evidence, causes, fixes []string
	for _, t := range n.Spec.Taints {
		tc, known := taintCauses[t.Key]
		if !known {
			continue
		}
		evidence = append(evidence, taintString(t))
		// A key tainted with two effects (not-ready: NoSchedule and NoExecute) is one cause.
		if fix := strings.ReplaceAll(tc.fix, "NODE", n.Name); !slices.Contains(causes, tc.cause) {
			causes, fixes = append(causes, tc.cause), append(fixes, fix)
		}
		status := v1.FindingProblem
		if t.Key == corev1.TaintNodeUnschedulable {
			status = v1.FindingWarning
		}
		if f.Status != v1.FindingProblem {
			f.Status = status
		}
	}
	if len(evidence) > 0 {
		f.Evidence = "taints " + strings.Join(evidence, ", ")
		f.Cause = strings.Join(causes, "; ")
		f.Fix = strings.Join(fixes, "; ")
	}
	return f
}

func taintString(t corev1.Taint) string {
	if t.Value == "" {
		return t.Key + ":" + string(t.Effect)
	}
	return t.Key + "=" + t.Value + ":" + string(t.Effect)
}

// cordoned: the node takes new pods.
func cordoned(n *corev1.Node) v1.Finding {
	if !n.Spec.Unschedulable {
		return ok("schedulable")
	}
	return v1.Finding{Status: v1.FindingWarning, Evidence: "spec.unschedulable is true",
		Cause: "the node is cordoned: no new pods are scheduled to it (maintenance mode, a drain, or by hand)",
		Fix:   "kubectl uncordon " + n.Name}
}

// osArchLabels: the kubernetes.io/os and kubernetes.io/arch labels the kubelet sets.
func osArchLabels(n *corev1.Node) v1.Finding {
	want := map[string]string{corev1.LabelOSStable: n.Status.NodeInfo.OperatingSystem, corev1.LabelArchStable: n.Status.NodeInfo.Architecture}
	var missing, set, have []string
	for _, key := range []string{corev1.LabelOSStable, corev1.LabelArchStable} {
		if v, ok := n.Labels[key]; ok {
			have = append(have, key+"="+v)
			continue
		}
		value := want[key]
		if value == "" {
			value = map[string]string{corev1.LabelOSStable: "linux", corev1.LabelArchStable: "amd64"}[key]
		}
		missing = append(missing, key)
		set = append(set, key+"="+value)
	}
	if len(missing) == 0 {
		return ok("labels " + strings.Join(have, ", "))
	}
	return v1.Finding{Status: v1.FindingProblem, Evidence: "the node has no label " + strings.Join(missing, " or "),
		Cause: "the kubelet sets these labels when it registers; without them DaemonSets and pods that select the OS or architecture " +
			"(kube-proxy, the CNI) are not placed on the node",
		Fix: "kubectl label node " + n.Name + " " + strings.Join(set, " ") + " (the values of the node's status.nodeInfo)"}
}

// kubeletVersion: the kubelet is not newer than the API server nor more than three minors older.
func (s *snapshot) kubeletVersion(n *corev1.Node) v1.Finding {
	if s.serverErr != nil {
		return listFailed(s.serverErr)
	}
	kv := n.Status.NodeInfo.KubeletVersion
	server, err := utilversion.ParseGeneric(s.server.GitVersion)
	if err != nil {
		return v1.Finding{Status: v1.FindingWarning, Evidence: fmt.Sprintf("the API server's version %q: %v", s.server.GitVersion, err),
			Cause: "not checked: the API server's version cannot be read"}
	}
	kubelet, err := utilversion.ParseGeneric(kv)
	if err != nil {
		return v1.Finding{Status: v1.FindingWarning, Evidence: fmt.Sprintf("status.nodeInfo.kubeletVersion %q: %v", kv, err),
			Cause: "the kubelet reports no version that can be read", Fix: "kubectl get node " + n.Name + " -o jsonpath='{.status.nodeInfo}'"}
	}
	evidence := fmt.Sprintf("kubelet %s, API server %s", kv, s.server.GitVersion)
	fix := fmt.Sprintf("run kubelet v%d.%d on the node (repave it with the cluster's Kubernetes layer)", server.Major(), server.Minor())
	switch {
	case kubelet.Major() != server.Major() || kubelet.Minor() > server.Minor():
		return v1.Finding{Status: v1.FindingProblem, Evidence: evidence,
			Cause: "the kubelet is newer than the API server, which the version skew policy does not allow", Fix: fix}
	case server.Minor()-kubelet.Minor() > maxSkewedMinors:
		return v1.Finding{Status: v1.FindingProblem, Evidence: evidence,
			Cause: fmt.Sprintf("the kubelet is %d minor versions older than the API server; at most %d are supported",
				server.Minor()-kubelet.Minor(), maxSkewedMinors), Fix: fix}
	}
	return ok(evidence)
}
