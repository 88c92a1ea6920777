package reports_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	v1 "github.com/easelhq/easel/api/v1"
	cluster "github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/service/reports"
	"github.com/easelhq/easel/internal/service/servicetest"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testenv/pgtest"
	"github.com/easelhq/easel/internal/wakeup"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const tenant = "tenant-1"

type fixture struct {
	t        *testing.T
	ctx      context.Context
	store    store.Store
	svc      *reports.Service
	waiters  *wakeup.Waiters
	clock    *clocktesting.FakeClock
	notified []string
}

func eachStore(t *testing.T, fn func(t *testing.T, f *fixture)) {
	servicetest.EachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		f := &fixture{t: t, ctx: ctx, store: st, waiters: &wakeup.Waiters{}}
		f.clock = clocktesting.NewFakeClock(time.Unix(1_800_000_000, 0))
		f.svc = reports.New(st, packs.MustBuiltin(), reports.Options{Clock: f.clock,
			Notify: func(uid string) { f.notified = append(f.notified, uid) }, Waiters: f.waiters})
		fn(t, f)
	})
}

// imported stores an imported cluster waiting for its agent and returns its record.
func (f *fixture) imported(uid string) store.Record {
	f.t.Helper()
	cl := cluster.Cluster{CloudType: v1.CloudTypeGeneric, CloudConfigUID: "cc-" + uid, Profiles: []cluster.ProfileRef{}, Pools: []cluster.Pool{},
		Status: cluster.Status{State: v1.ClusterStatePending, Conditions: []v1.ClusterCondition{}, Upgrades: []v1.Upgrade{}}}
	rec := &store.Record{Kind: "spectrocluster", UID: uid, AltUID: cl.CloudConfigUID, TenantUID: tenant, ProjectUID: "p",
		Name: uid, State: cl.Status.State, Category: cl.CloudType, Doc: cl.Encode()}
	if err := f.store.CreateObject(f.ctx, rec); err != nil {
		f.t.Fatal(err)
	}
	return *rec
}

// Only the cluster's own agent gets in; another cluster's token is refused and audited.
func TestOnlyTheClustersOwnAgent(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		f.imported("a")
		f.imported("b")
		none := store.Record{}
		if _, err := f.svc.Agent(f.ctx, service.AgentCaller(tenant, "a"), none, "a", ""); err != nil {
			t.Fatalf("a's agent on a: %v", err)
		}
		if rec, err := f.svc.Agent(f.ctx, service.AgentCaller(tenant, "a"), none, "", "cc-a"); err != nil || rec.UID != "a" {
			t.Fatalf("a's agent on a's cloud config: %v %v", rec.UID, err)
		}
		// The cluster read with the agent's token is the one the operation gets, not read again.
		held, err := f.store.GetObject(f.ctx, "spectrocluster", "a")
		if err != nil {
			t.Fatal(err)
		}
		held.Name = "as read with the token"
		if rec, err := f.svc.Agent(f.ctx, service.AgentCaller(tenant, "a"), held, "a", ""); err != nil || rec.Name != held.Name {
			t.Fatalf("a's agent on a, its cluster read with its token: %q %v; want that record", rec.Name, err)
		}
		if _, err := f.svc.Agent(f.ctx, service.AgentCaller(tenant, "a"), held, "b", ""); service.KindOf(err) != service.KindForbidden {
			t.Fatalf("a's agent on b: %v, want Forbidden", err)
		}
		if _, err := f.svc.Agent(f.ctx, service.UserCaller(tenant, "u", "admin@x", []string{v1.RoleTenantAdmin}, nil), held, "a", ""); service.KindOf(err) != service.KindForbidden {
			t.Fatalf("a user on an agent operation: %v, want Forbidden", err)
		}
		audits, _, err := f.store.ListAudits(f.ctx, store.AuditFilter{TenantUID: tenant, Limit: 10})
		if err != nil || len(audits) != 1 || audits[0].Action != "denied" || audits[0].ResourceUID != "b" {
			t.Fatalf("audits %+v %v; want one denial on b", audits, err)
		}
	})
}

// The first heartbeat wakes the engine (the cluster waits for it); later ones of a healthy
// cluster do not.
func TestHeartbeatWakesTheEngineWhenItMatters(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		rec := f.imported("a")
		if err := f.svc.Heartbeat(f.ctx, rec, []byte(`{"agentVersion":"v1"}`)); err != nil {
			t.Fatal(err)
		}
		if len(f.notified) != 1 {
			t.Fatalf("first heartbeat woke the engine %d times, want once", len(f.notified))
		}
		if err := f.svc.Heartbeat(f.ctx, rec, []byte(`{"agentVersion":"`+string(make([]byte, 65))+`"}`)); service.KindOf(err) != service.KindInvalid {
			t.Fatalf("an agent version of 65 bytes: %v, want Invalid", err)
		}
		stored, _ := f.store.GetObject(f.ctx, "spectrocluster", "a")
		cl, _ := cluster.Decode(stored.Doc)
		if cl.Status.Health.AgentVersion != "v1" || cl.Status.Health.LastHeartbeat.IsZero() {
			t.Fatalf("health %+v, want agent v1 with a heartbeat", cl.Status.Health)
		}
	})
}

// A change stored after the transport read the cluster, and before the long-poll began to wait, is
// answered: the wait begins before the long-poll reads the store again (on one hub nothing
// re-reads it on a timer).
func TestDesiredSeesAChangeBeforeItWaits(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		stale := f.imported("a")
		fresh := stale
		fresh.Generation++
		if err := f.store.UpdateObject(f.ctx, &fresh); err != nil {
			t.Fatal(err)
		}
		out, err := f.svc.Desired(f.ctx, stale, reports.Have{Generation: stale.Generation}, reports.MaxDesiredWait, nil)
		if err != nil || out == nil || out.Generation != fresh.Generation {
			t.Fatalf("a long-poll given the cluster as it was before a change: %+v, %v; want generation %d", out, err, fresh.Generation)
		}
	})
}

// A healthy cluster's heartbeat writes its own row, not the cluster: the cluster's document keeps
// its version, and a reader of the cluster sees the newest heartbeat. A new agent version changes
// the cluster.
func TestHeartbeatOfAHealthyClusterWritesItsOwnRow(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		rec := f.imported("a")
		if err := f.svc.Heartbeat(f.ctx, rec, []byte(`{"agentVersion":"v1"}`)); err != nil {
			t.Fatal(err)
		}
		// The engine judges it healthy.
		rec, _ = f.store.GetObject(f.ctx, "spectrocluster", "a")
		cl, _ := cluster.Decode(rec.Doc)
		cl.Status.Health.State = cluster.HealthHealthy
		rec.Doc = cl.Encode()
		if err := f.store.UpdateObject(f.ctx, &rec); err != nil {
			t.Fatal(err)
		}
		f.clock.Step(30 * time.Second)
		if err := f.svc.Heartbeat(f.ctx, rec, []byte(`{"agentVersion":"v1"}`)); err != nil {
			t.Fatal(err)
		}
		after, _ := f.store.GetObject(f.ctx, "spectrocluster", "a")
		if after.ResourceVersion != rec.ResourceVersion {
			t.Errorf("the healthy cluster's heartbeat rewrote it (version %d → %d)", rec.ResourceVersion, after.ResourceVersion)
		}
		got, err := service.DecodeCluster(f.ctx, f.store, after)
		if err != nil || !got.Status.Health.LastHeartbeat.Equal(f.clock.Now()) {
			t.Fatalf("the cluster as read: last heartbeat %s, %v; want %s", got.Status.Health.LastHeartbeat, err, f.clock.Now())
		}

		f.clock.Step(30 * time.Second)
		if err := f.svc.Heartbeat(f.ctx, after, []byte(`{"agentVersion":"v2"}`)); err != nil {
			t.Fatal(err)
		}
		upgraded, _ := f.store.GetObject(f.ctx, "spectrocluster", "a")
		if cl, _ := cluster.Decode(upgraded.Doc); cl.Status.Health.AgentVersion != "v2" {
			t.Errorf("after a heartbeat of agent v2 the cluster says agent %q", cl.Status.Health.AgentVersion)
		}
	})
}

// A cluster unhealthy for its nodes stays so whatever its heartbeats: they write their own row and
// wake no one. One unhealthy because the heartbeats had stopped is judged again at the next.
func TestHeartbeatOfAnUnhealthyCluster(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		for _, tc := range []struct {
			reason        string
			rewrites      bool
			name, verdict string
		}{
			{name: "a", reason: "NodeNotReady: node w1 is Ready=Unknown (NodeStatusUnknown)"},
			{name: "b", reason: "NoHeartbeat: no heartbeat from the agent since 2026-12-02T10:00:00Z (the limit is 10m0s)", rewrites: true},
		} {
			rec := f.imported(tc.name)
			cl, _ := cluster.Decode(rec.Doc)
			cl.Status.Health = cluster.Health{State: cluster.HealthUnhealthy, AgentVersion: "v1", Reasons: []string{tc.reason},
				LastHeartbeat: f.clock.Now().Add(-time.Hour)}
			rec.Doc = cl.Encode()
			if err := f.store.UpdateObject(f.ctx, &rec); err != nil {
				t.Fatal(err)
			}
			woken := len(f.notified)
			if err := f.svc.Heartbeat(f.ctx, rec, []byte(`{"agentVersion":"v1"}`)); err != nil {
				t.Fatal(err)
			}
			after, _ := f.store.GetObject(f.ctx, "spectrocluster", tc.name)
			if rewrote, wakes := after.ResourceVersion != rec.ResourceVersion, len(f.notified) > woken; rewrote != tc.rewrites || wakes != tc.rewrites {
				t.Errorf("unhealthy for %q: the heartbeat rewrote the cluster %v and woke the engine %v; want %v", tc.reason, rewrote, wakes, tc.rewrites)
			}
			if got, err := service.DecodeCluster(f.ctx, f.store, after); err != nil || !got.Status.Health.LastHeartbeat.Equal(f.clock.Now()) {
				t.Errorf("unhealthy for %q: the cluster as read has its last heartbeat at %s, %v; want %s", tc.reason,
					got.Status.Health.LastHeartbeat, err, f.clock.Now())
			}
		}
	})
}

// A node report in two pages is held until both came, then applied once; a retried page of an
// applied report changes nothing.
func TestPagedNodeReport(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		rec := f.imported("a")
		page := func(i int, node string) []byte {
			return []byte(`{"reportId":"r1","page":` + string(rune('0'+i)) + `,"pages":2,"nodes":[{"name":"` + node +
				`","role":"worker","ready":true,"conditions":[{"type":"Ready","status":"True"}]}]}`)
		}
		if applied, err := f.svc.Nodes(f.ctx, rec, page(1, "w-1")); err != nil || applied {
			t.Fatalf("page 2 of 2 first: applied %v, %v; want held", applied, err)
		}
		if applied, err := f.svc.Nodes(f.ctx, rec, page(0, "w-0")); err != nil || !applied {
			t.Fatalf("page 1 of 2: applied %v, %v; want the report applied", applied, err)
		}
		if applied, err := f.svc.Nodes(f.ctx, rec, page(0, "w-0")); err != nil || !applied {
			t.Fatalf("a retried page of an applied report: applied %v, %v; want acknowledged", applied, err)
		}
		stored, _ := f.store.GetObject(f.ctx, "spectrocluster", "a")
		cl, _ := cluster.Decode(stored.Doc)
		if len(cl.Status.Nodes) != 2 || cl.Status.Nodes[0].Name != "w-0" || cl.Status.Nodes[1].Name != "w-1" {
			t.Fatalf("nodes %+v, want w-0 and w-1 in page order", cl.Status.Nodes)
		}
	})
}

// The long-poll answers at once when the agent is behind, waits while it is not, and a change
// woken through the waiters ends the wait.
func TestDesiredLongPoll(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		rec := f.imported("a")
		out, err := f.svc.Desired(f.ctx, rec, reports.Have{}, time.Minute, nil)
		if err != nil || out == nil || out.Generation != rec.Generation {
			t.Fatalf("an agent with nothing: %+v, %v; want generation %d at once", out, err, rec.Generation)
		}
		have := reports.Have{Generation: rec.Generation}
		if out, err := f.svc.Desired(f.ctx, rec, have, 50*time.Millisecond, nil); err != nil || out != nil {
			t.Fatalf("an agent that is up to date: %+v, %v; want nothing once the wait is over", out, err)
		}
		stopping := make(chan struct{})
		close(stopping)
		if _, err := f.svc.Desired(f.ctx, rec, have, time.Minute, stopping); err != reports.ErrShuttingDown {
			t.Fatalf("a long-poll while the hub stops: %v, want ErrShuttingDown", err)
		}
		done := make(chan *v1.AgentDesired)
		waiting := rec // the long-poll's own copy: this goroutine goes on changing rec
		go func() {
			out, _ := f.svc.Desired(f.ctx, waiting, have, time.Minute, nil)
			done <- out
		}()
		rec.Generation++
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			// The long-poll may not be waiting yet when the change is stored; wake until it answers.
			if err := f.store.UpdateObject(f.ctx, &rec); err != nil {
				t.Fatal(err)
			}
			f.waiters.Wake("a")
			select {
			case out := <-done:
				if out == nil || out.Generation != rec.Generation {
					t.Fatalf("woken long-poll answered %+v, want generation %d", out, rec.Generation)
				}
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		t.Fatal("the long-poll did not answer within 10 s of the change")
	})
}

// Full workload reports of one cluster sent at once (an agent's retry while the hub still applies
// its first try, two agents during a rollout) are all accepted, and the cluster then holds one of
// them whole, not rows of several.
func TestConcurrentFullReportsOfOneCluster(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		rec := f.imported("a")
		const reports, pods = 8, 300
		report := func(n int) []byte {
			items := make([]v1.WorkloadItem, pods)
			for i := range items {
				items[i] = v1.WorkloadItem{Kind: v1.WorkloadPod, Namespace: "team", Name: fmt.Sprintf("pod-%02d", i),
					Pod: &v1.PodItem{Phase: "Running", Node: fmt.Sprintf("from-report-%d", n)}}
			}
			body, err := json.Marshal(map[string]any{"reportId": fmt.Sprintf("r%d", n), "page": 0, "pages": 1, "items": items})
			if err != nil {
				t.Fatal(err)
			}
			return body
		}
		errs, start := make(chan error, reports), make(chan struct{})
		for n := range reports {
			body := report(n)
			go func() {
				<-start
				_, err := f.svc.Workloads(f.ctx, rec, body)
				errs <- err
			}()
		}
		close(start)
		for range reports {
			if err := <-errs; err != nil {
				t.Errorf("a full report sent alongside others: %v", err)
			}
		}
		stored, total, err := f.store.ListWorkloads(f.ctx, store.WorkloadFilter{ClusterUID: "a", Kind: v1.WorkloadPod, Limit: 1000})
		if err != nil || total != pods {
			t.Fatalf("%d pods stored (%v), want %d", total, err, pods)
		}
		from := map[string]int{}
		for _, w := range stored {
			var it v1.WorkloadItem
			if err := json.Unmarshal(w.Doc, &it); err != nil || it.Pod == nil {
				t.Fatalf("stored workload %s: %s (%v)", w.Name, w.Doc, err)
			}
			from[it.Pod.Node]++
		}
		if len(from) != 1 {
			t.Fatalf("the cluster's pods come from several reports: %v", from)
		}
	})
}
