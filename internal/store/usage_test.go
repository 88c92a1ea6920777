package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/testenv/pgtest"

	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/usage"
)

func TestUsageSeriesAreMeansPerBucketAndExpire(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		previous := map[string]time.Time{} // each cluster's latest sample, as its current usage row says
		sample := func(cluster string, at time.Time, values map[string]usage.Values) {
			t.Helper()
			if err := s.RecordUsage(ctx, cluster, at, previous[cluster], values); err != nil {
				t.Fatal(err)
			}
			previous[cluster] = at
		}
		record := func(at time.Time, cpu float64) {
			t.Helper()
			sample("c1", at, map[string]usage.Values{
				"cluster/worker": {CPUUsage: cpu, CPUTotal: 4, MemoryUsage: 1 << 30},
				"node/w1":        {CPUUsage: cpu / 2, CPUTotal: 2},
			})
		}
		points := func(cluster, series string, step time.Duration, from, to time.Time) []store.UsagePoint {
			t.Helper()
			pts, err := s.UsagePoints(ctx, cluster, series, step, from, to)
			if err != nil {
				t.Fatal(err)
			}
			return pts
		}
		record(t0.Add(10*time.Second), 1)
		record(t0.Add(40*time.Second), 3) // same minute: the mean is 2
		record(t0.Add(70*time.Second), 4)
		sample("c2", t0, map[string]usage.Values{"cluster/worker": {CPUUsage: 9}})

		minutes := points("c1", "cluster/worker", time.Minute, t0, t0.Add(time.Hour))
		if len(minutes) != 2 || minutes[0].Values.CPUUsage != 2 || minutes[0].Samples != 2 || minutes[1].Values.CPUUsage != 4 ||
			!minutes[0].At.Equal(t0) || minutes[0].Values.MemoryUsage != 1<<30 {
			t.Fatalf("1-minute points = %+v, want means 2 (2 samples at %s) and 4", minutes, t0)
		}
		// A range ending within the second a bucket began still has that bucket.
		if early := points("c1", "cluster/worker", time.Minute, t0.Add(-time.Hour), t0.Add(300*time.Millisecond)); len(early) != 1 {
			t.Fatalf("points up to 300ms into the first bucket = %+v; want that bucket", early)
		}
		// The hour in progress is the mean of its minutes; once the next hour's first sample has
		// rolled it up, its stored point says the same.
		wantHour := func(when string, hours []store.UsagePoint) {
			t.Helper()
			if len(hours) == 0 || hours[0].Values.CPUUsage != 8.0/3 || hours[0].Samples != 3 || !hours[0].At.Equal(t0) ||
				hours[0].Values.MemoryUsage != 1<<30 {
				t.Fatalf("%s: 1-hour points = %+v, want the first with the mean of 1, 3, 4 at %s", when, hours, t0)
			}
		}
		hours := points("c1", "cluster/worker", time.Hour, t0, t0.Add(time.Hour))
		wantHour("within the hour", hours)
		if len(hours) != 1 {
			t.Fatalf("within the hour: %d hour points, want 1", len(hours))
		}
		if late := points("c1", "cluster/worker", time.Hour, t0.Add(time.Second), t0.Add(time.Hour)); len(late) != 0 {
			t.Fatalf("hour points from a second into the hour = %+v; want none (the hour began before)", late)
		}
		if node := points("c1", "node/w1", time.Minute, t0, t0.Add(time.Hour)); len(node) != 2 || node[1].Values.CPUUsage != 2 {
			t.Fatalf("node points = %+v", node)
		}
		record(t0.Add(time.Hour+5*time.Second), 7)
		hours = points("c1", "cluster/worker", time.Hour, t0, t0.Add(2*time.Hour))
		wantHour("rolled up", hours)
		if len(hours) != 2 || hours[1].Values.CPUUsage != 7 || hours[1].Samples != 1 {
			t.Fatalf("after the next hour's first sample: hour points = %+v, want the first hour's and 7", hours)
		}

		// A day later the minute points of the first day are gone; the hour points stay.
		record(t0.Add(25*time.Hour+2*time.Minute), 1)
		minutes = points("c1", "cluster/worker", time.Minute, t0, t0.Add(48*time.Hour))
		hours = points("c1", "cluster/worker", time.Hour, t0, t0.Add(48*time.Hour))
		if len(minutes) != 1 || len(hours) != 3 {
			t.Fatalf("after a day: %d minute points (want 1), %d hour points (want 3)", len(minutes), len(hours))
		}
		wantHour("a day later", hours)

		// The first sample of an hour drops every series' old points, so a node no longer
		// reported leaves no points behind.
		nodes := func(at time.Time, series ...string) {
			t.Helper()
			values := map[string]usage.Values{}
			for _, name := range series {
				values[name] = usage.Values{CPUUsage: 1}
			}
			sample("c3", at, values)
		}
		minutePoints := func(series string) int {
			t.Helper()
			return len(points("c3", series, time.Minute, t0, t0.Add(48*time.Hour)))
		}
		nodes(t0.Add(30*time.Minute), "node/a", "node/gone")
		nodes(t0.Add(25*time.Hour+30*time.Minute), "node/a")
		if a, gone := minutePoints("node/a"), minutePoints("node/gone"); a != 1 || gone != 0 {
			t.Fatalf("a day later: node/a has %d minute points (want 1, today's), node/gone %d (want 0)", a, gone)
		}
		if gone := points("c3", "node/gone", time.Hour, t0, t0.Add(48*time.Hour)); len(gone) != 1 {
			t.Fatalf("node/gone's hour points = %+v; want its hour, kept 30 days", gone)
		}
		nodes(t0.Add(31*24*time.Hour), "node/a")
		if gone := points("c3", "node/gone", time.Hour, t0, t0.Add(32*24*time.Hour)); len(gone) != 0 {
			t.Fatalf("31 days later node/gone still has hour points: %+v", gone)
		}

		if err := s.DeleteUsage(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		if left := points("c1", "cluster/worker", time.Hour, t0, t0.Add(48*time.Hour)); len(left) != 0 {
			t.Fatalf("%d points left after DeleteUsage", len(left))
		}
		if other := points("c2", "cluster/worker", time.Minute, t0, t0.Add(time.Hour)); len(other) != 1 || other[0].Values.CPUUsage != 9 {
			t.Fatalf("another cluster's series changed: %+v", other)
		}
	})
}

// A cluster's current usage has a row of its own: what its readers (Live) and its listed summary
// show, instead of the usage its document holds, and deleted with its series.
func TestCurrentUsageRow(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		doc := clusterDoc(v1.ClusterStateRunning) // its document's usage: 1.5 cores of 4
		if err := s.CreateObject(ctx, clusterRecord("c1", "t1", "p1", "web", doc)); err != nil {
			t.Fatal(err)
		}
		if live, err := s.Live(ctx, "c1"); err != nil || live.Usage != nil {
			t.Fatalf("the current usage of a cluster before its first sample = %+v, %v; want none", live.Usage, err)
		}
		if cs, _, _ := summaryOf(t, s, "p1", "c1"); cs.Summary.Metrics == nil || cs.Summary.Metrics.CPU.Usage != 1.5 {
			t.Fatalf("listed metrics before a sample = %+v; want the document's 1.5 cores", cs.Summary.Metrics)
		}
		at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		now := usage.State{Run: "r", Seq: 7, ReceivedAt: at, Nodes: []v1.NodeUsage{{Name: "m2", CPUUsage: 3, CPUAllocatable: 4}},
			Over: []usage.Over{{Node: "m2", Resource: usage.CPU, Since: at}}}
		if err := s.PutCurrentUsage(ctx, "c1", now); err != nil {
			t.Fatal(err)
		}
		live, err := s.Live(ctx, "c1")
		if err != nil || live.Usage == nil || live.Usage.Seq != 7 || len(live.Usage.Over) != 1 || !live.Usage.ReceivedAt.Equal(at) {
			t.Fatalf("the current usage = %+v, %v; want sample 7 with m2's CPU over", live.Usage, err)
		}
		if cs, _, _ := summaryOf(t, s, "p1", "c1"); cs.Summary.Metrics == nil || cs.Summary.Metrics.CPU.Usage != 3 {
			t.Fatalf("listed metrics after a sample = %+v; want the row's 3 cores", cs.Summary.Metrics)
		}
		if err := s.DeleteUsage(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		if live, err := s.Live(ctx, "c1"); err != nil || live.Usage != nil {
			t.Fatalf("the current usage once deleted = %+v, %v; want none", live.Usage, err)
		}
	})
}

// TestMigrationKeepsTheUsageOfExistingClusters takes a store back to before migration 0008 (the
// usage in the documents only) and opens it again: each cluster's current usage is its document's.
func TestMigrationKeepsTheUsageOfExistingClusters(t *testing.T) {
	pgtest.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		withUsage := clusterDoc(v1.ClusterStateRunning)
		withUsage.Status.Usage.Over = []usage.Over{{Node: "m2", Resource: usage.Memory, Since: withUsage.Status.Usage.ReceivedAt}}
		without := clusterDoc(v1.ClusterStatePending)
		without.Status.Usage = usage.State{}
		for uid, cl := range map[string]clusters.Cluster{"with": withUsage, "without": without} {
			if err := s.CreateObject(ctx, clusterRecord(uid, "t1", "p1", uid, cl)); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		undoMigration(t, url, `DROP TABLE current_usage`, `DELETE FROM schema_migrations WHERE version = 8`)

		s, err = store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		live, err := s.Live(ctx, "with")
		if err != nil || live.Usage == nil || !reflect.DeepEqual(*live.Usage, withUsage.Status.Usage) {
			t.Fatalf("the current usage after the migration = %+v, %v; want the document's %+v", live.Usage, err, withUsage.Status.Usage)
		}
		if live, err := s.Live(ctx, "without"); err != nil || live.Usage != nil {
			t.Fatalf("the current usage of a cluster without a sample = %+v, %v; want none", live.Usage, err)
		}
	})
}
