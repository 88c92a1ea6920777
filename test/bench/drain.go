package bench

import (
	"context"
	"fmt"
	"io"
	"maps"
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

	"github.com/easelhq/easel/internal/k8sbin"
)

// DrainConfig is one run of the drain benchmark.
type DrainConfig struct {
	Easel    string // the easel binary whose `easel server` is measured (it also runs the agents)
	Kubectl  string // the kubectl binary to compare with
	Pods     int    // pods on the drained node
	Rounds   int    // drains per tool
	Timeout  time.Duration
	Progress io.Writer
}

// DrainResult is each tool's drain times, in the order they ran.
type DrainResult struct {
	Pods           int
	Easel, Kubectl []time.Duration
}

// RunDrain starts a hub and a local cluster of one control-plane node and two workers, deploys
// cfg.Pods replicas all on one worker, then drains the node that holds them — alternately with
// easel's maintenance mode (turned on through the API, timed until the machine's maintenance
// status is Completed, as a user sees it) and with `kubectl drain --ignore-daemonsets
// --delete-emptydir-data`, cfg.Rounds times each. Every drain moves the pods to the other worker,
// which the next drain empties again.
func RunDrain(ctx context.Context, cfg DrainConfig) (DrainResult, error) {
	res := DrainResult{Pods: cfg.Pods}
	bins, err := k8sbin.Find()
	if err != nil {
		return res, err
	}
	h, err := startHub(ctx, hubOptions{easel: cfg.Easel, args: localHubFlags(0), concurrency: 1, progress: cfg.Progress})
	if err != nil {
		return res, err
	}
	defer h.stop()
	// No CNI: nothing but the load takes the workers' pod capacity (110 each).
	profUID, err := h.benchProfile(ctx, "")
	if err != nil {
		return res, err
	}
	fmt.Fprintln(cfg.Progress, "Creating a local cluster with two worker nodes")
	uid, err := h.createCluster(ctx, "bench-drain", profUID, 2, "", `,"cloudConfig":{"instanceType":"xlarge"}`)
	if err != nil {
		return res, err
	}
	deadline := time.Now().Add(cfg.Timeout)
	if err := h.waitRunning(ctx, uid, deadline); err != nil {
		return res, err
	}
	configUID, err := h.cloudConfig(ctx, uid)
	if err != nil {
		return res, err
	}
	var kubeconfig []byte
	if err := h.c.call(ctx, "GET", "/v1/spectroclusters/"+uid+"/assets/adminKubeconfig", nil, &kubeconfig); err != nil {
		return res, err
	}
	kubeconfigFile := filepath.Join(h.dataDir, "bench-drain.kubeconfig")
	if err := os.WriteFile(kubeconfigFile, kubeconfig, 0o600); err != nil {
		return res, err
	}
	kc, err := h.kubeClient(ctx, uid)
	if err != nil {
		return res, err
	}
	machines, err := h.workerMachines(ctx, configUID)
	if err != nil {
		return res, err
	}
	if len(machines) != 2 {
		return res, fmt.Errorf("the cluster has %d workers, want 2", len(machines))
	}
	workers := slices.Sorted(maps.Keys(machines))

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
	maintenance := func(node, action string) error {
		path := "/v1/cloudconfigs/local/" + configUID + "/machinePools/workers/machines/" + machines[node] + "/maintenance"
		return h.c.call(ctx, "PUT", path, fmt.Appendf(nil, `{"action":%q}`, action), nil)
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
			err = maintenance(from, "cordon")
			if err == nil {
				err = h.waitMaintenance(ctx, configUID, machines[from], deadline)
			}
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
		if tool == "easel" {
			err = maintenance(from, "uncordon")
		} else {
			err = cordon(ctx, kc, from, false)
		}
		if err != nil {
			return res, err
		}
		if err := waitSchedulable(ctx, kc, from); err != nil {
			return res, err
		}
		from, to = to, from
	}
	return res, nil
}

// workerMachines maps the names of the worker pool's machines (their nodes' names) to their uids.
func (h *hubProcess) workerMachines(ctx context.Context, configUID string) (map[string]string, error) {
	var out struct {
		Items []struct{ Metadata struct{ Name, UID string } }
	}
	if err := h.c.call(ctx, "GET", "/v1/cloudconfigs/cloudTypes/local/"+configUID+"/machinePools/workers/machines", nil, &out); err != nil {
		return nil, err
	}
	machines := map[string]string{}
	for _, m := range out.Items {
		machines[m.Metadata.Name] = m.Metadata.UID
	}
	return machines, nil
}

// waitMaintenance polls a machine until its maintenance status is Completed; Failed is an error.
// It polls often: the period is part of the time measured.
func (h *hubProcess) waitMaintenance(ctx context.Context, configUID, machineUID string, deadline time.Time) error {
	path := "/v1/cloudconfigs/cloudTypes/local/" + configUID + "/machinePools/workers/machines/" + machineUID
	return poll(ctx, 20*time.Millisecond, deadline, "maintenance of machine "+machineUID, func() (bool, error) {
		var m struct {
			Status struct {
				MaintenanceStatus struct{ State, Message string }
			}
		}
		if err := h.c.call(ctx, "GET", path, nil, &m); err != nil {
			return false, err
		}
		if st := m.Status.MaintenanceStatus; st.State == "Failed" {
			return false, fmt.Errorf("maintenance of machine %s failed: %s", machineUID, st.Message)
		}
		return m.Status.MaintenanceStatus.State == "Completed", nil
	})
}

// waitSchedulable waits until a node is no longer cordoned.
func waitSchedulable(ctx context.Context, kc kubernetes.Interface, node string) error {
	return poll(ctx, 100*time.Millisecond, time.Now().Add(time.Minute), "node "+node+" schedulable", func() (bool, error) {
		n, err := kc.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		return err == nil && !n.Spec.Unschedulable, err
	})
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
	return poll(ctx, 200*time.Millisecond, time.Now().Add(5*time.Minute), fmt.Sprintf("%d pods running on %s", n, node), func() (bool, error) {
		pods, err := kc.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=load"})
		if err != nil {
			return false, err
		}
		total := len(pods.Items)
		on := slices.DeleteFunc(pods.Items, func(p corev1.Pod) bool {
			return p.Spec.NodeName != node || p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil
		})
		return len(on) == n && total == n, nil
	})
}
