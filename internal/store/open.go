package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/easelhq/easel/internal/clusters"
)

//go:embed migrations/*.sql
var migrations embed.FS

// dialect holds what differs between SQLite and PostgreSQL.
type dialect struct {
	name   string
	autoID string
}

var (
	sqliteDialect   = dialect{name: "sqlite", autoID: "INTEGER PRIMARY KEY AUTOINCREMENT"}
	postgresDialect = dialect{name: "postgres", autoID: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"}
)

// rebind turns the ? placeholders the queries are written with into PostgreSQL's $n.
func (d dialect) rebind(query string) string {
	if d.name != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// position renders the 1-based position of a bound substring in col, 0 when absent.
func (d dialect) position(col string) string {
	if d.name == "postgres" {
		return "STRPOS(" + col + ", ?)"
	}
	return "INSTR(" + col + ", ?)"
}

func (d dialect) isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// Open opens (and migrates) the store a URL names: postgres://… or postgresql://… for PostgreSQL,
// anything else is the path of a SQLite file (created with its directory if missing).
func Open(ctx context.Context, url string) (Store, error) {
	var (
		db   *sql.DB
		d    dialect
		lock *os.File // SQLite only: held until Close
		wal  string   // SQLite only: its write-ahead log
		err  error
	)
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		d = postgresDialect
		db, err = sql.Open("pgx", url)
		if err != nil {
			return nil, fmt.Errorf("opening PostgreSQL: %w", err)
		}
		db.SetMaxOpenConns(32)
		// Keep them open: with database/sql's default of 2 idle connections, concurrent requests
		// closed and reopened connections all the time, each a new PostgreSQL backend process (a
		// fork and an authentication).
		db.SetMaxIdleConns(32)
	} else {
		d = sqliteDialect
		path := strings.TrimPrefix(url, "sqlite://")
		wal = path + "-wal"
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("creating the store directory: %w", err)
		}
		if lock, err = lockSQLite(path); err != nil {
			return nil, err
		}
		// WAL lets readers run beside the writer; immediate transactions take the write lock up
		// front, so a writer never fails on a lock upgrade. The store's writers take turns before
		// that (writelock.go); busy_timeout is for anything else writing the file.
		dsn := "file:" + path + fmt.Sprintf("?_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()) + "&_pragma=journal_mode(WAL)" +
			"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
		db, err = sql.Open("sqlite", dsn)
		if err != nil {
			lock.Close()
			return nil, fmt.Errorf("opening SQLite %s: %w", path, err)
		}
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8) // a connection closed would take its prepared statements with it
	}
	s := &sqlStore{queries: queries{ex: db, d: d, summaries: newSummaryCache()}, db: db, lock: lock, url: url}
	if d.name == "sqlite" {
		s.stmts = newStatements(db)
		s.writes = newWriteLock()
		s.queries.ex = preparedDB{DB: db, stmts: s.stmts, writes: s.writes}
		s.checkpoints = startCheckpoints(db, wal, s.writes)
	}
	if d.name == "postgres" {
		// Its own connection for the hub session's renewals: a pool busy with the API must not
		// delay them past the lease (replicas.go).
		if s.renewals, err = sql.Open("pgx", url); err != nil {
			db.Close()
			return nil, fmt.Errorf("opening PostgreSQL: %w", err)
		}
		s.renewals.SetMaxOpenConns(1)
	}
	if err := db.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connecting to the %s store: %w", d.name, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies the embedded migrations not yet applied, each in its own transaction. Hub
// replicas starting at once on one PostgreSQL take turns (a session advisory lock): the second
// finds every migration applied. On SQLite the store's file lock already admits one hub.
func (s *sqlStore) migrate(ctx context.Context) error {
	if s.d.name == "postgres" {
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("connecting to migrate: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtextextended('easel migrate', 0))`); err != nil {
			return fmt.Errorf("waiting for another hub's migrations: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended('easel migrate', 0))`)
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT NOT NULL PRIMARY KEY)`); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		version, err := strconv.Atoi(strings.SplitN(filepath.Base(name), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", name)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = s.Tx(ctx, func(q Queries) error {
			ex := q.(queries).ex
			var applied int
			if err := ex.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), version).Scan(&applied); err != nil {
				return err
			}
			if applied > 0 {
				return nil
			}
			script := stripComments(strings.ReplaceAll(string(body), "{{autoid}}", s.d.autoID))
			for _, stmt := range strings.Split(script, ";") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := ex.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%w\n%s", err, stmt)
				}
			}
			if step := migrationSteps[version]; step != nil {
				if err := step(ctx, q.(queries)); err != nil {
					return err
				}
			}
			_, err := ex.ExecContext(ctx, s.d.rebind(`INSERT INTO schema_migrations (version) VALUES (?)`), version)
			return err
		})
		if err != nil {
			return fmt.Errorf("applying migration %s: %w", name, err)
		}
	}
	return nil
}

// migrationSteps are the parts of migrations that SQL cannot do, run after the migration's script
// in its transaction.
var migrationSteps = map[int]func(ctx context.Context, q queries) error{
	5: backfillSummaries,    // 0005_cluster_summaries: summaries are derived from documents by Go code
	8: backfillCurrentUsage, // 0008_current_usage: the usage kept in documents until then
}

// stripComments drops the script's comment lines (they may hold semicolons).
func stripComments(script string) string {
	var b strings.Builder
	for _, line := range strings.Split(script, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

type sqlStore struct {
	queries
	db   *sql.DB
	lock *os.File // SQLite: the <db>.lock file, locked while the store is open (lock.go)
	url  string   // PostgreSQL: for the listener's own connection (notify.go)
	// renewals is PostgreSQL's connection for the hub session's renewals alone (replicas.go).
	renewals *sql.DB
	stmts    *statements // SQLite: its prepared statements (statements.go)
	writes   *writeLock  // SQLite: its writers, one at a time (writelock.go)
	// checkpoints keeps SQLite's write-ahead log short (checkpoints.go).
	checkpoints *checkpointer
}

func (s *sqlStore) Dialect() string { return s.d.name }

func (s *sqlStore) Close() error {
	if s.checkpoints != nil {
		s.checkpoints.stop()
	}
	if s.stmts != nil {
		s.stmts.close()
	}
	err := s.db.Close()
	if s.renewals != nil {
		err = errors.Join(err, s.renewals.Close())
	}
	if s.lock != nil {
		// Closing the descriptor releases the lock; the file stays (removing it could let a
		// third Open lock a new file while the second still holds the old one).
		err = errors.Join(err, s.lock.Close())
	}
	return err
}

// CreateObject, UpdateObject and DeleteObject of a cluster on the store itself, outside a
// transaction, run in one of their own: its document and its summary are written together.
func (s *sqlStore) CreateObject(ctx context.Context, r *Record) error {
	if r.Kind != clusters.Kind {
		return s.queries.CreateObject(ctx, r)
	}
	return s.Tx(ctx, func(q Queries) error { return q.CreateObject(ctx, r) })
}

func (s *sqlStore) UpdateObject(ctx context.Context, r *Record) error {
	if r.Kind != clusters.Kind {
		return s.queries.UpdateObject(ctx, r)
	}
	return s.Tx(ctx, func(q Queries) error { return q.UpdateObject(ctx, r) })
}

func (s *sqlStore) DeleteObject(ctx context.Context, kind, uid string) error {
	if kind != clusters.Kind {
		return s.queries.DeleteObject(ctx, kind, uid)
	}
	return s.Tx(ctx, func(q Queries) error { return q.DeleteObject(ctx, kind, uid) })
}

func (s *sqlStore) Tx(ctx context.Context, fn func(q Queries) error) error {
	unlock, err := s.writes.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning a transaction: %w", err)
	}
	var ex execer = tx
	if s.stmts != nil {
		ex = preparedTx{Tx: tx, stmts: s.stmts}
	}
	if err := fn(queries{ex: ex, d: s.d}); err != nil { // no summary cache: the writes may be rolled back
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}
