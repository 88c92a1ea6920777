package store

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ErrInUse is a SQLite store that another easel server (or another Open in this process) holds.
var ErrInUse = errors.New("in use by another easel server")

// lockSQLite takes an exclusive advisory lock on the file <db>.lock beside a SQLite database and
// holds it until the returned file is closed. Two hubs on one SQLite file would each run the whole
// engine with nobody coordinating them — two control planes for one local cluster, reconciles
// racing on every record — so the second is refused before it touches the database. flock is
// per open file description: a second Open in the same process is refused too, and the kernel
// drops the lock when its holder dies, SIGKILL included, so a crash never leaves a stale lock.
// Go opens files close-on-exec: the control planes a hub starts do not inherit it.
func lockSQLite(dbPath string) (*os.File, error) {
	name := dbPath + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the store's lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		held := name + " is locked"
		if b, _ := os.ReadFile(name); len(b) > 0 {
			held = "process " + strings.TrimSpace(string(b)) + " holds " + name
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("SQLite store %s is %w (%s); one SQLite store serves one hub: "+
				"several hubs share a PostgreSQL store (--db postgres://…)", dbPath, ErrInUse, held)
		}
		return nil, fmt.Errorf("locking %s: %w", name, err)
	}
	// The holder's process id, for the message a refused second server prints.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
