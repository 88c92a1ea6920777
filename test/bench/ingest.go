package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/util/yaml"

	v1 "github.com/easelhq/easel/api/v1"
)

// IngestConfig is one run of the report-ingestion benchmark.
type IngestConfig struct {
	Easel       string        // the easel binary whose `easel server` is measured
	DB          string        // store URL; empty means a fresh SQLite file (PostgreSQL: an empty database)
	Agents      int           // virtual agents, one per cluster
	Nodes       int           // nodes in each agent's node report
	Pods        int           // pods in each full workload report
	Duration    time.Duration // how long each report kind is measured
	Concurrency int
	Progress    io.Writer
}

// RunIngest starts a hub, imports cfg.Agents clusters through the API and takes each one's agent
// token from its import manifest, as the agent installed by that manifest would; then these
// virtual agents send heartbeats, node reports, usage samples and full workload reports as fast as
// the hub absorbs them.
func RunIngest(ctx context.Context, cfg IngestConfig) ([]Result, error) {
	h, err := startHub(ctx, hubOptions{easel: cfg.Easel, db: cfg.DB, concurrency: cfg.Concurrency, progress: cfg.Progress})
	if err != nil {
		return nil, err
	}
	defer h.stop()
	c := h.c
	uids, err := seed(ctx, c, cfg.Agents, cfg.Concurrency, cfg.Progress)
	if err != nil {
		return nil, err
	}
	tokens := make([]string, len(uids))
	for i, uid := range uids {
		if tokens[i], err = agentToken(ctx, c, uid); err != nil {
			return nil, err
		}
	}
	nodes, nodesSize := nodeReports(cfg.Nodes)
	heartbeat := []byte(`{"agentVersion":"bench"}`)
	agentCall := func(i int, path string, body []byte) error {
		a := i % len(uids)
		return c.agentPut(ctx, uids[a], tokens[a], path, body)
	}
	same := func(b []byte) func() []byte { return func() []byte { return b } }
	usage, usageSize := usageReports(cfg.Nodes)
	workloads, workloadsSize := fullWorkloadReports(cfg.Pods, cfg.Nodes)
	var results []Result
	for _, op := range []struct {
		name string
		path string
		body func() []byte
	}{
		{"PUT …/heartbeat", "/heartbeat", same(heartbeat)},
		{fmt.Sprintf("PUT …/agent/nodes (%d nodes, %d KiB)", cfg.Nodes, nodesSize>>10), "/agent/nodes", nodes},
		{fmt.Sprintf("PUT …/agent/usage (%d nodes, %d KiB)", cfg.Nodes, usageSize>>10), "/agent/usage", usage},
		{fmt.Sprintf("PUT …/agent/workloads (full, %d pods, %d KiB)", cfg.Pods, workloadsSize>>10), "/agent/workloads", workloads},
	} {
		fmt.Fprintf(cfg.Progress, "Measuring %s from %d agents for %s with %d clients\n", op.name, cfg.Agents, cfg.Duration, cfg.Concurrency)
		results = append(results, measure(op.name, cfg.Duration, cfg.Concurrency, func(i int) error { return agentCall(i, op.path, op.body()) }))
	}
	return results, nil
}

// fullWorkloadReports returns a builder of full workload reports of a cluster of pods pods on nodes
// nodes (the fleet simulator's), each one page that replaces the cluster's workloads, and their size.
func fullWorkloadReports(pods, nodes int) (func() []byte, int) {
	items, _ := benchWorkloads(pods, nodes)
	encoded, _ := json.Marshal(items)
	var seq atomic.Int64
	build := func() []byte {
		return fmt.Appendf(nil, `{"reportId":"bench-%d","page":0,"pages":1,"items":%s}`, seq.Add(1), encoded)
	}
	return build, len(build())
}

// usageReports returns a builder of usage samples of n nodes, each one page and a new sample as the
// agent sends them (the hub ignores a sample it already has), and their size.
func usageReports(n int) (func() []byte, int) {
	encoded, _ := json.Marshal(benchUsage(n))
	var seq atomic.Int64
	build := func() []byte {
		return fmt.Appendf(nil, `{"reportId":"bench-%[1]d","page":0,"pages":1,"run":"bench","seq":%[1]d,"source":"bench","nodes":%[2]s}`,
			seq.Add(1), encoded)
	}
	return build, len(build())
}

// nodeReports returns a builder of realistic node reports of n Ready nodes, each one page with a
// new report id as the agent sends them (the hub applies a report once), and their size.
func nodeReports(n int) (func() []byte, int) {
	nodes := benchNodes(n)
	for i := range nodes {
		nodes[i].LeaseRenewTime = time.Now()
	}
	encoded, _ := json.Marshal(nodes)
	var seq atomic.Int64
	build := func() []byte {
		return fmt.Appendf(nil, `{"reportId":"nodes-%d","page":0,"pages":1,"nodes":%s}`, seq.Add(1), encoded)
	}
	return build, len(build())
}

// benchUsage is a usage sample of n worker nodes.
func benchUsage(n int) []v1.NodeUsage {
	nodes := make([]v1.NodeUsage, n)
	for i := range nodes {
		nodes[i] = v1.NodeUsage{Name: fmt.Sprintf("workers-%05d", i), Role: "worker", CPUUsage: 1.234, CPURequest: 2.5,
			CPUAllocatable: 4, MemoryUsage: 3.2e9, MemoryRequest: 4.1e9, MemoryAllocatable: 8.3e9}
	}
	return nodes
}

// benchNodes are n Ready worker nodes as the agent reports them, without lease renew times.
func benchNodes(n int) []v1.NodeReport {
	nodes := make([]v1.NodeReport, n)
	for i := range nodes {
		nodes[i] = v1.NodeReport{Name: fmt.Sprintf("workers-%05d", i), Pool: "workers", Role: "worker", Ready: true,
			Conditions: []v1.NodeCondition{{Type: "Ready", Status: "True", Reason: "KubeletReady"},
				{Type: "MemoryPressure", Status: "False"}, {Type: "DiskPressure", Status: "False"},
				{Type: "PIDPressure", Status: "False"}, {Type: "NetworkUnavailable", Status: "False"}},
			Capacity:    map[string]string{"cpu": "4", "memory": "8Gi", "pods": "110"},
			Allocatable: map[string]string{"cpu": "4", "memory": "8Gi", "pods": "110"}, KubeletVersion: "v1.34.4"}
	}
	return nodes
}

// agentPut sends one of an agent's reports (PUT /v1/spectroclusters/{uid}<path>) with its token.
func (c *apiClient) agentPut(ctx context.Context, uid, token, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, "PUT", c.base+"/v1/spectroclusters/"+uid+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("PUT %s as the agent: %s", path, resp.Status)
	}
	return nil
}

// agentToken downloads an imported cluster's import manifest and returns the agent token in its
// Secret — what the agent that the manifest installs authenticates with.
func agentToken(ctx context.Context, c *apiClient, uid string) (string, error) {
	secret, err := agentSecret(ctx, c, uid)
	return secret["token"], err
}

// agentSecret downloads an imported cluster's import manifest and returns its agent Secret's data:
// the token, the hub URLs and pins the agent it installs uses.
func agentSecret(ctx context.Context, c *apiClient, uid string) (map[string]string, error) {
	var manifest []byte
	if err := c.call(ctx, "GET", "/v1/spectroclusters/"+uid+"/import/manifest", nil, &manifest); err != nil {
		return nil, err
	}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	for {
		var obj struct {
			Kind       string            `json:"kind"`
			StringData map[string]string `json:"stringData"`
		}
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("the import manifest of cluster %s has no Secret with an agent token", uid)
		} else if err != nil {
			return nil, fmt.Errorf("reading the import manifest of cluster %s: %w", uid, err)
		}
		if obj.Kind == "Secret" && obj.StringData["token"] != "" {
			return obj.StringData, nil
		}
	}
}
