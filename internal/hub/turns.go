package hub

import (
	"context"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
)

// Agent reports take turns. A fleet's agents that start together send their first full reports
// together: thousands of requests, each decoding and storing a report, and every one of them runs
// at once unless something says otherwise. A person's call then waits behind all of them for a
// CPU (a second and more at 3,000 clusters). So at most a few reports are applied at once — each
// after its body is read, so a slow sender holds no turn — and the others wait for theirs, without
// being refused; the requests of people and the agents' long-polls take no turn.

// DefaultAgentReportTurns is how many agent reports are applied at once per CPU, by default.
const DefaultAgentReportTurns = 2

// turns hands out a bounded number of turns.
type turns struct {
	slots   chan struct{}
	waiting prometheus.Gauge
}

func newTurns(n int, reg prometheus.Registerer) *turns {
	if n <= 0 {
		n = DefaultAgentReportTurns * runtime.GOMAXPROCS(0)
	}
	t := &turns{slots: make(chan struct{}, n), waiting: prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "easel_agent_reports_waiting", Help: "Agent reports received and waiting for their turn to be applied.",
	})}
	reg.MustRegister(t.waiting)
	return t
}

// take waits for a turn, or for ctx to end (the agent hung up); the caller calls release once done.
func (t *turns) take(ctx context.Context) (release func(), err error) {
	select {
	case t.slots <- struct{}{}:
	default:
		t.waiting.Inc()
		defer t.waiting.Dec()
		select {
		case t.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return func() { <-t.slots }, nil
}
