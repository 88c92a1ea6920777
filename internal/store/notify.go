package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notifications between hub replicas on one PostgreSQL (LISTEN/NOTIFY, design 007). A
// notification is delivered, after its sender's commit, to the sessions listening at that moment
// only: a listener that was disconnected missed what was sent meanwhile and must re-read. So a
// notification says "look again", never what changed.

// MaxNotifyPayload is the longest payload PostgreSQL delivers (it refuses 8000 bytes and more).
const MaxNotifyPayload = 7999

// Notify sends payload to every listener of channel, this replica's included.
func (s *sqlStore) Notify(ctx context.Context, channel, payload string) error {
	if err := s.postgres(); err != nil {
		return err
	}
	if len(payload) > MaxNotifyPayload {
		return fmt.Errorf("notifying %s: payload of %d bytes is over the limit of %d", channel, len(payload), MaxNotifyPayload)
	}
	if _, err := s.exec(ctx, `SELECT pg_notify(?, ?)`, channel, payload); err != nil {
		return fmt.Errorf("notifying %s: %w", channel, err)
	}
	return nil
}

// Listener says what Listen listens to and whom it tells.
type Listener struct {
	Channels []string
	// Connected is called each time the listener listens again: whatever was sent while it did
	// not is lost, so the caller re-reads.
	Connected func()
	Received  func(channel, payload string)
	// Failed is told why the connection failed; Listen connects again a second later.
	Failed func(error)
}

// Listen receives the notifications of l.Channels on a connection of its own (outside the pool)
// until ctx ends.
func (s *sqlStore) Listen(ctx context.Context, l Listener) error {
	if err := s.postgres(); err != nil {
		return err
	}
	for {
		err := s.listenOnce(ctx, l)
		if ctx.Err() != nil {
			return nil
		}
		l.Failed(err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func (s *sqlStore) listenOnce(ctx context.Context, l Listener) error {
	conn, err := pgx.Connect(ctx, s.url)
	if err != nil {
		return fmt.Errorf("connecting to listen: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, ch := range l.Channels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return fmt.Errorf("listening on %s: %w", ch, err)
		}
	}
	l.Connected()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("waiting for notifications: %w", err)
		}
		l.Received(n.Channel, n.Payload)
	}
}
