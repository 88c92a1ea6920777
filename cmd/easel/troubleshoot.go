package main

import (
	"archive/zip"
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/cli"
	"github.com/easelhq/easel/internal/client"
)

// pollInterval is how often the troubleshooting commands ask the hub how their request is doing.
const pollInterval = time.Second

func logsCommand(g *globals) *cobra.Command {
	var (
		since      time.Duration
		lines      int64
		outFile    string
		namespaces []string
		selectors  []string
		nodeLogs   []string
		timeout    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "logs CLUSTER",
		Short: "Collect a cluster's log bundle and download it as a zip",
		Long: `Ask the cluster's agent for a log bundle (Palette's log fetcher), show its state as it moves
(Requested, Collecting, Uploading, Completed) and write the zip. The bundle holds Manifest.yaml
(CRDs, Deployments, Pods, ConfigMaps, Events, Nodes; never Secrets), the logs of kube-system's pods
and the control plane, the agent namespace's logs of the last --since, each node's system and
cloud-init logs (last --lines lines), what the hub knows of the cluster (hub/) and errors.txt with
every item that could not be collected. A cluster whose agent or API server is down still gets the
hub's part. docs/troubleshooting.md describes it.`,
		Example: `  easel logs demo
  easel logs demo --since 30m --lines 2000 -O /tmp/demo-logs.zip
  easel logs demo --namespace web --selector app=checkout`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if since <= 0 || since > v1.MaxLogDuration {
				return fmt.Errorf("--since must be between 1s and %s, not %s", v1.MaxLogDuration, since)
			}
			c, ref, err := g.cluster(ctx, args[0])
			if err != nil {
				return err
			}
			if outFile == "" {
				outFile = fmt.Sprintf("%s-logs-%s.zip", ref.Name, time.Now().UTC().Format("20060102T150405Z"))
			}
			req := v1.LogFetcherRequest{Duration: int64(since / time.Second), NoOfLines: lines,
				K8s: &v1.LogFetcherK8s{Namespaces: namespaces, LabelSelector: selectors}}
			if len(nodeLogs) > 0 {
				req.Node = &v1.LogFetcherNodeLogs{Logs: nodeLogs}
			}
			id, err := c.RequestLogs(ctx, ref.UID, req)
			if err != nil {
				return fmt.Errorf("asking for a log bundle of cluster %s: %w", ref.Name, err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Log bundle %s requested for cluster %s\n", id, ref.Name)
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			var lf *v1.LogFetcher
			err = waitFor(ctx, out, func() (string, string, bool, error) {
				var err error
				if lf, err = c.LogStatus(ctx, ref.UID, id); err != nil {
					return "", "", false, err
				}
				done := lf.Status.State == v1.LogStateCompleted || lf.Status.State == v1.LogStateFailed
				return lf.Status.State, lf.Status.Message, done, nil
			})
			if err != nil {
				return fmt.Errorf("waiting for log bundle %s: %w (the request goes on; easel logs again later)", id, err)
			}
			if lf.Status.State == v1.LogStateFailed {
				return fmt.Errorf("log bundle %s failed: %s", id, lf.Status.Message)
			}
			size, err := downloadBundle(ctx, c, id, outFile)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "Wrote %s (%d bytes)\n", outFile, size)
			return summarizeErrors(out, outFile)
		},
	}
	cmd.Flags().DurationVar(&since, "since", time.Hour, "how far back the agent namespace's logs go")
	cmd.Flags().Int64Var(&lines, "lines", v1.MaxLogLines, "the last lines of each log to take")
	cmd.Flags().StringVarP(&outFile, "output-file", "O", "", "where to write the zip (default CLUSTER-logs-TIME.zip)")
	cmd.Flags().StringSliceVar(&namespaces, "namespace", nil, "also take the logs of this namespace's pods (repeatable)")
	cmd.Flags().StringSliceVar(&selectors, "selector", nil, "also take the logs of the pods this label selector selects (repeatable)")
	cmd.Flags().StringSliceVar(&nodeLogs, "node-log", nil, "files of each node's /var/log to take (default syslog and cloud-init-output.log)")
	cmd.Flags().DurationVar(&timeout, "timeout", 20*time.Minute, "how long to wait for the bundle")
	return cmd
}

// waitFor polls step until it says it is done, printing each new state and message.
func waitFor(ctx context.Context, out io.Writer, step func() (state, message string, done bool, err error)) error {
	last := ""
	for {
		state, message, done, err := step()
		if err != nil {
			return err
		}
		line := state
		if message != "" {
			line += ": " + message
		}
		if line != last {
			fmt.Fprintf(out, "  %s\n", line)
			last = line
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still %s: %w", state, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// downloadBundle writes a bundle to path through a temporary file beside it, so that a cut
// download never leaves a truncated zip under the name asked for.
func downloadBundle(ctx context.Context, c *client.Client, id, path string) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.part")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	size, err := c.DownloadLogs(ctx, id, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("downloading log bundle %s: %w", id, err)
	}
	return size, os.Rename(tmp.Name(), path)
}

// summarizeErrors prints how many items of the bundle could not be collected, and the first few.
func summarizeErrors(out io.Writer, path string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	defer zr.Close()
	f, err := zr.Open("errors.txt")
	if err != nil {
		return fmt.Errorf("%s has no errors.txt: %w", path, err)
	}
	defer f.Close()
	var failed []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, ": ") && !strings.HasSuffix(line, "and why:") && !strings.HasPrefix(line, "Nothing failed") {
			failed = append(failed, line)
		}
	}
	if len(failed) == 0 {
		fmt.Fprintln(out, "Every item was collected")
		return sc.Err()
	}
	fmt.Fprintf(out, "%d items could not be collected (errors.txt in the zip lists them all):\n", len(failed))
	for _, line := range failed[:min(len(failed), 5)] {
		fmt.Fprintf(out, "  %s\n", line)
	}
	return sc.Err()
}

func doctorCommand(g *globals) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "doctor CLUSTER [NODE...]",
		Short: "Diagnose nodes that will not join or are not Ready",
		Long: `Ask the cluster's agent to run the checks an engineer runs by hand on a node that will not join
or is NotReady (kubelet status, node lease, CNI, kube-system DaemonSets, labels, taints, pressure,
version skew, kubelet CSRs, cordon, machines whose node never appeared), from the cluster's API
server alone, and print one finding per node and check: ok, warning or problem, with the evidence,
the cause and the fix. -o json gives the findings as a list. docs/troubleshooting.md lists the
checks.`,
		Example: `  easel doctor demo
  easel doctor demo demo-workers-x2k9d -o json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, ref, err := g.cluster(ctx, args[0])
			if err != nil {
				return err
			}
			run, err := c.RequestDoctor(ctx, ref.UID, args[1:])
			if err != nil {
				return fmt.Errorf("asking the doctor about cluster %s: %w", ref.Name, err)
			}
			progress := cmd.ErrOrStderr() // stdout stays the findings, for -o json
			fmt.Fprintf(progress, "Doctor run %s requested for cluster %s\n", run.Metadata.UID, ref.Name)
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			err = waitFor(ctx, progress, func() (string, string, bool, error) {
				var err error
				if run, err = c.Doctor(ctx, ref.UID, run.Metadata.UID); err != nil {
					return "", "", false, err
				}
				done := run.Status.State == v1.LogStateCompleted || run.Status.State == v1.LogStateFailed
				return run.Status.State, run.Status.Message, done, nil
			})
			if err != nil {
				return fmt.Errorf("waiting for doctor run %s: %w", run.Metadata.UID, err)
			}
			if run.Status.State == v1.LogStateFailed {
				return fmt.Errorf("doctor run %s failed: %s", run.Metadata.UID, run.Status.Message)
			}
			return g.print(cmd, run.Status.Findings, func(w io.Writer) error { return printFindings(w, run.Status.Findings) })
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the findings")
	return cmd
}

// printFindings prints one line per node and check, then the cause and fix of each finding that
// is not ok.
func printFindings(w io.Writer, findings []v1.Finding) error {
	t := cli.NewTable(w, "NODE", "CHECK", "STATUS", "EVIDENCE")
	var trouble []v1.Finding
	for _, f := range findings {
		t.Row(f.Node, f.Check, f.Status, f.Evidence)
		if f.Status != v1.FindingOK {
			trouble = append(trouble, f)
		}
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if len(trouble) == 0 {
		_, err := fmt.Fprintln(w, "\nNo problems found.")
		return err
	}
	fmt.Fprintln(w)
	for _, f := range trouble {
		fmt.Fprintf(w, "%s %s (%s)\n  cause: %s\n  fix:   %s\n", f.Node, f.Check, f.Status, f.Cause, f.Fix)
	}
	return nil
}
