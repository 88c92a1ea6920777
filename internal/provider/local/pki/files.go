package pki

import (
	"bytes"
	"errors"
	"io/fs"
	"os"

	"github.com/easelhq/easel/internal/atomicfile"
)

// writeIfChanged leaves path untouched when it already holds data (only
// tightening its mode if needed), so that an idempotent Ensure changes no
// mtimes.
func writeIfChanged(path string, data []byte, perm fs.FileMode) error {
	existing, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(existing, data):
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		if fi.Mode().Perm() != perm {
			return os.Chmod(path, perm)
		}
		return nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return atomicfile.Write(path, data, perm)
}
