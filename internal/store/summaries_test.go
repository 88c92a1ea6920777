package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testenv/pgtest"
	"github.com/easelhq/easel/internal/usage"
)

// clusterDoc is a cluster with a pool of three machines, two of them Ready and one in maintenance,
// two nodes (one Ready), a usage sample and a health verdict.
func clusterDoc(state string) clusters.Cluster {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return clusters.Cluster{
		Labels: map[string]string{"env": "prod"}, Annotations: map[string]string{"team": "a"},
		CloudType: "local", CloudConfigUID: "cc-" + state,
		Profiles: []clusters.ProfileRef{{UID: "p1", Name: "infra", Version: "1.0.0", Type: "cluster",
			PackValues: []clusters.PackValues{{Name: "k8s", Values: "a: 1"}}}},
		Pools: []clusters.Pool{{Name: "cp", ControlPlane: true, Size: 1}, {Name: "workers", Size: 2}},
		Status: clusters.Status{State: state,
			Machines: []clusters.Machine{{Name: "m1", Pool: "cp", Ready: true}, {Name: "m2", Pool: "workers", Ready: true},
				{Name: "m3", Pool: "workers", Maintenance: &v1.MachineMaintenanceStatus{Action: v1.MaintenanceCordon}}},
			Nodes: []v1.NodeReport{{Name: "m1", Ready: true}, {Name: "m2"}},
			Health: clusters.Health{LastHeartbeat: at, AgentVersion: "1.2.3", State: clusters.HealthUnhealthy,
				Reasons: []string{"NodeNotReady: node m2 is Ready=False"}},
			Usage: usage.State{ReceivedAt: at, Nodes: []v1.NodeUsage{{Name: "m2", CPUUsage: 1.5, CPUAllocatable: 4,
				MemoryUsage: 1 << 30, MemoryAllocatable: 8 << 30}}},
		},
	}
}

func clusterRecord(uid, tenant, project, name string, cl clusters.Cluster) *store.Record {
	return &store.Record{Kind: clusters.Kind, UID: uid, AltUID: cl.CloudConfigUID, TenantUID: tenant, ProjectUID: project,
		Name: name, State: cl.Status.State, Category: cl.CloudType, Doc: cl.Encode()}
}

// summaryOf lists the one cluster uid names in its project, and the project's total.
func summaryOf(t *testing.T, s store.Store, project, uid string) (store.ClusterSummary, int, bool) {
	t.Helper()
	sums, total, err := s.ListClusterSummaries(context.Background(), store.ListOptions{TenantUID: "t1", ProjectUIDs: []string{project}})
	if err != nil {
		t.Fatal(err)
	}
	for _, cs := range sums {
		if cs.UID == uid {
			return cs, total, true
		}
	}
	return store.ClusterSummary{}, total, false
}

// wantSummary checks that the listed summary is what the stored document says.
func wantSummary(t *testing.T, s store.Store, got store.ClusterSummary) {
	t.Helper()
	rec, err := s.GetObject(context.Background(), clusters.Kind, got.UID)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := clusters.Decode(rec.Doc)
	if err != nil {
		t.Fatal(err)
	}
	rec.Doc = nil
	if !reflect.DeepEqual(got.Record, rec) {
		t.Errorf("summary record %+v, want the document's %+v", got.Record, rec)
	}
	if want := cl.Summary(); !reflect.DeepEqual(got.Summary, want) {
		t.Errorf("summary %+v, want the document's %+v", got.Summary, want)
	}
}

func TestClusterSummaryFollowsItsDocument(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		rec := clusterRecord("c1", "t1", "p1", "alpha", clusterDoc(v1.ClusterStateProvisioning))
		if err := s.CreateObject(ctx, rec); err != nil {
			t.Fatal(err)
		}
		got, total, ok := summaryOf(t, s, "p1", "c1")
		if !ok || total != 1 {
			t.Fatalf("after create: listed=%v total=%d, want the cluster and 1", ok, total)
		}
		wantSummary(t, s, got)
		if got.Summary.Nodes != 2 || got.Summary.ReadyNodes != 1 || !got.Summary.InMaintenance ||
			got.Summary.Pools[1].Healthy != 1 || got.Summary.Metrics.CPU.Usage != 1.5 || got.Summary.Profiles[0].PackValues != nil {
			t.Fatalf("summary %+v: want 1 of 2 nodes Ready, in maintenance, 1 healthy worker, 1.5 cores, no pack values", got.Summary)
		}

		// A status change (the engine's, an agent report's) rewrites the summary.
		cl := clusterDoc(v1.ClusterStateRunning)
		cl.Status.Nodes[1].Ready = true
		cl.Status.Health = clusters.Health{LastHeartbeat: time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC), State: clusters.HealthHealthy}
		rec.Doc, rec.State = cl.Encode(), cl.Status.State
		if err := s.UpdateObject(ctx, rec); err != nil {
			t.Fatal(err)
		}
		got, _, _ = summaryOf(t, s, "p1", "c1")
		wantSummary(t, s, got)
		if got.State != v1.ClusterStateRunning || got.Summary.ReadyNodes != 2 || got.Summary.Health.State != clusters.HealthHealthy {
			t.Fatalf("after the status change: state %s, %d Ready nodes, health %s; want Running, 2, Healthy",
				got.State, got.Summary.ReadyNodes, got.Summary.Health.State)
		}

		// Moved to another project, it is counted there.
		rec.ProjectUID = "p2"
		if err := s.UpdateObject(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if _, total, ok := summaryOf(t, s, "p1", "c1"); ok || total != 0 {
			t.Fatalf("p1 after the move: listed=%v total=%d, want neither", ok, total)
		}
		if _, total, ok := summaryOf(t, s, "p2", "c1"); !ok || total != 1 {
			t.Fatalf("p2 after the move: listed=%v total=%d, want the cluster and 1", ok, total)
		}

		if err := s.DeleteObject(ctx, clusters.Kind, "c1"); err != nil {
			t.Fatal(err)
		}
		if _, total, ok := summaryOf(t, s, "p2", "c1"); ok || total != 0 {
			t.Fatalf("after delete: listed=%v total=%d, want neither", ok, total)
		}
	})
}

func TestClusterSummaryIsWrittenWithItsDocument(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		failed := errors.New("the rest of the transaction failed")
		err := s.Tx(ctx, func(q store.Queries) error {
			if err := q.CreateObject(ctx, clusterRecord("c1", "t1", "p1", "alpha", clusterDoc(v1.ClusterStatePending))); err != nil {
				return err
			}
			return failed
		})
		if !errors.Is(err, failed) {
			t.Fatalf("Tx = %v, want the failure", err)
		}
		if _, err := s.GetObject(ctx, clusters.Kind, "c1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("document after the rolled-back create: %v, want not found", err)
		}
		if _, total, ok := summaryOf(t, s, "p1", "c1"); ok || total != 0 {
			t.Fatalf("summary after the rolled-back create: listed=%v total=%d, want neither", ok, total)
		}

		rec := clusterRecord("c1", "t1", "p1", "alpha", clusterDoc(v1.ClusterStatePending))
		if err := s.CreateObject(ctx, rec); err != nil {
			t.Fatal(err)
		}
		err = s.Tx(ctx, func(q store.Queries) error {
			changed := *rec
			changed.Doc, changed.State = clusterDoc(v1.ClusterStateRunning).Encode(), v1.ClusterStateRunning
			if err := q.UpdateObject(ctx, &changed); err != nil {
				return err
			}
			if err := q.DeleteObject(ctx, clusters.Kind, "c1"); err != nil {
				return err
			}
			return failed
		})
		if !errors.Is(err, failed) {
			t.Fatalf("Tx = %v, want the failure", err)
		}
		got, total, ok := summaryOf(t, s, "p1", "c1")
		if !ok || total != 1 || got.State != v1.ClusterStatePending {
			t.Fatalf("after the rolled-back update and delete: listed=%v total=%d state=%s, want the Pending cluster and 1",
				ok, total, got.State)
		}
		wantSummary(t, s, got)
	})
}

func TestClusterSummariesListAsTheDocuments(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		states := []string{v1.ClusterStatePending, v1.ClusterStateRunning, v1.ClusterStateDeleting}
		for i := range 12 {
			cl := clusterDoc(states[i%3])
			cl.CloudType = []string{"local", "generic"}[i%2]
			tenant, project := "t1", []string{"p1", "p2", ""}[i%3]
			if i == 11 {
				tenant = "t2" // never listed: another tenant's
			}
			rec := clusterRecord(fmt.Sprintf("c%02d", i), tenant, project, fmt.Sprintf("%s-%d", []string{"Web", "db"}[i%2], i%5), cl)
			if err := s.CreateObject(ctx, rec); err != nil {
				t.Fatal(err)
			}
			if i%4 == 0 { // updated_at differs from created_at's order
				if err := s.UpdateObject(ctx, rec); err != nil {
					t.Fatal(err)
				}
			}
		}
		cases := map[string]store.ListOptions{
			"every project":      {},
			"one project":        {ProjectUIDs: []string{"p1"}},
			"two projects":       {ProjectUIDs: []string{"p1", "p2"}},
			"no project":         {ProjectUIDs: []string{}},
			"tenant scope":       {ProjectUIDs: []string{""}},
			"page":               {Limit: 3, Offset: 2},
			"past the end":       {Limit: 5, Offset: 20},
			"name contains":      {Conditions: []store.Condition{{Field: store.FieldName, Op: store.OpContains, Values: []string{"WEB"}, IgnoreCase: true}}},
			"name begins":        {Conditions: []store.Condition{{Field: store.FieldName, Op: store.OpBeginsWith, Values: []string{"db-1", "Web-2"}}}},
			"state not":          {Conditions: []store.Condition{{Field: store.FieldState, Values: []string{v1.ClusterStateRunning}, Negate: true}}},
			"any of":             {AnyOf: [][]store.Condition{{{Field: store.FieldCategory, Values: []string{"generic"}}, {Field: store.FieldState, Values: []string{v1.ClusterStatePending}}}}},
			"by state desc":      {OrderBy: store.FieldState, Desc: true, Limit: 4},
			"by cloud type":      {OrderBy: store.FieldCategory},
			"by created":         {OrderBy: store.FieldCreatedAt},
			"by modified desc":   {OrderBy: store.FieldUpdatedAt, Desc: true, ProjectUIDs: []string{"p1", ""}},
			"filtered, one page": {Limit: 2, Conditions: []store.Condition{{Field: store.FieldCategory, Values: []string{"local"}}}},
		}
		for name, opts := range cases {
			opts.Kind, opts.TenantUID = clusters.Kind, "t1"
			recs, wantTotal, err := s.ListObjects(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			sums, total, err := s.ListClusterSummaries(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for _, r := range recs {
				want = append(want, r.UID)
			}
			for _, cs := range sums {
				got = append(got, cs.UID)
				wantSummary(t, s, cs)
			}
			if !reflect.DeepEqual(got, want) || total != wantTotal {
				t.Errorf("%s: summaries %v (total %d), documents %v (total %d)", name, got, total, want, wantTotal)
			}
		}
		if _, _, err := s.ListClusterSummaries(ctx, store.ListOptions{TenantUID: "t1", OrderBy: "doc"}); err == nil {
			t.Error("sorting summaries on doc: no error, want one")
		}
	})
}

// TestMigrationSummarizesExistingClusters takes a store back to before migration 0005 (clusters
// stored, no summaries, no counts) and opens it again: every cluster gets the summary of its
// document and every project its count.
func TestMigrationSummarizesExistingClusters(t *testing.T) {
	pgtest.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		// More than a page of the backfill (500 documents), in two projects.
		for i := range 503 {
			cl := clusterDoc([]string{v1.ClusterStatePending, v1.ClusterStateRunning}[i%2])
			rec := clusterRecord(fmt.Sprintf("c%04d", i), "t1", []string{"p1", "p2"}[i%2], fmt.Sprintf("n%04d", i), cl)
			if err := s.CreateObject(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		undoMigration(t, url, `DROP TABLE cluster_summaries`, `DROP TABLE cluster_counts`, `DELETE FROM schema_migrations WHERE version = 5`)

		s, err = store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for project, want := range map[string]int{"p1": 252, "p2": 251} {
			sums, total, err := s.ListClusterSummaries(ctx, store.ListOptions{TenantUID: "t1", ProjectUIDs: []string{project}})
			if err != nil {
				t.Fatal(err)
			}
			if len(sums) != want || total != want {
				t.Fatalf("%s: %d summaries, total %d; want %d", project, len(sums), total, want)
			}
			for _, cs := range sums {
				wantSummary(t, s, cs)
			}
		}
		// The counts the migration made go on from there.
		if err := s.DeleteObject(ctx, clusters.Kind, "c0000"); err != nil {
			t.Fatal(err)
		}
		if _, total, _ := summaryOf(t, s, "p1", "c0000"); total != 251 {
			t.Fatalf("p1 after a delete: total %d, want 251", total)
		}
	})
}

// A listed summary's health has the newer of the document's heartbeat and the heartbeat row's, as
// a reader of the document takes (most heartbeats write the row only).
func TestClusterSummariesTakeTheNewerHeartbeat(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		inDoc := clusterDoc(v1.ClusterStateRunning).Status.Health.LastHeartbeat
		for _, uid := range []string{"newer-row", "older-row", "no-row"} {
			if err := s.CreateObject(ctx, clusterRecord(uid, "t1", "p1", uid, clusterDoc(v1.ClusterStateRunning))); err != nil {
				t.Fatal(err)
			}
		}
		for _, hb := range []store.Heartbeat{
			{ClusterUID: "newer-row", At: inDoc.Add(30 * time.Second), AgentVersion: "1.2.4"},
			{ClusterUID: "older-row", At: inDoc.Add(-30 * time.Second), AgentVersion: "1.2.2"},
		} {
			if err := s.PutHeartbeat(ctx, hb); err != nil {
				t.Fatal(err)
			}
		}
		want := map[string]string{
			"newer-row": inDoc.Add(30*time.Second).Format(time.RFC3339) + " 1.2.4",
			"older-row": inDoc.Format(time.RFC3339) + " 1.2.3",
			"no-row":    inDoc.Format(time.RFC3339) + " 1.2.3",
		}
		for uid, w := range want {
			cs, _, ok := summaryOf(t, s, "p1", uid)
			if got := cs.Summary.Health.LastHeartbeat.UTC().Format(time.RFC3339) + " " + cs.Summary.Health.AgentVersion; !ok || got != w {
				t.Errorf("the listed heartbeat of %s = %s (listed: %v); want %s", uid, got, ok, w)
			}
		}
	})
}

// Listed summaries are kept decoded (the store's cache), never past their document: after a
// change, after a transaction that listed its own change and was rolled back, and after the
// cluster was deleted and a new one stored under its uid (whose versions start again).
func TestListedSummariesAreNeverStale(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		rec := clusterRecord("c1", "t1", "p1", "alpha", clusterDoc(v1.ClusterStateProvisioning))
		if err := s.CreateObject(ctx, rec); err != nil {
			t.Fatal(err)
		}
		withState := func(state string) {
			t.Helper()
			rec.Doc, rec.State = clusterDoc(state).Encode(), state
		}
		listed := func(want string) {
			t.Helper()
			for range 2 { // decoded, then from the cache
				got, _, ok := summaryOf(t, s, "p1", "c1")
				if !ok || got.Summary.State != want {
					t.Fatalf("listed=%v with state %q; want %q", ok, got.Summary.State, want)
				}
				wantSummary(t, s, got)
			}
		}
		listed(v1.ClusterStateProvisioning)
		withState(v1.ClusterStateRunning)
		if err := s.UpdateObject(ctx, rec); err != nil {
			t.Fatal(err)
		}
		listed(v1.ClusterStateRunning)

		rolledBack := errors.New("rolled back")
		err := s.Tx(ctx, func(q store.Queries) error {
			withState(v1.ClusterStateDeleting)
			if err := q.UpdateObject(ctx, rec); err != nil {
				return err
			}
			sums, _, err := q.ListClusterSummaries(ctx, store.ListOptions{TenantUID: "t1"})
			if err != nil || len(sums) != 1 || sums[0].Summary.State != v1.ClusterStateDeleting {
				t.Errorf("the transaction's own list = %+v, %v; want its change", sums, err)
			}
			return rolledBack
		})
		if !errors.Is(err, rolledBack) {
			t.Fatal(err)
		}
		rec.ResourceVersion-- // the rolled-back write's version goes to the next one
		withState(v1.ClusterStatePending)
		if err := s.UpdateObject(ctx, rec); err != nil {
			t.Fatal(err)
		}
		listed(v1.ClusterStatePending)

		if err := s.DeleteObject(ctx, clusters.Kind, "c1"); err != nil {
			t.Fatal(err)
		}
		rec = clusterRecord("c1", "t1", "p1", "alpha", clusterDoc(v1.ClusterStateProvisioning))
		if err := s.CreateObject(ctx, rec); err != nil {
			t.Fatal(err)
		}
		listed(v1.ClusterStateProvisioning)
	})
}

// undoMigration takes the closed store at url back to before a migration with stmts.
func undoMigration(t *testing.T, url string, stmts ...string) {
	t.Helper()
	driver := "sqlite"
	if strings.HasPrefix(url, "postgres") {
		driver = "pgx"
	}
	db, err := sql.Open(driver, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range stmts {
		if _, err := db.ExecContext(context.Background(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}
