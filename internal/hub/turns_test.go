package hub

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/easelhq/easel/internal/testenv/metrics"
)

// Reports beyond the turns wait, counted as waiting, until a turn is released or their agent hangs
// up; none is refused.
func TestAgentReportsTakeTurns(t *testing.T) {
	reg := prometheus.NewRegistry()
	tr := newTurns(1, reg)
	waiting := func() float64 { return metrics.Gauge(t, reg, "easel_agent_reports_waiting") }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	release, err := tr.take(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() {
		r, err := tr.take(ctx)
		if err == nil {
			r()
		}
		second <- err
	}()
	for waiting() != 1 {
		if ctx.Err() != nil {
			t.Fatal("the second report never waited for its turn")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-second:
		t.Fatalf("the second report got a turn while the only one was taken (%v)", err)
	default:
	}
	release()
	if err := <-second; err != nil {
		t.Fatalf("the second report, once the turn was released: %v", err)
	}
	if n := waiting(); n != 0 {
		t.Errorf("%v reports waiting after both had their turn", n)
	}

	held, _ := tr.take(ctx)
	defer held()
	gone, hangUp := context.WithCancel(ctx)
	hangUp()
	if _, err := tr.take(gone); !errors.Is(err, context.Canceled) {
		t.Errorf("a report whose agent hung up while waiting: %v, want context.Canceled", err)
	}
}
