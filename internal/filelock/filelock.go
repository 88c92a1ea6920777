// Package filelock holds a file for one process at a time: an exclusive, non-blocking flock that
// the kernel drops when its holder dies (SIGKILL included), so a crash never leaves a stale lock.
// flock is per open file description: a second Lock in the same process is refused too. Go opens
// files close-on-exec, so the processes a hub starts do not inherit it.
package filelock

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// HeldError is a file another process (or another Lock in this one) has locked.
type HeldError struct {
	Name   string
	Holder string // the holder's process id, if it wrote one
}

func (e *HeldError) Error() string {
	if e.Holder == "" {
		return e.Name + " is locked"
	}
	return "process " + e.Holder + " holds " + e.Name
}

// Lock locks the file name (created if missing) and writes this process's id into it, for the
// message a refused second holder prints. Closing the returned file releases the lock; the file
// stays (removing it could let a third Lock take a new file while the second holds the old one).
// A refusal is a *HeldError.
func Lock(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b, _ := os.ReadFile(name)
			return nil, &HeldError{Name: name, Holder: strings.TrimSpace(string(b))}
		}
		return nil, fmt.Errorf("locking %s: %w", name, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
