package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/store"
)

func TestReportPages(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		put := func(cluster, id string, page int, at time.Time) int {
			t.Helper()
			held, err := s.PutReportPage(ctx, store.ReportPage{ClusterUID: cluster, Report: "workloads", ReportID: id,
				Page: page, Pages: 3, Body: []byte(fmt.Sprintf(`{"page":%d}`, page)), ReceivedAt: at})
			if err != nil {
				t.Fatal(err)
			}
			return held
		}
		// Out of order and repeated: each page is held once.
		if held := []int{put("c1", "r1", 2, t0), put("c1", "r1", 0, t0), put("c1", "r1", 2, t0)}; fmt.Sprint(held) != "[1 2 2]" {
			t.Fatalf("pages held after each put = %v, want [1 2 2]", held)
		}
		put("c1", "r1", 1, t0)
		// A report is read a page at a time; a page not held is ErrNotFound.
		for i := range 3 {
			pg, err := s.ReportPage(ctx, "c1", "workloads", "r1", i)
			if err != nil || string(pg.Body) != fmt.Sprintf(`{"page":%d}`, i) || pg.Page != i || pg.Pages != 3 || !pg.ReceivedAt.Equal(t0) {
				t.Fatalf("ReportPage(r1, %d) = %+v, %v", i, pg, err)
			}
		}
		if _, err := s.ReportPage(ctx, "c1", "workloads", "r1", 3); err != store.ErrNotFound {
			t.Fatalf("ReportPage of a page not held: %v, want ErrNotFound", err)
		}
		// held is how many pages of a cluster's report are held (0: none).
		held := func(cluster, id string) int {
			t.Helper()
			reports, err := s.HeldReports(ctx, cluster)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range reports {
				if r.ReportID == id {
					return r.Held
				}
			}
			return 0
		}

		// Pages of reports that never complete are dropped once stale; newer ones stay.
		put("c1", "old", 0, t0.Add(-time.Hour))
		put("c2", "old", 0, t0.Add(-time.Hour))
		if err := s.DropStaleReportPages(ctx, "c1", t0.Add(-10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if n := held("c1", "old"); n != 0 {
			t.Fatalf("stale pages of c1 still held: %d", n)
		}
		if n := held("c2", "old"); n != 1 {
			t.Fatalf("another cluster's pages were dropped: %d held", n)
		}
		if n := held("c1", "r1"); n != 3 {
			t.Fatalf("recent pages dropped: %d held", n)
		}
		// The held reports come the least recently sent first.
		put("c1", "r2", 0, t0.Add(-time.Minute))
		reports, err := s.HeldReports(ctx, "c1")
		if err != nil || len(reports) != 2 || reports[0].ReportID != "r2" || reports[0].Held != 1 || reports[1].ReportID != "r1" ||
			reports[1].Held != 3 || !reports[1].LastReceived.Equal(t0) || reports[1].Report != "workloads" {
			t.Fatalf("HeldReports = %+v, %v; want r2 (1 page) then r1 (3 pages)", reports, err)
		}

		// A report is applied once; the newest ReportsKept are remembered.
		for i := range store.ReportsKept + 4 {
			fresh, err := s.MarkReportApplied(ctx, "c1", "workloads", fmt.Sprintf("r%02d", i), t0.Add(time.Duration(i)*time.Second))
			if err != nil || !fresh {
				t.Fatalf("MarkReportApplied r%02d = %v, %v", i, fresh, err)
			}
		}
		if fresh, err := s.MarkReportApplied(ctx, "c1", "workloads", "r19", t0.Add(time.Minute)); err != nil || fresh {
			t.Fatalf("applying r19 again = %v, %v; want not fresh", fresh, err)
		}
		for id, want := range map[string]bool{"r00": false, "r03": false, "r04": true, "r19": true} {
			if got, err := s.ReportApplied(ctx, "c1", "workloads", id); err != nil || got != want {
				t.Errorf("ReportApplied(%s) = %v, %v; want %v", id, got, err, want)
			}
		}

		// A deleted cluster's reports and workloads go with it.
		if err := s.UpsertWorkloads(ctx, "c1", []store.Workload{{Kind: "pod", Namespace: "a", Name: "p", Doc: []byte(`{}`)}}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutWorkloadState(ctx, store.WorkloadState{ClusterUID: "c1", ReportID: "r19", ReportedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteClusterReports(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		if _, total, _ := s.ListWorkloads(ctx, store.WorkloadFilter{ClusterUID: "c1", Kind: "pod", Limit: 10}); total != 0 {
			t.Errorf("workloads of a deleted cluster: %d", total)
		}
		if _, err := s.WorkloadState(ctx, "c1"); err != store.ErrNotFound {
			t.Errorf("workload state of a deleted cluster: %v, want ErrNotFound", err)
		}
		if applied, _ := s.ReportApplied(ctx, "c1", "workloads", "r19"); applied {
			t.Error("applied reports of a deleted cluster are remembered")
		}
		if n := held("c2", "old"); n != 1 {
			t.Error("deleting c1 dropped c2's pages")
		}
	})
}

func TestWorkloadRows(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		var ws []store.Workload
		for i := range 450 { // more than one statement's batch
			ws = append(ws, store.Workload{Kind: "pod", Namespace: fmt.Sprintf("ns-%d", i%3), Name: fmt.Sprintf("p-%03d", i), Doc: []byte(`{"v":1}`)})
		}
		if err := s.UpsertWorkloads(ctx, "c1", ws); err != nil {
			t.Fatal(err)
		}
		// Upserting replaces; deleting drops only the named ones.
		if err := s.UpsertWorkloads(ctx, "c1", []store.Workload{{Kind: "pod", Namespace: "ns-0", Name: "p-000", Doc: []byte(`{"v":2}`)}}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteWorkloads(ctx, "c1", ws[1:3]); err != nil {
			t.Fatal(err)
		}
		page, total, err := s.ListWorkloads(ctx, store.WorkloadFilter{ClusterUID: "c1", Kind: "pod", Namespaces: []string{"ns-0"}, Limit: 2})
		if err != nil || total != 150 || len(page) != 2 || page[0].Name != "p-000" || string(page[0].Doc) != `{"v":2}` || page[1].Name != "p-003" {
			t.Fatalf("ns-0 = %+v, total %d, %v", page, total, err)
		}
		if _, total, _ := s.ListWorkloads(ctx, store.WorkloadFilter{ClusterUID: "c1", Kind: "pod", Limit: 1}); total != 448 {
			t.Fatalf("pods after deleting 2 of 450: %d", total)
		}
		if _, total, _ := s.ListWorkloads(ctx, store.WorkloadFilter{ClusterUID: "c1", Kind: "deployment", Limit: 1}); total != 0 {
			t.Fatalf("deployments: %d, want 0", total)
		}
		if err := s.DeleteAllWorkloads(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		if _, total, _ := s.ListWorkloads(ctx, store.WorkloadFilter{ClusterUID: "c1", Kind: "pod", Limit: 1}); total != 0 {
			t.Fatalf("pods after DeleteAllWorkloads: %d", total)
		}
	})
}
