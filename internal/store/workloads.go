package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Workload is one workload of a cluster as its agent reported it; Doc is the agent's item.
type Workload struct {
	Kind      string
	Namespace string
	Name      string
	Doc       []byte
}

// WorkloadState is the state of a cluster's workload report.
type WorkloadState struct {
	ClusterUID string
	ReportID   string // the report the stored workloads reflect: the base of the next delta
	Disabled   bool
	ReportedAt time.Time
}

// WorkloadFilter selects one page of a cluster's workloads of one kind, by namespace then name.
type WorkloadFilter struct {
	ClusterUID string
	Kind       string
	Namespaces []string // none: all
	Limit      int
	Offset     int
}

// WorkloadQueries keep each cluster's workloads.
type WorkloadQueries interface {
	// WorkloadState is ErrNotFound until the cluster's agent reported its workloads.
	WorkloadState(ctx context.Context, clusterUID string) (WorkloadState, error)
	PutWorkloadState(ctx context.Context, st WorkloadState) error
	// UpsertWorkloads stores workloads, replacing those of the same kind, namespace and name.
	UpsertWorkloads(ctx context.Context, clusterUID string, ws []Workload) error
	// DeleteWorkloads drops the named workloads (Doc is ignored); absent ones are no error.
	DeleteWorkloads(ctx context.Context, clusterUID string, ws []Workload) error
	// DeleteAllWorkloads drops every workload of a cluster (before a full report).
	DeleteAllWorkloads(ctx context.Context, clusterUID string) error
	// ListWorkloads returns one page and the total number of matches.
	ListWorkloads(ctx context.Context, f WorkloadFilter) ([]Workload, int, error)
}

func (q queries) WorkloadState(ctx context.Context, clusterUID string) (WorkloadState, error) {
	st := WorkloadState{ClusterUID: clusterUID}
	var at int64
	err := q.queryRow(ctx, `SELECT report_id, disabled, reported_at FROM workload_reports WHERE cluster_uid = ?`,
		clusterUID).Scan(&st.ReportID, &st.Disabled, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return st, ErrNotFound
	}
	if err != nil {
		return st, fmt.Errorf("reading the workload report state of %s: %w", clusterUID, err)
	}
	st.ReportedAt = fromMicros(at)
	return st, nil
}

func (q queries) PutWorkloadState(ctx context.Context, st WorkloadState) error {
	_, err := q.exec(ctx, `INSERT INTO workload_reports (cluster_uid, report_id, disabled, reported_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (cluster_uid) DO UPDATE SET report_id = excluded.report_id, disabled = excluded.disabled,
		reported_at = excluded.reported_at`, st.ClusterUID, st.ReportID, st.Disabled, micros(st.ReportedAt))
	if err != nil {
		return fmt.Errorf("recording the workload report state of %s: %w", st.ClusterUID, err)
	}
	return nil
}

// workloadBatch is how many rows one statement writes: few round trips on PostgreSQL, and far
// below both databases' limits on bound parameters.
const workloadBatch = 200

func (q queries) UpsertWorkloads(ctx context.Context, clusterUID string, ws []Workload) error {
	for len(ws) > 0 {
		batch := ws[:min(len(ws), workloadBatch)]
		ws = ws[len(batch):]
		args := make([]any, 0, 5*len(batch))
		for _, w := range batch {
			args = append(args, clusterUID, w.Kind, w.Namespace, w.Name, string(w.Doc))
		}
		_, err := q.exec(ctx, `INSERT INTO workloads (cluster_uid, kind, namespace, name, doc) VALUES `+
			placeholders("(?, ?, ?, ?, ?)", len(batch))+
			` ON CONFLICT (cluster_uid, kind, namespace, name) DO UPDATE SET doc = excluded.doc`, args...)
		if err != nil {
			return fmt.Errorf("storing %d workloads of %s: %w", len(batch), clusterUID, err)
		}
	}
	return nil
}

func (q queries) DeleteWorkloads(ctx context.Context, clusterUID string, ws []Workload) error {
	for len(ws) > 0 {
		batch := ws[:min(len(ws), workloadBatch)]
		ws = ws[len(batch):]
		args := []any{clusterUID}
		for _, w := range batch {
			args = append(args, w.Kind, w.Namespace, w.Name)
		}
		_, err := q.exec(ctx, `DELETE FROM workloads WHERE cluster_uid = ? AND (`+
			strings.TrimSuffix(strings.Repeat("(kind = ? AND namespace = ? AND name = ?) OR ", len(batch)), " OR ")+`)`, args...)
		if err != nil {
			return fmt.Errorf("deleting %d workloads of %s: %w", len(batch), clusterUID, err)
		}
	}
	return nil
}

func (q queries) DeleteAllWorkloads(ctx context.Context, clusterUID string) error {
	if _, err := q.exec(ctx, `DELETE FROM workloads WHERE cluster_uid = ?`, clusterUID); err != nil {
		return fmt.Errorf("deleting the workloads of %s: %w", clusterUID, err)
	}
	return nil
}

func (q queries) ListWorkloads(ctx context.Context, f WorkloadFilter) ([]Workload, int, error) {
	where := `cluster_uid = ? AND kind = ?`
	args := []any{f.ClusterUID, f.Kind}
	if len(f.Namespaces) > 0 {
		where += ` AND namespace IN (` + placeholders("?", len(f.Namespaces)) + `)`
		for _, ns := range f.Namespaces {
			args = append(args, ns)
		}
	}
	var total int
	if err := q.queryRow(ctx, `SELECT COUNT(*) FROM workloads WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting workloads: %w", err)
	}
	rows, err := q.query(ctx, fmt.Sprintf(`SELECT kind, namespace, name, doc FROM workloads WHERE %s
		ORDER BY namespace, name LIMIT %d OFFSET %d`, where, f.Limit, f.Offset), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("listing workloads: %w", err)
	}
	defer rows.Close()
	out := []Workload{}
	for rows.Next() {
		var (
			w   Workload
			doc string
		)
		if err := rows.Scan(&w.Kind, &w.Namespace, &w.Name, &doc); err != nil {
			return nil, 0, err
		}
		w.Doc = []byte(doc)
		out = append(out, w)
	}
	return out, total, rows.Err()
}

// placeholders repeats a row of placeholders n times, comma-separated.
func placeholders(row string, n int) string {
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}
