package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/easelhq/easel/internal/server"
)

// With --profiling-listen the hub serves Go's runtime profiles on that loopback address, not on
// its own, and not the command line; an address other machines could reach is refused before
// anything starts.
func TestRunServesRuntimeProfilesOnLoopbackOnly(t *testing.T) {
	dir := t.TempDir()
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "192.0.2.1:6060", "127.0.0.1"} {
		err := server.Run(context.Background(), server.Config{Listen: "127.0.0.1:0", DataDir: dir, ProfilingListen: addr,
			Logger: slog.New(slog.DiscardHandler)})
		if err == nil || !strings.Contains(err.Error(), "--profiling-listen") {
			t.Errorf("--profiling-listen %s: Run returned %v, want an error naming the flag", addr, err)
		}
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Fatalf("refused starts left %v in the data dir (%v)", entries, err)
	}

	profiles := make(profilesLog, 1)
	addr, _, stop := runHub(t, filepath.Join(dir, "hub"), "", func(c *server.Config) {
		c.ProfilingListen, c.Logger = "127.0.0.1:0", slog.New(profiles)
	})
	base := <-profiles
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, body := get(base + "heap?debug=1"); status != 200 || !strings.Contains(body, "# HeapInuse = ") {
		t.Errorf("GET %sheap?debug=1: %d\n%.300s", base, status, body)
	}
	if status, body := get(base + "goroutine?debug=1"); status != 200 || !strings.Contains(body, "server.Run") {
		t.Errorf("GET %sgoroutine?debug=1: %d, want the hub's goroutines\n%.300s", base, status, body)
	}
	if status, body := get(base + "cmdline"); status != 404 {
		t.Errorf("GET %scmdline: %d, want 404: the command line may carry a store's password\n%.300s", base, status, body)
	}
	if status, _ := get("http://" + addr + "/debug/pprof/heap"); status == 200 {
		t.Errorf("the hub's own address serves the profiles")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(base); err == nil {
		t.Fatal("the profiles are still served after the hub stopped")
	}
}

// profilesLog is a log handler that hands on the address the hub serves its profiles at.
type profilesLog chan string

func (p profilesLog) Enabled(context.Context, slog.Level) bool { return true }
func (p profilesLog) WithAttrs([]slog.Attr) slog.Handler       { return p }
func (p profilesLog) WithGroup(string) slog.Handler            { return p }
func (p profilesLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "Serving Go's runtime profiles" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "address" {
				p <- a.Value.String()
			}
			return true
		})
	}
	return nil
}
