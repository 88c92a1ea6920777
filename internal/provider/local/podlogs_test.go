package local_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/easelhq/easel/internal/provider/local"
)

// Pods on KWOK nodes have logs through the API server's pods/log, as on a real cluster: KWOK
// serves the cluster's simulated-container log for every container of every namespace, and
// tailLines is honoured.
func TestPodLogs(t *testing.T) {
	cp, c := startControlPlane(t, "logs1")
	ctx := context.Background()
	m := local.Machine{Name: "workers-logs1", UID: "m1", Pool: "workers", InstanceType: "small", Zone: "local-a", CPU: 2, MemoryGiB: 4, DiskGiB: 60}
	if _, err := cp.EnsureMachine(ctx, c, m); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "node Ready", func() error { return allReady(ctx, c, 1) })

	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "web"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"web", "kube-system"} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p1", Namespace: ns}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "nginx"}, {Name: "sidecar", Image: "busybox"}}}}
		// The namespace's default ServiceAccount, which admission wants, comes a moment later.
		eventually(t, 30*time.Second, "pod created in "+ns, func() error {
			_, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
			return err
		})
	}
	for _, ns := range []string{"web", "kube-system"} {
		eventually(t, 60*time.Second, ns+"/p1 Running", func() error {
			p, err := c.CoreV1().Pods(ns).Get(ctx, "p1", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if p.Status.Phase != corev1.PodRunning {
				return fmt.Errorf("phase %s", p.Status.Phase)
			}
			return nil
		})
		for _, container := range []string{"app", "sidecar"} {
			got, err := podLog(ctx, c, ns, "p1", container, 1)
			if err != nil {
				n, _ := c.CoreV1().Nodes().Get(ctx, "workers-logs1", metav1.GetOptions{})
				t.Fatalf("logs of %s/p1/%s: %v %q\nnode %+v %+v\n%s", ns, container, err, got, n.Status.Addresses, n.Status.DaemonEndpoints, logTails(cp.Dir))
			}
			want := "easel local provider: simulated container of cluster logs1; no output of its own exists (KWOK runs no containers)\n"
			if got != want {
				t.Fatalf("logs of %s/p1/%s with tailLines=1 = %q, want %q", ns, container, got, want)
			}
		}
	}
	all, err := podLog(ctx, c, "web", "p1", "app", 0)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n"); len(lines) != 2 ||
		lines[0] != "easel local provider: the containers of cluster logs1 are simulated by KWOK, which runs no container processes" {
		t.Fatalf("whole log = %q", all)
	}
}

// podLog reads a container's log through the API server; tailLines 0 reads all of it.
func podLog(ctx context.Context, c kubernetes.Interface, ns, pod, container string, tailLines int64) (string, error) {
	opts := &corev1.PodLogOptions{Container: container}
	if tailLines > 0 {
		opts.TailLines = &tailLines
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	data, err := c.CoreV1().Pods(ns).GetLogs(pod, opts).DoRaw(ctx)
	return string(data), err
}
