package store

import (
	"context"
	"database/sql"
	"os"
	"time"
)

// SQLite moves the write-ahead log's pages into the database after commits (a passive
// checkpoint), but it starts the log over only at a moment no reader still reads from it. Under a
// fleet's steady reads there is hardly such a moment, and the log grew to hundreds of megabytes
// (a store of 60 MB had a 100 MB log beside it). So when the log passes maxWALBytes, a checkpoint
// waits for the readers of the moment to finish (milliseconds; new writers wait meanwhile) and
// truncates it.
const (
	maxWALBytes     = 64 << 20
	checkpointEvery = 5 * time.Second
)

// checkpointer truncates a SQLite store's write-ahead log whenever it grew past maxWALBytes.
type checkpointer struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func startCheckpoints(db *sql.DB, wal string, writes *writeLock) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		tick := time.NewTicker(checkpointEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if fi, err := os.Stat(wal); err == nil && fi.Size() > maxWALBytes {
				// In the writers' turn: it would hold them off anyway. An error (the busy
				// timeout) leaves the log as it is until the next try.
				if unlock, err := writes.lock(ctx); err == nil {
					db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
					unlock()
				}
			}
		}
	}()
	return c
}

func (c *checkpointer) stop() {
	c.cancel()
	<-c.done
}
