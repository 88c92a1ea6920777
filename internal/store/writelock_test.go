package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// While one writer holds SQLite's write lock, the writers after it (more of them than the pool
// has connections) wait without holding a connection: reads go on meanwhile, and every writer
// lands once the lock is free.
func TestWaitingWritersLeaveReadsTheirConnections(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := openSQLite(t)
	const writers = 20 // the pool has 8 connections
	holding, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.Tx(ctx, func(q Queries) error {
			close(holding)
			<-release
			return q.CreateObject(ctx, &Record{Kind: "cluster", UID: "c-first", TenantUID: "t1", ProjectUID: "p1",
				Name: "first", Doc: []byte(`{}`)})
		})
	}()
	<-holding
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			if i%2 == 0 { // a transaction, or a write of its own
				errs <- s.Tx(ctx, func(q Queries) error {
					return q.CreateObject(ctx, &Record{Kind: "cluster", UID: fmt.Sprint("c", i), TenantUID: "t1",
						ProjectUID: "p1", Name: fmt.Sprint("c", i), Doc: []byte(`{}`)})
				})
				return
			}
			errs <- s.AddEvent(ctx, &Event{UID: fmt.Sprint("e", i), TenantUID: "t1", ObjectKind: "cluster",
				ObjectUID: "c-first", Reason: "Created", Message: "m", Severity: "Info"})
		}()
	}
	for s.writes.waiting.Load() < writers {
		if ctx.Err() != nil {
			t.Fatalf("%d of %d writers wait for the write lock", s.writes.waiting.Load(), writers)
		}
		time.Sleep(5 * time.Millisecond)
	}

	read := make(chan error, 1)
	go func() {
		_, _, err := s.ListObjects(ctx, ListOptions{Kind: "cluster", TenantUID: "t1"})
		read <- err
	}()
	select {
	case err := <-read:
		if err != nil {
			t.Fatalf("a read while writers wait: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("a read waited for the writers: they hold the pool's connections")
	}

	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatalf("a waiting writer: %v", err)
		}
	}
	if _, total, err := s.ListObjects(ctx, ListOptions{Kind: "cluster", TenantUID: "t1"}); err != nil || total != 1+writers/2 {
		t.Fatalf("%d clusters stored (%v), want %d", total, err, 1+writers/2)
	}
}

// A writer waits for the lock no longer than its context allows, and the lock stays usable.
func TestWriteLockWaitEndsWithItsContext(t *testing.T) {
	l := newWriteLock()
	unlock, err := l.lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.lock(ctx); err == nil {
		t.Fatal("a writer with a cancelled context got a held lock")
	}
	unlock()
	unlock, err = l.lock(ctx) // free: taken even by a cancelled context, as SQLite would
	if err != nil {
		t.Fatalf("the free lock: %v", err)
	}
	unlock()
}
