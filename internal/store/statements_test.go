package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openSQLite(t *testing.T) *sqlStore {
	t.Helper()
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "easel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st.(*sqlStore)
}

func (s *statements) kept(query string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stmts[query] != nil
}

// Queries outside a transaction are prepared once and kept; batch statements (many arguments) and
// schema changes are not.
func TestSQLiteKeepsPreparedStatements(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	const read = `SELECT COUNT(*) FROM objects WHERE kind = ?`
	for range 3 {
		var n int
		if err := s.queryRow(ctx, read, "user").Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	if !s.stmts.kept(read) {
		t.Errorf("%q is not kept prepared", read)
	}
	batch := `SELECT ?` + strings.Repeat(`, ?`, maxPreparedArgs)
	args := make([]any, maxPreparedArgs+1)
	for i := range args {
		args[i] = i
	}
	rows, err := s.query(ctx, batch, args...)
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	const ddl = `CREATE TABLE scratch (id INTEGER)`
	if _, err := s.exec(ctx, ddl); err != nil {
		t.Fatal(err)
	}
	if s.stmts.kept(batch) || s.stmts.kept(ddl) {
		t.Errorf("a statement of %d arguments or a schema change was kept", maxPreparedArgs+1)
	}
}

// A transaction holds a connection; preparing a new statement through the pool needs another.
// With every connection held that would wait forever: a transaction's new statement runs
// unprepared, and is prepared once a connection is free.
func TestTransactionsNeverWaitForAConnectionToPrepare(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := openSQLite(t)
	s.db.SetMaxOpenConns(1)
	query := fmt.Sprintf(`SELECT COUNT(*) FROM objects WHERE uid = ? AND %d = %d`, time.Now().UnixNano(), time.Now().UnixNano())
	err := s.Tx(ctx, func(q Queries) error {
		var n int
		return q.(queries).queryRow(ctx, query, "x").Scan(&n)
	})
	if err != nil {
		t.Fatalf("a new statement in a transaction holding the only connection: %v", err)
	}
	for !s.stmts.kept(query) {
		if ctx.Err() != nil {
			t.Fatal("the transaction's statement was never prepared once the connection was free")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The kept statements are bounded, whatever queries the hub makes.
func TestPreparedStatementsAreBounded(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	for i := range maxPreparedStatements + 10 {
		var n int
		if err := s.queryRow(ctx, fmt.Sprintf(`SELECT %d`, i)).Scan(&n); err != nil || n != i {
			t.Fatalf("SELECT %d: %d, %v", i, n, err)
		}
	}
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	if n := len(s.stmts.stmts); n != maxPreparedStatements {
		t.Errorf("%d statements kept, want the limit of %d", n, maxPreparedStatements)
	}
}

// A reader holding a snapshot keeps SQLite from starting its log over, and the log's file never
// shrinks by itself: once the log is past maxWALBytes and the reader is gone, the store truncates
// it.
func TestSQLiteLogIsTruncatedOnceLong(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	st, err := Open(ctx, filepath.Join(dir, "easel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*sqlStore)
	reader, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM objects`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	doc := make([]byte, 64<<10)
	for i := 0; walSize(t, dir) <= maxWALBytes; i++ {
		r := &Record{Kind: "thing", UID: fmt.Sprintf("u%06d", i), TenantUID: "t", Name: fmt.Sprintf("n%d", i), Doc: doc}
		if err := s.CreateObject(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	reader.Rollback()
	for walSize(t, dir) > maxWALBytes {
		if ctx.Err() != nil {
			t.Fatalf("the log is still %d bytes", walSize(t, dir))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func walSize(t *testing.T, dir string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, "easel.db-wal"))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
