package store_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/easelhq/easel/internal/store"
)

// A SQLite file serves one hub: a second Open while the first holds it is refused with an error
// that names the file and says what to do instead; once the first is closed, the next Open works.
func TestSecondOpenOfASQLiteFileIsRefused(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "easel.db")
	first, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	second, err := store.Open(ctx, db)
	if err == nil {
		second.Close()
		first.Close()
		t.Fatal("a second Open of the same SQLite file succeeded")
	}
	if !errors.Is(err, store.ErrInUse) {
		t.Errorf("second Open: %v, want ErrInUse", err)
	}
	for _, want := range []string{db + " is in use by another easel server", db + ".lock", "PostgreSQL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("second Open's error %q does not say %q", err, want)
		}
	}
	// The refused Open must not have touched the first: it still reads and writes.
	if err := first.CreateObject(ctx, cluster("c1", "p1", "alpha")); err != nil {
		t.Fatalf("the first store after a refused second Open: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third, err := store.Open(ctx, "sqlite://"+db)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	defer third.Close()
	if _, err := third.GetObject(ctx, "cluster", "c1"); err != nil {
		t.Fatalf("reading after reopening: %v", err)
	}
}

// Another process holding the file is refused the same way, and the error names that process; its
// death, SIGKILL included, frees the file at once: a crashed hub never leaves a stale lock behind.
func TestSQLiteFileHeldByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "easel.db")
	holder := exec.Command(os.Args[0], "-test.run=^TestHoldSQLiteFile$")
	holder.Env = append(os.Environ(), "EASEL_TEST_HOLD_SQLITE="+db)
	stdin, _ := holder.StdinPipe() // the holder exits when this closes, should the test fail first
	defer stdin.Close()
	stdout, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Wait()
	defer holder.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "holding\n" {
		t.Fatalf("the holder process did not open the store: %q, %v", line, err)
	}

	_, err = store.Open(ctx, db)
	if !errors.Is(err, store.ErrInUse) {
		t.Fatalf("Open while another process holds the file: %v, want ErrInUse", err)
	}
	if want := fmt.Sprintf("(process %d holds %s.lock)", holder.Process.Pid, db); !strings.Contains(err.Error(), want) {
		t.Errorf("the error %q does not name the holder %s", err, want)
	}

	if err := holder.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	holder.Wait()
	s, err := store.Open(ctx, db)
	if err != nil {
		t.Fatalf("Open after the holder was killed: %v", err)
	}
	s.Close()
}

// TestHoldSQLiteFile is the other process of TestSQLiteFileHeldByAnotherProcess: it opens the
// store its environment names and holds it until its stdin closes or it is killed.
func TestHoldSQLiteFile(t *testing.T) {
	db := os.Getenv("EASEL_TEST_HOLD_SQLITE")
	if db == "" {
		t.Skip("run by TestSQLiteFileHeldByAnotherProcess")
	}
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fmt.Println("holding")
	io.Copy(io.Discard, os.Stdin)
}
