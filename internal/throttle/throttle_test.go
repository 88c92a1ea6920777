package throttle_test

import (
	"fmt"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/easelhq/easel/internal/throttle"
)

func TestLimiter(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	l := throttle.New(clk, 3, 10*time.Minute, 100)
	for i := range 3 {
		if w := l.Wait("alice"); w != 0 {
			t.Fatalf("after %d failures: wait %v, want 0", i, w)
		}
		l.Fail("alice")
		clk.SetTime(clk.Now().Add(time.Minute))
	}
	// Failures at 10:00, 10:01, 10:02; now 10:03: the first leaves the window at 10:10.
	if w := l.Wait("alice"); w != 7*time.Minute {
		t.Fatalf("after 3 failures: wait %v, want 7m", w)
	}
	if w := l.Wait("bob"); w != 0 {
		t.Fatalf("another key: wait %v, want 0", w)
	}
	clk.SetTime(clk.Now().Add(7 * time.Minute))
	if w := l.Wait("alice"); w != 0 {
		t.Fatalf("once the oldest failure left the window: wait %v, want 0", w)
	}
	l.Fail("alice") // 10:10: failures 10:01, 10:02, 10:10
	if w := l.Wait("alice"); w != time.Minute {
		t.Fatalf("failing again: wait %v, want 1m", w)
	}
	l.Reset("alice")
	if w := l.Wait("alice"); w != 0 {
		t.Fatalf("after a reset: wait %v, want 0", w)
	}
}

func TestLimiterKeepsAtMostMaxKeys(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	l := throttle.New(clk, 2, time.Hour, 10)
	l.Fail("victim")
	l.Fail("victim")
	for i := range 9 {
		clk.SetTime(clk.Now().Add(time.Second))
		l.Fail(fmt.Sprint("spray-", i))
	}
	if l.Wait("victim") == 0 {
		t.Fatal("a full limiter forgot a key it still had room for")
	}
	clk.SetTime(clk.Now().Add(time.Second))
	l.Fail("spray-new") // the 11th key: the one whose last failure is oldest ("victim") goes
	if w := l.Wait("victim"); w != 0 {
		t.Fatalf("the oldest key was not evicted: wait %v", w)
	}
	if l.Wait("spray-8") != 0 {
		t.Fatal("spray-8 has one failure of 2 allowed, wait should be 0")
	}
	l.Fail("spray-8")
	if l.Wait("spray-8") == 0 {
		t.Fatal("a remembered key lost its failures when another was evicted")
	}
}
