// Package bench holds easel's load benchmarks: bounded in count and time, on loopback, against a
// real hub and a real store, reporting throughput and latency percentiles.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/easelhq/easel/internal/server"
)

// APIConfig is one run of the API benchmark.
type APIConfig struct {
	// DB is the store URL; empty means a fresh SQLite file. A PostgreSQL database must be empty.
	DB          string
	Clusters    int           // clusters stored before measuring
	Duration    time.Duration // how long each operation is measured
	Concurrency int           // concurrent clients
	Progress    io.Writer     // progress lines go here
}

// Result is the measurement of one operation.
type Result struct {
	Operation string
	Requests  int
	Errors    int
	PerSecond float64
	P50, P99  time.Duration
}

const benchKey = "easel-bench-admin-key"

// RunAPI starts an API-only hub (nothing is provisioned) on loopback over the configured store,
// stores cfg.Clusters clusters through the API, then measures cluster GET and the dashboard search.
func RunAPI(ctx context.Context, cfg APIConfig) ([]Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	h, err := startAPIHub(ctx, cfg.DB, cfg.Concurrency)
	if err != nil {
		return nil, err
	}
	defer h.stop()
	c := h.client

	uids, err := seed(ctx, c, cfg)
	if err != nil {
		return nil, err
	}
	searchBody := []byte(`{"sort":[{"field":"clusterName","order":"asc"}]}`)
	byName := func(i int) []byte {
		return fmt.Appendf(nil, `{"filter":{"filterGroups":[{"filters":[{"property":"clusterName","type":"string",
			"condition":{"string":{"operator":"eq","match":{"values":["bench-%05d"]}}}}]}]}}`, i%len(uids))
	}
	ops := []struct {
		name string
		do   func(i int) error
	}{
		{"GET /v1/spectroclusters/{uid}", func(i int) error {
			return c.call(ctx, "GET", "/v1/spectroclusters/"+uids[i%len(uids)], nil, nil)
		}},
		{"POST /v1/dashboard/spectroclusters/search (first page of 50)", func(int) error {
			return c.call(ctx, "POST", "/v1/dashboard/spectroclusters/search?limit=50", searchBody, nil)
		}},
		{"POST /v1/dashboard/spectroclusters/search (clusterName eq)", func(i int) error {
			return c.call(ctx, "POST", "/v1/dashboard/spectroclusters/search", byName(i), nil)
		}},
	}
	var results []Result
	for _, op := range ops {
		fmt.Fprintf(cfg.Progress, "Measuring %s for %s with %d clients\n", op.name, cfg.Duration, cfg.Concurrency)
		results = append(results, measure(op.name, cfg.Duration, cfg.Concurrency, op.do))
	}
	return results, nil
}

// apiHub is an API-only hub (nothing is provisioned) on loopback over a fresh store, with a client
// of its tenant admin in the default project.
type apiHub struct {
	client  *apiClient
	dataDir string
	stop    func()
}

func startAPIHub(ctx context.Context, db string, concurrency int) (*apiHub, error) {
	dataDir, err := os.MkdirTemp("", "easel-bench-")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: dataDir, DB: db, AdminAPIKey: benchKey, APIOnly: true,
			Ready: func(addr string) { ready <- addr }})
	}()
	h := &apiHub{dataDir: dataDir, stop: func() { cancel(); <-done; os.RemoveAll(dataDir) }}
	select {
	case base := <-ready:
		h.client = &apiClient{base: "http://" + base, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency * 2}}}
	case err := <-done:
		cancel()
		os.RemoveAll(dataDir)
		return nil, fmt.Errorf("starting the hub: %w", err)
	}
	if err := h.client.call(ctx, "GET", "/v1/users/info", nil, nil); err != nil {
		h.stop()
		return nil, fmt.Errorf("the bench needs an empty store (its bootstrap key did not work): %w", err)
	}
	var projects struct {
		Items []struct{ Metadata struct{ UID string } }
	}
	if err := h.client.call(ctx, "GET", "/v1/dashboard/projects/metadata", nil, &projects); err != nil || len(projects.Items) == 0 {
		h.stop()
		return nil, fmt.Errorf("finding the default project: %v", err)
	}
	h.client.project = projects.Items[0].Metadata.UID
	return h, nil
}

// seed stores one published profile and cfg.Clusters clusters through the API.
func seed(ctx context.Context, c *apiClient, cfg APIConfig) ([]string, error) {
	var prof struct{ UID string }
	profile := []byte(`{"metadata":{"name":"bench"},"spec":{"version":"1.0.0","template":{"type":"cluster","cloudType":"local",
		"packs":[{"name":"ubuntu","tag":"24.04"},{"name":"kubernetes","tag":"1.34.4"},{"name":"cni-calico","tag":"3.30.3"}]}}}`)
	if err := c.call(ctx, "POST", "/v1/clusterprofiles", profile, &prof); err != nil {
		return nil, fmt.Errorf("creating the profile: %w", err)
	}
	if err := c.call(ctx, "PATCH", "/v1/clusterprofiles/"+prof.UID+"/publish", nil, nil); err != nil {
		return nil, fmt.Errorf("publishing the profile: %w", err)
	}
	uids := make([]string, cfg.Clusters)
	start := time.Now()
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= cfg.Clusters || failed.Load() > 0 {
					return
				}
				body := fmt.Appendf(nil, `{"metadata":{"name":"bench-%05d"},"spec":{"profiles":[{"uid":%q}],"machinepoolconfig":[
					{"poolConfig":{"name":"cp","size":1,"isControlPlane":true}},
					{"poolConfig":{"name":"workers","size":3},"cloudConfig":{"instanceType":"medium","azs":["local-a","local-b"]}}]}}`, i, prof.UID)
				var out struct{ UID string }
				if err := c.call(ctx, "POST", "/v1/spectroclusters/cloudTypes/local", body, &out); err != nil {
					failed.Add(1)
					fmt.Fprintf(cfg.Progress, "Creating cluster %d failed: %v\n", i, err)
					return
				}
				uids[i] = out.UID
				if (i+1)%2000 == 0 {
					fmt.Fprintf(cfg.Progress, "Stored %d of %d clusters (%.0f/s)\n", i+1, cfg.Clusters, float64(i+1)/time.Since(start).Seconds())
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		return nil, errors.New("seeding clusters failed")
	}
	fmt.Fprintf(cfg.Progress, "Stored %d clusters in %s (%.0f creates/s)\n", cfg.Clusters, time.Since(start).Round(time.Millisecond),
		float64(cfg.Clusters)/time.Since(start).Seconds())
	return uids, nil
}

// measure runs do from concurrency workers for d and summarises the latencies.
func measure(name string, d time.Duration, concurrency int, do func(i int) error) Result {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      int
		wg        sync.WaitGroup
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			var mine []time.Duration
			failed := 0
			for time.Now().Before(deadline) {
				t := time.Now()
				if err := do(rng.IntN(1 << 30)); err != nil {
					failed++
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			errs += failed
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	r := Result{Operation: name, Requests: len(latencies), Errors: errs, PerSecond: float64(len(latencies)) / elapsed.Seconds()}
	if n := len(latencies); n > 0 {
		r.P50, r.P99 = latencies[n*50/100], latencies[min(n-1, n*99/100)]
	}
	return r
}

func defaultHTTP() *http.Client { return &http.Client{Timeout: time.Minute} }

type apiClient struct {
	base, project string
	http          *http.Client
}

func (c *apiClient) call(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("ApiKey", benchKey)
	if c.project != "" {
		req.Header.Set("ProjectUid", c.project)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if raw, ok := out.(*[]byte); ok { // a download, such as a kubeconfig
		*raw = data
		return nil
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
