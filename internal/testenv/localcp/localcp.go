// Package localcp lets tests leave no control plane behind: it stops the local provider's control
// planes under a hub's data directory.
package localcp

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/easelhq/easel/internal/provider/local"
)

// StopAll stops every control plane under root (the local provider's root, <data dir>/clusters),
// keeping their data; a hub that starts on root again brings them back.
func StopAll(root string) error {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() {
			errs = append(errs, (&local.ControlPlane{Dir: filepath.Join(root, e.Name())}).Stop())
		}
	}
	return errors.Join(errs...)
}
