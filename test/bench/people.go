package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/easelhq/easel/internal/hubtrust"
)

// The calls people make while the fleet runs come from a process of their own (RunPeople), as a
// person's browser or CLI is not inside the simulator: made from the simulator's process, each
// call also waited for that process's collector and scheduler, busy with every virtual agent. In
// one run of 10,000 clusters over HTTPS the calls made inside the simulator had a p99 of 186 ms,
// those made at the same time from a process of their own 112 ms; the simulator's calls alone
// were slow whenever its own collector ran (docs/benchmarks.md).

// PeopleCommand is the argument that makes easel-bench (or a test binary, in its TestMain) run
// RunPeople: the fleet simulator starts its own executable with it.
const PeopleCommand = "fleet-people"

// peopleConfig is what the people's process is told on its standard input.
type peopleConfig struct {
	Base, Project string
	Pin           string // the hub certificate's fingerprint, with HTTPS
	Session       string // the console session of the bench's user
	UIDs          []string
	Rate          float64       // calls per second of each call
	Duration      time.Duration // how long the calls go on
}

// personCall is one call a person made, as the people's process writes it (a JSON line).
type personCall struct {
	Call    int           `json:"call"`  // the index in personCalls
	Began   int64         `json:"began"` // Unix nanoseconds
	Latency time.Duration `json:"latency"`
	Error   string        `json:"error,omitempty"`
}

// person is what a person's calls need.
type person struct {
	api     *apiClient
	console func(ctx context.Context, path string) ([]byte, error)
	uids    []string
}

func (p *person) someCluster() string { return p.uids[rand.IntN(len(p.uids))] }

var fleetSearch = []byte(`{"sort":[{"field":"clusterName","order":"asc"}]}`)

// personCalls are the calls a person makes, each by its own client at the configured rate.
var personCalls = []struct {
	name string
	do   func(context.Context, *person) error
}{
	{"GET /v1/spectroclusters/{uid}", func(ctx context.Context, p *person) error {
		return p.api.call(ctx, "GET", "/v1/spectroclusters/"+p.someCluster(), nil, nil)
	}},
	{"POST /v1/dashboard/spectroclusters/search (first page of 50)", func(ctx context.Context, p *person) error {
		return p.api.call(ctx, "POST", "/v1/dashboard/spectroclusters/search?limit=50", fleetSearch, nil)
	}},
	{"GET /v1/events/components/spectrocluster/{uid} (50)", func(ctx context.Context, p *person) error {
		return p.api.call(ctx, "GET", "/v1/events/components/spectrocluster/"+p.someCluster()+"?limit=50", nil, nil)
	}},
	{"GET /clusters (console grid, first page)", func(ctx context.Context, p *person) error {
		_, err := p.console(ctx, "/clusters?project="+p.api.project)
		return err
	}},
}

// RunPeople is the people's process: it reads its configuration from in, makes every call of
// personCalls at its rate until the configured duration or ctx ends, and writes each call to out
// as a JSON line. A call cut short by the end is not written.
func RunPeople(ctx context.Context, in io.Reader, out io.Writer) error {
	var cfg peopleConfig
	if err := json.NewDecoder(in).Decode(&cfg); err != nil {
		return fmt.Errorf("reading the people's configuration: %w", err)
	}
	if len(cfg.UIDs) == 0 || cfg.Rate <= 0 {
		return errors.New("the people's configuration names no cluster or no rate")
	}
	transport := &http.Transport{MaxIdleConnsPerHost: len(personCalls)}
	if cfg.Pin != "" {
		tlsConfig, err := hubtrust.Options{Fingerprint: cfg.Pin}.TLSConfig()
		if err != nil {
			return err
		}
		transport.TLSClientConfig = tlsConfig
	}
	api := &apiClient{base: cfg.Base, project: cfg.Project, http: &http.Client{Timeout: time.Minute, Transport: transport}}
	p := &person{api: api, console: consolePages(api, cfg.Session), uids: cfg.UIDs}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var (
		mu      sync.Mutex
		written error
		wg      sync.WaitGroup
	)
	enc := json.NewEncoder(out)
	for i, call := range personCalls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				began := time.Now()
				err := call.do(ctx, p)
				if ctx.Err() != nil {
					return
				}
				rec := personCall{Call: i, Began: began.UnixNano(), Latency: time.Since(began)}
				if err != nil {
					rec.Error = err.Error()
				}
				mu.Lock()
				if written == nil {
					written = enc.Encode(rec)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return written
}

// startPeople starts the people's process (this executable with PeopleCommand, which runs
// RunPeople) and returns a function that waits for it and returns its calls.
func startPeople(ctx context.Context, cfg peopleConfig, progress io.Writer) (wait func() ([]personCall, error), err error) {
	in, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this executable to run the people's process: %w", err)
	}
	cmd := exec.CommandContext(ctx, self, PeopleCommand)
	cmd.Stdin, cmd.Stderr = bytes.NewReader(in), progress
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the people's process: %w", err)
	}
	var (
		calls   []personCall
		readErr error
		read    = make(chan struct{})
	)
	go func() {
		defer close(read)
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			var c personCall
			if readErr = json.Unmarshal(lines.Bytes(), &c); readErr != nil {
				io.Copy(io.Discard, stdout) // let the process finish its writes
				return
			}
			calls = append(calls, c)
		}
		readErr = lines.Err()
	}()
	return func() ([]personCall, error) {
		<-read
		if err := cmd.Wait(); err != nil {
			return nil, fmt.Errorf("the people's process: %w", err)
		}
		return calls, readErr
	}, nil
}

// summarizePeople summarises each person's call from start to end, and those that began at or
// after settled (if not zero): their latencies, and the errors of the whole run, the first three
// of each call printed to progress.
func summarizePeople(calls []personCall, start, end, settled time.Time, progress io.Writer) (all, after []Result) {
	for i, pc := range personCalls {
		var latencies, later []time.Duration
		errs := 0
		for _, c := range calls {
			switch {
			case c.Call != i:
			case c.Error != "":
				if errs++; errs <= 3 {
					fmt.Fprintf(progress, "%s failed: %s\n", pc.name, c.Error)
				}
			default:
				latencies = append(latencies, c.Latency)
				if !settled.IsZero() && c.Began >= settled.UnixNano() {
					later = append(later, c.Latency)
				}
			}
		}
		all = append(all, summarize(pc.name, latencies, errs, end.Sub(start)))
		if !settled.IsZero() {
			after = append(after, summarize(pc.name, later, 0, end.Sub(settled)))
		}
	}
	return all, after
}

// writePeopleCalls writes every person's call to a CSV file: the call, when it began (seconds
// from start), its latency in milliseconds and its error, in the order they ended.
func writePeopleCalls(path string, calls []personCall, start time.Time) error {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{"call", "began_s", "latency_ms", "error"})
	for _, c := range calls {
		w.Write([]string{personCalls[c.Call].name, strconv.FormatFloat(time.Duration(c.Began-start.UnixNano()).Seconds(), 'f', 3, 64),
			strconv.FormatFloat(float64(c.Latency.Microseconds())/1000, 'f', 3, 64), c.Error})
	}
	w.Flush()
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
