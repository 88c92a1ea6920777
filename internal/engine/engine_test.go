package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/easelhq/easel/internal/engine"
)

// recorder is a fake reconciler: it counts calls per key, notes concurrent calls of one key, and
// fails or requeues as told.
type recorder struct {
	mu        sync.Mutex
	calls     map[string]int
	inFlight  map[string]bool
	overlap   bool
	failUntil map[string]int // fail the first N calls of a key
	requeue   map[string]int // ask for a requeue on the first N calls
	panicKey  string
	hold      chan struct{} // if set, each call waits on it
}

func newRecorder() *recorder {
	return &recorder{calls: map[string]int{}, inFlight: map[string]bool{}, failUntil: map[string]int{}, requeue: map[string]int{}}
}

func (r *recorder) Reconcile(ctx context.Context, key string) (engine.Result, error) {
	r.mu.Lock()
	if r.inFlight[key] {
		r.overlap = true
	}
	r.inFlight[key] = true
	r.calls[key]++
	n := r.calls[key]
	r.mu.Unlock()
	if r.hold != nil {
		<-r.hold
	}
	defer func() { r.mu.Lock(); r.inFlight[key] = false; r.mu.Unlock() }()
	if key == r.panicKey {
		panic("boom")
	}
	if n <= r.failUntil[key] {
		return engine.Result{}, errors.New("transient")
	}
	if n <= r.requeue[key] {
		return engine.Result{RequeueAfter: time.Millisecond}, nil
	}
	return engine.Result{}, nil
}

func (r *recorder) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[key]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// consistently fails the test if cond stops holding at any time within d.
func consistently(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if !cond() {
			t.Fatalf("no longer true: %s", what)
		}
	}
}

func start(t *testing.T, r engine.Reconciler, o engine.Options) *engine.Engine {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e := engine.New(r, o)
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

func TestRetriesFailuresAndHonoursRequeue(t *testing.T) {
	r := newRecorder()
	r.failUntil["a"] = 3
	r.requeue["b"] = 4
	r.panicKey = "c"
	e := start(t, r, engine.Options{Name: "test", MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Resync: time.Hour})
	e.Enqueue("a")
	e.Enqueue("b")
	e.Enqueue("c")
	waitFor(t, "a retried until it succeeds", func() bool { return r.count("a") == 4 })
	waitFor(t, "b requeued until done", func() bool { return r.count("b") == 5 })
	waitFor(t, "c retried after panics", func() bool { return r.count("c") >= 2 })
	// Once done, a key is not reconciled again without a reason.
	before := r.count("a")
	e.Enqueue("d")
	waitFor(t, "d reconciled", func() bool { return r.count("d") == 1 })
	if r.count("a") != before {
		t.Fatalf("a reconciled again without being enqueued")
	}
}

func TestOneKeyIsNeverReconciledConcurrently(t *testing.T) {
	r := newRecorder()
	r.hold = make(chan struct{})
	e := start(t, r, engine.Options{Name: "test", Workers: 4, Resync: time.Hour})
	e.Enqueue("a")
	waitFor(t, "first reconcile of a", func() bool { return r.count("a") == 1 })
	// Enqueued three times while in flight: queued once, run after the first finishes.
	e.Enqueue("a")
	e.Enqueue("a")
	e.Enqueue("a")
	close(r.hold)
	waitFor(t, "second reconcile of a", func() bool { return r.count("a") == 2 })
	consistently(t, "a reconciled twice, never concurrently", 200*time.Millisecond, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.calls["a"] == 2 && !r.overlap
	})
}

// The resync reconciles every key once a period, by the engine's clock: not before the period
// ends, and again each time it does.
func TestResyncReconcilesEveryKey(t *testing.T) {
	r := newRecorder()
	clock := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	start(t, r, engine.Options{Name: "test", Resync: time.Minute, Clock: clock,
		List: func(context.Context) ([]string, error) { return []string{"x", "y"}, nil }})
	waitFor(t, "x and y reconciled at start", func() bool { return r.count("x") == 1 && r.count("y") == 1 })
	clock.Step(59 * time.Second)
	consistently(t, "x and y not reconciled again before the period ends", 100*time.Millisecond, func() bool {
		return r.count("x") == 1 && r.count("y") == 1
	})
	for n := 2; n <= 3; n++ {
		clock.Step(time.Minute)
		waitFor(t, fmt.Sprintf("x and y reconciled %d times", n), func() bool { return r.count("x") == n && r.count("y") == n })
	}
}

// Requeues wait on the engine's clock: a key that asks to be looked at again in a minute is, once
// the minute has passed, and not before.
func TestRequeueAfterFollowsTheClock(t *testing.T) {
	clock := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r := &everyMinute{}
	e := start(t, r, engine.Options{Name: "test", Resync: time.Hour, Clock: clock})
	e.Enqueue("a")
	waitFor(t, "a reconciled", func() bool { return r.count() == 1 })
	clock.Step(30 * time.Second)
	consistently(t, "a not reconciled again within the minute", 100*time.Millisecond, func() bool { return r.count() == 1 })
	clock.Step(30 * time.Second)
	waitFor(t, "a reconciled again after the minute", func() bool { return r.count() == 2 })
}

// everyMinute asks to be reconciled again in a minute, every time.
type everyMinute struct {
	mu    sync.Mutex
	calls int
}

func (r *everyMinute) Reconcile(context.Context, string) (engine.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	return engine.Result{RequeueAfter: time.Minute}, nil
}

func (r *everyMinute) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func TestLowestRequeue(t *testing.T) {
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{0, 0}, 0},
		{[]time.Duration{0, 2 * time.Second}, 2 * time.Second},
		{[]time.Duration{15 * time.Second, 0, 2 * time.Second, time.Minute}, 2 * time.Second},
	} {
		var results []engine.Result
		for _, d := range tc.in {
			results = append(results, engine.Result{RequeueAfter: d})
		}
		if got := engine.LowestRequeue(results...); got.RequeueAfter != tc.want {
			t.Errorf("LowestRequeue(%v) = %v, want %v", tc.in, got.RequeueAfter, tc.want)
		}
	}
}
