package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/secret"
)

func usageReport(run string, seq int, workerCPU float64) map[string]any {
	return map[string]any{"run": run, "seq": seq, "source": "kubelet-direct", "nodes": []map[string]any{
		{"name": "cp-1", "role": "control-plane", "cpuUsage": 0.5, "cpuAllocatable": 2, "memoryUsage": 1 << 30, "memoryAllocatable": 4 << 30},
		{"name": "w-1", "role": "worker", "cpuUsage": workerCPU, "cpuRequest": 0.25, "cpuAllocatable": 2,
			"memoryUsage": 2 << 30, "memoryRequest": 1 << 29, "memoryAllocatable": 4 << 30},
	}}
}

func TestUsageReports(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		prof := c.publishedProfile("base")
		mine, other := c.createCluster("mine", prof), c.createCluster("other", prof)
		token, err := secret.IssueAgentToken(context.Background(), h.store, mustTenant(t, h), mine)
		if err != nil {
			t.Fatal(err)
		}
		agent := func(path string, body any) (int, string) {
			status, data, _ := client{h: h}.do("PUT", path, body, "Authorization", "Bearer "+token)
			return status, string(data)
		}
		usagePath := "/v1/spectroclusters/" + mine + "/agent/usage"
		for _, seq := range []int{1, 1, 2} { // the repeated sample counts once
			if status, body := agent(usagePath, usageReport("run-a", seq, 1.5)); status != 204 {
				t.Fatalf("usage report %d: %d %s", seq, status, body)
			}
		}
		if status, body := agent(usagePath, usageReport("run-a", 1, 9)); status != 204 { // late: ignored
			t.Fatalf("late usage report: %d %s", status, body)
		}

		// status.metrics sums the workers; the control plane is left out.
		var sum struct {
			Status struct {
				Metrics struct {
					CPU, Memory struct {
						Usage, Request, Total float64
						Unit                  string
					}
				}
				NodeUsage []struct{ Name string }
			}
		}
		c.must(200, "GET", "/v1/dashboard/spectroclusters/"+mine+"/overview", nil, &sum)
		m := sum.Status.Metrics
		if m.CPU.Usage != 1.5 || m.CPU.Request != 0.25 || m.CPU.Total != 2 || m.CPU.Unit != "cores" ||
			m.Memory.Usage != 2 || m.Memory.Request != 0.5 || m.Memory.Unit != "GiB" || len(sum.Status.NodeUsage) != 2 {
			t.Fatalf("overview metrics = %+v, node usage %+v", m, sum.Status.NodeUsage)
		}

		type series struct {
			Items []struct {
				Kind, Unit string
				Points     []struct {
					Value, Max float64
					Count      int64
				}
			}
		}
		values := func(query string) series {
			t.Helper()
			var out series
			c.must(200, "GET", "/v1/metrics/spectrocluster/"+mine+"/values?"+query, nil, &out)
			return out
		}
		got := values("metricKind=cpuUsage,memoryTotal")
		if len(got.Items) != 2 || got.Items[0].Kind != "cpuUsage" || len(got.Items[0].Points) != 1 ||
			got.Items[0].Points[0].Value != 1.5 || got.Items[0].Points[0].Count != 2 || got.Items[1].Points[0].Value != 4 {
			t.Fatalf("worker series = %+v; want one point of 1.5 cores from 2 samples, 4 GiB total", got)
		}
		if got := values("metricKind=cpuUsage&includeControlPlaneMachines=true"); got.Items[0].Points[0].Value != 2 {
			t.Fatalf("series with the control plane = %+v; want 2 cores", got)
		}
		if got := values("metricKind=cpuUsage&node=cp-1"); got.Items[0].Points[0].Value != 0.5 {
			t.Fatalf("series of node cp-1 = %+v; want 0.5 cores", got)
		}
		c.fails(400, "InvalidArgument", "GET", "/v1/metrics/spectrocluster/"+mine+"/values?metricKind=gpuUsage", nil, "cpuUsage")
		c.fails(400, "InvalidArgument", "GET", "/v1/metrics/spectrocluster/"+mine+"/values?period=0", nil, "minutes")
		c.fails(400, "InvalidArgument", "GET", "/v1/metrics/spectrocluster/"+mine+"/values?startTime=yesterday", nil, "RFC 3339")
		c.fails(400, "InvalidArgument", "GET", "/v1/metrics/machine/"+mine+"/values", nil, "spectrocluster")
		c.fails(404, "ResourceNotFound", "GET", "/v1/metrics/spectrocluster/000000000000000000000000/values", nil)

		// Bad reports are refused and change nothing.
		for name, bad := range map[string]any{
			"no run":         map[string]any{"seq": 3, "nodes": []any{}},
			"negative usage": map[string]any{"run": "run-a", "seq": 3, "nodes": []map[string]any{{"name": "w-1", "role": "worker", "cpuUsage": -1}}},
			"unknown role":   map[string]any{"run": "run-a", "seq": 3, "nodes": []map[string]any{{"name": "w-1", "role": "boss"}}},
			"duplicate node": map[string]any{"run": "run-a", "seq": 3, "nodes": []map[string]any{{"name": "w-1", "role": "worker"}, {"name": "w-1", "role": "worker"}}},
			"malformed":      `{"run": "run-a", "seq": 3, "nodes": [`,
		} {
			if status, body := agent(usagePath, bad); status != 400 {
				t.Fatalf("%s: %d %s; want 400", name, status, body)
			}
		}
		if got := values("metricKind=cpuUsage"); got.Items[0].Points[0].Count != 2 {
			t.Fatalf("bad reports changed the series: %+v", got)
		}
		// A sample writes the cluster's current usage row, not its document; the search lists it.
		before, err := h.store.GetObject(context.Background(), "spectrocluster", mine)
		if err != nil {
			t.Fatal(err)
		}
		if status, body := agent(usagePath, usageReport("run-a", 3, 1.75)); status != 204 {
			t.Fatalf("usage report 3: %d %s", status, body)
		}
		if after, err := h.store.GetObject(context.Background(), "spectrocluster", mine); err != nil || after.ResourceVersion != before.ResourceVersion {
			t.Fatalf("the cluster's document went from version %d to %d (%v) with a usage sample; want it untouched",
				before.ResourceVersion, after.ResourceVersion, err)
		}
		var found v1.SpectroClustersSummary
		c.must(200, "POST", "/v1/dashboard/spectroclusters/search", map[string]any{}, &found)
		for _, it := range found.Items {
			if it.Metadata.UID == mine && (it.Status.Metrics == nil || it.Status.Metrics.CPU.Usage != 1.75) {
				t.Fatalf("the search lists %s with metrics %+v; want the newest sample's 1.75 cores", mine, it.Status.Metrics)
			}
		}
		// A sample in two pages is applied once both have arrived, whatever their order; a
		// retried page changes nothing.
		page := func(i int, node string, cpu float64) map[string]any {
			return map[string]any{"reportId": "run-b-1", "page": i, "pages": 2, "run": "run-b", "seq": 1,
				"nodes": []map[string]any{{"name": node, "role": "worker", "cpuUsage": cpu, "cpuAllocatable": 2}}}
		}
		if status, body := agent(usagePath, page(1, "w-2", 0.5)); status != 202 {
			t.Fatalf("first of two pages: %d %s; want 202 (held)", status, body)
		}
		if got := values("metricKind=cpuUsage"); got.Items[0].Points[0].Count != 3 {
			t.Fatalf("half a sample changed the series: %+v", got)
		}
		for range 2 {
			if status, body := agent(usagePath, page(0, "w-1", 1)); status != 204 {
				t.Fatalf("second page: %d %s; want 204 (applied)", status, body)
			}
		}
		c.must(200, "GET", "/v1/dashboard/spectroclusters/"+mine+"/overview", nil, &sum)
		if got := values("metricKind=cpuUsage"); got.Items[0].Points[0].Count != 4 || sum.Status.Metrics.CPU.Usage != 1.5 ||
			len(sum.Status.NodeUsage) != 2 {
			t.Fatalf("after the paged sample: series %+v, metrics %+v, nodes %+v; want 4 samples and 1+0.5 cores", got, sum.Status.Metrics, sum.Status.NodeUsage)
		}
		if status, _, _ := (client{h: h}).do("PUT", usagePath, strings.Repeat(" ", 1<<20+1), "Authorization", "Bearer "+token); status != 413 {
			t.Fatalf("a usage message over 1 MiB: %d; want 413", status)
		}

		// Another cluster's uid with this cluster's token.
		if status, body := agent("/v1/spectroclusters/"+other+"/agent/usage", usageReport("run-a", 5, 1)); status != 403 {
			t.Fatalf("usage for another cluster: %d %s; want 403", status, body)
		}
	})
}

// Samples of one cluster that arrive together (an agent that moved to another hub replica while
// one was on its way) are applied one after the other: the newest stays the cluster's current
// usage, whatever order they land in.
func TestConcurrentUsageSamplesKeepTheNewest(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		uid := c.createCluster("busy", c.publishedProfile("base"))
		token, err := secret.IssueAgentToken(context.Background(), h.store, mustTenant(t, h), uid)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for seq := 1; seq <= 8; seq++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, data, _ := client{h: h}.do("PUT", "/v1/spectroclusters/"+uid+"/agent/usage",
					usageReport("run-a", seq, float64(seq)/10), "Authorization", "Bearer "+token)
				if status != 204 {
					t.Errorf("sample %d: %d %s", seq, status, data)
				}
			}()
		}
		wg.Wait()
		var sum struct {
			Status struct {
				Metrics struct{ CPU struct{ Usage float64 } }
			}
		}
		c.must(200, "GET", "/v1/dashboard/spectroclusters/"+uid+"/overview", nil, &sum)
		if got := sum.Status.Metrics.CPU.Usage; got != 0.8 {
			t.Fatalf("the current CPU usage after samples 1 to 8 at once = %v; want sample 8's 0.8", got)
		}
	})
}

func TestUsageThresholdSettings(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		path := "/v1/projects/" + h.defaultPrj + "/preferences/clusterSettings"
		var got struct {
			UsageThresholds struct {
				CPUPercent, MemoryPercent, DiskPercent float64
				PeriodSeconds                          int64
			}
		}
		c.must(200, "GET", path, nil, &got)
		if fmt.Sprint(got.UsageThresholds) != "{90 90 85 600}" {
			t.Fatalf("default thresholds = %+v; want cpu 90, memory 90, disk 85 for 600s", got.UsageThresholds)
		}
		for body, msg := range map[string]string{
			`{"cpuPercent": 101, "periodSeconds": 60}`: "cpuPercent",
			`{"cpuPercent": 80, "periodSeconds": 0}`:   "periodSeconds",
			`{"cpuPercent": "high"}`:                   "cpuPercent",
		} {
			c.fails(400, "InvalidArgument", "PUT", path+"/usageThresholds", body, msg)
		}
		c.must(204, "PUT", path+"/usageThresholds", map[string]any{"cpuPercent": 75, "memoryPercent": 0, "diskPercent": 95, "periodSeconds": 120}, nil)
		c.must(200, "GET", path, nil, &got)
		if fmt.Sprint(got.UsageThresholds) != "{75 0 95 120}" {
			t.Fatalf("thresholds after PUT = %+v", got.UsageThresholds)
		}
		c.fails(404, "ResourceNotFound", "GET", "/v1/projects/000000000000000000000000/preferences/clusterSettings", nil)
		var audits struct {
			Items []struct{ Spec struct{ ActionMsg string } }
		}
		h.admin().must(200, "GET", "/v1/audits", nil, &audits)
		if b, _ := json.Marshal(audits.Items[0]); !strings.Contains(string(b), "cpu 75%") {
			t.Fatalf("newest audit entry = %s; want the threshold change", b)
		}
	})
}

func TestNodesAutoRemediationSetting(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		path := "/v1/projects/" + h.defaultPrj + "/preferences/clusterSettings"
		var got struct {
			NodesAutoRemediationSetting struct{ IsEnabled, DisableNodesAutoRemediation bool }
		}
		c.must(200, "GET", path, nil, &got)
		if !got.NodesAutoRemediationSetting.IsEnabled || got.NodesAutoRemediationSetting.DisableNodesAutoRemediation {
			t.Fatalf("default = %+v; want enabled", got.NodesAutoRemediationSetting)
		}
		c.fails(400, "InvalidArgument", "PUT", path+"/nodesAutoRemediationSetting", `{"isEnabled": "no"}`, "isEnabled")
		c.must(204, "PUT", path+"/nodesAutoRemediationSetting", map[string]bool{"isEnabled": false}, nil)
		c.must(200, "GET", path, nil, &got)
		if got.NodesAutoRemediationSetting.IsEnabled {
			t.Fatalf("after turning it off = %+v", got.NodesAutoRemediationSetting)
		}
	})
}
