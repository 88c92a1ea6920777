package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// busyTimeout is how long a SQLite writer waits for the write lock before it fails: in Go for
// the store's own writers (writeLock), in SQLite (busy_timeout) for anything else that writes the
// file.
const busyTimeout = 10 * time.Second

// writeLock lets a SQLite store's writers in one at a time, in the order they came, before they
// take a connection. SQLite itself lets one writer in and makes the others poll (busy_timeout: a
// sleep of 1 to 100 ms between tries), each holding a connection of the pool meanwhile: under a
// fleet's reports the writers waiting held most of the pool, so people's reads waited for a
// connection, and the lock stood idle from a commit to the next writer's poll. Waiting here holds
// no connection, and the lock passes at once. SQLite's own lock still guards the file; this one
// only orders the store's writers.
type writeLock struct {
	slot    chan struct{}
	waiting atomic.Int64 // writers waiting for the lock (tests)
}

func newWriteLock() *writeLock { return &writeLock{slot: make(chan struct{}, 1)} }

// lock waits for the lock until ctx ends or busyTimeout passes; a nil lock (PostgreSQL) is
// always free.
func (l *writeLock) lock(ctx context.Context) (unlock func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	select {
	case l.slot <- struct{}{}:
		return l.unlock, nil
	default:
	}
	l.waiting.Add(1)
	defer l.waiting.Add(-1)
	timeout := time.NewTimer(busyTimeout)
	defer timeout.Stop()
	select {
	case l.slot <- struct{}{}:
		return l.unlock, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the store's write lock: %w", ctx.Err())
	case <-timeout.C:
		return nil, fmt.Errorf("waiting for the store's write lock: another writer held it for %s", busyTimeout)
	}
}

func (l *writeLock) unlock() { <-l.slot }
