package cluster_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clocktesting "k8s.io/utils/clock/testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/controllers/cluster"
	"github.com/easelhq/easel/internal/provider"
	"github.com/easelhq/easel/internal/replica"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testenv/metrics"
	"github.com/easelhq/easel/internal/testenv/pgtest"
	"github.com/easelhq/easel/internal/testenv/poll"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// A replica paused in the middle of a reconcile past its lease (a GC pause, SIGSTOP, a VM
// migration) wakes up to find that another replica took the cluster over: what it goes on to
// write is refused, and the store keeps the new holder's cluster and events only.
func TestPausedReplicaWritesNothing(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cl := clusters.Cluster{CloudType: "local", Pools: []clusters.Pool{
		{Name: "cp", ControlPlane: true, Size: 1, InstanceType: "small", Zones: []string{"local-a"}, DiskGiB: 60},
		{Name: "workers", Size: 1, InstanceType: "small", Zones: []string{"local-a"}, DiskGiB: 60},
	}, Status: clusters.Status{State: v1.ClusterStatePending}}
	if err := st.CreateObject(ctx, &store.Record{Kind: clusters.Kind, UID: "c1", TenantUID: "t", ProjectUID: "p", Name: "web",
		State: "Pending", Category: "local", Doc: cl.Encode()}); err != nil {
		t.Fatal(err)
	}
	// Both replicas may run the cluster (nothing is pinned to a host here: the processes are fakes).
	start := func(name string, reg prometheus.Registerer) *replica.Replica {
		r, err := replica.Start(ctx, replica.Options{Store: st, Name: name, HostID: name, Kind: clusters.Kind,
			PinnedCategory: "none", ClaimEvery: 50 * time.Millisecond, Logger: testLogger(t), Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	controller := func(r *replica.Replica, prov *fakeProvider) *cluster.Controller {
		return &cluster.Controller{Store: st, Providers: map[string]provider.Provider{"local": prov}, Leases: r,
			Clock: clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), Log: testLogger(t)}
	}
	regA := prometheus.NewRegistry()
	a := start("a", regA)
	provA := &fakeProvider{machines: map[string]provider.MachineState{}}
	inside, release := make(chan struct{}), make(chan struct{})
	provA.ensuring = func() {
		provA.ensuring = nil
		close(inside)
		<-release // paused, after the machine was recorded and before the pass's last write
	}
	paused := make(chan error, 1)
	go func() {
		ca := controller(a, provA)
		for range 20 { // the passes before the one that creates the machines
			_, err := ca.Reconcile(ctx, "c1")
			select {
			case <-inside:
				paused <- err
				return
			default:
			}
			if err != nil {
				paused <- err
				return
			}
		}
		paused <- errors.New("20 passes of A created no machine")
	}()
	select {
	case <-inside:
	case err := <-paused:
		t.Fatalf("A's reconcile ended before it paused: %v", err)
	}

	// A's session expires while it is paused; B claims the cluster and provisions it.
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE hub_sessions SET expires_at = clock_timestamp() WHERE replica = 'a'`); err != nil {
		t.Fatal(err)
	}
	b := start("b", nil)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go b.Run(runCtx)
	poll.Eventually(t, 10*time.Second, "b to claim the cluster", func() error {
		return poll.Unless(b.Holds("c1"), "not held by b")
	})
	provB := &fakeProvider{machines: map[string]provider.MachineState{}}
	cb := controller(b, provB)
	for range 3 {
		if _, err := cb.Reconcile(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
	}
	before, err := st.GetObject(ctx, clusters.Kind, "c1")
	if err != nil {
		t.Fatal(err)
	}
	_, eventsBefore, err := st.ListEvents(ctx, "c1", 1, 0)
	if err != nil {
		t.Fatal(err)
	}

	// A wakes up and finishes its pass: nothing of it lands.
	close(release)
	if err := <-paused; err != nil {
		t.Fatalf("the paused replica's reconcile = %v; want it to end quietly (its write refused)", err)
	}
	after, err := st.GetObject(ctx, clusters.Kind, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion {
		t.Fatalf("the cluster changed (resource version %d → %d) after the paused replica woke up; want B's as it was",
			before.ResourceVersion, after.ResourceVersion)
	}
	if _, eventsAfter, _ := st.ListEvents(ctx, "c1", 1, 0); eventsAfter != eventsBefore {
		t.Fatalf("%d events after the paused replica woke up, %d before; want none added", eventsAfter, eventsBefore)
	}
	if refused := metrics.Counter(t, regA, "easel_fenced_writes_refused_total"); refused != 1 {
		t.Fatalf("A counted %v refused writes; want 1", refused)
	}
	if a.Holds("c1") {
		t.Fatal("A still believes it holds the cluster after its write was refused")
	}
}

// fixedLease is a Leases that always grants the same lease.
type fixedLease struct{ lease store.Lease }

func (f *fixedLease) Hold(context.Context, string) (store.Lease, context.Context, bool, error) {
	return f.lease, context.Background(), true, nil
}

func (f *fixedLease) Lost(store.Fence) {}

// A replica observing a local cluster whose host is gone says so in its conditions and leaves the
// processes alone; the host's own replica, back, says it is back; a delete while the host is gone
// removes the record and says where the processes are left.
func TestClusterOfAGoneHost(t *testing.T) {
	s := newSuite(t)
	s.create(1)
	leases := &fixedLease{lease: store.Lease{Pinned: true, Observed: true, HostID: "h-3f2a"}}
	s.c.Leases = leases
	s.settle()
	if len(s.prov.created) != 0 || s.prov.agentRuns != 0 {
		t.Fatalf("the observer asked the provider for machines %v and %d agent runs; want nothing", s.prov.created, s.prov.agentRuns)
	}
	if got := s.conditions(); !strings.Contains(got, "HostAvailable=False/HostGone") {
		t.Fatalf("conditions while the host is gone: %s; want HostAvailable False, HostGone", got)
	}
	leases.lease = store.Lease{Pinned: true, HostID: "h-3f2a"} // the host's replica is back
	s.settle()
	if got := s.conditions(); !strings.Contains(got, "HostAvailable=True/HostBack") || len(s.prov.created) == 0 {
		t.Fatalf("conditions once the host is back: %s, machines %v; want HostAvailable True and provisioning going on", got, s.prov.created)
	}

	leases.lease.Observed = true
	s.patch(func(cl *clusters.Cluster) { cl.Status.State = v1.ClusterStateDeleting })
	s.settle()
	if _, err := s.st.GetObject(context.Background(), clusters.Kind, "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the cluster of a gone host after its delete: %v; want it removed", err)
	}
	if s.prov.deleted {
		t.Fatal("the observer asked the provider to delete processes that run on another host")
	}
	audits, _, _ := s.st.ListAudits(context.Background(), store.AuditFilter{TenantUID: "t", Limit: 10})
	if len(audits) == 0 || !strings.Contains(audits[0].Message, "processes on host h-3f2a could not be stopped") {
		t.Fatalf("audit entries %+v; want the removal saying where the processes are left", audits)
	}
}
