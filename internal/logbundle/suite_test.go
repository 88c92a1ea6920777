package logbundle_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/provider/local"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// The suite's control plane is started by the first test that needs it and destroyed after all.
var suite struct {
	once sync.Once
	dir  string
	cp   *local.ControlPlane
	kube kubernetes.Interface
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if suite.cp != nil {
		suite.cp.Destroy()
	}
	if suite.dir != "" {
		os.RemoveAll(suite.dir)
	}
	os.Exit(code)
}

// controlPlane starts a local control plane with one KWOK node, worker-1, (once) and returns its
// admin client.
func controlPlane(t *testing.T) (*local.ControlPlane, kubernetes.Interface) {
	t.Helper()
	suite.once.Do(func() {
		suite.err = fmt.Errorf("the suite's control plane did not start (see the first test's failure)")
		bins, err := k8sbin.Find()
		if err != nil {
			suite.err = fmt.Errorf("the log bundle tests need the pinned Kubernetes binaries: %w", err)
			return
		}
		if suite.dir, err = os.MkdirTemp("", "logbundle"); err != nil {
			suite.err = err
			return
		}
		suite.cp = &local.ControlPlane{Name: "bundle", Dir: filepath.Join(suite.dir, "bundle"), Bins: bins}
		suite.kube = startCluster(t, suite.cp, 0)
		suite.err = nil
	})
	if suite.err != nil {
		t.Fatal(suite.err)
	}
	return suite.cp, suite.kube
}

// startCluster brings cp up with a KWOK node worker-1 and, when workers > 0, a control-plane node
// and that many more KWOK nodes, and returns its admin client once every node is Ready.
func startCluster(t testing.TB, cp *local.ControlPlane, workers int) kubernetes.Interface {
	t.Helper()
	ctx := context.Background()
	poll.Eventually(t, 60*time.Second, "control plane up", func() error {
		if err := cp.Ensure(ctx); err != nil {
			return err
		}
		return cp.Ready(ctx)
	})
	kube, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	machines := []local.Machine{{Name: "worker-1", UID: "w1", Pool: "workers", InstanceType: "small", Zone: "local-a", CPU: 2, MemoryGiB: 4, DiskGiB: 60}}
	if workers > 0 {
		machines[0] = local.Machine{Name: "cp-1", UID: "cp1", Pool: "control-plane", ControlPlane: true, InstanceType: "small", Zone: "local-a", CPU: 2, MemoryGiB: 4, DiskGiB: 60}
	}
	for i := 1; i <= workers; i++ {
		machines = append(machines, local.Machine{Name: fmt.Sprintf("worker-%d", i), UID: fmt.Sprintf("w%d", i), Pool: "workers",
			InstanceType: "small", Zone: "local-a", CPU: 4, MemoryGiB: 8, DiskGiB: 60})
	}
	for _, m := range machines {
		if _, err := cp.EnsureMachine(ctx, kube, m); err != nil {
			t.Fatal(err)
		}
	}
	poll.Eventually(t, 120*time.Second, "every node Ready", func() error {
		nodes, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		ready := 0
		for i := range nodes.Items {
			if local.NodeReady(&nodes.Items[i]) {
				ready++
			}
		}
		return poll.Unless(ready == len(machines), "%d of %d nodes Ready", ready, len(machines))
	})
	return kube
}

// ensureNamespace creates a namespace, unless it exists.
func ensureNamespace(t testing.TB, kube kubernetes.Interface, ns string) {
	t.Helper()
	_, err := kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
}

// createPod creates a pod bound to node (no scheduler involved) and waits until it runs.
func createPod(t testing.TB, kube kubernetes.Interface, ns, name, node string, labels map[string]string, containers ...string) {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}, Spec: corev1.PodSpec{NodeName: node}}
	for _, c := range containers {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: c, Image: "registry.k8s.io/pause:3.10"})
	}
	// The namespace's default ServiceAccount, which admission wants, comes a moment after it.
	poll.Eventually(t, 30*time.Second, "pod "+ns+"/"+name+" created", func() error {
		_, err := kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil && strings.Contains(err.Error(), "already exists") {
			return nil
		}
		return err
	})
	poll.Eventually(t, 60*time.Second, "pod "+ns+"/"+name+" Running", func() error {
		p, err := kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		return poll.Unless(p.Status.Phase == corev1.PodRunning, "phase %s", p.Status.Phase)
	})
}

// fakeKubelet is a node's kubelet as far as its /logs endpoint goes: a file server over a
// directory, as the real kubelet serves /var/log, reached by the API server's nodes/proxy. It
// records the Range headers it was sent, and never answers for a file whose name starts with
// "hung".
type fakeKubelet struct {
	dir string
	mu  sync.Mutex
	// ranges are the Range headers of the requests, by path.
	ranges map[string]string
}

func (k *fakeKubelet) rangeOf(path string) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	r, ok := k.ranges[path]
	return r, ok
}

// startFakeKubelet serves dir as /logs/ over TLS on this host's first address the API server may
// proxy to (not a loopback one), and registers a node whose kubelet it is. It skips the test on a
// host with no such address.
func startFakeKubelet(t *testing.T, kube kubernetes.Interface, node string, files map[string]string) *fakeKubelet {
	t.Helper()
	ip := proxyableAddress(t)
	k := &fakeKubelet{dir: t.TempDir(), ranges: map[string]string{}}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(k.dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fileServer := http.StripPrefix("/logs/", http.FileServer(http.Dir(k.dir)))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		k.ranges[r.URL.Path] = r.Header.Get("Range")
		k.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/logs/hung") {
			<-r.Context().Done() // a kubelet that never answers
			return
		}
		fileServer.ServeHTTP(w, r)
	}))
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.TLS = &tls.Config{}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	port, _ := strconv.Atoi(strings.TrimPrefix(srv.URL[strings.LastIndex(srv.URL, ":"):], ":"))

	ctx := context.Background()
	_, err = kube.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node},
		// Nothing runs on it: the suite's pods are bound to KWOK's node.
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "example.com/fake-kubelet", Effect: corev1.TaintEffectNoSchedule}}}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kube.CoreV1().Nodes().Delete(context.Background(), node, metav1.DeleteOptions{}) })
	var n *corev1.Node
	// The node controllers write the new node too: a conflict is retried on a fresh read.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if n, err = kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); err != nil {
			return err
		}
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}
		n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
		_, err = kube.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// proxyableAddress is an IPv4 address of this host that is not a loopback or link-local one: the
// API server refuses to proxy to those.
func proxyableAddress(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("this host has no address the API server proxies to (only loopback or link-local ones)")
	return ""
}

// bundleFiles reads a zip into its entries' contents, failing the test if it is not a valid zip.
func bundleFiles(t *testing.T, data []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("the bundle is not a valid zip: %v", err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		if f.Method != zip.Deflate {
			t.Errorf("%s is stored with method %d, want Deflate", f.Name, f.Method)
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		content, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("reading %s: %v", f.Name, err)
		}
		out[f.Name] = string(content)
	}
	return out
}

// errorLines are errors.txt's lines about items, without its first line.
func errorLines(t *testing.T, files map[string]string) []string {
	t.Helper()
	text, ok := files["errors.txt"]
	if !ok {
		t.Fatalf("no errors.txt in the bundle; entries: %v", names(files))
	}
	first, rest, _ := strings.Cut(text, "\n")
	switch {
	case first == "Nothing failed: every item was collected." && rest == "":
		return nil
	case first != "Items that could not be collected, and why:" || rest == "":
		t.Fatalf("errors.txt = %q, want its first line to say whether anything failed, then the items", text)
	}
	return strings.Split(strings.TrimSuffix(rest, "\n"), "\n")
}

// errorFor is the errors.txt line about path ("" if none).
func errorFor(lines []string, path string) string {
	for _, l := range lines {
		if strings.HasPrefix(l, path+": ") {
			return l
		}
	}
	return ""
}

func names(files map[string]string) []string {
	var out []string
	for n := range files {
		out = append(out, n)
	}
	return out
}
