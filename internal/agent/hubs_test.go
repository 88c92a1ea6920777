package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/agent"
)

const (
	failoverCluster = "c0ffee00c0ffee00c0ffee00"
	failoverToken   = "agent-token-never-logged"
)

// fakeHub is a hub on 127.0.0.1 that records the agent calls it received, as "METHOD /path" under
// the cluster (with " page N" for a report page), and answers each with the status answer gives.
type fakeHub struct {
	*httptest.Server
	mu       sync.Mutex
	received []string
}

func newFakeHub(t *testing.T, answer func(call string) int) *fakeHub {
	t.Helper()
	h := &fakeHub{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+failoverToken {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		call := r.Method + " " + strings.TrimPrefix(r.URL.Path, "/v1/spectroclusters/"+failoverCluster)
		body, _ := io.ReadAll(r.Body)
		var page struct {
			ReportID string `json:"reportId"`
			Page     int    `json:"page"`
		}
		if json.Unmarshal(body, &page) == nil && page.ReportID != "" {
			call += fmt.Sprintf(" page %d", page.Page)
		}
		h.mu.Lock()
		h.received = append(h.received, call)
		h.mu.Unlock()
		status := answer(call)
		w.WriteHeader(status)
		if status == http.StatusOK && r.Method == http.MethodGet {
			w.Write([]byte(`{"generation":3}`))
		}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *fakeHub) calls() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.received)
}

func ok(string) int { return http.StatusOK }

// refusingURL is an http URL on 127.0.0.1 where nothing listens: connections to it are refused.
func refusingURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	return url
}

// newFailoverClient is an agent client of these hub URLs whose log goes to the returned buffer.
// The client logs only within its calls, so the tests read the buffer between calls.
func newFailoverClient(t *testing.T, urls ...string) (*agent.Client, *bytes.Buffer) {
	t.Helper()
	logs := &bytes.Buffer{}
	hc := &http.Client{Timeout: 30 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	c, err := agent.NewClient(urls, failoverCluster, failoverToken, hc, time.Second, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return c, logs
}

// switches are the "Switching hub" lines of an agent's log, each as "from -> to".
func switches(t *testing.T, logs *bytes.Buffer) []string {
	t.Helper()
	text := logs.String()
	if strings.Contains(text, failoverToken) {
		t.Fatalf("the agent logged its token:\n%s", text)
	}
	var out []string
	for line := range strings.Lines(text) {
		if !strings.Contains(line, `msg="Switching hub"`) {
			continue
		}
		field := func(key string) string {
			_, rest, _ := strings.Cut(line, " "+key+"=")
			v, _, _ := strings.Cut(rest, " ")
			return v
		}
		out = append(out, field("from")+" -> "+field("to"))
	}
	return out
}

// With two hub URLs of which the first refuses connections, every call reaches the second — the
// first one too, without waiting for a retry — and the agent switches once, not once per call.
func TestFirstHubRefusingConnectionsEveryCallGoesToTheSecond(t *testing.T) {
	down := refusingURL(t)
	up := newFakeHub(t, func(call string) int {
		if strings.HasPrefix(call, "GET /agent/desired") {
			return http.StatusNotModified
		}
		return http.StatusOK
	})
	c, logs := newFailoverClient(t, down, up.URL)
	ctx := context.Background()

	if status, err := c.Heartbeat(ctx); status != http.StatusOK || err != nil {
		t.Fatalf("Heartbeat = %d, %v; want 200 from the second hub", status, err)
	}
	if _, status, err := c.Desired(ctx, 3, 0, 0); status != http.StatusNotModified || err != nil {
		t.Fatalf("Desired = %d, %v; want 304 from the second hub", status, err)
	}
	if status, err := c.SendNodes(ctx, "report-1", []v1.NodeReport{{Name: "worker-1", Role: "worker", Ready: true}}); status != 0 || err != nil {
		t.Fatalf("SendNodes = %d, %v; want every page accepted", status, err)
	}
	if status, err := c.Heartbeat(ctx); status != http.StatusOK || err != nil {
		t.Fatalf("second Heartbeat = %d, %v; want 200", status, err)
	}
	want := []string{"PUT /heartbeat", "GET /agent/desired", "PUT /agent/nodes page 0", "PUT /heartbeat"}
	if got := up.calls(); !slices.Equal(got, want) {
		t.Errorf("the second hub received %q; want %q", got, want)
	}
	if got := switches(t, logs); !slices.Equal(got, []string{down + " -> " + up.URL}) {
		t.Errorf("switches logged: %q; want one, from the refusing hub to the second", got)
	}
}

// A 503 from the hub the agent is on moves it to the next, which it keeps to; when that one
// answers 502 it wraps around to the first again. A 500 is an answer, not a reason to move.
func TestUnavailableHubMovesTheAgentToTheNextAndWrapsAround(t *testing.T) {
	var mu sync.Mutex
	statusOf := map[string]int{"a": http.StatusServiceUnavailable, "b": http.StatusOK}
	hubNamed := func(name string) *fakeHub {
		return newFakeHub(t, func(string) int { mu.Lock(); defer mu.Unlock(); return statusOf[name] })
	}
	set := func(name string, status int) { mu.Lock(); statusOf[name] = status; mu.Unlock() }
	a, b := hubNamed("a"), hubNamed("b")
	c, logs := newFailoverClient(t, a.URL, b.URL)
	ctx := context.Background()

	for i := range 3 {
		if status, err := c.Heartbeat(ctx); status != http.StatusOK || err != nil {
			t.Fatalf("Heartbeat %d = %d, %v; want 200 from b", i, status, err)
		}
	}
	if got := len(a.calls()); got != 1 {
		t.Errorf("a received %d calls; want 1, the one it answered 503 (then the agent sticks to b)", got)
	}
	set("a", http.StatusOK)
	set("b", http.StatusBadGateway)
	if status, err := c.Heartbeat(ctx); status != http.StatusOK || err != nil {
		t.Fatalf("Heartbeat after b's 502 = %d, %v; want 200 from a", status, err)
	}
	set("a", http.StatusInternalServerError)
	if status, err := c.Heartbeat(ctx); status != http.StatusInternalServerError || err == nil {
		t.Fatalf("Heartbeat on a answering 500 = %d, %v; want its 500 and an error", status, err)
	}
	if got, want := len(b.calls()), 4; got != want {
		t.Errorf("b received %d calls; want %d (the 500 of a is not passed on)", got, want)
	}
	want := []string{a.URL + " -> " + b.URL, b.URL + " -> " + a.URL}
	if got := switches(t, logs); !slices.Equal(got, want) {
		t.Errorf("switches logged: %q; want %q", got, want)
	}
}

// A report's pages that one hub acknowledged are not sent again when the agent moves to another:
// the rest of the report goes to the next hub from the page that was refused.
func TestReportAcknowledgedByOneHubIsNotSentAgainToTheOther(t *testing.T) {
	var mu sync.Mutex
	pagesOnA := 0
	a := newFakeHub(t, func(call string) int {
		mu.Lock()
		defer mu.Unlock()
		if pagesOnA++; pagesOnA > 1 { // a acknowledges the first page, then stops serving
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	b := newFakeHub(t, ok)
	c, _ := newFailoverClient(t, a.URL, b.URL)

	// Nodes of about 10 KB each: 150 of them are three pages of half a MiB.
	var nodes []v1.NodeReport
	for i := range 150 {
		capacity := map[string]string{}
		for k := range 100 {
			capacity[fmt.Sprintf("example.com/device-%03d", k)] = strings.Repeat("9", 64)
		}
		nodes = append(nodes, v1.NodeReport{Name: fmt.Sprintf("worker-%03d", i), Role: "worker", Capacity: capacity})
	}
	if status, err := c.SendNodes(context.Background(), "report-1", nodes); status != 0 || err != nil {
		t.Fatalf("SendNodes = %d, %v; want every page accepted", status, err)
	}
	if got, want := a.calls(), []string{"PUT /agent/nodes page 0", "PUT /agent/nodes page 1"}; !slices.Equal(got, want) {
		t.Errorf("a received %q; want %q (page 0 acknowledged, page 1 refused with 503)", got, want)
	}
	if got, want := b.calls(), []string{"PUT /agent/nodes page 1", "PUT /agent/nodes page 2"}; !slices.Equal(got, want) {
		t.Errorf("b received %q; want %q: the pages a did not acknowledge, not page 0 again", got, want)
	}
}

// A long-poll that fails twice in a row on a hub that otherwise answers moves the agent to the
// next hub; one failure between successes does not.
func TestLongPollFailingTwiceMovesTheAgent(t *testing.T) {
	var mu sync.Mutex
	polls := 0
	a := newFakeHub(t, func(call string) int {
		if !strings.HasPrefix(call, "GET /agent/desired") {
			return http.StatusOK
		}
		mu.Lock()
		defer mu.Unlock()
		polls++
		if polls == 2 { // one success between two failures: the count starts again
			return http.StatusOK
		}
		return http.StatusInternalServerError
	})
	b := newFakeHub(t, ok)
	c, logs := newFailoverClient(t, a.URL, b.URL)
	ctx := context.Background()

	wantStatus := []int{http.StatusInternalServerError, http.StatusOK, http.StatusInternalServerError, http.StatusInternalServerError}
	for i, want := range wantStatus {
		if _, status, _ := c.Desired(ctx, 0, 0, 0); status != want {
			t.Fatalf("long-poll %d answered %d; want %d from a", i, status, want)
		}
		if _, err := c.Heartbeat(ctx); err != nil { // other calls in between neither count nor move
			t.Fatalf("Heartbeat after long-poll %d: %v", i, err)
		}
	}
	d, status, err := c.Desired(ctx, 0, 0, 0)
	if status != http.StatusOK || err != nil || d.Generation != 3 {
		t.Fatalf("long-poll after two failures in a row = %d, %+v, %v; want b's 200", status, d, err)
	}
	// The heartbeat after the fourth long-poll went to b already.
	if got, want := b.calls(), []string{"PUT /heartbeat", "GET /agent/desired"}; !slices.Equal(got, want) {
		t.Errorf("b received %q; want %q, what came after the second failure in a row", got, want)
	}
	if got := len(a.calls()); got != 7 {
		t.Errorf("a received %d calls; want 7: four long-polls and the three heartbeats between them", got)
	}
	if got := switches(t, logs); !slices.Equal(got, []string{a.URL + " -> " + b.URL}) {
		t.Errorf("switches logged: %q; want one, after the second failure in a row", got)
	}
	if !strings.Contains(logs.String(), `why="the long-poll failed 2 times in a row: GET /agent/desired`) {
		t.Errorf("the switch does not say the long-poll failed twice:\n%s", logs)
	}
}

// When no hub serves, a call tries each once and returns the last one's error; the caller's
// backoff retries it.
func TestNoHubServingFailsTheCallAfterTryingEachOnce(t *testing.T) {
	a := newFakeHub(t, func(string) int { return http.StatusGatewayTimeout })
	down := refusingURL(t)
	c, logs := newFailoverClient(t, a.URL, down)
	status, err := c.Heartbeat(context.Background())
	if status != 0 || err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Heartbeat = %d, %v; want the refusing hub's error", status, err)
	}
	if got := len(a.calls()); got != 1 {
		t.Errorf("a received %d calls; want 1", got)
	}
	if got := switches(t, logs); len(got) != 2 {
		t.Errorf("switches logged: %q; want a -> down -> a", got)
	}
}

func TestParseHubURLs(t *testing.T) {
	many := make([]string, agent.MaxHubURLs+1)
	for i := range many {
		many[i] = fmt.Sprintf("https://hub-%d.example.com:8443", i)
	}
	tests := []struct {
		name    string
		in      []string
		want    []string
		wantErr string
	}{
		{name: "one", in: []string{"https://hub.example.com:8443"}, want: []string{"https://hub.example.com:8443"}},
		{name: "repeated and comma-separated", in: []string{"https://a:8443/, http://b:8080", "https://c/easel/"},
			want: []string{"https://a:8443", "http://b:8080", "https://c/easel"}},
		{name: "empty entries dropped", in: []string{"", "http://a,,"}, want: []string{"http://a"}},
		{name: "at the limit", in: many[:agent.MaxHubURLs], want: many[:agent.MaxHubURLs]},
		{name: "none", in: []string{""}, wantErr: "the agent needs the hub URL"},
		{name: "over the limit", in: many, wantErr: "17 hub URLs given; at most 16"},
		{name: "relative", in: []string{"http://a", "hub.example.com:8443"}, wantErr: `hub URL "hub.example.com:8443" must be an absolute http:// or https:// URL`},
		{name: "another scheme", in: []string{"ftp://a"}, wantErr: `hub URL "ftp://a" must be an absolute http:// or https:// URL`},
		{name: "no host", in: []string{"https:///v1"}, wantErr: `hub URL "https:///v1" has no host`},
		{name: "user info", in: []string{"https://admin:s3cret@a"}, wantErr: `hub URL "https://admin:xxxxx@a" must not carry user info`},
		{name: "query", in: []string{"https://a/?x=1"}, wantErr: `hub URL "https://a/?x=1" must have no query nor fragment`},
		{name: "twice", in: []string{"https://a", "https://a/"}, wantErr: `hub URL "https://a/" is listed twice`},
		{name: "unparsable", in: []string{"http://a b"}, wantErr: `hub URL "http://a b": parse`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := agent.ParseHubURLs(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseHubURLs(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("the error shows the URL's password: %v", err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseHubURLs(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}
