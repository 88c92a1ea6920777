// Package logbundle collects a cluster's part of a log bundle (Palette's log fetcher, design 005):
// a zip holding Manifest.yaml (the cluster's CRDs, Nodes, Deployments, Pods, ConfigMaps and
// Events — never Secrets), the logs of kube-system's pods, of the agent namespace's pods over the
// request's duration and of the pods the request names, each node's log files read through the
// kubelet's /logs endpoint, and errors.txt naming every item that could not be collected and why.
//
// The agent runs it from the cluster's API server alone and streams the zip as it goes: every item
// has its own timeout and a size cap, the whole bundle an uncompressed cap, and memory stays at a
// few items' worth whatever the cluster's size. One unreachable node, hung pod log or stopped API
// server is a line in errors.txt, never a failed bundle.
package logbundle

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/easelhq/easel/api/v1"
)

// Options tune a collection; the zero value is the agent's defaults.
type Options struct {
	// AgentNamespace is the namespace whose logs are taken over the request's duration (default
	// easel-system).
	AgentNamespace string
	// ItemTimeout bounds each API call: one page of a list, one container's or node file's log
	// (default 10 s).
	ItemTimeout time.Duration
	// Concurrency is how many logs are fetched at once (default 4); each holds at most ItemBytes.
	Concurrency int
	// ItemBytes caps one log (default v1.MaxLogItemBytes); BundleBytes caps everything together,
	// uncompressed (default v1.MaxLogBundleUncompressedBytes), of which Manifest.yaml takes at
	// most a quarter.
	ItemBytes   int64
	BundleBytes int64
	// Now stamps the zip's entries and errors.txt (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultAgentNamespace = "easel-system"
	DefaultItemTimeout    = 10 * time.Second
	DefaultConcurrency    = 4
	// manifestShare is the part of BundleBytes Manifest.yaml may take, so that a cluster with
	// very many objects still leaves room for logs.
	manifestShare = 4
	// maxErrorLines bounds errors.txt: past it, only a count of the further lines.
	maxErrorLines = 10000
	// maxErrorLength bounds one reason in errors.txt (an API error may carry a whole HTML page).
	maxErrorLength = 1000
)

func (o Options) withDefaults() Options {
	if o.AgentNamespace == "" {
		o.AgentNamespace = DefaultAgentNamespace
	}
	if o.ItemTimeout <= 0 {
		o.ItemTimeout = DefaultItemTimeout
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.ItemBytes <= 0 {
		o.ItemBytes = v1.MaxLogItemBytes
	}
	if o.BundleBytes <= 0 {
		o.BundleBytes = v1.MaxLogBundleUncompressedBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Summary is what a collection wrote.
type Summary struct {
	// Items is how many entries hold collected content (Manifest.yaml and each log).
	Items int
	// Failed is how many items errors.txt lists as not collected (failed or skipped at the cap).
	Failed int
	// Bytes is the size of the zip written.
	Bytes int64
}

// Collect writes the cluster's part of a log bundle for req (normalised by the hub: NoOfLines,
// Duration and Node.Logs set) to w as a zip. It returns an error only when writing to w fails or
// ctx ends; everything the cluster does not give is a line in the zip's errors.txt.
func Collect(ctx context.Context, kube kubernetes.Interface, req v1.LogFetcherRequest, opts Options, w io.Writer) (Summary, error) {
	opts = opts.withDefaults()
	start := time.Now()
	log := opts.Logger
	log.Info("Collecting log bundle", "lines", req.NoOfLines, "duration", req.Duration, "agentNamespace", opts.AgentNamespace)
	out := &countingWriter{w: w}
	b := &bundle{opts: opts, zip: zip.NewWriter(out), now: opts.Now()}

	err := b.collect(ctx, kube, req)
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = b.writeErrors()
	}
	if err == nil {
		err = b.zip.Close()
	}
	sum := Summary{Items: b.items, Failed: b.failed, Bytes: out.n}
	if err != nil {
		return sum, fmt.Errorf("writing the log bundle: %w", err)
	}
	log.Info("Collected log bundle", "items", sum.Items, "failed", sum.Failed, "bytes", sum.Bytes,
		"uncompressedBytes", b.used, "took", time.Since(start).Round(time.Millisecond))
	return sum, nil
}

// bundle is one zip being written. Only the goroutine that runs collect touches it, except full,
// which the fetching goroutines read to stop fetching what could not be written anyway.
type bundle struct {
	opts Options
	zip  *zip.Writer
	now  time.Time

	used   int64 // uncompressed bytes written
	full   atomic.Bool
	items  int
	failed int
	errs   []string
	more   int // error lines beyond maxErrorLines
}

// collect writes Manifest.yaml and then each log as its fetch completes. The logs are fetched
// while the manifest is written, by Concurrency goroutines each holding one item.
func (b *bundle) collect(ctx context.Context, kube kubernetes.Interface, req v1.LogFetcherRequest) error {
	if err := probe(ctx, kube, b.opts.ItemTimeout); err != nil {
		reason := fmt.Errorf("not collected: the API server did not answer: %w", err)
		b.fail("logs (pods and nodes)", reason)
		return b.writeManifest(ctx, kube, reason)
	}

	// The fetching goroutines end with collect: told by ctx, they stop sending, and what they
	// sent before is drained.
	ctx, cancel := context.WithCancel(ctx)
	items := make(chan item)
	results := make(chan result)
	defer func() {
		cancel()
		for range results {
		}
	}()
	go func() {
		defer close(items)
		enumerate(ctx, kube, req, b.opts, func(it item) bool {
			select {
			case items <- it:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	var wg sync.WaitGroup
	for range b.opts.Concurrency {
		wg.Go(func() {
			for it := range items {
				r := result{path: it.path, err: it.err}
				switch {
				case it.err != nil:
				case b.full.Load():
					r.err = b.skipped()
				default:
					r.data, r.note, r.err = it.fetch(ctx)
				}
				select {
				case results <- r:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	if err := b.writeManifest(ctx, kube, nil); err != nil {
		return err
	}
	for r := range results {
		if err := b.write(r); err != nil {
			return err
		}
	}
	return nil
}

// probe asks the API server for its version, so that a server that is down costs one timeout
// rather than one for every list and log. An error status means it is up (the lists and logs then
// say for themselves what they cannot read); so does a version. Anything else — no answer, or an
// answer that is not a Kubernetes version (an empty 200 from something in the way) — means it is
// not.
func probe(ctx context.Context, kube kubernetes.Interface, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := kube.CoreV1().RESTClient().Get().AbsPath("/version").DoRaw(ctx)
	var status apierrors.APIStatus
	switch {
	case errors.As(err, &status):
		return nil
	case err != nil:
		return err
	}
	var v version.Info
	if err := json.Unmarshal(body, &v); err != nil || v.GitVersion == "" {
		return fmt.Errorf("the answer to /version is not a Kubernetes version: %.100q", body)
	}
	return nil
}

// write adds one fetched item to the zip, or its failure to errors.txt. An item that does not fit
// in what is left of the bundle keeps its newest part; once nothing is left, the rest are skipped.
func (b *bundle) write(r result) error {
	if r.err != nil {
		b.fail(r.path, r.err)
		return nil
	}
	left := b.opts.BundleBytes - b.used
	if left <= 0 || b.full.Load() {
		b.fail(r.path, b.skipped())
		return nil
	}
	data := r.data
	if int64(len(data)) > left {
		b.full.Store(true)
		if data = lastLines(data[int64(len(data))-left:], true, 0); len(data) == 0 {
			b.fail(r.path, b.skipped())
			return nil
		}
		r.note = fmt.Sprintf("truncated to its newest %d bytes: the bundle reached its cap of %d bytes (uncompressed)", len(data), b.opts.BundleBytes)
	}
	f, err := b.create(r.path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", r.path, err)
	}
	b.used += int64(len(data))
	b.items++
	if r.note != "" {
		b.note(r.path, r.note)
	}
	return nil
}

func (b *bundle) skipped() error {
	return fmt.Errorf("skipped: the bundle reached its cap of %d bytes (uncompressed)", b.opts.BundleBytes)
}

// create starts an entry of the zip.
func (b *bundle) create(name string) (io.Writer, error) {
	f, err := b.zip.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: b.now})
	if err != nil {
		return nil, fmt.Errorf("adding %s: %w", name, err)
	}
	return f, nil
}

// fail records an item that was not collected.
func (b *bundle) fail(path string, err error) {
	b.failed++
	b.opts.Logger.Debug("Log bundle item not collected", "item", path, "err", err)
	b.note(path, err.Error())
}

// note adds a line to errors.txt.
func (b *bundle) note(path, reason string) {
	if len(b.errs) >= maxErrorLines {
		b.more++
		return
	}
	if len(reason) > maxErrorLength {
		reason = reason[:maxErrorLength] + "…"
	}
	b.errs = append(b.errs, path+": "+reason)
}

// writeErrors writes errors.txt, always, so that a reader knows nothing failed when it says so.
// Its first line is the hub's (which merges it into the bundle's errors.txt, design 005), then one
// line per item: "<path in the zip>: <why>".
func (b *bundle) writeErrors() error {
	f, err := b.create(errorsName)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if len(b.errs) == 0 {
		fmt.Fprintln(w, "Nothing failed: every item was collected.")
	} else {
		fmt.Fprintln(w, "Items that could not be collected, and why:")
	}
	for _, l := range b.errs {
		fmt.Fprintln(w, l)
	}
	if b.more > 0 {
		fmt.Fprintf(w, "… and %d more lines\n", b.more)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", errorsName, err)
	}
	return nil
}

// Names of the zip's fixed entries.
const (
	manifestName = "Manifest.yaml"
	errorsName   = "errors.txt"
)

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
