// Package engine runs reconcilers: a work queue keyed by object (a key is queued at most once and
// never reconciled twice at the same time), bounded concurrency, per-key exponential backoff on
// failure, and a periodic resync so that a lost wake-up only delays an object, never strands it.
package engine

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// Reconciler moves one object, named by key, one step towards its desired state.
type Reconciler interface {
	Reconcile(ctx context.Context, key string) (Result, error)
}

// Result says when to look at the object again; zero means only when something changes (or at the
// next resync).
type Result struct {
	RequeueAfter time.Duration
}

// LowestRequeue merges the results of the steps of one reconcile: the soonest look again asked
// for wins; a step that asks for none leaves it to the others.
func LowestRequeue(results ...Result) Result {
	var out Result
	for _, r := range results {
		if r.RequeueAfter > 0 && (out.RequeueAfter == 0 || r.RequeueAfter < out.RequeueAfter) {
			out = r
		}
	}
	return out
}

// Options tune an Engine; zero values take the defaults.
type Options struct {
	Name       string                                      // names the queue in logs and metrics
	Workers    int                                         // concurrent reconciles (default 4)
	Resync     time.Duration                               // how often every key is reconciled again (default 10m)
	List       func(ctx context.Context) ([]string, error) // every key, for the resync
	MinBackoff time.Duration                               // first retry after a failure (default 1s)
	MaxBackoff time.Duration                               // longest retry interval (default 5m)
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Clock times the resync, the requeues and the backoff (default the real clock; tests step a
	// fake one).
	Clock clock.WithTicker
}

// Engine drives one Reconciler.
type Engine struct {
	r    Reconciler
	o    Options
	q    workqueue.TypedRateLimitingInterface[string]
	log  *slog.Logger
	runs *prometheus.CounterVec
	took prometheus.Histogram
}

// New returns an engine for r; call Run to start it.
func New(r Reconciler, o Options) *Engine {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Resync <= 0 {
		o.Resync = 10 * time.Minute
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	e := &Engine{r: r, o: o, log: o.Logger.With("controller", o.Name),
		q: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](o.MinBackoff, o.MaxBackoff),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: o.Name, Clock: o.Clock}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "easel_reconcile_total", Help: "Reconciles by controller and result.",
			ConstLabels: prometheus.Labels{"controller": o.Name},
		}, []string{"result"}),
		took: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "easel_reconcile_duration_seconds", Help: "Reconcile latency by controller.",
			ConstLabels: prometheus.Labels{"controller": o.Name}, Buckets: prometheus.ExponentialBuckets(0.001, 3, 12),
		}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(e.runs, e.took)
	}
	return e
}

// Enqueue asks for key to be reconciled soon.
func (e *Engine) Enqueue(key string) { e.q.Add(key) }

// Run reconciles until ctx ends, then waits for in-flight reconciles to finish.
func (e *Engine) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range e.o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e.next(ctx) {
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.resync(ctx)
	}()
	<-ctx.Done()
	e.q.ShutDownWithDrain()
	wg.Wait()
}

func (e *Engine) resync(ctx context.Context) {
	t := e.o.Clock.NewTicker(e.o.Resync)
	defer t.Stop()
	for {
		if e.o.List != nil {
			keys, err := e.o.List(ctx)
			if err != nil && ctx.Err() == nil {
				e.log.Error("Listing objects to resync", "err", err)
			}
			for _, k := range keys {
				e.q.Add(k)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

func (e *Engine) next(ctx context.Context) bool {
	key, shutdown := e.q.Get()
	if shutdown {
		return false
	}
	defer e.q.Done(key)
	start := e.o.Clock.Now()
	res, err := e.reconcile(ctx, key)
	e.took.Observe(e.o.Clock.Since(start).Seconds())
	switch {
	case err != nil:
		e.runs.WithLabelValues("error").Inc()
		if ctx.Err() == nil {
			e.log.Warn("Reconcile failed; retrying with backoff", "key", key, "err", err)
			e.q.AddRateLimited(key)
		}
	case res.RequeueAfter > 0:
		e.runs.WithLabelValues("requeue").Inc()
		e.q.Forget(key)
		e.q.AddAfter(key, res.RequeueAfter)
	default:
		e.runs.WithLabelValues("done").Inc()
		e.q.Forget(key)
	}
	return true
}

// reconcile runs one reconcile, turning a panic into an error so one bad object cannot stop the hub.
func (e *Engine) reconcile(ctx context.Context, key string) (res Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			e.log.Error("Reconcile panicked", "key", key, "panic", v)
			err = errPanic{v}
		}
	}()
	return e.r.Reconcile(ctx, key)
}

type errPanic struct{ v any }

func (e errPanic) Error() string { return "reconcile panicked" }
