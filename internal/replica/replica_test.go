package replica

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testenv/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fleet is a PostgreSQL store with imported clusters and replicas on it. The tests drive the
// replicas' rounds and renewals themselves, one step at a time.
type fleet struct {
	t   *testing.T
	st  store.Store
	db  *sql.DB
	ctx context.Context
}

func newFleet(t *testing.T, imported, local int) *fleet {
	t.Helper()
	dsn := pgtest.DSN(t)
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fleet{t: t, st: st, db: db, ctx: context.Background()}
	for i := range imported {
		f.cluster(fmt.Sprintf("imp-%03d", i), "generic")
	}
	for i := range local {
		f.cluster(fmt.Sprintf("loc-%03d", i), "local")
	}
	return f
}

func (f *fleet) cluster(name, cloudType string) {
	f.t.Helper()
	if err := f.st.CreateObject(f.ctx, &store.Record{Kind: "spectrocluster", UID: name, TenantUID: "t1", ProjectUID: "p1",
		Name: name, Category: cloudType, Doc: []byte(`{}`)}); err != nil {
		f.t.Fatal(err)
	}
}

// replica starts a replica on host; claimed collects the clusters its rounds claimed.
func (f *fleet) replica(name, host string, claimed *[]string) *Replica {
	f.t.Helper()
	r, err := Start(f.ctx, Options{Store: f.st, Name: name, HostID: host, Kind: "spectrocluster", PinnedCategory: "local",
		RunsPinned: true, Claimed: func(uid string) { *claimed = append(*claimed, uid) }})
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fleet) round(r *Replica) {
	f.t.Helper()
	if err := r.balance(f.ctx); err != nil {
		f.t.Fatal(err)
	}
}

func held(r *Replica) []string {
	uids, _ := r.Held(context.Background())
	slices.Sort(uids)
	return uids
}

// A second replica joining takes half of the imported clusters; none is held twice, and each
// replica is told of the clusters it claimed so it reconciles them.
func TestReplicasShareTheClusters(t *testing.T) {
	f := newFleet(t, 100, 0)
	var claimedA, claimedB []string
	a := f.replica("a", "h1", &claimedA)
	f.round(a)
	if n := len(held(a)); n != 100 || len(claimedA) != 100 {
		t.Fatalf("a alone holds %d clusters and was told of %d; want 100 and 100", n, len(claimedA))
	}
	b := f.replica("b", "h2", &claimedB)
	f.round(b) // nothing free yet: a holds its share of a fleet of one replica
	f.round(a) // a sees b and gives back what is beyond its share
	f.round(b) // b claims what a gave back
	ha, hb := held(a), held(b)
	if len(ha) != 50 || len(hb) != 50 {
		t.Fatalf("after b joined: a holds %d, b holds %d; want 50 each", len(ha), len(hb))
	}
	for _, u := range hb {
		if slices.Contains(ha, u) {
			t.Fatalf("cluster %s held by both replicas", u)
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(claimedB)), hb) {
		t.Fatalf("b was told of %d claimed clusters; want the 50 it holds", len(claimedB))
	}
	// Rounds that change nothing move nothing.
	f.round(a)
	f.round(b)
	if !slices.Equal(held(a), ha) || !slices.Equal(held(b), hb) {
		t.Fatal("the leases moved in rounds with no change in the fleet")
	}
}

// A new cluster is claimed by the replica that is asked to reconcile it, at once; a cluster
// another replica holds is not taken from it.
func TestHoldClaimsOnlyNewClusters(t *testing.T) {
	f := newFleet(t, 2, 0)
	var ignored []string
	a, b := f.replica("a", "h1", &ignored), f.replica("b", "h2", &ignored)
	f.round(a)
	f.cluster("new", "generic")
	fence, lost, ok, err := b.Hold(f.ctx, "new")
	if err != nil || !ok || fence.Epoch != 1 || lost.Err() != nil {
		t.Fatalf("b.Hold(new) = %+v, ok %v, %v; want the new cluster's lease at epoch 1", fence, ok, err)
	}
	if _, _, ok, err := b.Hold(f.ctx, "imp-000"); err != nil || ok {
		t.Fatalf("b.Hold of a cluster a holds: ok %v, %v; want not held", ok, err)
	}
	if _, _, ok, err := a.Hold(f.ctx, "imp-000"); err != nil || !ok {
		t.Fatalf("a.Hold of its own cluster: ok %v, %v; want held", ok, err)
	}
	if _, _, ok, err := a.Hold(f.ctx, "gone"); err != nil || ok {
		t.Fatalf("Hold of a cluster that does not exist: ok %v, %v; want not held", ok, err)
	}
}

// A replica whose session expired (paused past its lease) stops its reconciles, forgets its
// leases, starts a new session, and its old fences write nothing.
func TestExpiredSessionStopsItsReconciles(t *testing.T) {
	f := newFleet(t, 4, 0)
	var claimedA, claimedB []string
	a := f.replica("a", "h1", &claimedA)
	f.round(a)
	fence, lost, ok, err := a.Hold(f.ctx, "imp-000")
	if err != nil || !ok {
		t.Fatalf("a.Hold = ok %v, %v", ok, err)
	}
	old := a.session
	if _, err := f.db.Exec(`UPDATE hub_sessions SET expires_at = clock_timestamp() WHERE session_id = $1`, old); err != nil {
		t.Fatal(err)
	}
	b := f.replica("b", "h2", &claimedB)
	f.round(b)
	if n := len(held(b)); n != 4 {
		t.Fatalf("b holds %d clusters after a's session expired; want all 4", n)
	}
	write := func(fence store.Fence) error {
		return f.st.FencedTx(f.ctx, fence, func(q store.Queries) error { return q.PutSetting(f.ctx, "k", fence.Session) })
	}
	if err := write(fence.Fence); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("a's write after b took over = %v; want ErrLeaseLost", err)
	}

	a.renew(f.ctx)
	if lost.Err() == nil {
		t.Fatal("the reconcile under a's expired session goes on; want its context ended")
	}
	if a.session == old || len(held(a)) != 0 {
		t.Fatalf("after its session expired a has session %s (old %s) and %d leases; want a new session and none", a.session, old, len(held(a)))
	}
	if live, _ := f.st.LiveSessions(f.ctx); len(live) != 2 {
		t.Fatalf("%d live sessions; want b's and a's new one", len(live))
	}
}

// A replica that stops gives its clusters back: the other claims them in its next round, not
// after the lease.
func TestStoppedReplicaReleasesAtOnce(t *testing.T) {
	f := newFleet(t, 6, 0)
	var claimedA, claimedB []string
	a, b := f.replica("a", "h1", &claimedA), f.replica("b", "h2", &claimedB)
	f.round(a)
	f.round(b)
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	a.Run(ctx) // one round, then it stops at once
	f.round(b)
	if n := len(held(b)); n != 6 {
		t.Fatalf("b holds %d clusters right after a stopped; want all 6", n)
	}
}

// Local clusters stay with the host whose replica claimed them first; a replica that cannot run
// them (no Kubernetes binaries) never takes a new one.
func TestLocalClustersStayOnTheirHost(t *testing.T) {
	f := newFleet(t, 0, 2)
	var ignored []string
	noBinaries, err := Start(f.ctx, Options{Store: f.st, Name: "c", HostID: "h3", Kind: "spectrocluster", PinnedCategory: "local"})
	if err != nil {
		t.Fatal(err)
	}
	f.round(noBinaries)
	if n := len(held(noBinaries)); n != 0 {
		t.Fatalf("a replica without Kubernetes binaries claimed %d local clusters", n)
	}
	a := f.replica("a", "h1", &ignored)
	f.round(a)
	a.stop()
	b := f.replica("b", "h2", &ignored)
	f.round(b)
	if n := len(held(b)); n != 0 {
		t.Fatalf("a replica on another host claimed %d of h1's local clusters", n)
	}
	a2 := f.replica("a2", "h1", &ignored)
	f.round(a2)
	if n := len(held(a2)); n != 2 {
		t.Fatalf("h1's next replica holds %d of its local clusters; want 2", n)
	}
}

func TestLeaseTooShortIsRefused(t *testing.T) {
	if _, err := Start(context.Background(), Options{Lease: time.Second}); err == nil {
		t.Fatal("a 1s lease was accepted")
	}
}

// New clusters claimed by Hold while claim rounds run stay held: a round that read the held
// leases before the claim does not drop it (and, under -race, nothing is read unlocked).
func TestHoldDuringRoundsKeepsTheClaim(t *testing.T) {
	f := newFleet(t, 5, 0)
	var ignored []string
	a := f.replica("a", "h1", &ignored)
	stop, rounds := make(chan struct{}), make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				rounds <- nil
				return
			default:
			}
			if err := a.balance(f.ctx); err != nil {
				rounds <- err
				return
			}
		}
	}()
	var claimed []string
	for i := range 30 {
		uid := fmt.Sprintf("hold-%03d", i)
		f.cluster(uid, "generic")
		if _, _, ok, err := a.Hold(f.ctx, uid); err != nil || !ok {
			t.Fatalf("Hold of new cluster %s: ok %v, %v", uid, ok, err)
		}
		claimed = append(claimed, uid)
	}
	close(stop)
	if err := <-rounds; err != nil {
		t.Fatal(err)
	}
	for _, uid := range claimed {
		if !a.Holds(uid) {
			t.Fatalf("cluster %s, claimed by Hold while rounds ran, is no longer held", uid)
		}
	}
}
