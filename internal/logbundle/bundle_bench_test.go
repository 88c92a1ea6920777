package logbundle_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/logbundle"
	"github.com/easelhq/easel/internal/provider/local"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// BenchmarkCollect collects the bundle of a 1+50-node local cluster shaped like the example
// profile's: two kube-system DaemonSets on every node (a CNI with an init container, and a
// kube-proxy), so about 100 kube-system pods, the agent in easel-system and 100 application pods,
// with the hub's default request (10,000 lines, the last hour, syslog and cloud-init-output.log of
// each node). docs/benchmarks.md gives the numbers:
//
//	EASEL_K8S_BIN=… go test ./internal/logbundle -run '^$' -bench Collect -benchtime 3x -v
func BenchmarkCollect(b *testing.B) {
	bins, err := k8sbin.Find()
	if err != nil {
		b.Fatalf("the benchmark needs the pinned Kubernetes binaries: %v", err)
	}
	dir, err := os.MkdirTemp("", "logbundle-bench")
	if err != nil {
		b.Fatal(err)
	}
	cp := &local.ControlPlane{Name: "bundle", Dir: filepath.Join(dir, "bench"), Bins: bins}
	b.Cleanup(func() {
		cp.Destroy()
		os.RemoveAll(dir)
	})
	const workers = 50
	kube := startCluster(b, cp, workers)
	ensureNamespace(b, kube, "easel-system")
	ensureNamespace(b, kube, "app")
	ctx := context.Background()
	everywhere := []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	for _, ds := range []*appsv1.DaemonSet{
		daemonSet("calico-node", everywhere, []string{"install-cni"}, "calico-node"),
		daemonSet("kube-proxy", everywhere, nil, "kube-proxy"),
	} {
		if _, err := kube.AppsV1().DaemonSets("kube-system").Create(ctx, ds, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	createDeployment(b, kube, "easel-system", "easel-agent", 1)
	createDeployment(b, kube, "app", "web", 2*workers)
	for _, name := range []string{"calico-node", "kube-proxy"} {
		poll.Eventually(b, 3*time.Minute, "DaemonSet "+name+" ready on every node", func() error {
			ds, err := kube.AppsV1().DaemonSets("kube-system").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			return poll.Unless(ds.Status.NumberReady == workers+1, "%d of %d ready", ds.Status.NumberReady, workers+1)
		})
	}
	for _, d := range []struct {
		ns, name string
		n        int32
	}{{"easel-system", "easel-agent", 1}, {"app", "web", 2 * workers}} {
		poll.Eventually(b, 3*time.Minute, "Deployment "+d.name+" ready", func() error {
			dep, err := kube.AppsV1().Deployments(d.ns).Get(ctx, d.name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			return poll.Unless(dep.Status.ReadyReplicas == d.n, "%d of %d ready", dep.Status.ReadyReplicas, d.n)
		})
	}

	req := v1.LogFetcherRequest{NoOfLines: v1.MaxLogLines, Duration: 3600,
		Node: &v1.LogFetcherNodeLogs{Logs: []string{"syslog", "cloud-init-output.log"}}}
	var sum logbundle.Summary
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		sum, err = logbundle.Collect(ctx, kube, req, logbundle.Options{}, discard{})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("Collect: %s, %d items, %d failed, %d bytes zipped", time.Since(start).Round(time.Millisecond), sum.Items, sum.Failed, sum.Bytes)
	}
	b.ReportMetric(float64(sum.Bytes), "zip-bytes")
	b.ReportMetric(float64(sum.Items), "items")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func daemonSet(name string, tolerations []corev1.Toleration, initContainers []string, containers ...string) *appsv1.DaemonSet {
	labels := map[string]string{"k8s-app": name}
	spec := corev1.PodSpec{Tolerations: tolerations}
	for _, c := range initContainers {
		spec.InitContainers = append(spec.InitContainers, corev1.Container{Name: c, Image: "registry.k8s.io/pause:3.10"})
	}
	for _, c := range containers {
		spec.Containers = append(spec.Containers, corev1.Container{Name: c, Image: "registry.k8s.io/pause:3.10"})
	}
	return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DaemonSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}}}
}

// createDeployment creates a Deployment of n pods, once the namespace's default ServiceAccount
// exists.
func createDeployment(b testing.TB, kube kubernetes.Interface, ns, name string, n int32) {
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{Replicas: &n,
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "registry.k8s.io/pause:3.10"}}}}}}
	if _, err := kube.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
}
