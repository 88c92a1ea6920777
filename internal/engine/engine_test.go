package engine_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

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
	time.Sleep(50 * time.Millisecond) // a third run would show up here
	if r.count("a") != 2 || r.overlap {
		t.Fatalf("a reconciled %d times (overlap %v), want 2 and none", r.count("a"), r.overlap)
	}
}

func TestResyncReconcilesEveryKey(t *testing.T) {
	r := newRecorder()
	start(t, r, engine.Options{Name: "test", Resync: 20 * time.Millisecond,
		List: func(context.Context) ([]string, error) { return []string{"x", "y"}, nil }})
	waitFor(t, "x and y reconciled twice by resync alone", func() bool { return r.count("x") >= 2 && r.count("y") >= 2 })
}
