package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// HubMemory is where the hub's memory was at one moment of a run, read from its runtime profiles
// (easel server --profiling-listen) right after a collection: what is live, not what the collector
// has let grow since.
type HubMemory struct {
	At         time.Duration // into the run
	Live       int64         // bytes of the heap's live objects (HeapAlloc after a collection)
	HeapInUse  int64         // bytes of the heap's spans in use (HeapInuse): Live and its spans' slack
	Stacks     int64         // bytes of goroutine stacks (StackInuse)
	Goroutines int
}

// readHubMemory collects the hub's garbage and reads its memory from the profiles served at base
// (http://host:port/debug/pprof/); with profile set, it also writes the heap profile there, for
// `go tool pprof -sample_index=inuse_space`.
func readHubMemory(ctx context.Context, base, profile string) (HubMemory, error) {
	var m HubMemory
	get := func(path string, read func(io.Reader) error) error {
		req, err := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("reading the hub's profiles: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("reading the hub's profiles: GET %s: %s", path, resp.Status)
		}
		return read(resp.Body)
	}
	// The heap profile's text form ends with the runtime's memory statistics.
	if err := get("heap?gc=1&debug=1", func(r io.Reader) error {
		// "# HeapAlloc = 123", and "# Stack = in use / obtained from the system".
		stats := map[string]*int64{"HeapAlloc": &m.Live, "HeapInuse": &m.HeapInUse, "Stack": &m.Stacks}
		s := bufio.NewScanner(r)
		s.Buffer(make([]byte, 64<<10), 1<<20)
		for s.Scan() {
			name, value, ok := strings.Cut(strings.TrimPrefix(s.Text(), "# "), " = ")
			if p := stats[name]; ok && p != nil {
				value, _, _ = strings.Cut(value, " / ")
				n, err := strconv.ParseInt(value, 10, 64)
				if err != nil {
					return fmt.Errorf("the heap profile's %s: %w", name, err)
				}
				*p, stats[name] = n, nil
			}
		}
		if err := s.Err(); err != nil {
			return err
		}
		for name, p := range stats {
			if p != nil {
				return fmt.Errorf("the heap profile has no %s", name)
			}
		}
		return nil
	}); err != nil {
		return m, err
	}
	if err := get("goroutine?debug=1", func(r io.Reader) error {
		line, err := bufio.NewReader(r).ReadString('\n')
		if _, scanErr := fmt.Sscanf(line, "goroutine profile: total %d", &m.Goroutines); scanErr != nil {
			return fmt.Errorf("the goroutine profile begins %q: %v %v", line, scanErr, err)
		}
		return nil
	}); err != nil {
		return m, err
	}
	if profile == "" {
		return m, nil
	}
	return m, get("heap", func(r io.Reader) error {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}
