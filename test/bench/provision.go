package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ProvisionConfig is one run of the provisioning benchmark.
type ProvisionConfig struct {
	Easel    string // the easel binary whose `easel server` is measured (it also runs the agents)
	Clusters int    // clusters created at once
	Workers  int    // worker nodes per cluster (plus one control-plane node)
	Timeout  time.Duration
	Progress io.Writer
}

// ProvisionResult is what the provisioning benchmark measured.
type ProvisionResult struct {
	Clusters, Workers int
	// ToRunning is, per cluster, the time from the create request to state Running.
	ToRunning []time.Duration
	// HubRSS is the resident memory of the hub process with every cluster Running; ClusterRSS is
	// the summed resident memory of one cluster's processes (etcd, API server,
	// controller-manager, scheduler, KWOK, agent), averaged over the clusters.
	HubRSS, ClusterRSS int64
	// Deleted is the time from the delete requests to every cluster gone.
	Deleted time.Duration
}

// localHubFlags are the `easel server` flags of the benchmarks of local clusters: no vCPU quota
// to hit, and a resync that does not wait a minute.
func localHubFlags(agentHeartbeat time.Duration) []string {
	flags := []string{"--local-vcpu-limit", "1048576", "--resync", "10s"}
	if agentHeartbeat > 0 {
		flags = append(flags, "--agent-heartbeat", agentHeartbeat.String())
	}
	return flags
}

// RunProvision starts a hub on loopback with a fresh data dir, creates cfg.Clusters clusters of
// 1 + cfg.Workers nodes at once, waits for all to be Running, measures memory, then deletes them.
func RunProvision(ctx context.Context, cfg ProvisionConfig) (ProvisionResult, error) {
	res := ProvisionResult{Clusters: cfg.Clusters, Workers: cfg.Workers}
	h, err := startHub(ctx, hubOptions{easel: cfg.Easel, args: localHubFlags(0), concurrency: 1, progress: cfg.Progress})
	if err != nil {
		return res, err
	}
	defer h.stop()
	c := h.c
	profUID, err := h.benchProfile(ctx, fullStack)
	if err != nil {
		return res, err
	}

	start := time.Now()
	uids := make([]string, cfg.Clusters)
	for i := range uids {
		if uids[i], err = h.createCluster(ctx, fmt.Sprintf("bench-%d", i), profUID, cfg.Workers, "", ""); err != nil {
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
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return res, err
		}
	}
	res.HubRSS = rss(h.pid())
	var total int64
	for _, uid := range uids {
		total += clusterRSS(filepath.Join(h.dataDir, "clusters", uid))
	}
	res.ClusterRSS = total / int64(cfg.Clusters)

	start = time.Now()
	if err := h.deleteClusters(ctx, uids, deadline); err != nil {
		return res, err
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
