package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/testenv/pgtest"
	"github.com/easelhq/easel/internal/usage"
)

// BenchmarkUsageRetention measures what a cluster's usage series take in the store over the
// days: 3 clusters of 10 nodes, a sample a minute each (as their agents send them) for 35 days of
// a simulated clock, on each store. It logs the bytes per cluster at the end of every day and
// reports them after 1, 30 and 35 days: retention keeps them flat after 30.
//
//	go test ./internal/store -run '^$' -bench UsageRetention -benchtime 1x
func BenchmarkUsageRetention(b *testing.B) {
	for _, db := range []struct{ name, url string }{
		{"sqlite", filepath.Join(b.TempDir(), "easel.db")},
		{"postgres", pgtest.DSN(b)},
	} {
		b.Run(db.name, func(b *testing.B) {
			for range b.N {
				usageRetention(b, db.url)
			}
		})
	}
}

func usageRetention(b *testing.B, url string) {
	const (
		clusters = 3
		nodes    = 10
		days     = 35
	)
	ctx := context.Background()
	st, err := Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	s := st.(*sqlStore)
	defer s.Close()
	base, err := s.usedBytes(ctx)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	last := make([]time.Time, clusters) // each cluster's previous sample
	perCluster := func() float64 {
		used, err := s.usedBytes(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return float64(used-base) / clusters
	}
	for day := range days {
		for hour := range 24 {
			for c := range clusters {
				uid := fmt.Sprintf("cluster-%d", c)
				// An hour of one cluster's samples per transaction, to simulate days in minutes:
				// the rows written are those of a sample per transaction.
				err := s.Tx(ctx, func(q Queries) error {
					for minute := range 60 {
						at := start.Add(time.Duration(((day*24+hour)*60+minute)*60+c) * time.Second)
						if err := q.RecordUsage(ctx, uid, at, last[c], usage.Samples(nodeUsage(nodes))); err != nil {
							return err
						}
						last[c] = at
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := s.vacuumUsage(ctx); err != nil {
			b.Fatal(err)
		}
		bytes := perCluster()
		b.Logf("day %d: %.2f MB a cluster", day+1, bytes/1e6)
		switch day + 1 {
		case 1:
			b.ReportMetric(bytes/1e6, "MB/cluster@1d")
		case 30:
			b.ReportMetric(bytes/1e6, "MB/cluster@30d")
		case days:
			b.ReportMetric(bytes/1e6, "MB/cluster@35d")
		}
	}
}

// nodeUsage is one sample of a cluster's nodes: the first a control plane, figures that vary.
func nodeUsage(n int) []v1.NodeUsage {
	out := make([]v1.NodeUsage, n)
	for i := range out {
		role := "worker"
		if i == 0 {
			role = usage.RoleControlPlane
		}
		out[i] = v1.NodeUsage{Name: fmt.Sprintf("node-%d", i), Role: role, CPUUsage: 4 * rand.Float64(), CPURequest: 2,
			CPUAllocatable: 4, MemoryUsage: 16e9 * rand.Float64(), MemoryRequest: 8e9, MemoryAllocatable: 16e9,
			DiskUsage: 100e9 * rand.Float64(), DiskCapacity: 200e9}
	}
	return out
}

// usedBytes is what the store's data takes: SQLite's pages in use (free pages are reused, the
// file keeps its largest size), PostgreSQL's relations.
func (s *sqlStore) usedBytes(ctx context.Context) (int64, error) {
	var used int64
	query := `SELECT (page_count - freelist_count) * page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()`
	if s.d.name == "postgres" {
		query = `SELECT SUM(pg_total_relation_size(oid)) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace`
	}
	err := s.db.QueryRowContext(ctx, query).Scan(&used)
	return used, err
}

// vacuumUsage does what PostgreSQL's autovacuum does over a day (the simulated day passes in
// seconds): it makes the space of the deleted points reusable. SQLite reuses it at once.
func (s *sqlStore) vacuumUsage(ctx context.Context) error {
	if s.d.name != "postgres" {
		return nil
	}
	_, err := s.db.ExecContext(ctx, `VACUUM usage_points`)
	return err
}
