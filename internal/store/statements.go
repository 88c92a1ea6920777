package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// SQLite parses a statement every time it runs one that is not prepared: at a fleet's rate of
// agent calls, parsing took an eighth of the hub's CPU. So the SQLite store prepares its
// statements once and keeps them (database/sql then prepares each on a connection the first time
// it runs there). PostgreSQL's driver, pgx, keeps prepared statements per connection itself.
//
// Only statements with few arguments are kept: the statements that write or delete a batch of
// rows are built for the batch's size, and their parsing is shared by the batch's rows anyway.
// Statements that are not kept are run as before.
const (
	maxPreparedArgs       = 32
	maxPreparedStatements = 512
)

// statements are a database's prepared statements, by query text.
type statements struct {
	db        *sql.DB
	mu        sync.Mutex
	stmts     map[string]*sql.Stmt
	preparing map[string]bool // by transactions, in the background
	// background are the preparations in the background, which close waits for: one still
	// opening a connection when the database closed would open the database's files again after
	// the store was closed. closed: none starts any more.
	background sync.WaitGroup
	closed     bool
}

func newStatements(db *sql.DB) *statements {
	return &statements{db: db, stmts: map[string]*sql.Stmt{}, preparing: map[string]bool{}}
}

// prepared returns query prepared, or nil when it is not kept (yet). A statement that fails to
// prepare is not kept: running it reports its error.
//
// Preparing through the database takes a connection of the pool. A transaction holds one already,
// and with every connection held by a transaction waiting for another, none would come: so a
// transaction's statement not prepared yet runs unprepared and is prepared meanwhile in the
// background.
func (s *statements) prepared(ctx context.Context, query string, args int, inTx bool) *sql.Stmt {
	if args > maxPreparedArgs || !isDML(query) {
		return nil
	}
	s.mu.Lock()
	st, ok := s.stmts[query]
	skip := ok || s.closed || len(s.stmts)+len(s.preparing) >= maxPreparedStatements || s.preparing[query]
	if !skip && inTx {
		s.preparing[query] = true
		s.background.Add(1)
	}
	s.mu.Unlock()
	switch {
	case skip:
		return st
	case inTx:
		go func() {
			defer s.background.Done()
			s.prepare(context.WithoutCancel(ctx), query)
		}()
		return nil
	}
	return s.prepare(ctx, query)
}

// prepare prepares query and keeps it, unless another caller did meanwhile or there is no room
// left (then nil: it runs unprepared).
func (s *statements) prepare(ctx context.Context, query string) *sql.Stmt {
	st, err := s.db.PrepareContext(ctx, query)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.preparing, query)
	if err != nil {
		return nil
	}
	if kept, ok := s.stmts[query]; ok {
		st.Close()
		return kept
	}
	if len(s.stmts) >= maxPreparedStatements { // others filled it meanwhile
		st.Close()
		return nil
	}
	s.stmts[query] = st
	return st
}

// isDML says whether a query reads or writes rows; schema changes (migrations) are not kept.
func isDML(query string) bool {
	words := strings.Fields(query[:min(len(query), 16)])
	if len(words) == 0 {
		return false
	}
	switch strings.ToUpper(words[0]) {
	case "SELECT", "INSERT", "UPDATE", "DELETE", "WITH":
		return true
	}
	return false
}

// close waits for the preparations in the background, then closes every kept statement; the
// database is closed after it.
func (s *statements) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.background.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for q, st := range s.stmts {
		st.Close()
		delete(s.stmts, q)
	}
}

// preparedDB runs the queries of a database through its prepared statements, its writes in
// their turn (writeLock).
type preparedDB struct {
	*sql.DB
	stmts  *statements
	writes *writeLock
}

func (p preparedDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	unlock, err := p.writes.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if st := p.stmts.prepared(ctx, query, len(args), false); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.DB.ExecContext(ctx, query, args...)
}

func (p preparedDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmts.prepared(ctx, query, len(args), false); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

func (p preparedDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmts.prepared(ctx, query, len(args), false); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

// preparedTx runs the queries of a transaction through the database's prepared statements, on the
// transaction's connection.
type preparedTx struct {
	*sql.Tx
	stmts *statements
}

func (p preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.stmts.prepared(ctx, query, len(args), true); st != nil {
		return p.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return p.Tx.ExecContext(ctx, query, args...)
}

func (p preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmts.prepared(ctx, query, len(args), true); st != nil {
		return p.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return p.Tx.QueryContext(ctx, query, args...)
}

func (p preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmts.prepared(ctx, query, len(args), true); st != nil {
		return p.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return p.Tx.QueryRowContext(ctx, query, args...)
}
