package atomicfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/easelhq/easel/internal/atomicfile"
)

func TestWriteReplacesWholeFileWithItsMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.token")
	for _, content := range []string{"first-token\n", "second\n"} {
		if err := atomicfile.Write(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("after writing %q: read %q, %v", content, got, err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries; want only agent.token, no temporary file left", len(entries))
	}
}

func TestWriteLeavesNothingWhenItFails(t *testing.T) {
	dir := t.TempDir()
	// A directory in the way: the rename fails, the old content stays and no temporary file is left.
	path := filepath.Join(dir, "taken")
	if err := os.MkdirAll(filepath.Join(path, "child"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Write(path, []byte("x"), 0o600); err == nil {
		t.Fatal("writing over a non-empty directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "taken" {
		t.Fatalf("directory holds %v; want only the directory that was in the way", entries)
	}
}
