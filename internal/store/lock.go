package store

import (
	"errors"
	"fmt"
	"os"

	"github.com/easelhq/easel/internal/filelock"
)

// ErrInUse is a SQLite store that another easel server (or another Open in this process) holds.
var ErrInUse = errors.New("in use by another easel server")

// lockSQLite locks the file <db>.lock beside a SQLite database until the returned file is closed.
// Two hubs on one SQLite file would each run the whole engine with nobody coordinating them — two
// control planes for one local cluster, reconciles racing on every record — so the second is
// refused before it touches the database.
func lockSQLite(dbPath string) (*os.File, error) {
	f, err := filelock.Lock(dbPath + ".lock")
	if held := (*filelock.HeldError)(nil); errors.As(err, &held) {
		return nil, fmt.Errorf("SQLite store %s is %w (%s); one SQLite store serves one hub: "+
			"several hubs share a PostgreSQL store (--db postgres://…)", dbPath, ErrInUse, held)
	}
	return f, err
}
