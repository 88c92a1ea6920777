package agent

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"

	v1 "github.com/easelhq/easel/api/v1"
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

// A doctor report larger than its limit drops the ok findings first, then the warnings, and keeps
// the problems.
func TestFitFindings(t *testing.T) {
	var all []v1.Finding
	for i := range 300 {
		status := []string{v1.FindingOK, v1.FindingWarning, v1.FindingProblem}[i%3]
		all = append(all, v1.Finding{Node: fmt.Sprintf("node-%03d", i), Check: "node-lease", Status: status, Evidence: strings.Repeat("x", 100)})
	}
	kept, dropped := fitFindings(all, 20000)
	problems := 0
	for _, f := range kept {
		if f.Status == v1.FindingOK {
			t.Fatalf("an ok finding was kept while others were dropped: %+v", f)
		}
		if f.Status == v1.FindingProblem {
			problems++
		}
	}
	if dropped != 300-len(kept) || problems != 100 {
		t.Errorf("kept %d (%d problems), dropped %d; want every one of the 100 problems kept", len(kept), problems, dropped)
	}
	if kept, dropped := fitFindings(all, 1<<20); len(kept) != 300 || dropped != 0 {
		t.Errorf("under the limit: kept %d, dropped %d; want all", len(kept), dropped)
	}
}
