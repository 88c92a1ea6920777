package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Hub replicas on one PostgreSQL (docs/design/007-replicas.md): each running replica is a session
// that stays alive while it renews it; each cluster has a lease that a live session holds, and the
// epoch of the lease fences every write of the reconcile that holds it. All times are the
// database's clock_timestamp(), so the replicas' clocks never enter the protocol. On SQLite (one
// hub per file, held by its lock) none of this exists: FencedTx is Tx, and the rest refuses.

// ErrLeaseLost is a fenced write whose lease another replica claimed since, or whose session
// expired: nothing of the transaction was written.
var ErrLeaseLost = errors.New("the cluster's lease is no longer held")

// ErrSessionExpired is a session renewal too late: the session expired (its replica was paused
// or cut off past its lease) and is never revived; the replica must register a new one.
var ErrSessionExpired = errors.New("the hub session expired")

// errNeedsPostgres refuses the replica operations on SQLite.
var errNeedsPostgres = errors.New("hub replicas need a PostgreSQL store")

// Session is one running hub replica.
type Session struct {
	ID      string // random per process start
	Replica string // a stable name for people: host name and data dir
	HostID  string // the data dir's host id: who runs its local clusters' processes
	URL     string // where agents and the other replicas reach it
	// Fingerprint is the pin of its self-signed certificate ("" for a CA-signed one, or HTTP).
	Fingerprint string
	// StartedAt and ExpiresAt are the database's times.
	StartedAt, ExpiresAt time.Time
}

// Fence is the lease a reconcile holds: its writes land only while Session still holds the lease
// of ClusterUID at Epoch. The zero Fence is the single hub's, on SQLite.
type Fence struct {
	ClusterUID string
	Session    string
	Epoch      int64
}

// Lease is a lease a session holds.
type Lease struct {
	Fence
	// Pinned is a lease of an object pinned to the host that claimed it (a local cluster).
	Pinned bool
	// Observed is a pinned lease of another host's object, held while that host is gone: its
	// holder says so and leaves the object alone. HostID is the host it is pinned to.
	Observed bool
	HostID   string
}

// Claim says which leases a session takes. Objects of PinnedCategory (local clusters) belong to
// the host that claims them first: only its sessions claim them again. The others (imported
// clusters) move between sessions freely.
type Claim struct {
	Session string
	HostID  string
	// Kind is the kind of the objects that have leases (clusters).
	Kind           string
	PinnedCategory string
	// RunsPinned says whether this session may take pinned objects no host has yet.
	RunsPinned bool
	// UID, if set, claims that one object's lease if it was never claimed (a new object), or
	// returns it as it is if the session holds it already (a claim round took it meanwhile).
	UID string
	// Otherwise Pinned claims up to Want of the host's pinned leases (and unpinned ones, when
	// RunsPinned) — its own even from a session of another host observing them — and, to observe
	// them, those of hosts with no live session for HostGoneAfter; without Pinned, up to Want of
	// the leases that move freely.
	Pinned        bool
	HostGoneAfter time.Duration
	Want          int
}

// Replicas are the operations of hub replicas, on PostgreSQL only.
type Replicas interface {
	// RegisterSession starts a session that lives for ttl unless renewed.
	RegisterSession(ctx context.Context, s Session, ttl time.Duration) (Session, error)
	// RenewSession extends a live session by ttl from now; ErrSessionExpired if it is not live.
	RenewSession(ctx context.Context, id string, ttl time.Duration) error
	// EndSession frees the session's leases and deletes it.
	EndSession(ctx context.Context, id string) error
	// LiveSessions are the sessions not expired, oldest first.
	LiveSessions(ctx context.Context) ([]Session, error)
	// ClaimLeases gives the session the leases it asks for that no live session holds, each at
	// an epoch one more than its last, and returns them. Concurrent claims take disjoint leases.
	ClaimLeases(ctx context.Context, c Claim) ([]Lease, error)
	// HeldLeases are the leases the session holds.
	HeldLeases(ctx context.Context, session, hostID, pinnedCategory string) ([]Lease, error)
	// ReleaseLeases frees leases the session holds, for another session to claim.
	ReleaseLeases(ctx context.Context, session string, uids []string) error
	// CountMovable counts the objects of the kind whose leases move freely (not of
	// pinnedCategory), held or not, for sharing them out.
	CountMovable(ctx context.Context, kind, pinnedCategory string) (int, error)
	// Notify and Listen carry wake-ups between replicas (notify.go).
	Notify(ctx context.Context, channel, payload string) error
	Listen(ctx context.Context, l Listener) error
}

// liveHolder is true of a lease whose holder's session is live.
const liveHolder = `EXISTS (SELECT 1 FROM hub_sessions s WHERE s.session_id = l.holder AND s.expires_at > clock_timestamp())`

func (s *sqlStore) postgres() error {
	if s.d.name != "postgres" {
		return errNeedsPostgres
	}
	return nil
}

func (s *sqlStore) RegisterSession(ctx context.Context, in Session, ttl time.Duration) (Session, error) {
	if err := s.postgres(); err != nil {
		return in, err
	}
	err := s.queryRow(ctx, `INSERT INTO hub_sessions (session_id, replica, host_id, url, fingerprint, started_at, expires_at)
		VALUES (?, ?, ?, ?, ?, clock_timestamp(), clock_timestamp() + ? * interval '1 millisecond')
		RETURNING started_at, expires_at`, in.ID, in.Replica, in.HostID, in.URL, in.Fingerprint, ttl.Milliseconds()).
		Scan(&in.StartedAt, &in.ExpiresAt)
	if err != nil {
		return in, fmt.Errorf("registering hub session %s: %w", in.ID, err)
	}
	return in, nil
}

func (s *sqlStore) RenewSession(ctx context.Context, id string, ttl time.Duration) error {
	if err := s.postgres(); err != nil {
		return err
	}
	// Only a live session is renewed: once expired, its leases may have been claimed by others.
	res, err := s.renewals.ExecContext(ctx, s.d.rebind(`UPDATE hub_sessions SET expires_at = clock_timestamp() + ? * interval '1 millisecond'
		WHERE session_id = ? AND expires_at > clock_timestamp()`), ttl.Milliseconds(), id)
	if err != nil {
		return fmt.Errorf("renewing hub session %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("renewing hub session %s: %w", id, ErrSessionExpired)
	}
	return nil
}

func (s *sqlStore) EndSession(ctx context.Context, id string) error {
	if err := s.postgres(); err != nil {
		return err
	}
	return s.Tx(ctx, func(q Queries) error {
		ex := q.(queries)
		if _, err := ex.exec(ctx, `UPDATE cluster_leases SET holder = '' WHERE holder = ?`, id); err != nil {
			return fmt.Errorf("releasing the leases of hub session %s: %w", id, err)
		}
		// Kept, expired, as when its host was last seen (HostGoneAfter); a day later it goes.
		if _, err := ex.exec(ctx, `UPDATE hub_sessions SET expires_at = clock_timestamp() WHERE session_id = ?`, id); err != nil {
			return fmt.Errorf("ending hub session %s: %w", id, err)
		}
		if _, err := ex.exec(ctx, `DELETE FROM hub_sessions WHERE expires_at < clock_timestamp() - interval '1 day'`); err != nil {
			return fmt.Errorf("deleting old hub sessions: %w", err)
		}
		return nil
	})
}

func (s *sqlStore) LiveSessions(ctx context.Context) ([]Session, error) {
	if err := s.postgres(); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT session_id, replica, host_id, url, fingerprint, started_at, expires_at FROM hub_sessions
		WHERE expires_at > clock_timestamp() ORDER BY started_at, session_id`)
	if err != nil {
		return nil, fmt.Errorf("listing hub sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var se Session
		if err := rows.Scan(&se.ID, &se.Replica, &se.HostID, &se.URL, &se.Fingerprint, &se.StartedAt, &se.ExpiresAt); err != nil {
			return nil, fmt.Errorf("listing hub sessions: %w", err)
		}
		out = append(out, se)
	}
	return out, rows.Err()
}

func (s *sqlStore) ClaimLeases(ctx context.Context, c Claim) ([]Lease, error) {
	if err := s.postgres(); err != nil {
		return nil, err
	}
	// Objects created since the last claim get their lease row here, not in every service that
	// creates one; a row whose object is gone is deleted with it (DeleteLease).
	only, onlyArgs := "", []any{c.Kind}
	if c.UID != "" {
		only, onlyArgs = " AND o.uid = ?", append(onlyArgs, c.UID)
	}
	if _, err := s.exec(ctx, `INSERT INTO cluster_leases (cluster_uid, cloud_type)
		SELECT o.uid, o.category FROM objects o WHERE o.kind = ?`+only+`
		AND NOT EXISTS (SELECT 1 FROM cluster_leases l WHERE l.cluster_uid = o.uid)
		ON CONFLICT (cluster_uid) DO NOTHING`, onlyArgs...); err != nil {
		return nil, fmt.Errorf("adding leases for new objects: %w", err)
	}
	// Claimable: no live session holds it, and it is not pinned to another host.
	mine := `(l.host_id = ? OR (l.host_id = '' AND ?))`
	var pick string
	var args []any
	switch {
	case c.UID != "":
		pick, args = `SELECT l.cluster_uid FROM cluster_leases l WHERE l.cluster_uid = ? AND l.epoch = 0
			AND (l.cloud_type <> ? OR `+mine+`) AND NOT `+liveHolder+` FOR UPDATE OF l`,
			[]any{c.UID, c.PinnedCategory, c.HostID, c.RunsPinned}
	case c.Pinned:
		// SKIP LOCKED: concurrent claimers take disjoint rows, and a row in the middle of its
		// holder's fenced write is left for the next round.
		pick, args = `SELECT l.cluster_uid FROM cluster_leases l WHERE l.cloud_type = ? AND (
				-- this host's: unless a live session of this host holds it (an observer's is taken)
				(l.host_id = ? AND NOT EXISTS (SELECT 1 FROM hub_sessions s WHERE s.session_id = l.holder
					AND s.host_id = l.host_id AND s.expires_at > clock_timestamp()))
				-- new ones, for a host that runs them
				OR (l.host_id = '' AND ? AND NOT `+liveHolder+`)
				-- another host's, gone for HostGoneAfter: to observe
				OR (l.host_id NOT IN ('', ?) AND NOT `+liveHolder+` AND NOT EXISTS (SELECT 1 FROM hub_sessions s
					WHERE s.host_id = l.host_id AND s.expires_at > clock_timestamp() - ? * interval '1 millisecond')))
			ORDER BY l.cluster_uid LIMIT ? FOR UPDATE OF l SKIP LOCKED`,
			[]any{c.PinnedCategory, c.HostID, c.RunsPinned, c.HostID, c.HostGoneAfter.Milliseconds(), c.Want}
	default:
		pick, args = `SELECT l.cluster_uid FROM cluster_leases l WHERE l.cloud_type <> ?
			AND NOT `+liveHolder+` ORDER BY l.cluster_uid LIMIT ? FOR UPDATE OF l SKIP LOCKED`,
			[]any{c.PinnedCategory, c.Want}
	}
	rows, err := s.query(ctx, `WITH picked AS (`+pick+`)
		UPDATE cluster_leases l SET holder = ?, epoch = l.epoch + 1, claimed_at = clock_timestamp(),
			host_id = CASE WHEN l.cloud_type = ? AND l.host_id = '' THEN ? ELSE l.host_id END
		FROM picked p WHERE l.cluster_uid = p.cluster_uid
		RETURNING l.cluster_uid, l.epoch, l.cloud_type = ?, l.host_id`, append(args, c.Session, c.PinnedCategory, c.HostID, c.PinnedCategory)...)
	if err != nil {
		return nil, fmt.Errorf("claiming leases: %w", err)
	}
	got, err := scanLeases(rows, c.Session, c.HostID)
	if err != nil || c.UID == "" || len(got) > 0 {
		return got, err
	}
	rows, err = s.query(ctx, `SELECT cluster_uid, epoch, cloud_type = ?, host_id FROM cluster_leases
		WHERE cluster_uid = ? AND holder = ?`, c.PinnedCategory, c.UID, c.Session)
	if err != nil {
		return nil, fmt.Errorf("reading a lease: %w", err)
	}
	return scanLeases(rows, c.Session, c.HostID)
}

func (s *sqlStore) HeldLeases(ctx context.Context, session, hostID, pinnedCategory string) ([]Lease, error) {
	if err := s.postgres(); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT cluster_uid, epoch, cloud_type = ?, host_id FROM cluster_leases WHERE holder = ?`, pinnedCategory, session)
	if err != nil {
		return nil, fmt.Errorf("listing the leases of hub session %s: %w", session, err)
	}
	return scanLeases(rows, session, hostID)
}

// scanLeases reads leases of session, a session of hostID.
func scanLeases(rows *sql.Rows, session, hostID string) ([]Lease, error) {
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		l := Lease{Fence: Fence{Session: session}}
		if err := rows.Scan(&l.ClusterUID, &l.Epoch, &l.Pinned, &l.HostID); err != nil {
			return nil, fmt.Errorf("reading leases: %w", err)
		}
		l.Observed = l.Pinned && l.HostID != "" && l.HostID != hostID
		out = append(out, l)
	}
	return out, rows.Err()
}

// releaseBatch bounds the uids of one query (SQLite allows 32,766 parameters, PostgreSQL 65,535).
const releaseBatch = 500

func (s *sqlStore) ReleaseLeases(ctx context.Context, session string, uids []string) error {
	if err := s.postgres(); err != nil {
		return err
	}
	for start := 0; start < len(uids); start += releaseBatch {
		batch := uids[start:min(start+releaseBatch, len(uids))]
		args := []any{session}
		for _, u := range batch {
			args = append(args, u)
		}
		if _, err := s.exec(ctx, `UPDATE cluster_leases SET holder = '' WHERE holder = ? AND cluster_uid IN (`+
			placeholders("?", len(batch))+`)`, args...); err != nil {
			return fmt.Errorf("releasing leases: %w", err)
		}
	}
	return nil
}

func (s *sqlStore) CountMovable(ctx context.Context, kind, pinnedCategory string) (int, error) {
	if err := s.postgres(); err != nil {
		return 0, err
	}
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM objects WHERE kind = ? AND category <> ?`, kind, pinnedCategory).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting %s objects: %w", kind, err)
	}
	return n, nil
}

// FencedTx is Tx for a write of a reconcile: on PostgreSQL its first statement checks, and locks
// until the commit, that f's session still holds the lease at f's epoch and is live, so no
// takeover commits between the check and the commit; otherwise it writes nothing and returns
// ErrLeaseLost. On SQLite the store's file lock is the fence: it is Tx.
func (s *sqlStore) FencedTx(ctx context.Context, f Fence, fn func(q Queries) error) error {
	if s.d.name != "postgres" {
		return s.Tx(ctx, fn)
	}
	return s.Tx(ctx, func(q Queries) error {
		res, err := q.(queries).exec(ctx, `UPDATE cluster_leases l SET written_at = clock_timestamp()
			WHERE l.cluster_uid = ? AND l.holder = ? AND l.epoch = ? AND `+liveHolder, f.ClusterUID, f.Session, f.Epoch)
		if err != nil {
			return fmt.Errorf("checking the lease of cluster %s: %w", f.ClusterUID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("writing cluster %s at lease epoch %d: %w", f.ClusterUID, f.Epoch, ErrLeaseLost)
		}
		return fn(q)
	})
}

// DeleteLease deletes the lease of an object that is gone (in the transaction that deletes it).
func (q queries) DeleteLease(ctx context.Context, uid string) error {
	if _, err := q.exec(ctx, `DELETE FROM cluster_leases WHERE cluster_uid = ?`, uid); err != nil {
		return fmt.Errorf("deleting the lease of %s: %w", uid, err)
	}
	return nil
}

// Serialize waits until no other transaction holds name, and holds it until this one ends
// (PostgreSQL's transaction-scoped advisory lock). On SQLite every write transaction already runs
// alone (they are immediate), so it does nothing.
func (q queries) Serialize(ctx context.Context, name string) error {
	if q.d.name != "postgres" {
		return nil
	}
	if _, err := q.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, name); err != nil {
		return fmt.Errorf("waiting for %s: %w", name, err)
	}
	return nil
}
