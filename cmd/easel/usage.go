package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/cli"
	"github.com/easelhq/easel/internal/client"
)

// sparkPoints is how many points a sparkline has at most: it fits a terminal line.
const sparkPoints = 60

func clusterUsageCommand(g *globals) *cobra.Command {
	var (
		since        time.Duration
		node         string
		controlPlane bool
	)
	cmd := &cobra.Command{
		Use:   "usage NAME|UID",
		Short: "Show a cluster's CPU and memory usage: now, per node, and over time",
		Long: `Show what a cluster uses: the current CPU and memory usage and requests of its worker nodes
(--control-plane adds the control plane), each node's figures, and sparklines of the usage over
--since (1-minute points are kept for a day, 1-hour points for 30 days).`,
		Example: `  easel cluster usage demo
  easel cluster usage demo --since 24h --control-plane
  easel cluster usage demo --node demo-worker-pool-1 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if since < time.Minute || since > 30*24*time.Hour {
				return fmt.Errorf("--since %s must be between 1m and 720h (30 days)", since)
			}
			ctx := cmd.Context()
			c, ref, err := g.cluster(ctx, args[0])
			if err != nil {
				return err
			}
			sum, err := c.ClusterSummary(ctx, ref.UID)
			if err != nil {
				return fmt.Errorf("reading cluster %s: %w", ref.Name, err)
			}
			now := time.Now()
			period := max(time.Minute, (since / sparkPoints).Truncate(time.Minute))
			series, err := c.ClusterUsage(ctx, ref.UID, client.UsageQuery{Kinds: []string{"cpuUsage", "memoryUsage"},
				Start: now.Add(-since), End: now, Period: period, ControlPlane: controlPlane, Node: node})
			if err != nil {
				return fmt.Errorf("reading the usage of %s: %w", ref.Name, err)
			}
			out := struct {
				Metrics   *v1.ClusterMetrics `json:"metrics"`
				NodeUsage []v1.NodeUsage     `json:"nodeUsage"`
				Series    []v1.Metrics       `json:"series"`
			}{sum.Status.Metrics, sum.Status.NodeUsage, series.Items}
			return g.print(cmd, out, func(w io.Writer) error {
				return describeUsage(w, sum, series.Items, since, period, node, controlPlane)
			})
		},
	}
	cmd.Flags().DurationVar(&since, "since", 6*time.Hour, "how far back the series go")
	cmd.Flags().StringVar(&node, "node", "", "show one node's series")
	cmd.Flags().BoolVar(&controlPlane, "control-plane", false, "count the control-plane nodes in the series too")
	return cmd
}

func describeUsage(w io.Writer, sum *v1.SpectroClusterUIDSummary, series []v1.Metrics, since, period time.Duration, node string, controlPlane bool) error {
	if len(sum.Status.NodeUsage) == 0 {
		fmt.Fprintf(w, "No usage from cluster %s's agent yet (it samples its nodes every 30 s by default).\n", sum.Metadata.Name)
		return nil
	}
	if m := sum.Status.Metrics; m != nil && m.CPU != nil && m.Memory != nil {
		err := cli.Fields(w,
			"CPU", fmt.Sprintf("%.2f of %.2f cores used (%s), %.2f requested — worker nodes", m.CPU.Usage, m.CPU.Total, percent(m.CPU.Usage, m.CPU.Total), m.CPU.Request),
			"Memory", fmt.Sprintf("%.2f of %.2f GiB used (%s), %.2f requested — worker nodes", m.Memory.Usage, m.Memory.Total, percent(m.Memory.Usage, m.Memory.Total), m.Memory.Request),
		)
		if err != nil {
			return err
		}
	}
	of := "worker nodes"
	switch {
	case node != "":
		of = "node " + node
	case controlPlane:
		of = "all nodes"
	}
	fmt.Fprintf(w, "\nOver the last %s (%s, %s points):\n", since, of, period)
	t := cli.NewTable(w, "SERIES", "", "MIN", "MAX", "LAST")
	for _, s := range series {
		if len(s.Points) == 0 {
			t.Row(s.Kind+" ("+s.Unit+")", "no points yet", "-", "-", "-")
			continue
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, p := range s.Points {
			lo, hi = min(lo, p.Value), max(hi, p.Value)
		}
		t.Row(s.Kind+" ("+s.Unit+")", sparkline(s.Points, hi), fmt.Sprintf("%.2f", lo), fmt.Sprintf("%.2f", hi),
			fmt.Sprintf("%.2f", s.Points[len(s.Points)-1].Value))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nNodes:")
	t = cli.NewTable(w, "NAME", "ROLE", "CPU", "CPU%", "CPU-REQUESTED", "MEMORY", "MEMORY%", "MEMORY-REQUESTED")
	for _, n := range sum.Status.NodeUsage {
		u := nodeUsage(n)
		t.Row(n.Name, n.Role, u[0], u[1], fmt.Sprintf("%.2f", n.CPURequest), u[2], u[3], fmt.Sprintf("%.2fGi", n.MemoryRequest/(1<<30)))
	}
	return t.Flush()
}

// nodeUsage is a node's CPU (cores) and memory (GiB) use against what it can allocate, each as
// "used/allocatable" and a percentage: e.g. 1.90/2 95% 0.50/4Gi 12%.
func nodeUsage(n v1.NodeUsage) [4]string {
	if n.UsageNotAvailable {
		return [4]string{"unknown", "-", "unknown", "-"}
	}
	return [4]string{fmt.Sprintf("%.2f/%g", n.CPUUsage, n.CPUAllocatable), percent(n.CPUUsage, n.CPUAllocatable),
		fmt.Sprintf("%.2f/%gGi", n.MemoryUsage/(1<<30), math.Round(n.MemoryAllocatable/(1<<30)*100)/100),
		percent(n.MemoryUsage, n.MemoryAllocatable)}
}

func percent(used, total float64) string {
	if total <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*used/total)
}

// sparkline draws values from zero to top, one block per point.
func sparkline(points []v1.MetricPoint, top float64) string {
	const blocks = "▁▂▃▄▅▆▇█"
	levels := []rune(blocks)
	var b strings.Builder
	for _, p := range points {
		i := 0
		if top > 0 {
			i = min(len(levels)-1, int(p.Value/top*float64(len(levels)-1)+0.5))
		}
		b.WriteRune(levels[i])
	}
	return b.String()
}
