// Package metrics reads Prometheus metrics for tests and benchmarks: a hub's /metrics page, or a
// registry a test built its component with.
package metrics

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/prometheus/client_golang/prometheus"
)

var line = regexp.MustCompile(`^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$`)

// Parse reads a /metrics page (the text format) as series → value; a series is its name and,
// if it has labels, its labels as printed: `easel_notify_sent_total{channel="easel_agent"}`.
func Parse(page []byte) map[string]float64 {
	out := map[string]float64{}
	for _, l := range strings.Split(string(page), "\n") {
		if m := line.FindStringSubmatch(l); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			out[m[1]] = v
		}
	}
	return out
}

// Counter is the value of the counter name in reg whose labels include every name/value pair
// of labels; it fails the test when there is none.
func Counter(t testing.TB, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	return find(t, reg, name, labels).GetCounter().GetValue()
}

// Gauge is the value of the gauge name in reg, as Counter finds it.
func Gauge(t testing.TB, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	return find(t, reg, name, labels).GetGauge().GetValue()
}

// find is the metric name in reg whose labels include every name/value pair of labels; it fails
// the test when there is none.
func find(t testing.TB, reg prometheus.Gatherer, name string, labels []string) *dto.Metric {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metrics
				}
			}
			return m
		}
	}
	t.Fatalf("no metric %s %v", name, labels)
	return nil
}
