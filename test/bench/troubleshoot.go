package bench

import (
	"context"
	"fmt"
	"io"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TroubleshootConfig is one run of the log bundle and doctor benchmark.
type TroubleshootConfig struct {
	Easel         string // the easel binary whose `easel server` is measured (it also runs the agents)
	Workers       int    // workers of the cluster whose bundle is measured (plus one control-plane node)
	DoctorWorkers int    // workers the pool is scaled to before the doctor is measured
	Timeout       time.Duration
	Progress      io.Writer
}

// TroubleshootResult is what the benchmark measured.
type TroubleshootResult struct {
	// Bundle is the time from the log request to Completed, BundleBytes the zip's size and
	// BundleState its state as the hub reported it (with its message).
	Bundle      time.Duration
	BundleBytes int64
	BundleState string
	// Doctor is the time from the doctor request to its findings, Findings how many there were.
	Doctor   time.Duration
	Findings int
}

// RunTroubleshoot starts a hub on loopback and a local cluster of 1 + cfg.Workers nodes with the
// full stack (CNI and CSI), asks for a log bundle and measures it; then scales the workers to
// cfg.DoctorWorkers and measures a doctor run over every node.
func RunTroubleshoot(ctx context.Context, cfg TroubleshootConfig) (TroubleshootResult, error) {
	var res TroubleshootResult
	h, err := startHub(ctx, hubOptions{easel: cfg.Easel, args: localHubFlags(time.Second), concurrency: 1, progress: cfg.Progress})
	if err != nil {
		return res, err
	}
	defer h.stop()
	profUID, err := h.benchProfile(ctx, fullStack)
	if err != nil {
		return res, err
	}
	uid, err := h.createCluster(ctx, "bench-troubleshoot", profUID, cfg.Workers, "", "")
	if err != nil {
		return res, err
	}
	deadline := time.Now().Add(cfg.Timeout)
	if err := h.waitRunning(ctx, uid, deadline); err != nil {
		return res, err
	}

	// The bundle is measured with the cluster's system pods running, as an operator would ask for
	// one: every kube-system DaemonSet Ready on every node.
	kc, err := h.kubeClient(ctx, uid)
	if err != nil {
		return res, err
	}
	if err := poll(ctx, time.Second, deadline, "the kube-system DaemonSets Ready", func() (bool, error) {
		list, err := kc.AppsV1().DaemonSets("kube-system").List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) == 0 {
			return false, err
		}
		for _, ds := range list.Items {
			if ds.Status.DesiredNumberScheduled == 0 || ds.Status.NumberReady != ds.Status.DesiredNumberScheduled {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		return res, err
	}
	fmt.Fprintf(cfg.Progress, "Asking for a log bundle of 1+%d nodes\n", cfg.Workers)
	var created struct{ UID string }
	start := time.Now()
	if err := h.c.call(ctx, "POST", "/v1/spectroclusters/"+uid+"/features/logFetcher", []byte(`{}`), &created); err != nil {
		return res, err
	}
	type logFetcher struct {
		Status struct {
			State, Message string
			Size           int64
		}
	}
	var lf logFetcher
	if err := poll(ctx, 100*time.Millisecond, deadline, "the log bundle", func() (bool, error) {
		lf = logFetcher{} // a field the answer leaves out is empty, not the last answer's
		err := h.c.call(ctx, "GET", "/v1/spectroclusters/"+uid+"/features/logFetcher?requestId="+created.UID, nil, &lf)
		return lf.Status.State == "Completed" || lf.Status.State == "Failed", err
	}); err != nil {
		return res, err
	}
	res.Bundle, res.BundleBytes, res.BundleState = time.Since(start), lf.Status.Size, lf.Status.State+" "+lf.Status.Message

	configUID, err := h.cloudConfig(ctx, uid)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(cfg.Progress, "Scaling the workers to %d\n", cfg.DoctorWorkers)
	scale := fmt.Appendf(nil, `{"poolConfig":{"name":"workers","size":%d},"cloudConfig":{"instanceType":"small"}}`, cfg.DoctorWorkers)
	if err := h.c.call(ctx, "PUT", "/v1/cloudconfigs/cloudTypes/local/"+configUID+"/machinePools/workers", scale, nil); err != nil {
		return res, err
	}
	if err := poll(ctx, time.Second, deadline, fmt.Sprintf("%d Ready workers", cfg.DoctorWorkers), func() (bool, error) {
		var machines struct {
			Items []struct {
				Status struct{ InstanceState string }
			}
		}
		err := h.c.call(ctx, "GET", "/v1/cloudconfigs/cloudTypes/local/"+configUID+"/machinePools/workers/machines?limit=1000", nil, &machines)
		running := 0
		for _, m := range machines.Items {
			if m.Status.InstanceState == "Running" {
				running++
			}
		}
		return running == cfg.DoctorWorkers && len(machines.Items) == cfg.DoctorWorkers, err
	}); err != nil {
		return res, err
	}

	fmt.Fprintf(cfg.Progress, "Running the doctor on 1+%d nodes\n", cfg.DoctorWorkers)
	var run struct {
		Metadata struct{ UID string }
		Status   struct {
			State, Message string
			Findings       []struct{ Status string }
		}
	}
	start = time.Now()
	if err := h.c.call(ctx, "POST", "/v1/spectroclusters/"+uid+"/features/doctor", []byte(`{}`), &run); err != nil {
		return res, err
	}
	if err := poll(ctx, 50*time.Millisecond, deadline, "the doctor's findings", func() (bool, error) {
		run.Status.Message = ""
		err := h.c.call(ctx, "GET", "/v1/spectroclusters/"+uid+"/features/doctor?requestId="+run.Metadata.UID, nil, &run)
		return run.Status.State == "Completed" || run.Status.State == "Failed", err
	}); err != nil {
		return res, err
	}
	if run.Status.State != "Completed" {
		return res, fmt.Errorf("the doctor run failed: %s", run.Status.Message)
	}
	res.Doctor, res.Findings = time.Since(start), len(run.Status.Findings)
	return res, nil
}
