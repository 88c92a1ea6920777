package store

import (
	"context"
	"fmt"
	"time"
)

// LoginFailures count failed logins per key (an account, a client address) in the store, so that
// every hub replica counts the same failures: n replicas do not allow n times the guesses.
type LoginFailures interface {
	// RecentLoginFailures returns the times of key's newest failures at or after since, at most n,
	// newest first.
	RecentLoginFailures(ctx context.Context, key string, since time.Time, n int) ([]time.Time, error)
	// AddLoginFailure records a failure of each key at at, and deletes every failure before
	// forgetBefore (they left the window).
	AddLoginFailure(ctx context.Context, at, forgetBefore time.Time, keys ...string) error
	// ForgetLoginFailures deletes key's failures (it succeeded).
	ForgetLoginFailures(ctx context.Context, key string) error
}

func (q queries) RecentLoginFailures(ctx context.Context, key string, since time.Time, n int) ([]time.Time, error) {
	rows, err := q.query(ctx, `SELECT at FROM login_failures WHERE key = ? AND at >= ? ORDER BY at DESC LIMIT ?`,
		key, micros(since), n)
	if err != nil {
		return nil, fmt.Errorf("reading failed logins: %w", err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			return nil, fmt.Errorf("reading failed logins: %w", err)
		}
		out = append(out, fromMicros(at))
	}
	return out, rows.Err()
}

func (q queries) AddLoginFailure(ctx context.Context, at, forgetBefore time.Time, keys ...string) error {
	for _, key := range keys {
		if _, err := q.exec(ctx, `INSERT INTO login_failures (key, at) VALUES (?, ?)`, key, micros(at)); err != nil {
			return fmt.Errorf("recording a failed login: %w", err)
		}
	}
	if _, err := q.exec(ctx, `DELETE FROM login_failures WHERE at < ?`, micros(forgetBefore)); err != nil {
		return fmt.Errorf("forgetting old failed logins: %w", err)
	}
	return nil
}

func (q queries) ForgetLoginFailures(ctx context.Context, key string) error {
	if _, err := q.exec(ctx, `DELETE FROM login_failures WHERE key = ?`, key); err != nil {
		return fmt.Errorf("forgetting failed logins: %w", err)
	}
	return nil
}
