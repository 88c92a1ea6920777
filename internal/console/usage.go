package console

import (
	"encoding/json"
	"net/http"
	"time"

	clustersvc "github.com/easelhq/easel/internal/service/clusters"
	"github.com/easelhq/easel/internal/usage"
)

// chartRanges are the usage charts' ranges and the resolution each is drawn at: minute points for
// up to a day (they are kept a day), hour points beyond.
var chartRanges = []struct {
	Name string
	Span time.Duration
	Step time.Duration
}{
	{"1h", time.Hour, time.Minute}, {"6h", 6 * time.Hour, time.Minute}, {"24h", 24 * time.Hour, time.Minute},
	{"30d", 30 * 24 * time.Hour, time.Hour},
}

// chartRange is the range a query names, 1 hour by default.
func chartRange(name string) (span, step time.Duration, chosen string) {
	for _, r := range chartRanges {
		if r.Name == name {
			return r.Span, r.Step, r.Name
		}
	}
	return chartRanges[0].Span, chartRanges[0].Step, chartRanges[0].Name
}

// usageChart is one chart's data as uPlot draws it: the used and the requested amounts at each
// time of the answer's Time.
type usageChart struct {
	Title     string    `json:"title"`
	Unit      string    `json:"unit"`
	Used      []float64 `json:"used"`
	Requested []float64 `json:"requested"`
	Total     []float64 `json:"total"`
}

// usageJSON serves a cluster's CPU and memory charts over a range (?range=1h|6h|24h|30d), of its
// workers, or its control plane too with ?controlPlane=1, from the usage series the API serves.
func (c *Console) usageJSON(w http.ResponseWriter, r *http.Request, s *session) error {
	span, step, _ := chartRange(r.URL.Query().Get("range"))
	series := []string{usage.SeriesWorkers}
	if r.URL.Query().Get("controlPlane") == "1" {
		series = append(series, usage.SeriesControlPlane)
	}
	now := c.o.Clock.Now()
	points, err := c.o.Clusters.UsageSeries(r.Context(), &s.call, clustersvc.ByUID(r.PathValue("uid")), series, step, now.Add(-span), now)
	if err != nil {
		return err
	}
	out := struct {
		// From and To are the range, in unix seconds: the charts span it whatever points it has.
		From   int64        `json:"from"`
		To     int64        `json:"to"`
		Time   []int64      `json:"time"`
		Charts []usageChart `json:"charts"`
	}{From: now.Add(-span).Unix(), To: now.Unix(), Time: []int64{}, Charts: []usageChart{{Title: "CPU", Unit: "cores"}, {Title: "Memory", Unit: "GiB"}}}
	cpu, mem := &out.Charts[0], &out.Charts[1]
	for _, p := range points {
		out.Time = append(out.Time, p.At.Unix())
		cpu.Used, cpu.Requested, cpu.Total = append(cpu.Used, p.Values.CPUUsage), append(cpu.Requested, p.Values.CPURequest), append(cpu.Total, p.Values.CPUTotal)
		mem.Used, mem.Requested, mem.Total = append(mem.Used, gib(p.Values.MemoryUsage)), append(mem.Requested, gib(p.Values.MemoryRequest)), append(mem.Total, gib(p.Values.MemoryTotal))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(out)
}

func gib(bytes float64) float64 { return bytes / (1 << 30) }
