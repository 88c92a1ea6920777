// Package usage turns the agent's usage samples into what the hub keeps and shows: a cluster's
// current figures (Palette's status.metrics), the values its series store per sample, and which
// nodes have stayed over a usage threshold, and since when, for the health verdict.
package usage

import (
	"fmt"
	"math"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
)

// DefaultThresholds apply to projects that set none.
var DefaultThresholds = v1.UsageThresholds{CPUPercent: 90, MemoryPercent: 90, DiskPercent: 85, PeriodSeconds: 600}

// ValidateThresholds refuses percentages outside 0–100 (0 turns a check off) and periods outside
// one second to a day.
func ValidateThresholds(t v1.UsageThresholds) error {
	for name, p := range map[string]float64{"cpuPercent": t.CPUPercent, "memoryPercent": t.MemoryPercent, "diskPercent": t.DiskPercent} {
		if math.IsNaN(p) || p < 0 || p > 100 {
			return fmt.Errorf("%s %v must be between 0 (no check) and 100", name, p)
		}
	}
	if t.PeriodSeconds < 1 || t.PeriodSeconds > 86400 {
		return fmt.Errorf("periodSeconds %d must be between 1 and 86400", t.PeriodSeconds)
	}
	return nil
}

// Resources a threshold applies to.
const (
	CPU    = "cpu"
	Memory = "memory"
	Disk   = "disk"
)

// Over is a node's resource that has been over its threshold since Since (the hub's time).
type Over struct {
	Node      string    `json:"node"`
	Resource  string    `json:"resource"`
	Percent   float64   `json:"percent"`
	Threshold float64   `json:"threshold"`
	Since     time.Time `json:"since"`
}

// State is what the hub keeps of a cluster's usage: the last sample and the resources over their
// thresholds.
type State struct {
	Run        string         `json:"run,omitempty"`
	Seq        int64          `json:"seq,omitempty"`
	ReceivedAt time.Time      `json:"receivedAt,omitzero"`
	Source     string         `json:"source,omitempty"`
	Error      string         `json:"error,omitempty"`
	Nodes      []v1.NodeUsage `json:"nodes,omitempty"`
	Over       []Over         `json:"over,omitempty"`
	// Period is how long a resource must stay over its threshold to count, from the project's
	// thresholds when the sample arrived.
	PeriodSeconds int64 `json:"periodSeconds,omitempty"`
}

// Applied reports whether the sample r identifies was already taken (or a newer one of its run).
func (s *State) Applied(r v1.AgentUsageReport) bool { return r.Run == s.Run && r.Seq <= s.Seq }

// Record takes a new sample received at now: a resource over its threshold keeps the time it went
// over; one that came back under is forgotten.
func (s *State) Record(r v1.AgentUsageReport, th v1.UsageThresholds, now time.Time) {
	since := map[string]time.Time{}
	for _, o := range s.Over {
		since[o.Node+"/"+o.Resource] = o.Since
	}
	s.Run, s.Seq, s.ReceivedAt, s.Source, s.Error, s.Nodes, s.PeriodSeconds = r.Run, r.Seq, now, r.Source, r.Error, r.Nodes, th.PeriodSeconds
	s.Over = nil
	for _, n := range r.Nodes {
		for _, c := range []struct {
			resource         string
			used, total, max float64
		}{
			{CPU, n.CPUUsage, n.CPUAllocatable, th.CPUPercent},
			{Memory, n.MemoryUsage, n.MemoryAllocatable, th.MemoryPercent},
			{Disk, n.DiskUsage, n.DiskCapacity, th.DiskPercent},
		} {
			if c.max <= 0 || c.total <= 0 || (n.UsageNotAvailable && c.resource != Disk) {
				continue
			}
			pct := 100 * c.used / c.total
			if pct < c.max {
				continue
			}
			o := Over{Node: n.Name, Resource: c.resource, Percent: math.Round(pct*10) / 10, Threshold: c.max, Since: now}
			if t, ok := since[n.Name+"/"+c.resource]; ok {
				o.Since = t
			}
			s.Over = append(s.Over, o)
		}
	}
}

// Reasons are the health reasons at now, one line each: resources over their threshold for at
// least the period. next is when another one would mature (zero if none).
func (s *State) Reasons(now time.Time) (reasons []string, next time.Duration) {
	period := time.Duration(s.PeriodSeconds) * time.Second
	for _, o := range s.Over {
		if over := now.Sub(o.Since); over >= period {
			reasons = append(reasons, fmt.Sprintf("UsageOverThreshold: node %s %s at %.1f%% (threshold %.0f%%) since %s",
				o.Node, o.Resource, o.Percent, o.Threshold, o.Since.UTC().Format(time.RFC3339)))
		} else if wait := period - over; next == 0 || wait < next {
			next = wait
		}
	}
	return reasons, next
}

// Resources of the cluster metrics and series.
const gib = 1 << 30

// Metrics are a cluster's current figures as Palette shows them: CPU in cores and memory in GiB,
// summed over the worker nodes (and the control plane when asked).
func Metrics(nodes []v1.NodeUsage, at time.Time, includeControlPlane bool) *v1.ClusterMetrics {
	if len(nodes) == 0 {
		return nil
	}
	t := Totals(nodes, includeControlPlane)
	return &v1.ClusterMetrics{
		CPU: &v1.ComputeMetrics{Usage: round(t.CPUUsage, 3), Request: round(t.CPURequest, 3), Total: round(t.CPUTotal, 3),
			Unit: "cores", LastUpdatedTime: at},
		Memory: &v1.ComputeMetrics{Usage: round(t.MemoryUsage/gib, 3), Request: round(t.MemoryRequest/gib, 3),
			Total: round(t.MemoryTotal/gib, 3), Unit: "GiB", LastUpdatedTime: at},
	}
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// Values are one sample of a series: CPU in cores, memory and disk in bytes.
type Values struct {
	CPUUsage, CPURequest, CPUTotal          float64
	MemoryUsage, MemoryRequest, MemoryTotal float64
	DiskUsage, DiskTotal                    float64
}

// Add adds another sample's values (for sums over nodes).
func (v *Values) Add(o Values) {
	v.CPUUsage += o.CPUUsage
	v.CPURequest += o.CPURequest
	v.CPUTotal += o.CPUTotal
	v.MemoryUsage += o.MemoryUsage
	v.MemoryRequest += o.MemoryRequest
	v.MemoryTotal += o.MemoryTotal
	v.DiskUsage += o.DiskUsage
	v.DiskTotal += o.DiskTotal
}

// NodeValues are one node's values.
func NodeValues(n v1.NodeUsage) Values {
	return Values{CPUUsage: n.CPUUsage, CPURequest: n.CPURequest, CPUTotal: n.CPUAllocatable,
		MemoryUsage: n.MemoryUsage, MemoryRequest: n.MemoryRequest, MemoryTotal: n.MemoryAllocatable,
		DiskUsage: n.DiskUsage, DiskTotal: n.DiskCapacity}
}

// Totals sums the worker nodes (and the control plane when asked).
func Totals(nodes []v1.NodeUsage, includeControlPlane bool) Values {
	var t Values
	for _, n := range nodes {
		if n.Role == RoleControlPlane && !includeControlPlane {
			continue
		}
		t.Add(NodeValues(n))
	}
	return t
}

// RoleControlPlane is the role of control-plane nodes.
const RoleControlPlane = "control-plane"

// Series names: the cluster's workers, its control plane, and each node.
const (
	SeriesWorkers      = "cluster/worker"
	SeriesControlPlane = "cluster/control-plane"
	seriesNodePrefix   = "node/"
)

// NodeSeries is the series of one node.
func NodeSeries(node string) string { return seriesNodePrefix + node }

// Samples are the values a sample adds to each series: both cluster series and every node's.
func Samples(nodes []v1.NodeUsage) map[string]Values {
	out := make(map[string]Values, len(nodes)+2)
	var workers, cp Values
	for _, n := range nodes {
		v := NodeValues(n)
		out[NodeSeries(n.Name)] = v
		if n.Role == RoleControlPlane {
			cp.Add(v)
		} else {
			workers.Add(v)
		}
	}
	out[SeriesWorkers], out[SeriesControlPlane] = workers, cp
	return out
}
