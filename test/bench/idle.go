package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// IdleConfig is one run of the idle benchmark.
type IdleConfig struct {
	Easel string // the easel binary whose `easel server` is measured
	// Reference, if set, is a second easel binary measured the same way after the first.
	Reference string
	Clusters  int           // imported clusters the hub holds
	Duration  time.Duration // how long the hub's CPU is measured
	Window    time.Duration // the CPU percentiles' window (default 10 s)
	// SettleTimeout bounds the wait for the engine to have looked at every cluster (default 5m).
	SettleTimeout time.Duration
	Concurrency   int // clients that import the clusters and read them back
	Progress      io.Writer
}

// IdleResult is what the idle benchmark measured of one binary.
type IdleResult struct {
	Binary   string
	Clusters int
	// Settled is how many clusters reported the engine's waiting condition (AgentDeployed False,
	// WaitingForAgent) when the measurement began; SettledAfter how long after the last import.
	Settled      int
	SettledAfter time.Duration
	// CPU is the hub process's CPU time over the measurement (user+system) as a percentage of one
	// core: the average, and the 95th percentile of Window-long windows.
	CPUAverage, CPUP95 float64
	Windows            int
	// RSS is the hub's resident memory at the end of the measurement.
	RSS int64
	// Writes is the sum of the clusters' resource-version increments between the reads that
	// bracket the measurement (each increment is one store write of the cluster), Written the
	// number of clusters written at least once.
	Writes  int64
	Written int
}

// clockTicks is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, which Linux fixes at
// 100 for user space on every architecture (sysconf(_SC_CLK_TCK) would need cgo to ask).
const clockTicks = 100

// RunIdle measures cfg.Easel, then cfg.Reference if set, each over a fresh hub holding cfg.Clusters
// imported clusters that wait for agents which never come: what the hub burns doing nothing.
func RunIdle(ctx context.Context, cfg IdleConfig) ([]IdleResult, error) {
	if cfg.Window <= 0 {
		cfg.Window = 10 * time.Second
	}
	if cfg.SettleTimeout <= 0 {
		cfg.SettleTimeout = 5 * time.Minute
	}
	var results []IdleResult
	for _, bin := range []string{cfg.Easel, cfg.Reference} {
		if bin == "" {
			continue
		}
		res, err := runIdle(ctx, cfg, bin)
		if err != nil {
			return results, fmt.Errorf("%s: %w", bin, err)
		}
		results = append(results, res)
	}
	return results, nil
}

func runIdle(ctx context.Context, cfg IdleConfig, bin string) (IdleResult, error) {
	res := IdleResult{Binary: bin, Clusters: cfg.Clusters}
	fmt.Fprintf(cfg.Progress, "Starting %s server\n", bin)
	// The product's defaults: nothing here is tuned for the benchmark.
	h, err := startHub(ctx, hubOptions{easel: bin, concurrency: cfg.Concurrency, progress: cfg.Progress})
	if err != nil {
		return res, err
	}
	defer h.stop()
	uids, err := seed(ctx, h.c, cfg.Clusters, cfg.Concurrency, cfg.Progress)
	if err != nil {
		return res, err
	}

	// The engine has looked at a cluster once it replaced the import's condition (AgentDeployed
	// False, WaitingForImport) with its own (WaitingForAgent); from then on an imported cluster
	// without an agent has nothing left to do, which is the state measured.
	imported := time.Now()
	var states []clusterState
	for {
		if states, err = readClusters(ctx, h.c, uids, cfg.Concurrency); err != nil {
			return res, err
		}
		res.Settled = 0
		for _, s := range states {
			if s.waiting {
				res.Settled++
			}
		}
		res.SettledAfter = time.Since(imported)
		if res.Settled == len(uids) {
			break
		}
		if res.SettledAfter > cfg.SettleTimeout {
			fmt.Fprintf(cfg.Progress, "Only %d of %d clusters report WaitingForAgent after %s; measuring anyway\n",
				res.Settled, len(uids), cfg.SettleTimeout)
			break
		}
		if err := sleep(ctx, time.Second); err != nil {
			return res, err
		}
	}
	fmt.Fprintf(cfg.Progress, "%d of %d clusters waiting for their agents %s after the last import; measuring the hub's CPU for %s\n",
		res.Settled, len(uids), res.SettledAfter.Round(100*time.Millisecond), cfg.Duration)

	windows, err := cpuWindows(ctx, h.pid(), cfg.Duration, cfg.Window)
	if err != nil {
		return res, err
	}
	res.RSS = rss(h.pid())
	res.Windows = len(windows)
	res.CPUAverage, res.CPUP95 = cpuPercents(windows)

	after, err := readClusters(ctx, h.c, uids, cfg.Concurrency)
	if err != nil {
		return res, err
	}
	for i := range after {
		if d := after[i].version - states[i].version; d > 0 {
			res.Writes += d
			res.Written++
		}
	}
	return res, nil
}

// cpuWindow is the CPU time (seconds) a process spent over a wall-clock window.
type cpuWindow struct {
	cpu  float64
	wall time.Duration
}

// cpuWindows samples a process's CPU time every window for d (the last window may be shorter).
func cpuWindows(ctx context.Context, pid int, d, window time.Duration) ([]cpuWindow, error) {
	prev, err := cpuSeconds(pid)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	prevAt := start
	var out []cpuWindow
	for elapsed := time.Duration(0); elapsed < d; {
		if err := sleep(ctx, min(window, d-elapsed)); err != nil {
			return nil, err
		}
		now := time.Now()
		cur, err := cpuSeconds(pid)
		if err != nil {
			return nil, err
		}
		out = append(out, cpuWindow{cpu: cur - prev, wall: now.Sub(prevAt)})
		prev, prevAt = cur, now
		elapsed = now.Sub(start)
	}
	return out, nil
}

// cpuPercents is the average CPU of windows and the 95th percentile of their CPU, each as a
// percentage of one core.
func cpuPercents(windows []cpuWindow) (average, p95 float64) {
	var total float64
	var spent time.Duration
	percents := make([]float64, len(windows))
	for i, w := range windows {
		total += w.cpu
		spent += w.wall
		percents[i] = 100 * w.cpu / w.wall.Seconds()
	}
	if spent <= 0 {
		return 0, 0
	}
	return 100 * total / spent.Seconds(), percentile(percents, 95)
}

// cpuSeconds is a process's user+system CPU time so far, from /proc/<pid>/stat.
func cpuSeconds(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the CPU time of process %d: %w", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces: count from its end.
	// utime and stime are fields 14 and 15, the 12th and 13th after it.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat has %d fields after the command", pid, len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q, stime %q", pid, fields[11], fields[12])
	}
	return float64(utime+stime) / clockTicks, nil
}

// percentile is the nearest-rank p-th percentile of xs (0 for none).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	return s[max(0, int(math.Ceil(p/100*float64(len(s))))-1)]
}

// clusterState is what the idle benchmark reads of a cluster.
type clusterState struct {
	version int64 // its resource version (the ETag)
	waiting bool  // AgentDeployed False with the engine's reason WaitingForAgent
}

// readClusters GETs every cluster from concurrency clients.
func readClusters(ctx context.Context, c *apiClient, uids []string, concurrency int) ([]clusterState, error) {
	out := make([]clusterState, len(uids))
	err := forEach(len(uids), concurrency, func(i int) error {
		var cl struct {
			Status struct {
				Conditions []struct{ Type, Status, Reason string }
			}
		}
		header, err := c.callHeader(ctx, "GET", "/v1/spectroclusters/"+uids[i], nil, &cl)
		if err == nil {
			out[i].version, err = strconv.ParseInt(strings.Trim(header.Get("ETag"), `"`), 10, 64)
		}
		if err != nil {
			return fmt.Errorf("reading cluster %s: %w", uids[i], err)
		}
		out[i].waiting = slices.ContainsFunc(cl.Status.Conditions, func(c struct{ Type, Status, Reason string }) bool {
			return c.Type == "AgentDeployed" && c.Status == "False" && c.Reason == "WaitingForAgent"
		})
		return nil
	})
	return out, err
}
