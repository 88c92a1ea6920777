package local_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/doctor"
	"github.com/easelhq/easel/internal/provider/local"
)

// Every node fault of local clusters is a finding of the doctor: fault in → the doctor names the
// node with the check that reads it as a problem, with a cause and a fix → fault out → that check
// is ok again. The faults run side by side, one node each, on one control plane. Some go in as a
// pool label does (EnsureMachine), the others as `kubectl label node` does.
func TestFaultsAreDoctorFindings(t *testing.T) {
	cp, c := startControlPlane(t, "faults")
	ctx := context.Background()

	faults := []struct {
		fault string
		// byHand: put in and taken out with a node label, as kubectl label node does; else as a
		// pool label (EnsureMachine).
		byHand bool
		checks []string // the checks that must find a problem
	}{
		{fault: "kubelet-down", byHand: true, checks: []string{"kubelet-status"}},
		{fault: "network-unavailable", byHand: true, checks: []string{"cni"}},
		{fault: "cni-not-ready", byHand: true, checks: []string{"cni"}},
		{fault: "no-lease", byHand: true, checks: []string{"node-lease"}},
		{fault: "clock-skew", checks: []string{"clock-skew"}},
		{fault: "missing-os-labels", byHand: true, checks: []string{"os-arch-labels", "daemonsets"}},
		{fault: "daemonset-blocked", checks: []string{"daemonsets"}},
		{fault: "pending-csr", checks: []string{"pending-csr"}},
	}
	machine := func(fault string) local.Machine {
		return local.Machine{Name: "w-" + fault, UID: "uid-" + fault, Pool: "workers", InstanceType: "small", Zone: "local-a",
			CPU: 2, MemoryGiB: 4, DiskGiB: 60}
	}
	for _, f := range faults {
		if _, err := cp.EnsureMachine(ctx, c, machine(f.fault)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 60*time.Second, "nodes Ready", func() error { return allReady(ctx, c, len(faults)) })
	kubeProxy(t, ctx, c)
	eventually(t, 60*time.Second, "kube-proxy Ready on every node", func() error { return daemonSetReady(ctx, c, "kube-proxy", len(faults)) })

	run := func() (map[string]v1.Finding, error) {
		findings, err := doctor.Run(ctx, c, v1.AgentDoctorRequest{}, time.Now())
		if err != nil {
			return nil, err
		}
		byKey := map[string]v1.Finding{}
		for _, f := range findings {
			byKey[f.Node+"/"+f.Check] = f
		}
		return byKey, nil
	}
	// expect waits until the checks of every fault's node have the status.
	expect := func(what, status string) {
		t.Helper()
		eventually(t, 90*time.Second, what, func() error {
			findings, err := run()
			if err != nil {
				return err
			}
			var errs []error
			for _, f := range faults {
				for _, check := range f.checks {
					got, found := findings[machine(f.fault).Name+"/"+check]
					switch {
					case !found:
						errs = append(errs, fmt.Errorf("fault %s: no %s finding", f.fault, check))
					case got.Status != status:
						errs = append(errs, fmt.Errorf("fault %s: %s is %s (%s), want %s", f.fault, check, got.Status, got.Evidence, status))
					case status == v1.FindingProblem && (got.Cause == "" || got.Fix == "" || got.Evidence == ""):
						errs = append(errs, fmt.Errorf("fault %s: %s has no evidence, cause or fix: %+v", f.fault, check, got))
					}
				}
			}
			return errors.Join(errs...)
		})
	}
	expect("every check ok before the faults", v1.FindingOK)

	// setFault puts a fault in (on) or takes it out of its node.
	setFault := func(fault string, byHand, on bool) {
		t.Helper()
		m := machine(fault)
		if byHand {
			value := "null"
			if on {
				value = `"` + fault + `"`
			}
			patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%s}}}`, local.LabelFault, value)
			if _, err := c.CoreV1().Nodes().Patch(ctx, m.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
			return
		}
		if on {
			m.Labels = map[string]string{local.LabelFault: fault}
		}
		if _, err := cp.EnsureMachine(ctx, c, m); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for _, f := range faults {
		setFault(f.fault, f.byHand, true)
	}
	expect("every fault found", v1.FindingProblem)
	t.Logf("faults found in %s", time.Since(start).Round(time.Second))

	findings, err := run()
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"w-pending-csr/pending-csr":          "kubectl certificate approve easel-fault-w-pending-csr",
		"w-missing-os-labels/os-arch-labels": "kubectl label node w-missing-os-labels kubernetes.io/os=linux kubernetes.io/arch=amd64",
		"w-daemonset-blocked/daemonsets":     "kubectl taint node w-daemonset-blocked easel.dev/fault:NoExecute-",
	} {
		if !strings.Contains(findings[key].Fix, want) {
			t.Errorf("%s fix = %q, want it to contain %q", key, findings[key].Fix, want)
		}
	}

	// The pending CSR's fix works: approved, it is issued, and the kubelet-certificate check reads
	// the certificate.
	csr, err := c.CertificatesV1().CertificateSigningRequests().Get(ctx, "easel-fault-w-pending-csr", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	csr.Status.Conditions = append(csr.Status.Conditions, certv1.CertificateSigningRequestCondition{Type: certv1.CertificateApproved,
		Status: corev1.ConditionTrue, Reason: "ByTest", Message: "kubectl certificate approve"})
	if _, err := c.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the approved CSR's certificate checked", func() error {
		findings, err := run()
		if err != nil {
			return err
		}
		pending, cert := findings["w-pending-csr/pending-csr"], findings["w-pending-csr/kubelet-certificate"]
		if pending.Status != v1.FindingOK || cert.Status != v1.FindingOK || !strings.Contains(cert.Evidence, "the serving certificate issued for CSR easel-fault-w-pending-csr expires") {
			return fmt.Errorf("pending-csr %+v, kubelet-certificate %+v", pending, cert)
		}
		return nil
	})

	start = time.Now()
	for _, f := range faults {
		setFault(f.fault, f.byHand, false)
	}
	expect("every check ok after the faults", v1.FindingOK)
	t.Logf("faults gone in %s", time.Since(start).Round(time.Second))
}

// kubeProxy creates a kube-proxy-like DaemonSet: Linux nodes only, tolerating what kube-proxy's
// manifest does for not-ready and unreachable nodes, but no other taint.
func kubeProxy(t testing.TB, ctx context.Context, c kubernetes.Interface) {
	t.Helper()
	labels := map[string]string{"k8s-app": "kube-proxy"}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-proxy", Namespace: "kube-system"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"kubernetes.io/os": "linux"},
					Tolerations: []corev1.Toleration{
						{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists},
						{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists},
					},
					Containers: []corev1.Container{{Name: "kube-proxy", Image: "registry.k8s.io/kube-proxy:v1.34.4"}},
				},
			},
		},
	}
	eventually(t, 30*time.Second, "kube-proxy created", func() error {
		_, err := c.AppsV1().DaemonSets("kube-system").Create(ctx, ds, metav1.CreateOptions{})
		return err
	})
}

func daemonSetReady(ctx context.Context, c kubernetes.Interface, name string, want int) error {
	pods, err := c.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=" + name})
	if err != nil {
		return err
	}
	var ready []string
	for _, p := range pods.Items {
		if slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
			return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
		}) {
			ready = append(ready, p.Spec.NodeName)
		}
	}
	if len(ready) != want {
		return fmt.Errorf("%s Ready on %v, want %d nodes", name, ready, want)
	}
	return nil
}
