package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"hash/fnv"

	"k8s.io/utils/lru"

	"github.com/easelhq/easel/internal/clusters"
)

// ClusterSummary is a cluster as lists show it: its record's columns (Doc is empty) and the
// summary of its document.
type ClusterSummary struct {
	Record
	Summary clusters.Summary
}

// SummaryQueries read the clusters' summaries. The store writes them itself: CreateObject,
// UpdateObject and DeleteObject of a cluster write its summary row and its project's count in the
// same transaction as its document, so no writer can forget them and a list never sees a summary
// older or newer than the document.
type SummaryQueries interface {
	// ListClusterSummaries is ListObjects for clusters (o.Kind is ignored) over their summaries:
	// the same matches in the same order, without the documents. Each summary's health has the
	// newer heartbeat of the summary and the heartbeat row (clusters.Health.ObserveHeartbeat), and
	// its metrics are those of the cluster's current usage row when it has one, read in the same
	// query.
	ListClusterSummaries(ctx context.Context, o ListOptions) ([]ClusterSummary, int, error)
}

const summaryColumns = `uid, alt_uid, tenant_uid, project_uid, name, version, state, category, summary,
	generation, resource_version, created_at, updated_at`

func (q queries) ListClusterSummaries(ctx context.Context, o ListOptions) ([]ClusterSummary, int, error) {
	l, err := q.list("cluster_summaries", o)
	if err != nil || l.none {
		return nil, 0, err
	}
	// One query: the heartbeats and current usage joined (a seek each), and the total as a column
	// (an uncorrelated subquery, run once). A query of 50 heartbeats, and one of the total, were each a tenth of a
	// first page; the total is asked apart only of a page that is empty.
	count, countArgs := countClusters(o, l)
	rows, err := q.query(ctx, "SELECT "+summaryColumns+", heartbeats.at, heartbeats.agent_version, current_usage.received_at, "+
		"current_usage.metrics, ("+count+") FROM cluster_summaries "+
		"LEFT JOIN heartbeats ON heartbeats.cluster_uid = cluster_summaries.uid "+
		"LEFT JOIN current_usage ON current_usage.cluster_uid = cluster_summaries.uid"+l.where+l.order,
		append(countArgs, l.args...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("listing cluster summaries: %w", err)
	}
	defer rows.Close()
	var (
		out   []ClusterSummary
		total int
	)
	for rows.Next() {
		var (
			summary          sql.RawBytes
			created, updated int64
			heartbeat        sql.NullInt64
			agentVersion     sql.NullString
			usageAt          sql.NullInt64
			metrics          sql.RawBytes
		)
		cs := ClusterSummary{Record: Record{Kind: clusters.Kind}}
		r := &cs.Record
		if err := rows.Scan(&r.UID, &r.AltUID, &r.TenantUID, &r.ProjectUID, &r.Name, &r.Version, &r.State, &r.Category,
			&summary, &r.Generation, &r.ResourceVersion, &created, &updated, &heartbeat, &agentVersion, &usageAt, &metrics, &total); err != nil {
			return nil, 0, fmt.Errorf("reading cluster summaries: %w", err)
		}
		r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
		if cs.Summary, err = q.summaries.decode(r, summary, usageAt.Int64, metrics); err != nil {
			return nil, 0, err
		}
		if heartbeat.Valid {
			cs.Summary.Health.ObserveHeartbeat(fromMicros(heartbeat.Int64), agentVersion.String)
		}
		out = append(out, cs)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("listing cluster summaries: %w", err)
	}
	if len(out) == 0 {
		if err := q.queryRow(ctx, count, countArgs...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("counting clusters: %w", err)
		}
	}
	return out, total, nil
}

// summaryCacheSize is how many decoded summaries a store keeps (a summary is a few hundred bytes
// of JSON, decoded about a kilobyte).
const summaryCacheSize = 10_000

// summaryCache keeps the decoded summaries of the clusters listed last, each with the creation
// time and resource version of the document it summarizes and the time of the usage sample whose
// metrics it shows: a listed cluster that did not change since is not decoded again (a dashboard
// asks for the same first page over and over). Only committed summaries are kept: a transaction's
// own write may still be rolled back, and the version it had would then be given to another
// document.
type summaryCache struct{ lru *lru.Cache }

type cachedSummary struct {
	createdAt, resourceVersion, usageAt int64
	summary                             clusters.Summary
}

func newSummaryCache() *summaryCache { return &summaryCache{lru: lru.New(summaryCacheSize)} }

// decode is the summary stored as raw for r's version of its cluster, with the metrics of its
// current usage row (received at usageAt; none if metrics is nil: the document's are kept). c may
// be nil: none kept. Summaries share their maps and slices with the cache: their readers only read
// them.
func (c *summaryCache) decode(r *Record, raw []byte, usageAt int64, metrics []byte) (clusters.Summary, error) {
	key := cachedSummary{createdAt: micros(r.CreatedAt), resourceVersion: r.ResourceVersion, usageAt: usageAt}
	if c != nil {
		if v, ok := c.lru.Get(r.UID); ok {
			if cached := v.(cachedSummary); cached.createdAt == key.createdAt && cached.resourceVersion == key.resourceVersion &&
				cached.usageAt == key.usageAt {
				return cached.summary, nil
			}
		}
	}
	if err := json.Unmarshal(raw, &key.summary); err != nil {
		return key.summary, fmt.Errorf("decoding the summary of cluster %s: %w", r.UID, err)
	}
	if metrics != nil {
		key.summary.Metrics = nil
		if err := json.Unmarshal(metrics, &key.summary.Metrics); err != nil {
			return key.summary, fmt.Errorf("decoding the usage of cluster %s: %w", r.UID, err)
		}
	}
	if c != nil {
		c.lru.Add(r.UID, key)
	}
	return key.summary, nil
}

// countClusters is the query of the total of a list of clusters, and its arguments. Unfiltered
// (the dashboard's and the grid's first page), it sums the kept per-project counts: a COUNT(*)
// reads an index entry per cluster, which over 10,000 clusters cost more than the rest of the page
// together. A filtered list counts its matches over the narrow summaries.
func countClusters(o ListOptions, l listQuery) (string, []any) {
	if len(o.Conditions) > 0 || len(o.AnyOf) > 0 {
		return "SELECT COUNT(*)" + l.from, l.args
	}
	// l.args are the tenant and then the projects, as in l.from.
	query := "SELECT COALESCE(SUM(clusters), 0) FROM cluster_counts WHERE tenant_uid = ?"
	if len(o.ProjectUIDs) > 0 {
		query += " AND project_uid IN (" + placeholders("?", len(o.ProjectUIDs)) + ")"
	}
	return query, l.args
}

// summaryOf is the stored summary of a cluster's document.
func summaryOf(r *Record) (string, error) {
	cl, err := clusters.Decode(r.Doc)
	if err != nil {
		return "", fmt.Errorf("summarizing cluster %s: %w", r.UID, err)
	}
	b, err := json.Marshal(cl.Summary())
	if err != nil {
		return "", fmt.Errorf("summarizing cluster %s: %w", r.UID, err)
	}
	return string(b), nil
}

// insertSummary writes the summary of a new cluster and counts it in its project.
func (q queries) insertSummary(ctx context.Context, r *Record) error {
	if err := q.insertSummaryRow(ctx, r); err != nil {
		return err
	}
	return q.countCluster(ctx, r.TenantUID, r.ProjectUID, r.UID, 1)
}

// insertSummaryRow writes the summary row of a cluster that has none.
func (q queries) insertSummaryRow(ctx context.Context, r *Record) error {
	summary, err := summaryOf(r)
	if err != nil {
		return err
	}
	if _, err := q.exec(ctx, `INSERT INTO cluster_summaries (`+summaryColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.UID, r.AltUID, r.TenantUID, r.ProjectUID, r.Name, r.Version, r.State, r.Category, summary,
		r.Generation, r.ResourceVersion, micros(r.CreatedAt), micros(r.UpdatedAt)); err != nil {
		return fmt.Errorf("writing the summary of cluster %s: %w", r.UID, err)
	}
	return nil
}

// updateSummary rewrites the summary of an updated cluster (r as it is now stored); a cluster
// moved to another project is counted there.
func (q queries) updateSummary(ctx context.Context, r *Record) error {
	summary, err := summaryOf(r)
	if err != nil {
		return err
	}
	const update = `UPDATE cluster_summaries SET alt_uid = ?, project_uid = ?, name = ?, version = ?, state = ?,
		category = ?, summary = ?, generation = ?, resource_version = ?, updated_at = ? WHERE uid = ?`
	args := []any{r.AltUID, r.ProjectUID, r.Name, r.Version, r.State, r.Category, summary, r.Generation,
		r.ResourceVersion, micros(r.UpdatedAt), r.UID}
	// Most updates leave the cluster in its project: one statement.
	res, err := q.exec(ctx, update+` AND project_uid = ?`, append(args, r.ProjectUID)...)
	if err != nil {
		return fmt.Errorf("writing the summary of cluster %s: %w", r.UID, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	var from string
	if err := q.queryRow(ctx, `SELECT project_uid FROM cluster_summaries WHERE uid = ?`, r.UID).Scan(&from); err != nil {
		return fmt.Errorf("reading the summary of cluster %s: %w", r.UID, err)
	}
	if err := q.countCluster(ctx, r.TenantUID, from, r.UID, -1); err != nil {
		return err
	}
	if err := q.countCluster(ctx, r.TenantUID, r.ProjectUID, r.UID, 1); err != nil {
		return err
	}
	if _, err := q.exec(ctx, update, args...); err != nil {
		return fmt.Errorf("writing the summary of cluster %s: %w", r.UID, err)
	}
	return nil
}

// deleteSummary drops a deleted cluster's summary and its count.
func (q queries) deleteSummary(ctx context.Context, uid string) error {
	var tenant, project string
	err := q.queryRow(ctx, `DELETE FROM cluster_summaries WHERE uid = ? RETURNING tenant_uid, project_uid`, uid).Scan(&tenant, &project)
	if err != nil {
		return fmt.Errorf("deleting the summary of cluster %s: %w", uid, err)
	}
	return q.countCluster(ctx, tenant, project, uid, -1)
}

// countShards is how many rows a project's count is spread over.
const countShards = 16

// countCluster adds delta to the count of a project's clusters, in the shard the cluster's uid
// picks.
func (q queries) countCluster(ctx context.Context, tenantUID, projectUID, clusterUID string, delta int) error {
	h := fnv.New32a()
	h.Write([]byte(clusterUID))
	shard := h.Sum32() % countShards
	if _, err := q.exec(ctx, `INSERT INTO cluster_counts (tenant_uid, project_uid, shard, clusters) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_uid, project_uid, shard) DO UPDATE SET clusters = cluster_counts.clusters + excluded.clusters`,
		tenantUID, projectUID, int64(shard), delta); err != nil {
		return fmt.Errorf("counting the clusters of project %q: %w", projectUID, err)
	}
	return nil
}

// backfillSummaries writes the summary of every cluster stored before summaries were kept
// (migration 0005, whose SQL made the table and the counts).
func backfillSummaries(ctx context.Context, q queries) error {
	return eachCluster(ctx, q, "summarizing them", func(r *Record) error { return q.insertSummaryRow(ctx, r) })
}

// eachCluster calls fn with every stored cluster, reading a page of documents at a time (a
// migration's step, doing what; it names the errors).
func eachCluster(ctx context.Context, q queries, doing string, fn func(r *Record) error) error {
	const page = 500
	after := ""
	for {
		rows, err := q.query(ctx, `SELECT `+objectColumns+` FROM objects WHERE kind = ? AND uid > ? ORDER BY uid LIMIT ?`,
			clusters.Kind, after, page)
		if err != nil {
			return fmt.Errorf("reading clusters, %s: %w", doing, err)
		}
		var recs []Record
		for rows.Next() {
			r, err := scanRecord(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("reading clusters, %s: %w", doing, err)
			}
			recs = append(recs, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("reading clusters, %s: %w", doing, err)
		}
		for i := range recs {
			if err := fn(&recs[i]); err != nil {
				return err
			}
		}
		if len(recs) < page {
			return nil
		}
		after = recs[len(recs)-1].UID
	}
}
