package agent

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/hub"
)

// The hub reads an agent's reports in frames and TLS records of at most bodyReadBytes: the hub's
// buffers for a connection grow to the largest it read and keep that size while the agent is
// connected. The reports still arrive whole, with their length.
func TestReportsReachTheHubInSmallRecords(t *testing.T) {
	var (
		mu       sync.Mutex
		received []v1.NodeReport
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var page struct {
			Nodes []v1.NodeReport `json:"nodes"`
		}
		if err == nil {
			err = json.Unmarshal(body, &page)
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil || r.ContentLength != int64(len(body)) || r.ProtoMajor != 2 {
			t.Errorf("a page of %d bytes with Content-Length %d over %s: %v", len(body), r.ContentLength, r.Proto, err)
		}
		received = append(received, page.Nodes...)
		w.Write([]byte(`{}`))
	}))
	srv.EnableHTTP2 = true
	srv.Config.HTTP2 = hub.HTTP2()
	srv.StartTLS()
	defer srv.Close()

	// The agent's transport, over connections that note the size of every TLS record they write.
	records := &recordSizes{}
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.ForceAttemptHTTP2 = true
	tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		noted := &notedConn{Conn: raw}
		cfg := tr.TLSClientConfig.Clone()
		cfg.ServerName, _, _ = net.SplitHostPort(addr)
		conn := tls.Client(noted, cfg)
		if err := conn.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		noted.sizes = records
		return conn, nil
	}
	c, err := NewClient([]string{srv.URL}, "c1", "token", &http.Client{Transport: tr, Timeout: time.Minute}, time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	nodes := benchNodeReports()[:300] // a report of about 300 KB, in pages
	if status, err := c.SendNodes(t.Context(), "r1", nodes); err != nil {
		t.Fatalf("sending the node report: %d %v", status, err)
	}

	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(received, nodes) {
		t.Fatalf("the hub received %d nodes, not the %d sent", len(received), len(nodes))
	}
	biggest, total := records.read()
	if total < 100<<10 {
		t.Fatalf("the agent's connections wrote %d bytes after their handshake: not the report", total)
	}
	// A record holds at most one frame (its header is 9 bytes) and TLS's own 22 bytes.
	if most := bodyReadBytes + 9 + 22; biggest > most {
		t.Errorf("the agent wrote a TLS record of %d bytes; want at most %d", biggest, most)
	}
}

// recordSizes is what connections wrote after their TLS handshake: a TLS connection writes each
// record at once.
type recordSizes struct {
	mu             sync.Mutex
	biggest, total int
}

func (r *recordSizes) note(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.biggest, r.total = max(r.biggest, n), r.total+n
}

func (r *recordSizes) read() (biggest, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.biggest, r.total
}

// notedConn notes its writes in sizes once that is set.
type notedConn struct {
	net.Conn
	sizes *recordSizes
}

func (c *notedConn) Write(p []byte) (int, error) {
	if c.sizes != nil {
		c.sizes.note(len(p))
	}
	return c.Conn.Write(p)
}
