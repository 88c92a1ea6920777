package troubleshooting_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/service/servicetest"
	"github.com/easelhq/easel/internal/service/troubleshooting"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testenv/pgtest"
	"github.com/easelhq/easel/internal/wakeup"
)

// replicas are two hub replicas' troubleshooting services on one PostgreSQL store, each with its
// own blob directory: a (host "host-a", replica "hub-a:/data") and b (host "host-b"), on one clock
// that starts at the real time, so that the files' ages are what the sweep sees.
func replicas(t *testing.T) (a *fixture, b *troubleshooting.Service, bBlobs string) {
	t.Helper()
	st, err := store.Open(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a = newFixture(t, st, time.Now(), troubleshooting.Options{HostID: "host-a", Replica: "hub-a:/data"})
	bBlobs = filepath.Join(t.TempDir(), "blobs-b")
	b, err = troubleshooting.New(st, troubleshooting.Options{Clock: a.clock, Waiters: &wakeup.Waiters{}, BlobDir: bBlobs,
		HostID: "host-b", Replica: "hub-b:/data"})
	if err != nil {
		t.Fatal(err)
	}
	return a, b, bBlobs
}

// register starts a session of host on the store, as a replica does at start.
func register(t *testing.T, st store.Store, id, host, url, fingerprint string) {
	t.Helper()
	if _, err := st.RegisterSession(context.Background(), store.Session{ID: id, Replica: "hub-" + host, HostID: host,
		URL: url, Fingerprint: fingerprint}, time.Minute); err != nil {
		t.Fatal(err)
	}
}

// A bundle made on replica A is downloaded through replica B: B checks the caller as A would,
// then names A's live session (its URL and pin) and audits nothing; with no live session of A's
// host, B says the bundle comes back with that replica; A started again is named by its new
// session.
func TestBundleHeldByAnotherReplica(t *testing.T) {
	a, b, _ := replicas(t)
	register(t, a.store, "session-a1", "host-a", "https://hub-a:8080", "sha256:aa")
	register(t, a.store, "session-b1", "host-b", "https://hub-b:8080", "sha256:bb")
	id := a.requestLogs("c2", `{}`) // no agent: completed at once, on A
	audited := len(servicetest.Audits(t, a.store, tenant))

	if _, err := b.Download(a.ctx, call(v1.RoleViewer), id); service.KindOf(err) != service.KindForbidden {
		t.Fatalf("a viewer downloading through B: %v; want Forbidden, before anything says where the bundle is", err)
	}
	_, err := b.Download(a.ctx, call(v1.RoleClusterAdmin), id)
	var away *troubleshooting.HeldElsewhere
	if !errors.As(err, &away) || away.Request != id || away.Replica.ID != "session-a1" ||
		away.Replica.URL != "https://hub-a:8080" || away.Replica.Fingerprint != "sha256:aa" {
		t.Fatalf("downloading A's bundle through B: %v (%+v); want it held by session-a1 at https://hub-a:8080, pin sha256:aa", err, away)
	}
	if n := len(servicetest.Audits(t, a.store, tenant)); n != audited {
		t.Errorf("B wrote %d audit entries for a download it did not serve; want none (A audits what it serves)", n-audited)
	}
	bundle, err := a.svc.Download(a.ctx, call(v1.RoleClusterAdmin), id)
	if err != nil {
		t.Fatalf("A serving its own bundle: %v", err)
	}
	bundle.File.Close()

	if err := a.store.EndSession(a.ctx, "session-a1"); err != nil {
		t.Fatal(err)
	}
	_, err = b.Download(a.ctx, call(v1.RoleClusterAdmin), id)
	if service.KindOf(err) != service.KindUnavailable || !strings.Contains(err.Error(),
		"log bundle "+id+" is kept by hub replica hub-a:/data (host host-a), which is not running: it can be downloaded "+
			"once that replica runs again, or request a new bundle") {
		t.Fatalf("downloading through B while A is stopped: %v; want Unavailable naming hub-a:/data", err)
	}

	register(t, a.store, "session-a2", "host-a", "https://hub-a:8443", "sha256:a2")
	if _, err := b.Download(a.ctx, call(v1.RoleClusterAdmin), id); !errors.As(err, &away) || away.Replica.ID != "session-a2" {
		t.Fatalf("downloading through B once A runs again: %v; want it held by A's new session", err)
	}
}

// Each replica removes files of its own blob directory only: B's retention deletes the records of
// A's oldest bundles and leaves A's files alone; A's sweep removes them as strays once they are
// an hour old (younger ones may be bundles being made), and keeps the ones still named.
func TestSweepsOfReplicasRemoveTheirOwnFiles(t *testing.T) {
	a, b, bBlobs := replicas(t)
	var onA []string
	for range v1.LogBundlesKept {
		onA = append(onA, a.requestLogs("c2", `{}`))
		a.clock.Step(time.Second)
	}
	for range 2 { // B's bundles push A's two oldest out of the LogBundlesKept
		var read bool
		if _, err := b.RequestLogs(a.ctx, call(v1.RoleClusterAdmin), "c2", servicetest.JSONInput(`{}`, &read)); err != nil {
			t.Fatal(err)
		}
		a.clock.Step(time.Second)
	}
	for _, id := range onA[:2] {
		if _, err := a.store.GetObject(a.ctx, troubleshooting.KindLogFetcher, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("A's bundle %s after B's made two more: %v; want its record deleted by B's retention", id, err)
		}
	}
	if n, m := zips(t, a.blobs), zips(t, bBlobs); n != v1.LogBundlesKept || m != 2 {
		t.Fatalf("%d files on A, %d on B; want %d and 2 (B deletes no file of A's)", n, m, v1.LogBundlesKept)
	}

	sweep := func(svc *troubleshooting.Service) {
		t.Helper()
		if err := svc.Sweep(a.ctx); err != nil {
			t.Fatal(err)
		}
	}
	sweep(a.svc)
	sweep(b)
	if n := zips(t, a.blobs); n != v1.LogBundlesKept {
		t.Fatalf("%d files on A after sweeps within the hour; want %d (a young stray may be a bundle being made)", n, v1.LogBundlesKept)
	}
	a.clock.Step(time.Hour)
	sweep(b)
	sweep(a.svc)
	if n, m := zips(t, a.blobs), zips(t, bBlobs); n != v1.LogBundlesKept-2 || m != 2 {
		t.Fatalf("%d files on A, %d on B after the hour; want %d and 2: A's strays gone, every named file kept", n, m, v1.LogBundlesKept-2)
	}
	for _, id := range onA[2:] {
		bundle, err := a.svc.Download(a.ctx, call(v1.RoleClusterAdmin), id)
		if err != nil {
			t.Fatalf("A's bundle %s after the sweeps: %v", id, err)
		}
		bundle.File.Close()
	}
	if entries, err := os.ReadDir(bBlobs); err != nil || len(entries) != 2 {
		t.Fatalf("B's blob directory holds %d entries (%v); want its 2 bundles", len(entries), err)
	}
}
