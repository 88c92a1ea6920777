package agent

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
)

// The retry wait doubles from a second to a minute on the agent's clock, starts again from a
// second after a reset, and ends early with its context.
func TestBackoffDoublesOnTheClockUpToAMinute(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	b := newBackoff(clk)
	// waits runs one sleep and returns how long it took on the clock, stepping it a second at a
	// time once the sleep waits.
	waits := func(ctx context.Context) time.Duration {
		t.Helper()
		start := clk.Now()
		done := make(chan struct{})
		go func() { b.sleep(ctx); close(done) }()
		// settled: the sleep has returned, or waits on the clock.
		settled := func(context.Context) (bool, error) {
			select {
			case <-done:
				return true, nil
			default:
				return clk.HasWaiters(), nil
			}
		}
		for {
			if err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true, settled); err != nil {
				t.Fatalf("the backoff neither waits nor returns: %v", err)
			}
			select {
			case <-done:
				return clk.Since(start)
			default:
				clk.Step(time.Second)
			}
		}
	}
	var got []time.Duration
	for range 8 {
		got = append(got, waits(context.Background()))
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("backoff waits = %v; want %v seconds", got, want)
		}
	}
	b.reset()
	if d := waits(context.Background()); d != time.Second {
		t.Fatalf("after a reset the backoff waits %s; want 1s", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if d := waits(ctx); d != 0 {
		t.Fatalf("a backoff whose context ended waited %s; want it to return at once", d)
	}
}
