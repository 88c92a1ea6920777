package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testenv/pgtest"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// openPostgres is a fresh PostgreSQL store (the replica operations exist there only), and a
// function that ends a session's life at once, as a replica paused past its lease sees it.
func openPostgres(t *testing.T) (store.Store, func(id string)) {
	t.Helper()
	dsn := pgtest.DSN(t)
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return s, func(id string) {
		t.Helper()
		if _, err := db.Exec(`UPDATE hub_sessions SET expires_at = clock_timestamp() WHERE session_id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
}

// session registers a live session of the host for ttl.
func session(t *testing.T, s store.Store, id, host string, ttl time.Duration) {
	t.Helper()
	if _, err := s.RegisterSession(context.Background(), store.Session{ID: id, Replica: "hub-" + id, HostID: host}, ttl); err != nil {
		t.Fatal(err)
	}
}

// expire waits, on the database's clock, until the session is no longer live.
func expire(t *testing.T, s store.Store, id string) {
	t.Helper()
	poll.Eventually(t, 10*time.Second, "session "+id+" to expire", func() error {
		live, err := s.LiveSessions(context.Background())
		if err != nil {
			return err
		}
		for _, se := range live {
			if se.ID == id {
				return fmt.Errorf("still live until %s", se.ExpiresAt)
			}
		}
		return nil
	})
}

// clustersOf stores n clusters of the cloud type, named <prefix>-<i>, in one transaction.
func clustersOf(t *testing.T, s store.Store, prefix, cloudType string, n int) []string {
	t.Helper()
	var uids []string
	err := s.Tx(context.Background(), func(q store.Queries) error {
		for i := range n {
			rec := cluster(fmt.Sprintf("%s-%04d", prefix, i), "p1", fmt.Sprintf("%s-%04d", prefix, i))
			rec.Category = cloudType
			if err := q.CreateObject(context.Background(), rec); err != nil {
				return err
			}
			uids = append(uids, rec.UID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return uids
}

func claim(t *testing.T, s store.Store, c store.Claim) []store.Lease {
	t.Helper()
	c.Kind, c.PinnedCategory = "cluster", "local"
	got, err := s.ClaimLeases(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// Sessions live while renewed; an expired one is never revived; an ended one frees its leases.
func TestHubSessions(t *testing.T) {
	s, _ := openPostgres(t)
	ctx := context.Background()
	session(t, s, "a", "h1", time.Minute)
	session(t, s, "b", "h2", 200*time.Millisecond)
	if err := s.RenewSession(ctx, "a", time.Minute); err != nil {
		t.Fatalf("renewing a live session: %v", err)
	}
	expire(t, s, "b")
	if err := s.RenewSession(ctx, "b", time.Minute); !errors.Is(err, store.ErrSessionExpired) {
		t.Fatalf("renewing an expired session = %v; want ErrSessionExpired (never revived)", err)
	}
	if live, err := s.LiveSessions(ctx); err != nil || len(live) != 1 || live[0].ID != "a" || live[0].HostID != "h1" {
		t.Fatalf("live sessions = %+v, %v; want a alone", live, err)
	}

	clustersOf(t, s, "imp", "generic", 3)
	if got := claim(t, s, store.Claim{Session: "a", HostID: "h1", Want: 10}); len(got) != 3 {
		t.Fatalf("a claimed %d leases; want all 3", len(got))
	}
	if err := s.EndSession(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	session(t, s, "c", "h3", time.Minute)
	if got := claim(t, s, store.Claim{Session: "c", HostID: "h3", Want: 10}); len(got) != 3 || got[0].Epoch != 2 {
		t.Fatalf("after a ended, c claimed %+v; want the 3 leases at epoch 2", got)
	}
}

// Four replicas claiming at once take every lease exactly once.
func TestConcurrentClaimsAreDisjoint(t *testing.T) {
	s, _ := openPostgres(t)
	clustersOf(t, s, "imp", "generic", 1000)
	claimed := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, id := range []string{"a", "b", "c", "d"} {
		session(t, s, id, "host-"+id, time.Minute)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.ClaimLeases(context.Background(), store.Claim{Session: id, HostID: "host-" + id,
					Kind: "cluster", PinnedCategory: "local", Want: 37})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, f := range got {
					if prev, dup := claimed[f.ClusterUID]; dup {
						t.Errorf("%s claimed by %s and by %s", f.ClusterUID, prev, id)
					}
					if f.Epoch != 1 {
						t.Errorf("%s claimed at epoch %d; want 1", f.ClusterUID, f.Epoch)
					}
					claimed[f.ClusterUID] = id
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(claimed) != 1000 {
		t.Fatalf("%d of 1000 leases claimed", len(claimed))
	}
	held := 0
	for _, id := range []string{"a", "b", "c", "d"} {
		fences, err := s.HeldLeases(context.Background(), id, "host-"+id, "local")
		if err != nil {
			t.Fatal(err)
		}
		held += len(fences)
	}
	if held != 1000 {
		t.Fatalf("the sessions hold %d leases; want 1000", held)
	}
}

// A live session's leases stay with it; an expired session's are claimable, at a higher epoch.
// Local clusters belong to the host that claimed them first, expired or not.
func TestLeasesMoveOnlyFromExpiredSessions(t *testing.T) {
	s, expireNow := openPostgres(t)
	imported := clustersOf(t, s, "imp", "generic", 2)
	local := clustersOf(t, s, "loc", "local", 1)
	session(t, s, "a", "h1", time.Minute)
	session(t, s, "b", "h2", time.Minute)
	if got := claim(t, s, store.Claim{Session: "b", HostID: "h2", Want: 10}); len(got) != 2 {
		t.Fatalf("b claimed %+v; want the 2 imported clusters", got)
	}
	if got := claim(t, s, store.Claim{Session: "b", HostID: "h2", Pinned: true, Want: 10}); len(got) != 0 {
		t.Fatalf("b, which runs no local clusters, claimed %+v; want none", got)
	}
	if err := s.ReleaseLeases(context.Background(), "b", imported); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, s, store.Claim{Session: "a", HostID: "h1", Want: 10}); len(got) != 2 || got[0].Epoch != 2 {
		t.Fatalf("a claimed %+v; want the 2 imported clusters b released, at epoch 2", got)
	}
	if got := claim(t, s, store.Claim{Session: "a", HostID: "h1", RunsPinned: true, Pinned: true, Want: 10}); len(got) != 1 || !got[0].Pinned {
		t.Fatalf("a claimed %+v; want the local cluster, pinned to its host", got)
	}
	if got := claim(t, s, store.Claim{Session: "b", HostID: "h2", Want: 10}); len(got) != 0 {
		t.Fatalf("b claimed %+v while a is live; want none", got)
	}
	expireNow("a")
	if got := claim(t, s, store.Claim{Session: "b", HostID: "h2", Want: 10}); len(got) != 2 || got[0].Epoch != 3 {
		t.Fatalf("b claimed %+v after a expired; want the 2 imported clusters at epoch 3", got)
	}
	if got := claim(t, s, store.Claim{Session: "b", HostID: "h2", RunsPinned: true, Pinned: true, HostGoneAfter: time.Hour, Want: 10}); len(got) != 0 {
		t.Fatalf("b claimed %+v of h1's local clusters (h1 seen a moment ago); want none", got)
	}
	session(t, s, "a2", "h1", time.Minute)
	if got := claim(t, s, store.Claim{Session: "a2", HostID: "h1", RunsPinned: true, Pinned: true, Want: 10}); len(got) != 1 || got[0].ClusterUID != local[0] || got[0].Epoch != 2 {
		t.Fatalf("h1's new session claimed %+v; want its local cluster at epoch 2", got)
	}
	// Claiming one cluster by uid takes only a new one.
	if got := claim(t, s, store.Claim{Session: "a2", HostID: "h1", UID: imported[0]}); len(got) != 0 {
		t.Fatalf("a2 claimed %+v by uid, a cluster b holds; want none", got)
	}
	fresh := clustersOf(t, s, "new", "generic", 1)
	if got := claim(t, s, store.Claim{Session: "a2", HostID: "h1", UID: fresh[0]}); len(got) != 1 || got[0].Epoch != 1 {
		t.Fatalf("a2 claimed %+v by uid, a new cluster; want it at epoch 1", got)
	}
}

// A fenced write whose lease was claimed since writes nothing; one in flight holds the takeover
// off until it commits, and the takeover's epoch is then the higher.
func TestFencedWrites(t *testing.T) {
	s, expireNow := openPostgres(t)
	ctx := context.Background()
	uids := clustersOf(t, s, "imp", "generic", 1)
	session(t, s, "a", "h1", time.Minute)
	fence := claim(t, s, store.Claim{Session: "a", HostID: "h1", UID: uids[0]})[0].Fence
	event := func(uid string) func(q store.Queries) error {
		return func(q store.Queries) error {
			return q.AddEvent(ctx, &store.Event{UID: uid, TenantUID: "t1", ObjectKind: "cluster", ObjectUID: uids[0],
				Reason: "Test", Message: uid, Severity: "Normal"})
		}
	}
	if err := s.FencedTx(ctx, fence, event("e1")); err != nil {
		t.Fatalf("a write under a held lease: %v", err)
	}

	// In flight: the write holds the lease's row until it commits; a claim round skips it.
	session(t, s, "b", "h2", time.Minute)
	inside, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.FencedTx(ctx, fence, func(q store.Queries) error {
			close(inside)
			<-release
			return event("e2")(q)
		})
	}()
	<-inside
	expireNow("a")
	if got := claim(t, s, store.Claim{Session: "b", HostID: "h2", Want: 10}); len(got) != 0 {
		t.Fatalf("b claimed %+v while a's write was in flight; want the row skipped", got)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the write that passed its check before the session expired: %v", err)
	}
	taken := claim(t, s, store.Claim{Session: "b", HostID: "h2", Want: 10})
	if len(taken) != 1 || taken[0].Epoch <= fence.Epoch {
		t.Fatalf("b's takeover = %+v; want the lease at an epoch above %d", taken, fence.Epoch)
	}

	// The paused holder wakes up and writes: refused, and nothing of it is stored.
	if err := s.FencedTx(ctx, fence, event("e3")); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("a write with a lost lease = %v; want ErrLeaseLost", err)
	}
	if err := s.FencedTx(ctx, taken[0].Fence, event("e4")); err != nil {
		t.Fatalf("the new holder's write: %v", err)
	}
	evs, _, err := s.ListEvents(ctx, uids[0], 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Message)
	}
	if fmt.Sprint(got) != "[e4 e2 e1]" {
		t.Fatalf("events stored = %v; want [e4 e2 e1] (not the lost holder's e3)", got)
	}
}

// On SQLite one hub holds the file: a fenced write is a plain transaction, and the replica
// operations say they need PostgreSQL.
func TestSQLiteHasNoReplicas(t *testing.T) {
	s, err := store.Open(context.Background(), t.TempDir()+"/easel.db")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.FencedTx(context.Background(), store.Fence{}, func(q store.Queries) error {
		return q.PutSetting(context.Background(), "k", "v")
	}); err != nil {
		t.Fatalf("a fenced write on SQLite: %v", err)
	}
	if _, err := s.RegisterSession(context.Background(), store.Session{ID: "a"}, time.Minute); err == nil {
		t.Fatal("registering a hub session on SQLite succeeded; want it refused")
	}
}

// Two hubs starting at once on an empty PostgreSQL database both open it: the migrations run once.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(context.Background(), dsn)
			if err != nil {
				t.Errorf("a concurrent open: %v", err)
				return
			}
			s.Close()
		}()
	}
	wg.Wait()
}

// A host gone for HostGoneAfter has its local clusters observed by another host's session (which
// leaves them alone); the host's next session takes them back from the observer, whose writes are
// then refused.
func TestGoneHostsLocalClustersAreObserved(t *testing.T) {
	s, _ := openPostgres(t)
	ctx := context.Background()
	local := clustersOf(t, s, "loc", "local", 1)
	session(t, s, "a", "h1", time.Minute)
	if got := claim(t, s, store.Claim{Session: "a", HostID: "h1", RunsPinned: true, Pinned: true, Want: 10}); len(got) != 1 || got[0].Observed {
		t.Fatalf("h1 claimed %+v; want its local cluster, owned", got)
	}
	if err := s.EndSession(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	session(t, s, "b", "h2", time.Minute)
	if got := claim(t, s, store.Claim{Session: "b", HostID: "h2", RunsPinned: true, Pinned: true, HostGoneAfter: time.Hour, Want: 10}); len(got) != 0 {
		t.Fatalf("b claimed %+v of a host seen a moment ago; want none", got)
	}
	var observed []store.Lease
	poll.Eventually(t, 10*time.Second, "b to observe h1's cluster", func() error {
		observed = claim(t, s, store.Claim{Session: "b", HostID: "h2", RunsPinned: true, Pinned: true,
			HostGoneAfter: 10 * time.Millisecond, Want: 10})
		return poll.Unless(len(observed) == 1, "claimed %+v", observed)
	})
	if l := observed[0]; !l.Observed || l.HostID != "h1" || l.ClusterUID != local[0] || l.Epoch != 2 {
		t.Fatalf("b's lease = %+v; want h1's cluster, observed, at epoch 2", l)
	}
	session(t, s, "a2", "h1", time.Minute)
	back := claim(t, s, store.Claim{Session: "a2", HostID: "h1", RunsPinned: true, Pinned: true, HostGoneAfter: time.Hour, Want: 10})
	if len(back) != 1 || back[0].Observed || back[0].Epoch != 3 {
		t.Fatalf("h1's new session claimed %+v; want its cluster back from the observer, owned, at epoch 3", back)
	}
	if err := s.FencedTx(ctx, observed[0].Fence, func(q store.Queries) error { return q.PutSetting(ctx, "k", "v") }); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("the observer's write after its host came back = %v; want ErrLeaseLost", err)
	}
}
