package doctor_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	certv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/doctor"
)

var now = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// cluster is what the fake API server holds: by default one healthy node n1 with its Lease, and
// kube-proxy (nodeSelector kubernetes.io/os=linux) with a Ready pod on it.
type cluster struct {
	node    *corev1.Node
	lease   *coordinationv1.Lease
	ds      *appsv1.DaemonSet
	pod     *corev1.Pod
	csrs    []*certv1.CertificateSigningRequest
	server  string
	machine []v1.DoctorMachine
	nodes   []string
}

func healthy() *cluster {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour)),
			Labels: map[string]string{"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": "n1"}},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status",
					LastHeartbeatTime: metav1.NewTime(now.Add(-10 * time.Second))},
				{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory"},
				{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure"},
				{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID"},
				{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionFalse, Reason: "RouteCreated"},
			},
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.34.4", OperatingSystem: "linux", Architecture: "arm64"},
		},
	}
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", Namespace: "kube-node-lease"},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: new("n1"), LeaseDurationSeconds: new(int32(40)),
			RenewTime: new(metav1.NewMicroTime(now.Add(-5 * time.Second)))},
	}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-proxy", Namespace: "kube-system", UID: "ds-uid"},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			NodeSelector: map[string]string{"kubernetes.io/os": "linux"},
			Tolerations:  []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists}},
			Containers:   []corev1.Container{{Name: "kube-proxy", Image: "kube-proxy"}},
		}}},
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-proxy-abcde", Namespace: "kube-system",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "kube-proxy", UID: "ds-uid", Controller: new(true)}}},
		Spec: corev1.PodSpec{NodeName: "n1"},
		Status: corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
	return &cluster{node: node, lease: lease, ds: ds, pod: pod, server: "v1.34.4"}
}

func (c *cluster) client() *fake.Clientset {
	var objs []runtime.Object
	for _, o := range []runtime.Object{c.node, c.lease, c.ds, c.pod} {
		if !isNil(o) {
			objs = append(objs, o)
		}
	}
	for _, csr := range c.csrs {
		objs = append(objs, csr)
	}
	kube := fake.NewClientset(objs...)
	kube.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: c.server}
	return kube
}

func isNil(o runtime.Object) bool {
	switch o := o.(type) {
	case *corev1.Node:
		return o == nil
	case *coordinationv1.Lease:
		return o == nil
	case *appsv1.DaemonSet:
		return o == nil
	case *corev1.Pod:
		return o == nil
	}
	return false
}

func (c *cluster) run(t *testing.T) []v1.Finding {
	t.Helper()
	findings, err := doctor.Run(context.Background(), c.client(), v1.AgentDoctorRequest{Nodes: c.nodes, Machines: c.machine}, now)
	if err != nil {
		t.Fatal(err)
	}
	return findings
}

func find(findings []v1.Finding, node, check string) (v1.Finding, bool) {
	i := slices.IndexFunc(findings, func(f v1.Finding) bool { return f.Node == node && f.Check == check })
	if i < 0 {
		return v1.Finding{}, false
	}
	return findings[i], true
}

func setCondition(n *corev1.Node, c corev1.NodeCondition) {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == c.Type {
			n.Status.Conditions[i] = c
			return
		}
	}
	n.Status.Conditions = append(n.Status.Conditions, c)
}

// csr makes a kubelet CSR for node n1 as user, signed (with a certificate expiring at notAfter)
// when notAfter is set.
func csr(t *testing.T, name, signer, user string, approved bool, notAfter time.Time) *certv1.CertificateSigningRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	subject := pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		t.Fatal(err)
	}
	c := &certv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(now.Add(-time.Minute))},
		Spec: certv1.CertificateSigningRequestSpec{SignerName: signer, Username: user,
			Request: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})},
	}
	if approved {
		c.Status.Conditions = []certv1.CertificateSigningRequestCondition{{Type: certv1.CertificateApproved, Status: corev1.ConditionTrue}}
	}
	if !notAfter.IsZero() {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: subject, NotBefore: now.Add(-time.Hour), NotAfter: notAfter}
		cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		c.Status.Certificate = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert})
	}
	return c
}

// A healthy node is ok in every check, and its findings come in the order of the checks.
func TestHealthyNode(t *testing.T) {
	findings := healthy().run(t)
	var checks []string
	for _, f := range findings {
		checks = append(checks, f.Check)
		if f.Node != "n1" || f.Status != v1.FindingOK {
			t.Errorf("%s/%s = %s (%s; %s), want ok", f.Node, f.Check, f.Status, f.Evidence, f.Cause)
		}
	}
	want := []string{"node-registered", "kubelet-status", "node-lease", "clock-skew", "cni", "pressure", "taints", "cordoned",
		"os-arch-labels", "daemonsets", "pending-csr", "kubelet-certificate", "kubelet-version"}
	if !slices.Equal(checks, want) {
		t.Fatalf("checks = %v, want %v", checks, want)
	}
}

func TestChecks(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, c *cluster)
		node   string // n1 when empty
		check  string
		status string
		// evidence and fix are substrings the finding's must contain.
		evidence, fix string
	}{
		{name: "kubelet never posted status", check: "kubelet-status", status: "problem", evidence: "NodeStatusNeverUpdated",
			fix: "journalctl -u kubelet", change: func(t *testing.T, c *cluster) {
				setCondition(c.node, corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown,
					Reason: "NodeStatusNeverUpdated", Message: "Kubelet never posted node status."})
			}},
		{name: "kubelet stopped posting status", check: "kubelet-status", status: "problem", evidence: "NodeStatusUnknown",
			change: func(t *testing.T, c *cluster) {
				setCondition(c.node, corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown,
					Reason: "NodeStatusUnknown", Message: "Kubelet stopped posting node status."})
			}},
		{name: "no Ready condition", check: "kubelet-status", status: "problem", evidence: "no Ready condition",
			change: func(t *testing.T, c *cluster) { c.node.Status.Conditions = nil }},
		{name: "lease missing", check: "node-lease", status: "problem", evidence: "no Lease kube-node-lease/n1",
			fix: "kubectl -n kube-node-lease get lease n1", change: func(t *testing.T, c *cluster) { c.lease = nil }},
		{name: "lease stale", check: "node-lease", status: "problem", evidence: "(2m0s ago), leaseDurationSeconds 40",
			change: func(t *testing.T, c *cluster) {
				c.lease.Spec.RenewTime = new(metav1.NewMicroTime(now.Add(-2 * time.Minute)))
			}},
		{name: "lease within its duration", check: "node-lease", status: "ok",
			change: func(t *testing.T, c *cluster) {
				c.lease.Spec.RenewTime = new(metav1.NewMicroTime(now.Add(-39 * time.Second)))
			}},
		{name: "clock skew", check: "clock-skew", status: "problem", evidence: "1h0m0s ahead", fix: "timedatectl set-ntp true",
			change: func(t *testing.T, c *cluster) { c.lease.Spec.RenewTime = new(metav1.NewMicroTime(now.Add(time.Hour))) }},
		{name: "a few seconds ahead is no skew", check: "clock-skew", status: "ok",
			change: func(t *testing.T, c *cluster) {
				c.lease.Spec.RenewTime = new(metav1.NewMicroTime(now.Add(3 * time.Second)))
			}},
		{name: "cni not initialised", check: "cni", status: "problem", evidence: "cni plugin not initialized",
			fix: "ls /etc/cni/net.d", change: func(t *testing.T, c *cluster) {
				setCondition(c.node, corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "KubeletNotReady",
					Message: "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"})
			}},
		{name: "cni not initialised makes the node NotReady", check: "kubelet-status", status: "problem", evidence: "KubeletNotReady",
			change: func(t *testing.T, c *cluster) {
				setCondition(c.node, corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "KubeletNotReady",
					Message: "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady"})
			}},
		{name: "network unavailable", check: "cni", status: "problem", evidence: "NetworkUnavailable=True reason NoRouteCreated",
			change: func(t *testing.T, c *cluster) {
				setCondition(c.node, corev1.NodeCondition{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionTrue, Reason: "NoRouteCreated"})
			}},
		{name: "disk pressure", check: "pressure", status: "problem", evidence: "DiskPressure=True",
			change: func(t *testing.T, c *cluster) {
				setCondition(c.node, corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue, Reason: "KubeletHasDiskPressure"})
			}},
		{name: "uninitialized taint", check: "taints", status: "problem", evidence: "node.cloudprovider.kubernetes.io/uninitialized=true:NoSchedule",
			fix: "cloud-controller", change: func(t *testing.T, c *cluster) {
				c.node.Spec.Taints = []corev1.Taint{{Key: "node.cloudprovider.kubernetes.io/uninitialized", Value: "true", Effect: corev1.TaintEffectNoSchedule}}
			}},
		{name: "out-of-service taint", check: "taints", status: "problem", fix: "kubectl taint node n1 node.kubernetes.io/out-of-service-",
			change: func(t *testing.T, c *cluster) {
				c.node.Spec.Taints = []corev1.Taint{{Key: "node.kubernetes.io/out-of-service", Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute}}
			}},
		{name: "unschedulable taint is a warning", check: "taints", status: "warning", fix: "kubectl uncordon n1",
			change: func(t *testing.T, c *cluster) {
				c.node.Spec.Taints = []corev1.Taint{{Key: "node.kubernetes.io/unschedulable", Effect: corev1.TaintEffectNoSchedule}}
			}},
		{name: "an unknown taint is not this check's", check: "taints", status: "ok",
			change: func(t *testing.T, c *cluster) {
				c.node.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}
			}},
		{name: "cordoned", check: "cordoned", status: "warning", evidence: "spec.unschedulable", fix: "kubectl uncordon n1",
			change: func(t *testing.T, c *cluster) { c.node.Spec.Unschedulable = true }},
		{name: "os and arch labels missing", check: "os-arch-labels", status: "problem", evidence: "kubernetes.io/os or kubernetes.io/arch",
			fix: "kubectl label node n1 kubernetes.io/os=linux kubernetes.io/arch=arm64", change: func(t *testing.T, c *cluster) {
				delete(c.node.Labels, "kubernetes.io/os")
				delete(c.node.Labels, "kubernetes.io/arch")
			}},
		{name: "daemonset without pod: node lacks its os label", check: "daemonsets", status: "problem",
			evidence: "DaemonSet kube-proxy has no pod on the node: its node selector needs kubernetes.io/os", fix: "os-arch-labels",
			change: func(t *testing.T, c *cluster) {
				delete(c.node.Labels, "kubernetes.io/os")
				c.pod = nil
			}},
		{name: "daemonset without pod: untolerated taint", check: "daemonsets", status: "problem",
			evidence: "does not tolerate the taint example.com/blocked=yes:NoSchedule", fix: "kubectl taint node n1 example.com/blocked:NoSchedule-",
			change: func(t *testing.T, c *cluster) {
				c.node.Spec.Taints = []corev1.Taint{{Key: "example.com/blocked", Value: "yes", Effect: corev1.TaintEffectNoSchedule}}
				c.pod = nil
			}},
		{name: "daemonset without pod on a node that fits", check: "daemonsets", status: "problem", evidence: "although the node fits it",
			fix: "kubectl -n kube-system describe daemonset kube-proxy", change: func(t *testing.T, c *cluster) { c.pod = nil }},
		{name: "daemonset pod pending", check: "daemonsets", status: "problem", evidence: `Unschedulable: "0/1 nodes are available: 1 Too many pods."`,
			fix: "kubectl -n kube-system describe pod kube-proxy-abcde", change: func(t *testing.T, c *cluster) {
				c.pod.Spec.NodeName = ""
				c.pod.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
					NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}}}}}}}
				c.pod.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled,
					Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available: 1 Too many pods."}}}
			}},
		{name: "daemonset pod not ready", check: "daemonsets", status: "problem", evidence: "pod kube-proxy-abcde of DaemonSet kube-proxy is Running and not Ready",
			fix: "kubectl -n kube-system logs kube-proxy-abcde", change: func(t *testing.T, c *cluster) {
				c.pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
			}},
		{name: "daemonset for other nodes", check: "daemonsets", status: "ok", evidence: "1 are not meant for it",
			change: func(t *testing.T, c *cluster) {
				c.ds.Spec.Template.Spec.NodeSelector = map[string]string{"gpu": "true"}
				c.pod = nil
			}},
		{name: "daemonset kept off the control plane by design", check: "daemonsets", status: "ok",
			change: func(t *testing.T, c *cluster) {
				c.node.Spec.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}
				c.pod = nil
			}},
		{name: "cordoned node still takes daemonset pods", check: "daemonsets", status: "problem", evidence: "although the node fits it",
			change: func(t *testing.T, c *cluster) {
				c.node.Spec.Taints = []corev1.Taint{{Key: "node.kubernetes.io/unschedulable", Effect: corev1.TaintEffectNoSchedule}}
				c.pod = nil
			}},
		{name: "pending client csr of a bootstrapping kubelet", check: "pending-csr", status: "problem",
			evidence: "CSR csr-abc (signer kubernetes.io/kube-apiserver-client-kubelet, requested by system:bootstrap:abcdef",
			fix:      "kubectl certificate approve csr-abc", change: func(t *testing.T, c *cluster) {
				c.csrs = append(c.csrs, csr(t, "csr-abc", certv1.KubeAPIServerClientKubeletSignerName, "system:bootstrap:abcdef", false, time.Time{}))
			}},
		{name: "pending serving csr", check: "pending-csr", status: "problem", evidence: "CSR csr-srv (signer kubernetes.io/kubelet-serving",
			fix: "kubectl certificate approve csr-srv", change: func(t *testing.T, c *cluster) {
				c.csrs = append(c.csrs, csr(t, "csr-srv", certv1.KubeletServingSignerName, "system:node:n1", false, time.Time{}))
			}},
		{name: "approved csr", check: "pending-csr", status: "ok", change: func(t *testing.T, c *cluster) {
			c.csrs = append(c.csrs, csr(t, "csr-abc", certv1.KubeAPIServerClientKubeletSignerName, "system:node:n1", true, time.Time{}))
		}},
		{name: "serving certificate expires soon", check: "kubelet-certificate", status: "warning", evidence: "CSR csr-srv expires 2026-12-12T12:00:00Z",
			change: func(t *testing.T, c *cluster) {
				c.csrs = append(c.csrs, csr(t, "csr-srv", certv1.KubeletServingSignerName, "system:node:n1", true, now.Add(10*24*time.Hour)))
			}},
		{name: "serving certificate expired", check: "kubelet-certificate", status: "problem", evidence: "(expired)",
			change: func(t *testing.T, c *cluster) {
				c.csrs = append(c.csrs, csr(t, "csr-srv", certv1.KubeletServingSignerName, "system:node:n1", true, now.Add(-time.Hour)))
			}},
		{name: "serving certificate valid for long", check: "kubelet-certificate", status: "ok", evidence: "expires 2027",
			change: func(t *testing.T, c *cluster) {
				c.csrs = append(c.csrs, csr(t, "csr-srv", certv1.KubeletServingSignerName, "system:node:n1", true, now.Add(365*24*time.Hour)))
			}},
		{name: "no certificate visible", check: "kubelet-certificate", status: "ok", evidence: "not checked", change: func(*testing.T, *cluster) {}},
		{name: "kubelet newer than the API server", check: "kubelet-version", status: "problem", evidence: "kubelet v1.35.0, API server v1.34.4",
			fix: "run kubelet v1.34", change: func(t *testing.T, c *cluster) { c.node.Status.NodeInfo.KubeletVersion = "v1.35.0" }},
		{name: "kubelet four minors older", check: "kubelet-version", status: "problem", evidence: "kubelet v1.30.2",
			change: func(t *testing.T, c *cluster) { c.node.Status.NodeInfo.KubeletVersion = "v1.30.2" }},
		{name: "kubelet three minors older", check: "kubelet-version", status: "ok",
			change: func(t *testing.T, c *cluster) { c.node.Status.NodeInfo.KubeletVersion = "v1.31.9" }},
		{name: "machine without node past its timeout", node: "workers-x1", check: "node-registered", status: "problem",
			evidence: "no Node named workers-x1; machine of pool workers created 2026-12-02T11:00:00Z (1h0m0s ago), node timeout 30m0s",
			fix:      "kubectl get csr", change: func(t *testing.T, c *cluster) {
				c.machine = []v1.DoctorMachine{{Name: "workers-x1", Pool: "workers", CreatedAt: now.Add(-time.Hour), NodeTimeoutSeconds: 1800}}
			}},
		{name: "machine without node before its timeout", node: "workers-x1", check: "node-registered", status: "warning",
			change: func(t *testing.T, c *cluster) {
				c.machine = []v1.DoctorMachine{{Name: "workers-x1", Pool: "workers", CreatedAt: now.Add(-time.Minute), NodeTimeoutSeconds: 600}}
			}},
		{name: "machine without node and its pending client csr", node: "n2", check: "pending-csr", status: "problem",
			evidence: "CSR csr-n2", change: func(t *testing.T, c *cluster) {
				c.machine = []v1.DoctorMachine{{Name: "n2", CreatedAt: now.Add(-time.Hour), NodeTimeoutSeconds: 600}}
				n2 := csr(t, "csr-n2", certv1.KubeAPIServerClientKubeletSignerName, "system:bootstrap:abcdef", false, time.Time{})
				n2.Spec.Request = csrRequest(t, "system:node:n2")
				c.csrs = append(c.csrs, n2)
			}},
		{name: "machine whose node exists", node: "n1", check: "node-registered", status: "ok",
			change: func(t *testing.T, c *cluster) {
				c.machine = []v1.DoctorMachine{{Name: "n1", CreatedAt: now.Add(-time.Hour), NodeTimeoutSeconds: 60}}
			}},
		{name: "named node that does not exist", node: "nope", check: "node-registered", status: "problem", evidence: "no Node named nope",
			change: func(t *testing.T, c *cluster) { c.nodes = []string{"nope"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := healthy()
			tt.change(t, c)
			findings := c.run(t)
			node := tt.node
			if node == "" {
				node = "n1"
			}
			f, found := find(findings, node, tt.check)
			if !found {
				t.Fatalf("no %s finding for %s in %+v", tt.check, node, findings)
			}
			if f.Status != tt.status || !strings.Contains(f.Evidence, tt.evidence) || !strings.Contains(f.Fix, tt.fix) {
				t.Fatalf("%s = %+v\nwant status %s, evidence containing %q, fix containing %q", tt.check, f, tt.status, tt.evidence, tt.fix)
			}
			if f.Status != v1.FindingOK && (f.Evidence == "" || f.Cause == "") {
				t.Fatalf("%s = %+v: a finding that is not ok needs evidence and a cause", tt.check, f)
			}
			if f.Status == v1.FindingProblem && f.Fix == "" {
				t.Fatalf("%s = %+v: a problem needs a fix", tt.check, f)
			}
		})
	}
}

func csrRequest(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// A list that fails makes the findings of its checks warnings naming the error; the other checks
// still run. Nodes that cannot be listed fail the run.
func TestListFailures(t *testing.T) {
	kube := healthy().client()
	kube.PrependReactor("list", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("etcdserver: request timed out")
	})
	findings, err := doctor.Run(context.Background(), kube, v1.AgentDoctorRequest{}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, check := range []string{"node-lease", "clock-skew"} {
		f, _ := find(findings, "n1", check)
		if f.Status != v1.FindingWarning || !strings.Contains(f.Evidence, "etcdserver: request timed out") {
			t.Errorf("%s = %+v, want a warning naming the error", check, f)
		}
	}
	if f, _ := find(findings, "n1", "kubelet-status"); f.Status != v1.FindingOK {
		t.Errorf("kubelet-status = %+v, want ok", f)
	}

	kube = healthy().client()
	kube.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	if _, err := doctor.Run(context.Background(), kube, v1.AgentDoctorRequest{}, now); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Run with nodes unlistable: err = %v, want connection refused", err)
	}
}

// Findings are sorted by node; only the nodes asked for are checked.
func TestNodesAskedFor(t *testing.T) {
	c := healthy()
	n0 := c.node.DeepCopy()
	n0.Name = "n0"
	kube := c.client()
	if _, err := kube.CoreV1().Nodes().Create(context.Background(), n0, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	all, err := doctor.Run(context.Background(), kube, v1.AgentDoctorRequest{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 26 || all[0].Node != "n0" || all[13].Node != "n1" {
		t.Fatalf("findings of every node: %d, first %s, 14th %s; want 26, n0, n1", len(all), all[0].Node, all[13].Node)
	}
	one, err := doctor.Run(context.Background(), kube, v1.AgentDoctorRequest{Nodes: []string{"n1"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != 13 || slices.ContainsFunc(one, func(f v1.Finding) bool { return f.Node != "n1" }) {
		t.Fatalf("findings of n1: %+v", one)
	}
}
