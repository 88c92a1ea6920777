// Package poll is how tests wait for what a real system does in its own time: Eventually polls
// until a state is reached, with a deadline; Consistently polls for a whole period and fails at
// the first sight of what must not happen (after Gomega's functions of those names). Neither
// stands in for a fixed sleep: each fails, naming what it last saw.
package poll

import (
	"fmt"
	"testing"
	"time"
)

// interval is how often Eventually and Consistently look.
const interval = 250 * time.Millisecond

// Eventually calls observe until it returns nil, and fails the test when it has not by timeout,
// saying what it waited for and what observe saw last (after Gomega's Eventually). observe
// returns why what it waits for does not hold yet, e.g. Unless(state == "Running", "state %s", state).
func Eventually(t testing.TB, timeout time.Duration, what string, observe func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := observe()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last seen: %v", timeout, what, err)
		}
		time.Sleep(interval)
	}
}

// Consistently calls observe for the whole period, and fails the test the first time it returns
// an error, saying what should have held, when it stopped and what happened instead (after
// Gomega's Consistently). The last look is at the end of the period.
func Consistently(t testing.TB, period time.Duration, what string, observe func() error) {
	t.Helper()
	start := time.Now()
	for {
		if err := observe(); err != nil {
			t.Fatalf("%s did not hold for %s: after %s, %v", what, period, time.Since(start).Round(time.Millisecond), err)
		}
		left := period - time.Since(start)
		if left <= 0 {
			return
		}
		time.Sleep(min(interval, left))
	}
}

// Unless is nil when ok holds, else the observation that says why not.
func Unless(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}
