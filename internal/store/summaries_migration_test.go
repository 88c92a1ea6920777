package store

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/testenv/pgtest"
)

// TestMigrationSummarizesExistingClusters takes a store back to before migration 0005 (clusters
// stored, no summaries, no counts) and migrates it again: every cluster gets the summary of its
// document and every project its count.
func TestMigrationSummarizesExistingClusters(t *testing.T) {
	pgtest.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		opened, err := Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		s := opened.(*sqlStore)
		defer s.Close()
		// More than a page of the backfill (500), in two projects, with a profile and a state each.
		for i := range 503 {
			cl := clusters.Cluster{CloudType: "generic", CloudConfigUID: fmt.Sprintf("cc%04d", i),
				Profiles: []clusters.ProfileRef{{UID: "p", Name: "infra", Version: fmt.Sprint(i)}},
				Status:   clusters.Status{State: []string{v1.ClusterStatePending, v1.ClusterStateRunning}[i%2]}}
			rec := &Record{Kind: clusters.Kind, UID: fmt.Sprintf("c%04d", i), TenantUID: "t1",
				ProjectUID: []string{"p1", "p2"}[i%2], Name: fmt.Sprintf("n%04d", i), State: cl.Status.State,
				Category: cl.CloudType, Doc: cl.Encode()}
			if err := s.CreateObject(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
		for _, stmt := range []string{`DROP TABLE cluster_summaries`, `DROP TABLE cluster_counts`,
			`DELETE FROM schema_migrations WHERE version = 5`} {
			if _, err := s.db.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		if err := s.migrate(ctx); err != nil {
			t.Fatal(err)
		}

		for _, project := range []string{"p1", "p2"} {
			sums, total, err := s.ListClusterSummaries(ctx, ListOptions{TenantUID: "t1", ProjectUIDs: []string{project}})
			if err != nil {
				t.Fatal(err)
			}
			if len(sums) != 251+(map[string]int{"p1": 1}[project]) || total != len(sums) {
				t.Fatalf("%s: %d summaries, total %d; want every cluster of the project", project, len(sums), total)
			}
			for _, cs := range sums {
				rec, err := s.GetObject(ctx, clusters.Kind, cs.UID)
				if err != nil {
					t.Fatal(err)
				}
				cl, err := clusters.Decode(rec.Doc)
				if err != nil {
					t.Fatal(err)
				}
				rec.Doc = nil
				if !reflect.DeepEqual(cs.Record, rec) || !reflect.DeepEqual(cs.Summary, cl.Summary()) {
					t.Fatalf("backfilled %+v, want the document's %+v %+v", cs, rec, cl.Summary())
				}
			}
		}
	})
}
