package hub

import (
	"context"
	"io"
	"net/http"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"
)

// Agent reports take turns. A fleet's agents that start together send their first full reports
// together: thousands of requests, each decoding and storing a report, and every one of them runs
// at once unless something says otherwise. A person's call then waits behind all of them for a
// CPU (a second and more at 3,000 clusters). So at most a few reports are applied at once — each
// after its body is read, so a slow sender holds no turn — and the others wait for theirs, without
// being refused; the requests of people and the agents' long-polls take no turn.
//
// The bodies read and waiting for a turn are bounded too (agentBodyBytes): a report's body is read
// once it fits, and until then it stays with its sender (beyond the stream's flow-control window,
// HTTP2's MaxReceiveBufferPerStream, or in the kernel's socket buffers on HTTP/1.1). Reading every body at once held each agent's full report in
// the hub's memory while it waited: 6.9 GB at 10,000 clusters.

// DefaultAgentReportTurns is how many agent reports are applied at once per CPU, by default.
const DefaultAgentReportTurns = 2

// agentBodyBytes bounds the bytes of agent report bodies read and not applied yet: 64 of the
// largest messages, some 400 of a 300-pod cluster's full workload report, enough to keep every
// turn busy.
const agentBodyBytes = 64 << 20

// turns hands out a bounded number of turns, and room for the bodies that wait for one.
type turns struct {
	slots   chan struct{}
	bodies  *semaphore.Weighted
	waiting prometheus.Gauge
}

func newTurns(n int, reg prometheus.Registerer) *turns {
	if n <= 0 {
		n = DefaultAgentReportTurns * runtime.GOMAXPROCS(0)
	}
	t := &turns{slots: make(chan struct{}, n), bodies: semaphore.NewWeighted(agentBodyBytes),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "easel_agent_reports_waiting", Help: "Agent reports waiting for room to be read or for their turn to be applied.",
		})}
	reg.MustRegister(t.waiting)
	return t
}

// read reads an agent report's body of at most limit bytes once there is room for it (its
// Content-Length, or limit when it has none), then waits for a turn; the caller calls release
// once the report is applied. The wait ends early when the agent hangs up.
func (t *turns) read(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, release func(), err error) {
	ctx := r.Context()
	room := limit
	if r.ContentLength >= 0 && r.ContentLength < limit {
		room = r.ContentLength
	}
	room = min(room, agentBodyBytes)
	if !t.bodies.TryAcquire(room) {
		t.waiting.Inc()
		err := t.bodies.Acquire(ctx, room)
		t.waiting.Dec()
		if err != nil {
			return nil, nil, err
		}
	}
	body, err = readBody(http.MaxBytesReader(w, r.Body, limit), r.ContentLength, limit)
	if err != nil {
		t.bodies.Release(room)
		return nil, nil, err // a MaxBytesError becomes 413
	}
	done, err := t.take(ctx)
	if err != nil {
		t.bodies.Release(room)
		return nil, nil, err
	}
	return body, func() { done(); t.bodies.Release(room) }, nil
}

// readBody reads a body whole: into a buffer of its Content-Length when it has one within limit
// (io.ReadAll would grow its buffer to up to twice the body), else through limit (body is a
// MaxBytesReader of it).
func readBody(body io.Reader, contentLength, limit int64) ([]byte, error) {
	if contentLength < 0 || contentLength > limit {
		return io.ReadAll(body)
	}
	buf := make([]byte, contentLength)
	if _, err := io.ReadFull(body, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// HTTP2 is the hub's HTTP/2 settings. With an agent on each connection, what a connection keeps
// is multiplied by the fleet: Go keeps a frame buffer as large as the largest frame the connection
// read (frames of up to 1 MiB by default: a full report came in one frame, and its buffer stayed
// for the connection's life), and a request may send its stream's window (1 MiB by default)
// before the hub reads any of it. Frames of 16 KiB (HTTP/2's default) and windows of 64 KiB keep
// an idle connection small and a waiting report's body mostly with its sender; a large upload
// (a log bundle) then gets 64 KiB per round trip (6 MB/s at a 10 ms round trip).
func HTTP2() *http.HTTP2Config {
	return &http.HTTP2Config{MaxReadFrameSize: 16 << 10, MaxReceiveBufferPerStream: 64 << 10}
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
