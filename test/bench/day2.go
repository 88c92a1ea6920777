package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Day2Config is one run of the repave and remediation benchmark.
type Day2Config struct {
	Easel            string        // the easel binary whose `easel server` is measured (it also runs the agents)
	Workers          int           // workers repaved (plus one control-plane node)
	NodeReadyTimeout time.Duration // the pool's nodeReadyHealthCheckDuration for the fault
	Timeout          time.Duration
	Progress         io.Writer
}

// Day2Result is what the repave and remediation benchmark measured.
type Day2Result struct {
	// PerNode is, for each replaced machine, the time from creating its replacement to deleting it;
	// Repave the time from the pool change to the repave's completion.
	PerNode []time.Duration
	Repave  time.Duration
	// ToRelaunch is the time from a node's kubelet going down to its relaunch starting (it includes
	// the pool's NodeReadyTimeout); ToReplaced to its replacement Running.
	ToRelaunch, ToReplaced time.Duration
	// AddOnApplied is the time from attaching an add-on profile (a DaemonSet and a ConfigMap) to
	// its pack Applied with the DaemonSet Ready on every worker; AddOnPruned from detaching it to
	// its pack Removed and its namespace gone.
	AddOnApplied, AddOnPruned time.Duration
}

// RunDay2 starts a hub on loopback and a local cluster of 1 + cfg.Workers nodes, changes the
// workers' instance type and measures the repave, then takes one worker's kubelet down and
// measures its relaunch.
func RunDay2(ctx context.Context, cfg Day2Config) (Day2Result, error) {
	var res Day2Result
	h, err := startHub(ctx, hubOptions{easel: cfg.Easel, args: localHubFlags(time.Second), concurrency: 1, progress: cfg.Progress})
	if err != nil {
		return res, err
	}
	defer h.stop()
	profUID, err := h.benchProfile(ctx, fullStack)
	if err != nil {
		return res, err
	}
	healthCheck := fmt.Sprintf(`,"machineHealthCheck":{"nodeReadyHealthCheckDuration":%q}`, cfg.NodeReadyTimeout)
	uid, err := h.createCluster(ctx, "bench-day2", profUID, cfg.Workers, healthCheck, "")
	if err != nil {
		return res, err
	}
	deadline := time.Now().Add(cfg.Timeout)
	waitFor := func(what string, done func() (bool, error)) error {
		return poll(ctx, 200*time.Millisecond, deadline, what, done)
	}

	if err := h.waitRunning(ctx, uid, deadline); err != nil {
		return res, err
	}
	configUID, err := h.cloudConfig(ctx, uid)
	if err != nil {
		return res, err
	}
	pool := "/v1/cloudconfigs/cloudTypes/local/" + configUID + "/machinePools/workers"
	fmt.Fprintf(cfg.Progress, "Repaving %d workers (instance type small → medium)\n", cfg.Workers)
	start := time.Now()
	change := fmt.Appendf(nil, `{"poolConfig":{"name":"workers","size":%d%s},"cloudConfig":{"instanceType":"medium"}}`, cfg.Workers, healthCheck)
	if err := h.c.call(ctx, "PUT", pool, change, nil); err != nil {
		return res, err
	}
	var events []benchEvent
	if err := waitFor("the repave to complete", func() (bool, error) {
		events, err = h.events(ctx, uid)
		return slices.ContainsFunc(events, func(e benchEvent) bool { return e.Reason == "RepaveCompleted" }), err
	}); err != nil {
		return res, err
	}
	res.Repave = time.Since(start)
	// Each MachineDeleted ends the replacement that the MachineCreating before it began.
	var created time.Time
	for _, e := range events {
		switch {
		case e.Reason == "MachineCreating" && e.At.After(start):
			created = e.At
		case e.Reason == "MachineDeleted" && !created.IsZero():
			res.PerNode = append(res.PerNode, e.At.Sub(created))
			created = time.Time{}
		}
	}

	kc, err := h.kubeClient(ctx, uid)
	if err != nil {
		return res, err
	}
	nodes, err := kc.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "easel.dev/pool=workers"})
	if err != nil || len(nodes.Items) == 0 {
		return res, fmt.Errorf("listing the workers: %v", err)
	}
	victim := nodes.Items[0].Name
	fmt.Fprintf(cfg.Progress, "Taking node %s's kubelet down (nodeReadyHealthCheckDuration %s)\n", victim, cfg.NodeReadyTimeout)
	start = time.Now()
	patch := []byte(`{"metadata":{"labels":{"easel.dev/fault":"kubelet-down"}}}`)
	if _, err := kc.CoreV1().Nodes().Patch(ctx, victim, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return res, err
	}
	if err := waitFor("the relaunch", func() (bool, error) {
		events, err = h.events(ctx, uid)
		for _, e := range events {
			if e.Reason == "MachineRemediating" && strings.Contains(e.Message, victim+" relaunched") {
				res.ToRelaunch = e.At.Sub(start)
				return true, nil
			}
		}
		return false, err
	}); err != nil {
		return res, err
	}
	if err := waitFor("the replacement Running", func() (bool, error) {
		var out struct {
			Items []struct {
				Metadata struct{ Name string }
				Status   struct{ InstanceState string }
			}
		}
		if err := h.c.call(ctx, "GET", pool+"/machines", nil, &out); err != nil {
			return false, err
		}
		running := 0
		for _, m := range out.Items {
			if m.Metadata.Name == victim {
				return false, nil
			}
			if m.Status.InstanceState == "Running" {
				running++
			}
		}
		return running == cfg.Workers, nil
	}); err != nil {
		return res, err
	}
	res.ToReplaced = time.Since(start)

	fmt.Fprintln(cfg.Progress, "Attaching an add-on profile (a DaemonSet on every worker), then detaching it")
	res.AddOnApplied, res.AddOnPruned, err = h.addOnChange(ctx, uid, kc, cfg.Workers, waitFor)
	return res, err
}

// benchAddOn is an add-on pack: a namespace, settings and a DaemonSet.
const benchAddOn = `apiVersion: v1
kind: Namespace
metadata: {name: bench-agents}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: bench-agents}
data: {level: "1"}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: probe, namespace: bench-agents}
spec:
  selector: {matchLabels: {app: probe}}
  template:
    metadata: {labels: {app: probe}}
    spec:
      containers: [{name: probe, image: "registry.k8s.io/pause:3.10"}]
`

// addOnChange attaches an add-on profile to the running cluster and detaches it again, timing each
// until the agent has done it.
func (h *hubProcess) addOnChange(ctx context.Context, uid string, kc kubernetes.Interface, workers int,
	waitFor func(string, func() (bool, error)) error) (applied, pruned time.Duration, err error) {
	profile, _ := json.Marshal(map[string]any{"metadata": map[string]any{"name": "bench-agents"},
		"spec": map[string]any{"template": map[string]any{"type": "add-on", "cloudType": "local", "packs": []any{map[string]any{
			"name": "bench-agents", "type": "manifest", "layer": "addon",
			"manifests": []any{map[string]any{"name": "agents", "content": benchAddOn}}}}}}})
	var prof struct{ UID string }
	if err := h.c.call(ctx, "POST", "/v1/clusterprofiles", profile, &prof); err != nil {
		return 0, 0, err
	}
	if err := h.c.call(ctx, "PATCH", "/v1/clusterprofiles/"+prof.UID+"/publish", nil, nil); err != nil {
		return 0, 0, err
	}
	packState := func() (string, error) {
		var cl struct {
			Status struct {
				Generation, PacksGeneration int64
				Packs                       []struct{ Name, State string }
			}
		}
		if err := h.c.call(ctx, "GET", "/v1/spectroclusters/"+uid, nil, &cl); err != nil || cl.Status.PacksGeneration < cl.Status.Generation {
			return "", err
		}
		for _, p := range cl.Status.Packs {
			if p.Name == "bench-agents" {
				return p.State, nil
			}
		}
		return "", nil
	}
	start := time.Now()
	if err := h.c.call(ctx, "PATCH", "/v1/spectroclusters/"+uid+"/profiles", fmt.Appendf(nil, `{"profiles":[{"uid":%q}]}`, prof.UID), nil); err != nil {
		return 0, 0, err
	}
	if err := waitFor("the add-on applied", func() (bool, error) {
		state, err := packState()
		if state != "Applied" || err != nil {
			return false, err
		}
		ds, err := kc.AppsV1().DaemonSets("bench-agents").Get(ctx, "probe", metav1.GetOptions{})
		return err == nil && ds.Status.NumberReady == int32(workers), nil
	}); err != nil {
		return 0, 0, err
	}
	applied = time.Since(start)
	start = time.Now()
	if err := h.c.call(ctx, "DELETE", "/v1/spectroclusters/"+uid+"/profiles", fmt.Appendf(nil, `{"profileUids":[%q]}`, prof.UID), nil); err != nil {
		return 0, 0, err
	}
	if err := waitFor("the add-on pruned", func() (bool, error) {
		state, err := packState()
		if state != "Removed" || err != nil {
			return false, err
		}
		_, err = kc.CoreV1().Namespaces().Get(ctx, "bench-agents", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}); err != nil {
		return 0, 0, err
	}
	return applied, time.Since(start), nil
}

type benchEvent struct {
	Reason, Message string
	At              time.Time
}

// events are a cluster's events, oldest first, with the hub's timestamps.
func (h *hubProcess) events(ctx context.Context, uid string) ([]benchEvent, error) {
	var page struct {
		Items []struct {
			Reason, Message string
			Metadata        struct{ CreationTimestamp time.Time }
		}
	}
	if err := h.c.call(ctx, "GET", "/v1/events/components/spectrocluster/"+uid+"?limit=1000", nil, &page); err != nil {
		return nil, err
	}
	out := make([]benchEvent, 0, len(page.Items))
	for i := len(page.Items) - 1; i >= 0; i-- {
		e := page.Items[i]
		out = append(out, benchEvent{e.Reason, e.Message, e.Metadata.CreationTimestamp})
	}
	return out, nil
}
