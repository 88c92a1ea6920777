package usage_test

import (
	"strings"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/usage"
)

func sample(seq int64, cpu, mem float64) v1.AgentUsageReport {
	return v1.AgentUsageReport{Run: "r", Seq: seq, Nodes: []v1.NodeUsage{
		{Name: "cp-1", Role: "control-plane", CPUUsage: 1.9, CPUAllocatable: 2, MemoryAllocatable: 100},
		{Name: "w-1", Role: "worker", CPUUsage: cpu, CPUAllocatable: 2, MemoryUsage: mem, MemoryAllocatable: 100,
			DiskUsage: 10, DiskCapacity: 100},
	}}
}

func TestOverThresholdForThePeriod(t *testing.T) {
	th := v1.UsageThresholds{CPUPercent: 90, MemoryPercent: 80, DiskPercent: 0, PeriodSeconds: 60}
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var s usage.State

	s.Record(sample(1, 1.9, 50), th, t0)
	reasons, next := s.Reasons(t0.Add(30 * time.Second))
	if len(s.Over) != 2 || len(reasons) != 0 || next != 30*time.Second {
		t.Fatalf("just over: over %+v, reasons %v, next %s; want cp-1 and w-1 cpu over, no reason yet, next in 30s", s.Over, reasons, next)
	}
	// Still over a minute later (the time it went over is kept), memory newly over.
	s.Record(sample(2, 1.95, 85), th, t0.Add(time.Minute))
	reasons, next = s.Reasons(t0.Add(time.Minute))
	want := []string{"UsageOverThreshold: node cp-1 cpu at 95.0% (threshold 90%) since 2026-11-22T10:00:00Z",
		"UsageOverThreshold: node w-1 cpu at 97.5% (threshold 90%) since 2026-11-22T10:00:00Z"}
	if strings.Join(reasons, "\n") != strings.Join(want, "\n") || next != time.Minute {
		t.Fatalf("a minute over: reasons %q, next %s; want %q and memory maturing in 1m", reasons, next, want)
	}
	// Back under: forgotten at once.
	s.Record(sample(3, 0.5, 10), th, t0.Add(2*time.Minute))
	if reasons, _ := s.Reasons(t0.Add(3 * time.Minute)); len(reasons) != 1 || !strings.Contains(reasons[0], "cp-1") {
		t.Fatalf("after w-1 came back under: %v; want only cp-1", reasons)
	}
	if !s.Applied(sample(3, 0, 0)) || !s.Applied(sample(2, 0, 0)) || s.Applied(sample(4, 0, 0)) {
		t.Fatal("Applied must hold for the last sample and older ones of its run, not newer ones")
	}
	if s.Applied(v1.AgentUsageReport{Run: "restarted", Seq: 1}) {
		t.Fatal("a new agent run's first sample is new")
	}
	// A node whose usage could not be read is not judged on CPU and memory.
	unread := sample(4, 2, 100)
	unread.Nodes[1].UsageNotAvailable = true
	s.Record(unread, th, t0.Add(4*time.Minute))
	for _, o := range s.Over {
		if o.Node == "w-1" {
			t.Fatalf("unread node judged: %+v", o)
		}
	}
}

func TestMetricsSumWorkers(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	r := sample(1, 1.25, 3<<30)
	m := usage.Metrics(r.Nodes, at, false)
	if m.CPU.Usage != 1.25 || m.CPU.Total != 2 || m.CPU.Unit != "cores" || m.Memory.Usage != 3 || m.Memory.Unit != "GiB" || !m.CPU.LastUpdatedTime.Equal(at) {
		t.Fatalf("worker metrics = %+v %+v", m.CPU, m.Memory)
	}
	if all := usage.Metrics(r.Nodes, at, true); all.CPU.Usage != 3.15 || all.CPU.Total != 4 {
		t.Fatalf("with the control plane = %+v", all.CPU)
	}
	if usage.Metrics(nil, at, false) != nil {
		t.Fatal("no sample yet must be no metrics")
	}
	samples := usage.Samples(r.Nodes)
	if len(samples) != 4 || samples[usage.SeriesWorkers].CPUUsage != 1.25 || samples[usage.SeriesControlPlane].CPUUsage != 1.9 ||
		samples[usage.NodeSeries("w-1")].DiskTotal != 100 {
		t.Fatalf("series samples = %+v", samples)
	}
}

func TestValidateThresholds(t *testing.T) {
	if err := usage.ValidateThresholds(usage.DefaultThresholds); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, bad := range []v1.UsageThresholds{{CPUPercent: -1, PeriodSeconds: 1}, {DiskPercent: 100.5, PeriodSeconds: 1},
		{PeriodSeconds: 0}, {PeriodSeconds: 86401}} {
		if usage.ValidateThresholds(bad) == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
}
