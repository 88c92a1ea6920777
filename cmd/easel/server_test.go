package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/testenv/easelbin"
)

// A second `easel server` on a data dir whose SQLite store a hub is using exits at once, non-zero,
// saying which file is in use and that several hubs need PostgreSQL; the first keeps serving.
func TestSecondServerOnOneSQLiteStoreIsRefused(t *testing.T) {
	h := startHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	second := exec.CommandContext(ctx, easelbin.Path(t), "server", "--data-dir", h.dataDir, "--listen", "127.0.0.1:0")
	second.Stderr = &stderr
	err := second.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || ctx.Err() != nil {
		t.Fatalf("second easel server: %v (want exit status 1 at once)\nstderr: %s", err, stderr.String())
	}
	db := filepath.Join(h.dataDir, "easel.db")
	for _, want := range []string{"Error: SQLite store " + db + " is in use by another easel server", "PostgreSQL"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
		}
	}
	useConfig(t)
	mustEasel(t, "login", "--hub", h.url, "--api-key", h.apiKey)
	mustEasel(t, "cluster", "list")
}

// `easel server` runs with GODEBUG=adaptivestackstart=0, added to what GODEBUG already says, in
// its own process (the same PID: it starts itself again in place); an operator who sets
// adaptivestackstart keeps their choice.
func TestServerRunsWithSmallStartingStacks(t *testing.T) {
	for _, tc := range []struct {
		godebug string // "" leaves GODEBUG unset
		want    string
	}{
		{"", "GODEBUG=adaptivestackstart=0"},
		{"gctrace=0", "GODEBUG=gctrace=0,adaptivestackstart=0"},
		{"adaptivestackstart=1", "GODEBUG=adaptivestackstart=1"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			hub := exec.CommandContext(ctx, easelbin.Path(t), "server", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0")
			hub.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GODEBUG=") })
			if tc.godebug != "" {
				hub.Env = append(hub.Env, "GODEBUG="+tc.godebug)
			}
			stdout, err := hub.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := hub.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				_ = hub.Process.Signal(syscall.SIGTERM)
				_ = hub.Wait()
			}()
			lines := bufio.NewScanner(stdout)
			for !strings.Contains(lines.Text(), "easel is ready") {
				if !lines.Scan() {
					t.Fatalf("the hub exited or closed its output before it was ready: %v", lines.Err())
				}
			}
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", hub.Process.Pid))
			if err != nil {
				t.Fatal(err)
			}
			var godebug []string
			for kv := range strings.SplitSeq(string(environ), "\x00") {
				if strings.HasPrefix(kv, "GODEBUG=") {
					godebug = append(godebug, kv)
				}
			}
			if !slices.Equal(godebug, []string{tc.want}) {
				t.Errorf("the serving hub's environment has %q, want [%q]", godebug, tc.want)
			}
		})
	}
}
