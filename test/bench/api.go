package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// APIConfig is one run of the API benchmark.
type APIConfig struct {
	Easel string // the easel binary whose `easel server` is measured
	// DB is the store URL; empty means a fresh SQLite file. A PostgreSQL database must be empty.
	DB          string
	Clusters    int           // clusters stored before measuring
	Duration    time.Duration // how long each operation is measured
	Concurrency int           // concurrent clients
	Progress    io.Writer     // progress lines go here
}

// Result is the measurement of one operation.
type Result struct {
	Operation     string
	Requests      int
	Errors        int
	FirstError    string // the first failed call's error, if any failed
	PerSecond     float64
	P50, P95, P99 time.Duration
}

// RunAPI starts a hub on loopback over the configured store, stores cfg.Clusters imported
// clusters through the API (they provision nothing), then measures cluster GET and the
// dashboard search.
func RunAPI(ctx context.Context, cfg APIConfig) ([]Result, error) {
	h, err := startHub(ctx, hubOptions{easel: cfg.Easel, db: cfg.DB, concurrency: cfg.Concurrency, progress: cfg.Progress})
	if err != nil {
		return nil, err
	}
	defer h.stop()
	c := h.c

	uids, err := seed(ctx, c, cfg.Clusters, cfg.Concurrency, cfg.Progress)
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

// seed imports n clusters (cloud type generic, named bench-00000, …) through the API from
// concurrency clients: they provision nothing and wait for agents.
func seed(ctx context.Context, c *apiClient, n, concurrency int, progress io.Writer) ([]string, error) {
	uids := make([]string, n)
	start := time.Now()
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failed.Load() > 0 {
					return
				}
				var out struct{ UID string }
				body := fmt.Appendf(nil, `{"metadata":{"name":"bench-%05d"}}`, i)
				if err := c.call(ctx, "POST", "/v1/spectroclusters/generic/import", body, &out); err != nil {
					failed.Add(1)
					fmt.Fprintf(progress, "Importing cluster %d failed: %v\n", i, err)
					return
				}
				uids[i] = out.UID
				if (i+1)%2000 == 0 {
					fmt.Fprintf(progress, "Imported %d of %d clusters (%.0f/s)\n", i+1, n, float64(i+1)/time.Since(start).Seconds())
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		return nil, errors.New("importing clusters failed")
	}
	fmt.Fprintf(progress, "Imported %d clusters in %s (%.0f imports/s)\n", n, time.Since(start).Round(time.Millisecond),
		float64(n)/time.Since(start).Seconds())
	return uids, nil
}

// measure runs do from concurrency workers for d and summarises the latencies.
func measure(name string, d time.Duration, concurrency int, do func(i int) error) Result {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      int
		firstErr  error
		wg        sync.WaitGroup
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			var (
				mine   []time.Duration
				failed int
				myErr  error
			)
			for time.Now().Before(deadline) {
				t := time.Now()
				if err := do(rng.IntN(1 << 30)); err != nil {
					if failed++; myErr == nil {
						myErr = err
					}
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			errs += failed
			if firstErr == nil {
				firstErr = myErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	r := summarize(name, latencies, errs, time.Since(start))
	if firstErr != nil {
		r.FirstError = firstErr.Error()
	}
	return r
}

// summarize makes the Result of an operation's successful calls' latencies, its failed calls and
// the time it was measured for; it sorts latencies.
func summarize(name string, latencies []time.Duration, errs int, elapsed time.Duration) Result {
	slices.Sort(latencies)
	r := Result{Operation: name, Requests: len(latencies), Errors: errs, PerSecond: float64(len(latencies)) / elapsed.Seconds()}
	if n := len(latencies); n > 0 {
		r.P50, r.P95, r.P99 = latencies[n*50/100], latencies[min(n-1, n*95/100)], latencies[min(n-1, n*99/100)]
	}
	return r
}
