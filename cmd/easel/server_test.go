package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
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
