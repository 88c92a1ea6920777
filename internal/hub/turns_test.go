package hub

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"

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

// readSignal is a request body that says when it is first read.
type readSignal struct {
	io.Reader
	read chan struct{}
}

func (b *readSignal) Read(p []byte) (int, error) {
	select {
	case <-b.read:
	default:
		close(b.read)
	}
	return b.Reader.Read(p)
}

// A report's body is read only once there is room for it among the bodies waiting for a turn;
// until then it stays with its sender. A body over its limit is refused and gives its room back.
func TestReportBodiesAreReadOnceThereIsRoom(t *testing.T) {
	reg := prometheus.NewRegistry()
	tr := newTurns(4, reg)
	tr.bodies = semaphore.NewWeighted(100)
	waiting := func() float64 { return metrics.Gauge(t, reg, "easel_agent_reports_waiting") }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	request := func(body string) (*http.Request, *readSignal) {
		b := &readSignal{Reader: strings.NewReader(body), read: make(chan struct{})}
		r := httptest.NewRequestWithContext(ctx, "PUT", "/v1/spectroclusters/c/agent/usage", b)
		r.ContentLength = int64(len(body))
		return r, b
	}
	first, _ := request(strings.Repeat("a", 80))
	body, release, err := tr.read(httptest.NewRecorder(), first, 1000)
	if err != nil || len(body) != 80 {
		t.Fatalf("the first report: %d bytes, %v", len(body), err)
	}
	second, secondBody := request(strings.Repeat("b", 80))
	got := make(chan []byte, 1)
	go func() {
		b, r, err := tr.read(httptest.NewRecorder(), second, 1000)
		if err == nil {
			r()
		}
		got <- b
	}()
	for waiting() != 1 {
		if ctx.Err() != nil {
			t.Fatal("the second report never waited for room")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-secondBody.read:
		t.Fatal("the second report's body was read while the first one's took the room")
	default:
	}
	release()
	if b := <-got; string(b) != strings.Repeat("b", 80) {
		t.Fatalf("the second report, once the room was given back: %q", b)
	}

	tooLarge, _ := request(strings.Repeat("c", 90))
	if _, _, err := tr.read(httptest.NewRecorder(), tooLarge, 50); !errors.As(err, new(*http.MaxBytesError)) {
		t.Fatalf("a body over its limit: %v, want a MaxBytesError", err)
	}
	if !tr.bodies.TryAcquire(100) {
		t.Error("the room of the refused body and of the two applied ones was not all given back")
	}
}
