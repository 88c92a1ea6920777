package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/console"
	"github.com/easelhq/easel/internal/hubtrust"
	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testenv/pgtest"
	"github.com/easelhq/easel/internal/transport"
)

// Two hub replicas on one PostgreSQL, each with its own data dir and self-signed certificate: a
// log bundle made on A downloads through B — the API and the console alike, whole and by range —
// with the bytes A holds and one audit entry per download (A's); a client's forwarded-once header
// makes B answer from its own blob directory only; with A stopped, B answers 503 saying the
// bundle comes back with A; and a download never goes on twice, even when the records point B
// back at itself.
func TestLogBundleDownloadsThroughAnotherReplica(t *testing.T) {
	const key = "bundles-replicas-key-0123456789"
	dsn := pgtest.DSN(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	// Both behind one load balancer's URL, as an operator would run them: their sessions carry
	// their own addresses all the same (--replica-url's default), which the download goes to.
	replica := func(c *server.Config) { c.DB, c.TLS, c.PublicURL = dsn, server.TLSOn, "https://hub-lb.invalid" }
	addrA, _, stopA := runHub(t, dirA, key, replica)
	stoppedA := false
	defer func() {
		if !stoppedA {
			stopA()
		}
	}()
	addrB, _, stopB := runHub(t, dirB, key, replica)
	defer stopB()
	var pins []string
	for _, dir := range []string{dirA, dirB} {
		pin, err := hubtrust.FingerprintFile(filepath.Join(dir, "tls", "hub.crt"))
		if err != nil {
			t.Fatal(err)
		}
		pins = append(pins, pin)
	}
	tlsConfig, err := hubtrust.Options{Fingerprint: strings.Join(pins, ",")}.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig}, Timeout: 30 * time.Second}
	var project string
	send := func(addr, method, path, body string, header http.Header) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, "https://"+addr+path, strings.NewReader(body))
		req.Header = header.Clone()
		if req.Header == nil {
			req.Header = http.Header{}
		}
		if req.Header.Get("Cookie") == "" {
			req.Header.Set("ApiKey", key)
		}
		if project != "" {
			req.Header.Set("ProjectUid", project)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s on %s: %v", method, path, addr, err)
		}
		return resp
	}
	call := func(addr, method, path, body string, header http.Header) (*http.Response, []byte) {
		t.Helper()
		resp := send(addr, method, path, body, header)
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("reading %s %s on %s: %v", method, path, addr, err)
		}
		return resp, data
	}
	decode := func(data []byte, into any) {
		t.Helper()
		if err := json.Unmarshal(data, into); err != nil {
			t.Fatalf("%v: %s", err, data)
		}
	}

	_, data := call(addrA, "GET", "/v1/dashboard/projects/metadata", "", nil)
	var projects struct {
		Items []struct{ Metadata struct{ UID string } }
	}
	decode(data, &projects)
	project = projects.Items[0].Metadata.UID
	resp, data := call(addrA, "POST", "/v1/spectroclusters/generic/import", `{"metadata":{"name":"edge"}}`, nil)
	var cluster, request struct{ UID string }
	decode(data, &cluster)
	// Its agent never connected: the bundle is made at once, of the hub's part, on A.
	if resp, data = call(addrA, "POST", "/v1/spectroclusters/"+cluster.UID+"/features/logFetcher", `{}`, nil); resp.StatusCode != 201 {
		t.Fatalf("requesting a bundle on A = %d %s", resp.StatusCode, data)
	}
	decode(data, &request)
	zips, _ := filepath.Glob(filepath.Join(dirA, "blobs", "logs", "*.zip"))
	if len(zips) != 1 {
		t.Fatalf("A's blob directory holds %v; want the one bundle", zips)
	}
	held, err := os.ReadFile(zips[0])
	if err != nil {
		t.Fatal(err)
	}
	download := "/v1/spectroclusters/features/logFetcher/" + request.UID + "/download"

	resp, data = call(addrB, "GET", download, "", nil)
	if resp.StatusCode != 200 || !bytes.Equal(data, held) || resp.Header.Get("Content-Type") != "application/octet-stream" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="spectro_logs.zip"` || resp.ContentLength != int64(len(held)) {
		t.Fatalf("download through B = %d, %d bytes, %v; want 200 with A's %d bytes as spectro_logs.zip", resp.StatusCode, len(data), resp.Header, len(held))
	}
	resp, data = call(addrB, "GET", download, "", http.Header{"Range": {"bytes=10-19"}})
	if want := "bytes 10-19/" + strconv.Itoa(len(held)); resp.StatusCode != 206 || !bytes.Equal(data, held[10:20]) ||
		resp.Header.Get("Content-Range") != want || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("range through B = %d %q %v; want 206, bytes 10-19 of A's file, Content-Range %s", resp.StatusCode, data, resp.Header, want)
	}
	_, data = call(addrA, "POST", "/v1/auth/authenticate", `{"emailId":"admin@easel.local","password":"`+
		readPrivate(t, filepath.Join(dirA, "initial-admin-password"))+`"}`, nil)
	var login struct{ Authorization string }
	decode(data, &login)
	resp, data = call(addrB, "GET", "/clusters/"+cluster.UID+"/logs/"+request.UID+"/download", "",
		http.Header{"Cookie": {console.SessionCookie + "=" + login.Authorization}})
	if resp.StatusCode != 200 || !bytes.Equal(data, held) {
		t.Fatalf("the console's download through B = %d, %d bytes; want 200 with A's %d bytes", resp.StatusCode, len(data), len(held))
	}

	// The header a replica sets when it sends a download on, set by a client: B serves from its
	// own blob directory or says not found; it sends nothing on and audits nothing.
	resp, data = call(addrB, "GET", download, "", http.Header{transport.ForwardedHeader: {"true"}})
	if resp.StatusCode != 404 || !strings.Contains(string(data), "not found on this hub replica") {
		t.Fatalf("a client's forwarded-once header on B = %d %s; want 404 from B itself", resp.StatusCode, data)
	}
	_, data = call(addrA, "GET", "/v1/audits?limit=100", "", nil)
	if n := strings.Count(string(data), "Downloaded log bundle "+request.UID); n != 3 {
		t.Fatalf("%d audit entries of the bundle's downloads; want 3 (whole, range, console), each once:\n%s", n, data)
	}

	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	stoppedA = true
	resp, data = call(addrB, "GET", download, "", nil)
	if resp.StatusCode != 503 || !strings.Contains(string(data), "which is not running: it can be downloaded once that replica runs again, or request a new bundle") ||
		!strings.Contains(string(data), dirA) {
		t.Fatalf("download through B with A stopped = %d %s; want 503 naming A's replica and saying when the bundle comes back", resp.StatusCode, data)
	}

	// A's host registered at B's address (as when replicas share one URL behind a load balancer):
	// B sends the download on to itself once, and that answers from B's own blob directory.
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hostA := strings.TrimSpace(readFile(t, filepath.Join(dirA, "host-id")))
	if _, err := st.RegisterSession(context.Background(), store.Session{ID: "looping", Replica: "hub-a", HostID: hostA,
		URL: "https://" + addrB, Fingerprint: pins[1]}, time.Minute); err != nil {
		t.Fatal(err)
	}
	resp, data = call(addrB, "GET", download, "", nil)
	if resp.StatusCode != 404 || !strings.Contains(string(data), "not found on this hub replica") {
		t.Fatalf("download through B with A's host registered at B = %d %s; want 404 after one hop", resp.StatusCode, data)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
