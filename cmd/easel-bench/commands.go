package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/easelhq/easel/test/bench"
)

func rootCommand() *cobra.Command {
	var easel string
	cmd := &cobra.Command{
		Use:   "easel-bench",
		Short: "Measure easel on this machine (loopback only, bounded in count and time)",
		Long: `Each benchmark starts the hub under test — easel server of the --easel binary — as a child
process on 127.0.0.1 with its own data dir, and drives it only through the /v1 API and the agent
protocol. Results are Markdown tables on stdout, progress on stderr.`,
		SilenceUsage: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			var err error
			easel, err = findEasel(easel)
			return err
		},
	}
	cmd.PersistentFlags().StringVar(&easel, "easel", "", "the easel binary to measure (default: easel beside this binary, else on PATH)")
	cmd.AddCommand(benchConsoleCommand(&easel), benchAPICommand(&easel), benchProvisionCommand(&easel), benchIngestCommand(&easel), benchDrainCommand(&easel), benchFailoverCommand(&easel),
		benchDay2Command(&easel), benchIdleCommand(&easel), benchTroubleshootCommand(&easel), benchFleetCommand(&easel),
		peopleCommand())
	return cmd
}

// findEasel resolves --easel: the path given, else easel beside this binary, else on PATH.
func findEasel(flag string) (string, error) {
	if flag != "" {
		return filepath.Abs(flag)
	}
	if self, err := os.Executable(); err == nil {
		beside := filepath.Join(filepath.Dir(self), "easel")
		if _, err := os.Stat(beside); err == nil {
			return beside, nil
		}
	}
	path, err := exec.LookPath("easel")
	if err != nil {
		return "", errors.New("no easel binary beside easel-bench nor on PATH: build one (go build -o bin/easel ./cmd/easel) or name it with --easel")
	}
	return filepath.Abs(path)
}

func benchAPICommand(easel *string) *cobra.Command {
	cfg := bench.APIConfig{Progress: os.Stderr}
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Import clusters through the API, then measure cluster GET and search",
		Long: `Starts a hub on 127.0.0.1 over a fresh store (SQLite, or the empty PostgreSQL database --db
names), imports --clusters clusters through the API (generic: they provision nothing and wait for
agents), then drives GET /v1/spectroclusters/{uid} and POST /v1/dashboard/spectroclusters/search
for --duration each, and prints requests/s and latency percentiles as a Markdown table.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Clusters < 1 || cfg.Clusters > 100_000 || cfg.Concurrency < 1 || cfg.Concurrency > 256 ||
				cfg.Duration <= 0 || cfg.Duration > 10*time.Minute {
				return fmt.Errorf("--clusters must be 1–100000, --concurrency 1–256, --duration up to 10m")
			}
			cfg.Easel = *easel
			results, err := bench.RunAPI(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			printResults(cmd.OutOrStdout(), fmt.Sprintf("%s, %d clusters, %d clients, %s per operation", storeName(cfg.DB),
				cfg.Clusters, cfg.Concurrency, cfg.Duration), "operation | requests/s", results)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.DB, "db", "", "store URL (an empty PostgreSQL database); default a fresh SQLite file")
	cmd.Flags().IntVar(&cfg.Clusters, "clusters", 10_000, "clusters to import before measuring")
	cmd.Flags().DurationVar(&cfg.Duration, "duration", 20*time.Second, "how long each operation is measured")
	cmd.Flags().IntVar(&cfg.Concurrency, "concurrency", 8, "concurrent clients")
	return cmd
}

func benchProvisionCommand(easel *string) *cobra.Command {
	cfg := bench.ProvisionConfig{Progress: os.Stderr}
	cmd := &cobra.Command{
		Use:   "provision",
		Short: "Create local clusters, time them to Running, measure their memory, delete them",
		Long: `Starts a hub on 127.0.0.1 with a fresh data dir, creates --clusters clusters of one control-plane
node and --workers worker nodes at once, and reports the time from create to Running of each, the
hub process's and each cluster's resident memory, and the time to delete them all. Needs the
Kubernetes binaries (./hack/k8s-binaries.sh).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Clusters < 1 || cfg.Clusters > 50 || cfg.Workers < 0 || cfg.Workers > 500 {
				return fmt.Errorf("--clusters must be 1–50 and --workers 0–500")
			}
			cfg.Easel = *easel
			res, err := bench.RunProvision(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			slowest := slices.Max(res.ToRunning)
			fmt.Fprintf(out, "\n%d cluster(s) of 1+%d nodes, %d CPUs (%s/%s)\n\n", res.Clusters, res.Workers, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintln(out, "| clusters | nodes each | create → Running (first / last) | hub RSS | RSS per cluster | delete all |")
			fmt.Fprintln(out, "|---:|---:|---:|---:|---:|---:|")
			fmt.Fprintf(out, "| %d | 1+%d | %s / %s | %d MiB | %d MiB | %s |\n", res.Clusters, res.Workers,
				slices.Min(res.ToRunning).Round(100*time.Millisecond), slowest.Round(100*time.Millisecond),
				res.HubRSS>>20, res.ClusterRSS>>20, res.Deleted.Round(100*time.Millisecond))
			return nil
		},
	}
	cmd.Flags().IntVar(&cfg.Clusters, "clusters", 1, "clusters created at once")
	cmd.Flags().IntVar(&cfg.Workers, "workers", 2, "worker nodes per cluster")
	cmd.Flags().DurationVar(&cfg.Timeout, "timeout", 10*time.Minute, "give up after this long")
	return cmd
}

func benchIngestCommand(easel *string) *cobra.Command {
	cfg := bench.IngestConfig{Progress: os.Stderr}
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Measure how many agent reports (heartbeats, node reports, usage samples, workloads) the hub absorbs",
		Long: `Starts a hub on 127.0.0.1 over a fresh store (SQLite, or the empty PostgreSQL database --db
names), imports --agents clusters through the API and takes each one's agent token from its import
manifest, then has these virtual agents send heartbeats, node reports and usage samples of --nodes
nodes and full workload reports of --pods pods as fast as the hub absorbs them, for --duration each.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Agents < 1 || cfg.Agents > 10_000 || cfg.Nodes < 0 || cfg.Nodes > 5_000 || cfg.Pods < 0 || cfg.Pods > 2_000 ||
				cfg.Concurrency < 1 || cfg.Concurrency > 256 || cfg.Duration <= 0 || cfg.Duration > 10*time.Minute {
				return fmt.Errorf("--agents must be 1–10000, --nodes 0–5000, --pods 0–2000, --concurrency 1–256, --duration up to 10m")
			}
			cfg.Easel = *easel
			results, err := bench.RunIngest(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			printResults(cmd.OutOrStdout(), fmt.Sprintf("%s, %d agents, %d clients, %s per report kind", storeName(cfg.DB),
				cfg.Agents, cfg.Concurrency, cfg.Duration), "report | reports/s", results)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.DB, "db", "", "store URL (an empty PostgreSQL database); default a fresh SQLite file")
	cmd.Flags().IntVar(&cfg.Agents, "agents", 200, "virtual agents (one cluster each)")
	cmd.Flags().IntVar(&cfg.Nodes, "nodes", 10, "nodes in each node report")
	cmd.Flags().IntVar(&cfg.Pods, "pods", 300, "pods in each full workload report (at most 2000: one message of at most 1 MiB)")
	cmd.Flags().DurationVar(&cfg.Duration, "duration", 20*time.Second, "how long each report kind is measured")
	cmd.Flags().IntVar(&cfg.Concurrency, "concurrency", 8, "concurrent senders")
	return cmd
}

func storeName(db string) string {
	if db != "" {
		return "PostgreSQL"
	}
	return "SQLite"
}

// printResults prints a measurement as a Markdown table under a line naming the run and machine.
func printResults(out io.Writer, title, columns string, results []bench.Result) {
	fmt.Fprintf(out, "\n%s, %d CPUs (%s/%s)\n\n", title, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(out, "| %s | p50 | p99 | errors |\n|---|---:|---:|---:|---:|\n", columns)
	for _, r := range results {
		fmt.Fprintf(out, "| %s | %.0f | %s | %s | %d |\n", r.Operation, r.PerSecond,
			r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Errors)
	}
}

func benchDrainCommand(easel *string) *cobra.Command {
	cfg := bench.DrainConfig{Progress: os.Stderr}
	cmd := &cobra.Command{
		Use:   "drain",
		Short: "Compare easel's maintenance mode with kubectl drain on the same local cluster",
		Long: `Starts a hub on 127.0.0.1 and a local cluster with two KWOK worker nodes and a Deployment of
--pods replicas all on one of them, then drains the node holding them with maintenance mode (turned
on through the API, timed until the machine's maintenance status is Completed) and with kubectl
drain --ignore-daemonsets --delete-emptydir-data, alternately, --rounds times each (every drain
moves the pods to the other worker). Prints each drain's time and the medians' ratio. Needs the
Kubernetes binaries (./hack/k8s-binaries.sh).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Pods < 1 || cfg.Pods > 110 || cfg.Rounds < 1 || cfg.Rounds > 10 || cfg.Timeout <= 0 {
				return fmt.Errorf("--pods must be 1–110 (a node's pod capacity), --rounds 1–10 and --timeout positive")
			}
			cfg.Easel = *easel
			res, err := bench.RunDrain(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "\nDrain of a node with %d pods, %d rounds, %d CPUs (%s/%s)\n\n", res.Pods, cfg.Rounds, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintln(out, "| tool | drains | median | min | max |")
			fmt.Fprintln(out, "|---|---|---:|---:|---:|")
			for _, row := range []struct {
				name  string
				times []time.Duration
			}{{"easel (maintenance mode)", res.Easel}, {"kubectl drain", res.Kubectl}} {
				fmt.Fprintf(out, "| %s | %s | %s | %s | %s |\n", row.name, durations(row.times), median(row.times),
					slices.Min(row.times).Round(time.Millisecond), slices.Max(row.times).Round(time.Millisecond))
			}
			fmt.Fprintf(out, "\nkubectl drain / easel: %.1f×\n", float64(median(res.Kubectl))/float64(median(res.Easel)))
			return nil
		},
	}
	cmd.Flags().IntVar(&cfg.Pods, "pods", 110, "pods on the drained node (at most 110, a node's capacity)")
	cmd.Flags().IntVar(&cfg.Rounds, "rounds", 3, "drains per tool")
	cmd.Flags().DurationVar(&cfg.Timeout, "timeout", 10*time.Minute, "give up after this long")
	return cmd
}

func median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	return s[len(s)/2].Round(time.Millisecond)
}

func durations(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Round(time.Millisecond).String()
	}
	return strings.Join(parts, ", ")
}

func benchDay2Command(easel *string) *cobra.Command {
	cfg := bench.Day2Config{Progress: os.Stderr}
	cmd := &cobra.Command{
		Use:   "day2",
		Short: "Measure a repave (time per node), a node relaunch (time from fault) and an add-on change on a local cluster",
		Long: `Starts a hub on 127.0.0.1 and a local cluster of one control-plane node and --workers workers,
changes the workers' instance type and measures the repave (per node: from creating the replacement
to deleting the old machine), then takes one worker's kubelet down (the local provider's
easel.dev/fault=kubelet-down) and measures the time to its relaunch (the pool's
nodeReadyHealthCheckDuration is --node-ready-timeout) and to its replacement Running; last it
attaches an add-on profile (a DaemonSet) and detaches it, measuring until the agent applied it
(DaemonSet Ready on every worker) and pruned it (namespace gone).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Workers < 1 || cfg.Workers > 20 || cfg.NodeReadyTimeout < time.Second || cfg.NodeReadyTimeout > 30*time.Minute {
				return fmt.Errorf("--workers must be 1–20 and --node-ready-timeout 1s–30m")
			}
			cfg.Easel = *easel
			res, err := bench.RunDay2(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "\nRepave of %d workers and one relaunch, %d CPUs (%s/%s)\n\n", cfg.Workers, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintln(out, "| measure | time |")
			fmt.Fprintln(out, "|---|---:|")
			fmt.Fprintf(out, "| repave, per node (median of %d: %s) | %s |\n", len(res.PerNode), durations(res.PerNode), median(res.PerNode))
			fmt.Fprintf(out, "| repave, whole pool | %s |\n", res.Repave.Round(time.Millisecond))
			fmt.Fprintf(out, "| kubelet down → relaunch starts (timeout %s) | %s |\n", cfg.NodeReadyTimeout, res.ToRelaunch.Round(time.Millisecond))
			fmt.Fprintf(out, "| kubelet down → replacement Running | %s |\n", res.ToReplaced.Round(time.Millisecond))
			fmt.Fprintf(out, "| add-on profile attached → applied, DaemonSet Ready on every worker | %s |\n", res.AddOnApplied.Round(time.Millisecond))
			fmt.Fprintf(out, "| add-on profile detached → its objects deleted | %s |\n", res.AddOnPruned.Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().IntVar(&cfg.Workers, "workers", 3, "workers to repave")
	cmd.Flags().DurationVar(&cfg.NodeReadyTimeout, "node-ready-timeout", 10*time.Second, "the pool's nodeReadyHealthCheckDuration")
	cmd.Flags().DurationVar(&cfg.Timeout, "timeout", 10*time.Minute, "give up after this long")
	return cmd
}

func benchTroubleshootCommand(easel *string) *cobra.Command {
	cfg := bench.TroubleshootConfig{Progress: os.Stderr}
	cmd := &cobra.Command{
		Use:   "troubleshoot",
		Short: "Measure a log bundle and a doctor run on a local cluster",
		Long: `Starts a hub on 127.0.0.1 and a local cluster of one control-plane node and --workers workers
with a CNI and a CSI, asks for a log bundle and measures the time to Completed and its size; then
scales the workers to --doctor-workers and measures a doctor run over every node.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Workers < 1 || cfg.Workers > 200 || cfg.DoctorWorkers < 1 || cfg.DoctorWorkers > 200 {
				return fmt.Errorf("--workers and --doctor-workers must be 1–200")
			}
			cfg.Easel = *easel
			res, err := bench.RunTroubleshoot(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "\nLog bundle and doctor, %d CPUs (%s/%s)\n\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintln(out, "| measure | value |")
			fmt.Fprintln(out, "|---|---:|")
			fmt.Fprintf(out, "| log bundle of 1+%d nodes: request → %s | %s |\n", cfg.Workers, res.BundleState, res.Bundle.Round(time.Millisecond))
			fmt.Fprintf(out, "| its zip | %d bytes |\n", res.BundleBytes)
			fmt.Fprintf(out, "| doctor on 1+%d nodes: request → %d findings | %s |\n", cfg.DoctorWorkers, res.Findings, res.Doctor.Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().IntVar(&cfg.Workers, "workers", 50, "workers of the cluster whose log bundle is measured")
	cmd.Flags().IntVar(&cfg.DoctorWorkers, "doctor-workers", 100, "workers the doctor runs on")
	cmd.Flags().DurationVar(&cfg.Timeout, "timeout", 15*time.Minute, "give up after this long")
	return cmd
}

func benchConsoleCommand(easel *string) *cobra.Command {
	cfg := bench.ConsoleConfig{Progress: os.Stderr}
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Measure the web console: the cluster grid's response time, page sizes, login to a drawn overview",
		Long: `Starts a hub on 127.0.0.1 with a fresh SQLite store, imports --clusters clusters through the API
and gives the first one an agent's node and usage reports. Then measures GET /clusters with one
client at a time for --duration each (the first page, a deep page, a name filter, all projects),
the bytes of each page with the stylesheets, scripts and data it loads (uncompressed, nothing
cached), and --logins times, each in a fresh headless Chromium, the time from submitting the login
form to the first cluster's overview with its charts drawn.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Clusters < 1 || cfg.Clusters > 20_000 || cfg.Duration < time.Second || cfg.Duration > 10*time.Minute ||
				cfg.Logins < 1 || cfg.Logins > 20 {
				return fmt.Errorf("--clusters must be 1–20000, --duration 1s–10m, --logins 1–20")
			}
			cfg.Easel = *easel
			res, err := bench.RunConsole(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "\nThe console over %d clusters (SQLite), %d CPUs (%s/%s)\n\n", cfg.Clusters, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintln(out, "| request, one client | requests/s | p50 | p95 | p99 | errors |\n|---|---:|---:|---:|---:|---:|")
			for _, r := range res.Grid {
				fmt.Fprintf(out, "| %s | %.0f | %s | %s | %s | %d |\n", r.Operation, r.PerSecond, r.P50.Round(10*time.Microsecond),
					r.P95.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Errors)
			}
			fmt.Fprintln(out, "\n| page | HTML | assets | data | total |\n|---|---:|---:|---:|---:|")
			for _, p := range res.Pages {
				fmt.Fprintf(out, "| `%s` | %d | %d | %d | %d |\n", p.Page, p.HTML, p.Assets, p.Data, p.Total())
			}
			fmt.Fprintf(out, "\nlogin → drawn overview in Chromium: median %s (%s)\n", median(res.LoginToDrawn), durations(res.LoginToDrawn))
			return nil
		},
	}
	cmd.Flags().IntVar(&cfg.Clusters, "clusters", 1000, "clusters stored before measuring")
	cmd.Flags().DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long each grid request is measured")
	cmd.Flags().StringVar(&cfg.Chromium, "chromium", os.Getenv("EASEL_CHROMIUM"), "the Chromium that times the login (default: $EASEL_CHROMIUM, else chromium on the PATH)")
	cmd.Flags().IntVar(&cfg.Logins, "logins", 5, "how many times login → drawn overview is timed")
	return cmd
}

func benchIdleCommand(easel *string) *cobra.Command {
	cfg := bench.IdleConfig{Window: 10 * time.Second, Progress: os.Stderr}
	cmd := &cobra.Command{
		Use:   "idle",
		Short: "Measure the CPU and memory a hub burns holding imported clusters that wait for agents",
		Long: `Starts a hub on 127.0.0.1 with a fresh data dir (SQLite) and the product's defaults, imports
--clusters clusters through the API (generic: they wait for agents that never come), waits until
the engine has looked at every one (each reports AgentDeployed False, WaitingForAgent; at most
--settle-timeout), then reads the hub process's CPU time (/proc/<pid>/stat, user+system) every 10 s
for --duration, and prints its average and 95th-percentile CPU as % of one core, its resident
memory, and the store writes of the clusters meanwhile (their resource versions, read before and
after). With --reference the same run follows with that binary, in the same table.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Clusters < 1 || cfg.Clusters > 20_000 || cfg.Duration < time.Second || cfg.Duration > 10*time.Minute ||
				cfg.Concurrency < 1 || cfg.Concurrency > 256 || cfg.SettleTimeout <= 0 || cfg.SettleTimeout > 30*time.Minute {
				return fmt.Errorf("--clusters must be 1–20000, --duration 1s–10m, --concurrency 1–256, --settle-timeout up to 30m")
			}
			cfg.Easel = *easel
			if cfg.Reference != "" {
				var err error
				if cfg.Reference, err = filepath.Abs(cfg.Reference); err != nil {
					return err
				}
			}
			results, err := bench.RunIdle(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "\nIdle hub, %d imported clusters waiting for agents, CPU over %s (p95 of %s windows), %d CPUs (%s/%s)\n\n",
				cfg.Clusters, cfg.Duration, cfg.Window, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintln(out, "| binary | clusters waiting | CPU average (% of one core) | CPU p95 | hub RSS | store writes (clusters written) |")
			fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|")
			for _, r := range results {
				fmt.Fprintf(out, "| %s | %d of %d after %s | %.1f %% | %.1f %% | %d MiB | %d (%d) |\n", r.Binary, r.Settled, r.Clusters,
					r.SettledAfter.Round(100*time.Millisecond), r.CPUAverage, r.CPUP95, r.RSS>>20, r.Writes, r.Written)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.Reference, "reference", "", "a second easel binary measured the same way, after the first (e.g. one built from main)")
	cmd.Flags().IntVar(&cfg.Clusters, "clusters", 2000, "imported clusters the hub holds (at most 20000)")
	cmd.Flags().DurationVar(&cfg.Duration, "duration", 2*time.Minute, "how long the hub's CPU is measured (at most 10m)")
	cmd.Flags().DurationVar(&cfg.SettleTimeout, "settle-timeout", 5*time.Minute, "longest wait for the engine to have looked at every cluster before measuring")
	cmd.Flags().IntVar(&cfg.Concurrency, "concurrency", 8, "clients that import the clusters and read them back")
	return cmd
}

func benchFleetCommand(easel *string) *cobra.Command {
	cfg := bench.FleetConfig{Window: 10 * time.Second, Progress: os.Stderr}
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Simulate a fleet: N imported clusters, each with a virtual agent, and people using the API and console",
		Long: `Starts a hub on 127.0.0.1 over a fresh store (SQLite, or the empty PostgreSQL database --db
names), imports --clusters clusters through the API and runs a virtual agent for each — the agent's
own hub client (internal/agent), with made-up reports of --nodes nodes and --pods pods — for
--duration: each starts at a random moment of the first heartbeat interval, then sends a heartbeat
every --heartbeat, holds the desired-state long-poll open, sends its node report at start and when
a node goes NotReady or Ready again (on average every --node-change; with --node-interval also
every interval, as today's agent does), a usage sample every --usage-interval and a workload delta
(a few restarted pods) every --workload-interval. Meanwhile four user clients, --user-rate calls/s
each, GET a cluster, the dashboard search's first page, a cluster's events and the console's
cluster grid (signed in), from a process of their own; on SQLite the agents run at --agents-nice,
below the hub and the user clients, as agents on machines of their own would not take the hub's CPU. Prints the hub's CPU (average and p95 of 10 s windows, /proc/<pid>/stat),
peak RSS and, read from its runtime profiles after a collection at 95 % of the run, its live heap,
goroutine stacks and goroutines (--heap-profile keeps the heap profile), the store's size and growth, every agent call's outcome and each user call's
latency, then one line: fleet: clusters=N cpu_avg=X% p99_ms=Y accepted=A refused=R lost=L
(p99_ms is the worst user call's p99; accepted, refused and lost count every agent call).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Clusters < 1 || cfg.Clusters > 20_000 || cfg.Nodes < 0 || cfg.Nodes > 1000 || cfg.Pods < 0 || cfg.Pods > 10_000 ||
				cfg.Duration < time.Second || cfg.Duration > time.Hour || cfg.Concurrency < 1 || cfg.Concurrency > 256 ||
				cfg.UserRate <= 0 || cfg.UserRate > 100 || cfg.IdleConns < 0 || cfg.AgentsNice < 0 || cfg.AgentsNice > 19 {
				return fmt.Errorf("--clusters must be 1–20000, --nodes 0–1000, --pods 0–10000, --duration 1s–1h, " +
					"--concurrency 1–256, --user-rate above 0 and at most 100, --idle-conns 0 or more, --agents-nice 0–19")
			}
			for name, d := range map[string]time.Duration{"--heartbeat": cfg.Heartbeat, "--poll-wait": cfg.PollWait,
				"--usage-interval": cfg.UsageInterval, "--workload-interval": cfg.WorkloadInterval} {
				if d < time.Second || d > time.Hour {
					return fmt.Errorf("%s must be 1s–1h", name)
				}
			}
			if cfg.NodeInterval < 0 || (cfg.NodeInterval > 0 && cfg.NodeInterval < time.Second) || cfg.NodeChange < 0 {
				return fmt.Errorf("--node-interval must be 0 (on change only) or at least 1s, --node-change 0 (never) or more")
			}
			if cfg.DB != "" && !cmd.Flags().Changed("agents-nice") {
				cfg.AgentsNice = 0
			}
			cfg.Easel = *easel
			res, err := bench.RunFleet(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			printFleet(cmd.OutOrStdout(), storeName(cfg.DB), res)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.DB, "db", "", "store URL (an empty PostgreSQL database); default a fresh SQLite file")
	cmd.Flags().IntVar(&cfg.Clusters, "clusters", 1000, "imported clusters, one virtual agent each (at most 20000)")
	cmd.Flags().BoolVar(&cfg.TLS, "tls", false, "serve HTTPS (the hub's self-signed certificate, pinned): one HTTP/2 connection per agent, as a hub agents reach over the network has")
	cmd.Flags().StringVar(&cfg.HubMemoryLimit, "hub-memory-limit", "", "the hub's GOMEMLIMIT, Go's soft memory limit (such as 1800MiB); default none")
	cmd.Flags().StringVar(&cfg.HeapProfile, "heap-profile", "", "write the hub's heap profile to this file when its memory is read, at 95 % of the run (go tool pprof -sample_index=inuse_space FILE)")
	cmd.Flags().IntVar(&cfg.IdleConns, "idle-conns", 0, "without --tls: at most this many idle connections in the agents' shared transport (default two per agent)")
	cmd.Flags().IntVar(&cfg.Nodes, "nodes", 10, "nodes per cluster")
	cmd.Flags().IntVar(&cfg.Pods, "pods", 300, "pods per cluster (its workload report)")
	cmd.Flags().DurationVar(&cfg.Duration, "duration", 3*time.Minute, "how long the fleet runs and the hub is measured (at most 1h)")
	cmd.Flags().DurationVar(&cfg.Heartbeat, "heartbeat", 30*time.Second, "each agent's heartbeat interval; starts spread over the first one")
	cmd.Flags().DurationVar(&cfg.PollWait, "poll-wait", 30*time.Second, "the desired-state long-poll's wait")
	cmd.Flags().DurationVar(&cfg.NodeInterval, "node-interval", 0, "also send the node report every interval (0: at start and on change only)")
	cmd.Flags().DurationVar(&cfg.NodeChange, "node-change", 30*time.Minute, "mean time between a cluster's node changes (NotReady, Ready again; 0: never)")
	cmd.Flags().DurationVar(&cfg.UsageInterval, "usage-interval", time.Minute, "each agent's usage sample interval")
	cmd.Flags().DurationVar(&cfg.WorkloadInterval, "workload-interval", time.Minute, "each agent's workload delta interval")
	cmd.Flags().Float64Var(&cfg.UserRate, "user-rate", 5, "calls per second of each user client")
	cmd.Flags().StringVar(&cfg.UserCallsFile, "user-calls", "", "write every user call to this CSV file: when it began (s from the agents' start), its latency (ms), its error")
	cmd.Flags().IntVar(&cfg.AgentsNice, "agents-nice", 10, "the nice value the virtual agents run at, below the hub and the user clients (0: the hub's priority); "+
		"default 10 on SQLite and 0 with --db, where a PostgreSQL server on the same cores would leave niced agents too little CPU to answer in time")
	cmd.Flags().IntVar(&cfg.Concurrency, "concurrency", 8, "clients that import the clusters and fetch their agent tokens")
	return cmd
}

// peopleCommand is the process the fleet simulator's user clients call from (bench.RunPeople): it
// reads its configuration on stdin and writes each call on stdout. fleet starts it; nobody else.
func peopleCommand() *cobra.Command {
	return &cobra.Command{
		Use:    bench.PeopleCommand,
		Short:  "The user clients of fleet, in a process of their own (started by fleet)",
		Hidden: true,
		Args:   cobra.NoArgs,
		// It needs no easel binary.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, _ []string) error {
			return bench.RunPeople(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
}

// printFleet prints the fleet simulator's result: the hub, the agents' calls, the user calls, and
// last the machine-readable fleet line.
func printFleet(out io.Writer, store string, r bench.FleetResult) {
	transport := "plain HTTP"
	if r.TLS {
		transport = "HTTPS, HTTP/2"
	}
	if r.IdleConns > 0 && !r.TLS {
		transport += fmt.Sprintf(", at most %d idle agent connections", r.IdleConns)
	}
	if r.HubMemoryLimit != "" {
		transport += ", GOMEMLIMIT=" + r.HubMemoryLimit
	}
	if r.HubGODEBUG != "" {
		transport += ", GODEBUG=" + r.HubGODEBUG
	}
	fmt.Fprintf(out, "\nFleet of %d clusters × %d nodes, %d pods (%s, %s), %s, %d CPUs (%s/%s)\n\n", r.Clusters, r.Nodes, r.Pods, transport,
		store, r.Duration, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintln(out, "| hub | value |\n|---|---:|")
	fmt.Fprintf(out, "| CPU average (%% of one core) | %.1f %% |\n", r.CPUAverage)
	fmt.Fprintf(out, "| CPU p95 of %d 10 s windows | %.1f %% |\n", r.Windows, r.CPUP95)
	fmt.Fprintf(out, "| CPU average / p95 of %d windows after every agent started | %.1f / %.1f %% |\n", r.SteadyWindows,
		r.SteadyAverage, r.SteadyP95)
	if r.Settled > 0 {
		fmt.Fprintf(out, "| every agent's first reports accepted after | %.0f s |\n", r.Settled.Seconds())
		fmt.Fprintf(out, "| CPU average / p95 of %d windows after that | %.1f / %.1f %% |\n", r.SettledWindows,
			r.SettledAverage, r.SettledP95)
	} else {
		fmt.Fprintf(out, "| every agent's first reports accepted after | not within the run |\n")
	}
	fmt.Fprintf(out, "| RSS (max) | %d MiB |\n", r.PeakRSS>>20)
	if m := r.Memory; m != nil {
		fmt.Fprintf(out, "| after a collection at %.0f s: live heap / heap in use / goroutine stacks | %d / %d / %d MiB |\n",
			m.At.Seconds(), m.Live>>20, m.HeapInUse>>20, m.Stacks>>20)
		fmt.Fprintf(out, "| goroutines then | %d |\n", m.Goroutines)
	}
	fmt.Fprintf(out, "| store at start / all agents started / first reports all in / end | %.1f / %.1f / %.1f / %.1f MiB |\n",
		mib(r.StoreStart), mib(r.StoreWarm), mib(r.StoreSettled), mib(r.StoreEnd))
	since := "all agents' first reports were in"
	if r.StoreSettled == 0 {
		since = "all agents started; their first reports still arriving"
	}
	fmt.Fprintf(out, "| store growth per hour (after %s) | %.1f MiB |\n", since, r.GrowthPerHour/(1<<20))
	fmt.Fprintf(out, "| the simulator's own CPU (same machine; its agents at nice %d) | %.1f %% |\n", r.AgentsNice, r.SimulatorCPU)
	fmt.Fprintln(out, "\n| agent call | sent | accepted | refused 429 | refused 503 | refused other 4xx | refused other 5xx | lost |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, c := range append(r.Agents, r.Total()) {
		fmt.Fprintf(out, "| %s | %d | %d | %d | %d | %d | %d | %d |\n", c.Kind, c.Sent, c.Accepted, c.TooMany, c.Unavailable,
			c.Other4xx, c.Other5xx, c.Lost)
	}
	fmt.Fprintln(out, "\n| user call | calls/s | p50 | p99 | errors | p50 / p99 after every agent's first reports |\n|---|---:|---:|---:|---:|---:|")
	for i, u := range r.Users {
		settled := "—"
		if i < len(r.SettledUsers) {
			s := r.SettledUsers[i]
			settled = fmt.Sprintf("%s / %s", s.P50.Round(10*time.Microsecond), s.P99.Round(10*time.Microsecond))
		}
		fmt.Fprintf(out, "| %s | %.1f | %s | %s | %d | %s |\n", u.Operation, u.PerSecond, u.P50.Round(10*time.Microsecond),
			u.P99.Round(10*time.Microsecond), u.Errors, settled)
	}
	t := r.Total()
	fmt.Fprintf(out, "\nfleet: clusters=%d cpu_avg=%.1f%% p99_ms=%.1f accepted=%d refused=%d lost=%d\n", r.Clusters, r.CPUAverage,
		float64(r.WorstP99().Microseconds())/1000, t.Accepted, t.Refused(), t.Lost)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func benchFailoverCommand(easel *string) *cobra.Command {
	cfg := bench.FailoverConfig{Progress: os.Stderr}
	cmd := &cobra.Command{
		Use:   "failover",
		Short: "Two hub replicas on one PostgreSQL; one is killed: how long until the other holds every cluster",
		Long: `Starts replicas A and B of easel server on 127.0.0.1 over the empty PostgreSQL database --db
names, with --lease-duration, imports --clusters clusters through A, waits until both replicas hold a
share of them (their easel_replica_leases_held), runs a virtual agent per cluster that knows both
replicas' URLs (half of them A's first) for --before, SIGKILLs A, and measures how long until B holds
every cluster; the agents run --after more. Then it counts the agents' calls that no replica
answered (lost), the clusters with more than one create audit entry, the events stored twice, and
B's refused fenced writes. Last, one line:
failover: clusters=N lease_s=L takeover_s=T lost=X duplicate_audits=A duplicate_events=E`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Clusters < 1 || cfg.Clusters > 5000 || cfg.Lease < 3*time.Second || cfg.Lease > time.Minute ||
				cfg.Before < time.Second || cfg.Before > 10*time.Minute || cfg.After < 0 || cfg.After > 10*time.Minute ||
				cfg.Concurrency < 1 || cfg.Concurrency > 256 {
				return fmt.Errorf("--clusters must be 1–5000, --lease-duration 3s–1m, --before 1s–10m, --after 0–10m, --concurrency 1–256")
			}
			cfg.Easel = *easel
			res, err := bench.RunFailover(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "\nTwo replicas on PostgreSQL, %d clusters, lease %s, %d CPUs (%s/%s)\n\n", res.Clusters, res.Lease,
				runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintln(out, "| measure | value |\n|---|---:|")
			fmt.Fprintf(out, "| clusters held by A / B before the kill | %d / %d |\n", res.HeldBefore[0], res.HeldBefore[1])
			fmt.Fprintf(out, "| SIGKILL of A → B holds every cluster | %.2f s |\n", res.Takeover.Seconds())
			t := res.Total()
			fmt.Fprintf(out, "| agent calls sent / accepted / refused / lost | %d / %d / %d / %d |\n", t.Sent, t.Accepted, t.Refused(), t.Lost)
			fmt.Fprintf(out, "| clusters with two create audit entries | %d |\n", res.DuplicateAudits)
			fmt.Fprintf(out, "| events stored twice | %d |\n", res.DuplicateEvents)
			fmt.Fprintf(out, "| B's fenced writes refused | %d |\n", res.RefusedWrites)
			fmt.Fprintf(out, "\nfailover: clusters=%d lease_s=%.0f takeover_s=%.2f lost=%d duplicate_audits=%d duplicate_events=%d\n",
				res.Clusters, res.Lease.Seconds(), res.Takeover.Seconds(), t.Lost, res.DuplicateAudits, res.DuplicateEvents)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.DB, "db", "", "the empty PostgreSQL database both replicas share (postgres://…)")
	cmd.Flags().IntVar(&cfg.Clusters, "clusters", 200, "imported clusters, one virtual agent each (at most 5000)")
	cmd.Flags().DurationVar(&cfg.Lease, "lease-duration", 10*time.Second, "the replicas' --lease-duration")
	cmd.Flags().DurationVar(&cfg.Before, "before", 10*time.Second, "how long the agents run before A is killed")
	cmd.Flags().DurationVar(&cfg.After, "after", 5*time.Second, "how long the agents run after B took over")
	cmd.Flags().IntVar(&cfg.Concurrency, "concurrency", 8, "clients that import the clusters and fetch their agent tokens")
	return cmd
}
