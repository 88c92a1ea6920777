package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/easelhq/easel/internal/provider/local"
	"github.com/easelhq/easel/internal/server"
)

// ProvisionConfig is one run of the provisioning benchmark.
type ProvisionConfig struct {
	Clusters    int    // clusters created at once
	Workers     int    // worker nodes per cluster (plus one control-plane node)
	AgentBinary string // the easel binary that runs the agents (default: this executable)
	Timeout     time.Duration
	Progress    io.Writer
}

// ProvisionResult is what the provisioning benchmark measured.
type ProvisionResult struct {
	Clusters, Workers int
	// ToRunning is, per cluster, the time from the create request to state Running.
	ToRunning []time.Duration
	// HubRSS is the resident memory of this process (the hub and the load client) with every
	// cluster Running; ClusterRSS is the summed resident memory of one cluster's processes (etcd,
	// API server, controller-manager, scheduler, KWOK, agent), averaged over the clusters.
	HubRSS, ClusterRSS int64
	// Deleted is the time from the delete requests to every cluster gone.
	Deleted time.Duration
}

// localHub is a hub on loopback with a fresh data dir, its local clusters supervised, and an API
// client of it scoped to the default project.
type localHub struct {
	c       *apiClient
	dataDir string
	done    chan error
	cancel  context.CancelFunc
}

// startLocalHub starts a hub for local clusters; stop tears it and every control plane down.
func startLocalHub(ctx context.Context, agentBinary string, agentHeartbeat time.Duration) (*localHub, error) {
	dataDir, err := os.MkdirTemp("", "easel-bench-")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	h := &localHub{dataDir: dataDir, done: make(chan error, 1), cancel: cancel}
	ready := make(chan string, 1)
	go func() {
		h.done <- server.Run(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: dataDir, AdminAPIKey: benchKey,
			AgentBinary: agentBinary, LocalVCPULimit: 1 << 20, Resync: 10 * time.Second, AgentHeartbeat: agentHeartbeat,
			Ready: func(addr string) { ready <- addr }})
	}()
	select {
	case addr := <-ready:
		h.c = &apiClient{base: "http://" + addr, http: defaultHTTP()}
	case err := <-h.done:
		h.stop()
		return nil, fmt.Errorf("starting the hub: %w", err)
	}
	var projects struct {
		Items []struct{ Metadata struct{ UID string } }
	}
	if err := h.c.call(ctx, "GET", "/v1/dashboard/projects/metadata", nil, &projects); err != nil || len(projects.Items) == 0 {
		h.stop()
		return nil, fmt.Errorf("finding the default project: %v", err)
	}
	h.c.project = projects.Items[0].Metadata.UID
	return h, nil
}

func (h *localHub) stop() {
	h.cancel()
	if h.c != nil {
		<-h.done
	}
	local.StopAll(filepath.Join(h.dataDir, "clusters"))
	os.RemoveAll(h.dataDir)
}

// benchProfile creates and publishes the profile the benchmarks' clusters use.
func (h *localHub) benchProfile(ctx context.Context) (string, error) {
	var prof struct{ UID string }
	profile := []byte(`{"metadata":{"name":"bench"},"spec":{"template":{"type":"cluster","cloudType":"local",
		"packs":[{"name":"ubuntu","tag":"24.04"},{"name":"kubernetes","tag":"1.34.4"},{"name":"cni-calico","tag":"3.30.3"},
		{"name":"csi-local-path","tag":"0.0.32"}]}}}`)
	if err := h.c.call(ctx, "POST", "/v1/clusterprofiles", profile, &prof); err != nil {
		return "", err
	}
	return prof.UID, h.c.call(ctx, "PATCH", "/v1/clusterprofiles/"+prof.UID+"/publish", nil, nil)
}

// createCluster creates a local cluster of one control-plane node and a worker pool; workerPool
// adds fields to the worker pool's poolConfig (e.g. `,"machineHealthCheck":{…}`).
func (h *localHub) createCluster(ctx context.Context, name, profileUID string, workers int, workerPool string) (string, error) {
	body := fmt.Appendf(nil, `{"metadata":{"name":%q},"spec":{"profiles":[{"uid":%q}],"machinepoolconfig":[
		{"poolConfig":{"name":"cp","size":1,"isControlPlane":true}},{"poolConfig":{"name":"workers","size":%d%s}}]}}`,
		name, profileUID, workers, workerPool)
	var out struct{ UID string }
	err := h.c.call(ctx, "POST", "/v1/spectroclusters/cloudTypes/local", body, &out)
	return out.UID, err
}

// RunProvision starts a hub on loopback with a fresh data dir, creates cfg.Clusters clusters of
// 1 + cfg.Workers nodes at once, waits for all to be Running, measures memory, then deletes them.
func RunProvision(ctx context.Context, cfg ProvisionConfig) (ProvisionResult, error) {
	res := ProvisionResult{Clusters: cfg.Clusters, Workers: cfg.Workers}
	h, err := startLocalHub(ctx, cfg.AgentBinary, 0)
	if err != nil {
		return res, err
	}
	defer h.stop()
	c := h.c
	profUID, err := h.benchProfile(ctx)
	if err != nil {
		return res, err
	}

	start := time.Now()
	uids := make([]string, cfg.Clusters)
	for i := range uids {
		if uids[i], err = h.createCluster(ctx, fmt.Sprintf("bench-%d", i), profUID, cfg.Workers, ""); err != nil {
			return res, err
		}
	}
	fmt.Fprintf(cfg.Progress, "Created %d clusters of 1+%d nodes; waiting for Running\n", cfg.Clusters, cfg.Workers)
	res.ToRunning = make([]time.Duration, cfg.Clusters)
	deadline := time.Now().Add(cfg.Timeout)
	for pending := cfg.Clusters; pending > 0; {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("%d clusters not Running after %s", pending, cfg.Timeout)
		}
		pending = 0
		for i, uid := range uids {
			if res.ToRunning[i] > 0 {
				continue
			}
			var cl struct{ Status struct{ State string } }
			if err := c.call(ctx, "GET", "/v1/spectroclusters/"+uid, nil, &cl); err != nil {
				return res, err
			}
			if cl.Status.State == "Running" {
				res.ToRunning[i] = time.Since(start)
				fmt.Fprintf(cfg.Progress, "Cluster %d Running after %s\n", i, res.ToRunning[i].Round(100*time.Millisecond))
			} else {
				pending++
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	res.HubRSS = rss(os.Getpid())
	var total int64
	for _, uid := range uids {
		total += clusterRSS(filepath.Join(h.dataDir, "clusters", uid))
	}
	res.ClusterRSS = total / int64(cfg.Clusters)

	start = time.Now()
	for _, uid := range uids {
		if err := c.call(ctx, "DELETE", "/v1/spectroclusters/"+uid, nil, nil); err != nil {
			return res, err
		}
	}
	for _, uid := range uids {
		for {
			err := c.call(ctx, "GET", "/v1/spectroclusters/"+uid, nil, nil)
			if err != nil && strings.Contains(err.Error(), ": 404 ") {
				break
			}
			if time.Now().After(deadline) {
				return res, errors.New("clusters not deleted in time")
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	res.Deleted = time.Since(start)
	return res, nil
}

// clusterRSS sums the resident memory of every process whose command line mentions dir.
func clusterRSS(dir string) int64 {
	entries, _ := os.ReadDir("/proc")
	var total int64
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), dir) {
			total += rss(pid)
		}
	}
	return total
}

// rss is a process's resident set size in bytes (0 if it is gone).
func rss(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
