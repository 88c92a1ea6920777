package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/easelhq/easel/internal/agent"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/provider"
	"github.com/easelhq/easel/internal/provider/local"
)

// DrainConfig is one run of the drain benchmark.
type DrainConfig struct {
	Pods     int // pods on the drained node
	Rounds   int // drains per tool
	Progress io.Writer
}

// DrainResult is each tool's drain times, in the order they ran.
type DrainResult struct {
	Pods           int
	Easel, Kubectl []time.Duration
}

// RunDrain starts a local control plane with two worker nodes and a Deployment of cfg.Pods
// replicas, then drains the node that holds all of them — with the agent's drain and with
// `kubectl drain --ignore-daemonsets --delete-emptydir-data`, alternately, cfg.Rounds times
// each. Every drain moves the pods to the other worker, which the next drain empties again.
func RunDrain(ctx context.Context, cfg DrainConfig) (DrainResult, error) {
	res := DrainResult{Pods: cfg.Pods}
	bins, err := k8sbin.Find()
	if err != nil {
		return res, err
	}
	dir, err := os.MkdirTemp("", "easel-bench-drain-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	prov := &local.Provider{Root: dir, VCPULimit: 1 << 10, Binaries: k8sbin.Find, Log: slog.New(slog.DiscardHandler)}
	cl := provider.Cluster{UID: "bench-drain", Name: "bench-drain", Spec: clusters.Cluster{CloudType: "local", Pools: []clusters.Pool{
		{Name: "cp", ControlPlane: true, Size: 1, InstanceType: "small", DiskGiB: 60, Zones: clusters.Zones[:1]},
		{Name: "workers", Size: 2, InstanceType: "xlarge", DiskGiB: 60, Zones: clusters.Zones[:1]},
	}}}
	defer prov.Delete(context.WithoutCancel(ctx), cl)
	fmt.Fprintln(cfg.Progress, "Starting a local control plane with two worker nodes")
	for {
		err := prov.EnsureControlPlane(ctx, cl)
		if err == nil {
			break
		}
		if !errors.Is(err, local.ErrStarting) {
			return res, err
		}
		time.Sleep(200 * time.Millisecond)
	}
	var workers []string
	for i, p := range []string{"cp", "workers", "workers"} {
		m := clusters.Machine{UID: fmt.Sprintf("m%d", i), Name: fmt.Sprintf("%s-%d", p, i), Pool: p, ControlPlane: p == "cp",
			InstanceType: cl.Spec.Pools[min(i, 1)].InstanceType, Zone: clusters.Zones[0], DiskGiB: 60, CreatedAt: time.Now()}
		if err := prov.EnsureMachine(ctx, cl, m); err != nil {
			return res, err
		}
		if !m.ControlPlane {
			workers = append(workers, m.Name)
		}
	}
	kubeconfig, err := prov.Kubeconfig(ctx, cl)
	if err != nil {
		return res, err
	}
	kubeconfigFile := filepath.Join(dir, "admin.kubeconfig")
	if err := os.WriteFile(kubeconfigFile, kubeconfig, 0o600); err != nil {
		return res, err
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return res, err
	}
	rc.QPS, rc.Burst = agent.ClientQPS, agent.ClientBurst // the agent's own limits; kubectl keeps its defaults
	kc := kubernetes.NewForConfigOrDie(rc)

	// All replicas on the first worker: the second is cordoned while they are placed.
	if err := cordon(ctx, kc, workers[1], true); err != nil {
		return res, err
	}
	if err := deployLoad(ctx, kc, cfg.Pods); err != nil {
		return res, err
	}
	if err := waitPlaced(ctx, kc, workers[0], cfg.Pods); err != nil {
		return res, err
	}
	if err := cordon(ctx, kc, workers[1], false); err != nil {
		return res, err
	}
	from, to := workers[0], workers[1]
	for round := range 2 * cfg.Rounds {
		tool := "easel"
		if round%2 == 1 {
			tool = "kubectl"
		}
		fmt.Fprintf(cfg.Progress, "Draining %s (%d pods) with %s\n", from, cfg.Pods, tool)
		start := time.Now()
		if tool == "easel" {
			_, err = agent.Drain(ctx, kc, from)
		} else {
			out, cerr := exec.CommandContext(ctx, bins.Kubectl, "--kubeconfig", kubeconfigFile, "drain", from,
				"--ignore-daemonsets", "--delete-emptydir-data", "--timeout=5m").CombinedOutput()
			if cerr != nil {
				err = fmt.Errorf("kubectl drain: %w: %s", cerr, out)
			}
		}
		took := time.Since(start)
		if err != nil {
			return res, err
		}
		if tool == "easel" {
			res.Easel = append(res.Easel, took)
		} else {
			res.Kubectl = append(res.Kubectl, took)
		}
		// The replacements run on the other worker; then the drained node takes pods again.
		if err := waitPlaced(ctx, kc, to, cfg.Pods); err != nil {
			return res, err
		}
		if err := cordon(ctx, kc, from, false); err != nil {
			return res, err
		}
		from, to = to, from
	}
	return res, nil
}

func cordon(ctx context.Context, kc kubernetes.Interface, node string, on bool) error {
	patch := fmt.Appendf(nil, `{"spec":{"unschedulable":%t}}`, on)
	_, err := kc.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

func deployLoad(ctx context.Context, kc kubernetes.Interface, replicas int) error {
	labels := map[string]string{"app": "load"}
	n := int32(replicas)
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "load", Namespace: "default"}, Spec: appsv1.DeploymentSpec{
		Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/load:1"}}}}}}
	_, err := kc.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
	return err
}

// waitPlaced waits for n running pods of the load on node, and none elsewhere.
func waitPlaced(ctx context.Context, kc kubernetes.Interface, node string, n int) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		pods, err := kc.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=load"})
		if err != nil {
			return err
		}
		total := len(pods.Items)
		on := slices.DeleteFunc(pods.Items, func(p corev1.Pod) bool {
			return p.Spec.NodeName != node || p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil
		})
		if len(on) == n && total == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d pods running on %s after 5 minutes", len(on), n, node)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
