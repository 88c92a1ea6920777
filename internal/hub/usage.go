package hub

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/usage"
)

// metricKinds are the series kinds GET /v1/metrics/…/values serves, with their unit and value.
var metricKinds = map[string]struct {
	unit  string
	value func(usage.Values) float64
}{
	"cpuUsage":      {"cores", func(v usage.Values) float64 { return v.CPUUsage }},
	"cpuRequest":    {"cores", func(v usage.Values) float64 { return v.CPURequest }},
	"cpuTotal":      {"cores", func(v usage.Values) float64 { return v.CPUTotal }},
	"memoryUsage":   {"GiB", func(v usage.Values) float64 { return v.MemoryUsage / (1 << 30) }},
	"memoryRequest": {"GiB", func(v usage.Values) float64 { return v.MemoryRequest / (1 << 30) }},
	"memoryTotal":   {"GiB", func(v usage.Values) float64 { return v.MemoryTotal / (1 << 30) }},
	"diskUsage":     {"GiB", func(v usage.Values) float64 { return v.DiskUsage / (1 << 30) }},
	"diskTotal":     {"GiB", func(v usage.Values) float64 { return v.DiskTotal / (1 << 30) }},
}

// maxMetricPoints bounds one series answer.
const maxMetricPoints = 10000

// metricValues answers GET /v1/metrics/spectrocluster/{uid}/values (Palette's operation): the
// cluster's usage series — worker nodes by default, the control plane too with
// includeControlPlaneMachines=true, one node with node=NAME (easel's addition) — grouped into
// points of `period` minutes between startTime and endTime (default: the last hour).
func (s *Server) metricValues(w http.ResponseWriter, r *http.Request, c *call) error {
	if kind := r.PathValue("resourceKind"); kind != kindCluster {
		return service.Invalid("metrics are served for resource kind spectrocluster, not %q", kind)
	}
	q := r.URL.Query()
	kinds := []string{"cpuUsage", "memoryUsage"}
	if v := q.Get("metricKind"); v != "" {
		kinds = strings.Split(v, ",")
	}
	for i, k := range kinds {
		if slices.Contains(kinds[:i], k) {
			return service.Invalid("metricKind %q is listed twice", k) // each kind is a series of up to maxMetricPoints
		}
		if _, ok := metricKinds[k]; !ok {
			valid := make([]string, 0, len(metricKinds))
			for name := range metricKinds {
				valid = append(valid, name)
			}
			slices.Sort(valid)
			return service.Invalid("metricKind %q is not one of %s", k, strings.Join(valid, ", "))
		}
	}
	now := s.clock.Now()
	end, err := queryTime(q.Get("endTime"), now)
	if err != nil {
		return err
	}
	start, err := queryTime(q.Get("startTime"), end.Add(-time.Hour))
	if err != nil {
		return err
	}
	if !start.Before(end) {
		return service.Invalid("startTime %s must be before endTime %s", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	// Minute points are kept for a day; older ranges and periods of an hour or more use hour points.
	step := time.Minute
	minutes, hourly := store.UsageResolutions[0], store.UsageResolutions[1]
	if start.Before(now.Add(-minutes.Retention)) {
		step = hourly.Step
	}
	period := step
	if v := q.Get("period"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return service.Invalid("period %q must be a number of minutes (at least 1)", v)
		}
		period = time.Duration(n) * time.Minute
	}
	if period >= hourly.Step {
		step = hourly.Step
	}
	period = max(period, step).Truncate(step)
	if n := end.Sub(start) / period; n > maxMetricPoints {
		return service.Invalid("%d points of %s between startTime and endTime; at most %d (raise period)", n, period, maxMetricPoints)
	}
	series := []string{usage.SeriesWorkers}
	if parseBool(q.Get("includeControlPlaneMachines")) || parseBool(q.Get("includeMasterMachines")) {
		series = append(series, usage.SeriesControlPlane)
	}
	if node := q.Get("node"); len(node) > v1.MaxNodeNameLength {
		return service.Invalid("node is longer than %d characters (MaxNodeNameLength)", v1.MaxNodeNameLength)
	} else if node != "" {
		series = []string{usage.NodeSeries(node)}
	}
	points, err := s.clusters.UsageSeries(r.Context(), &c.Call, target(r), series, step, start, end)
	if err != nil {
		return err
	}
	out := v1.MetricTimeSeries{Items: []v1.Metrics{}}
	for _, k := range kinds {
		mk := metricKinds[k]
		out.Items = append(out.Items, v1.Metrics{Kind: k, Unit: mk.unit, Points: group(points, period, mk.value)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// group folds stored points into points of period: the sample-weighted mean, the minimum and
// maximum of the stored means, and the number of samples.
func group(points []store.UsagePoint, period time.Duration, value func(usage.Values) float64) []v1.MetricPoint {
	out := []v1.MetricPoint{}
	var sum float64
	finish := func() {
		if len(out) > 0 {
			last := &out[len(out)-1]
			last.Value = sum / float64(last.Count)
			last.Avg = last.Value
		}
	}
	for _, p := range points {
		ts := p.At.Truncate(period).Unix()
		v := value(p.Values)
		if len(out) == 0 || out[len(out)-1].Timestamp != ts {
			finish()
			out = append(out, v1.MetricPoint{Timestamp: ts, Min: v, Max: v})
			sum = 0
		}
		last := &out[len(out)-1]
		last.Min, last.Max = min(last.Min, v), max(last.Max, v)
		last.Count += p.Samples
		sum += v * float64(p.Samples)
	}
	finish()
	return out
}

func queryTime(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, service.Invalid("time %q must be RFC 3339, such as 2026-11-22T10:00:00Z", v)
	}
	return t, nil
}

func parseBool(v string) bool {
	b, _ := strconv.ParseBool(v)
	return b
}
