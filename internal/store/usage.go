package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/usage"
)

// UsageResolution is a resolution usage series are kept at, and for how long.
type UsageResolution struct {
	Step      time.Duration
	Retention time.Duration
}

// UsageResolutions: 1-minute points for a day and 1-hour points for 30 days.
var UsageResolutions = []UsageResolution{{time.Minute, 24 * time.Hour}, {time.Hour, 30 * 24 * time.Hour}}

// UsagePoint is one bucket of a series: the mean of the samples that fell in [At, At+Step).
type UsagePoint struct {
	Series  string
	Step    time.Duration
	At      time.Time
	Samples int64
	Values  usage.Values
}

const usageColumns = `cpu_usage, cpu_request, cpu_total, memory_usage, memory_request, memory_total, disk_usage, disk_total`

// usageRowsPerStatement bounds one multi-row upsert (13 parameters a row, far below both
// databases' limits).
const usageRowsPerStatement = 500

// RecordUsage adds one sample taken at `at` to every series it names, at every resolution, and
// drops the cluster's points older than their retention.
func (q queries) RecordUsage(ctx context.Context, clusterUID string, at time.Time, samples map[string]usage.Values) error {
	names := make([]string, 0, len(samples))
	for name := range samples {
		names = append(names, name)
	}
	slices.Sort(names) // the same lock order in every transaction
	var set []string
	for _, col := range strings.Split(usageColumns, ", ") {
		set = append(set, fmt.Sprintf("%[1]s = (usage_points.%[1]s * usage_points.samples + excluded.%[1]s) / (usage_points.samples + 1)", col))
	}
	conflict := ` ON CONFLICT (cluster_uid, series, step, ts) DO UPDATE SET ` + strings.Join(set, ", ") +
		`, samples = usage_points.samples + 1`
	for _, res := range UsageResolutions {
		step := int64(res.Step / time.Second)
		bucket := at.Unix() / step * step
		for chunk := range slices.Chunk(names, usageRowsPerStatement) {
			rows := make([]string, len(chunk))
			args := make([]any, 0, 12*len(chunk))
			for i, name := range chunk {
				v := samples[name]
				rows[i] = "(?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)"
				args = append(args, clusterUID, name, step, bucket, v.CPUUsage, v.CPURequest, v.CPUTotal,
					v.MemoryUsage, v.MemoryRequest, v.MemoryTotal, v.DiskUsage, v.DiskTotal)
			}
			if _, err := q.exec(ctx, `INSERT INTO usage_points (cluster_uid, series, step, ts, samples, `+usageColumns+`)
				VALUES `+strings.Join(rows, ", ")+conflict, args...); err != nil {
				return fmt.Errorf("recording usage of cluster %s: %w", clusterUID, err)
			}
		}
	}
	return q.pruneUsage(ctx, clusterUID, at, names)
}

// pruneUsage drops the points past their retention. With every sample, the old minute points of
// the series it names go: a seek per series on the primary key, which a delete by the cluster
// alone is not (it reads every point the cluster keeps, about 26,000 for a 10-node cluster after a
// day, with each sample). With the sample in each hour's first minute, every series of the cluster
// is pruned at every resolution, so the series of a node gone from the cluster go too.
func (q queries) pruneUsage(ctx context.Context, clusterUID string, at time.Time, series []string) error {
	if at.Unix()%3600 < 60 {
		var expired []string
		args := []any{clusterUID}
		for _, res := range UsageResolutions {
			expired = append(expired, "(step = ? AND ts < ?)")
			args = append(args, int64(res.Step/time.Second), at.Add(-res.Retention).Unix())
		}
		if _, err := q.exec(ctx, `DELETE FROM usage_points WHERE cluster_uid = ? AND (`+strings.Join(expired, " OR ")+`)`, args...); err != nil {
			return fmt.Errorf("dropping old usage points: %w", err)
		}
		return nil
	}
	minutes := UsageResolutions[0]
	for chunk := range slices.Chunk(series, usageRowsPerStatement) {
		args := []any{clusterUID}
		for _, name := range chunk {
			args = append(args, name)
		}
		if _, err := q.exec(ctx, `DELETE FROM usage_points WHERE cluster_uid = ? AND series IN (`+placeholders("?", len(chunk))+`)
			AND step = ? AND ts < ?`, append(args, int64(minutes.Step/time.Second), at.Add(-minutes.Retention).Unix())...); err != nil {
			return fmt.Errorf("dropping old usage points: %w", err)
		}
	}
	return nil
}

// UsagePoints returns a series' points at one resolution in [from, to), oldest first.
func (q queries) UsagePoints(ctx context.Context, clusterUID, series string, step time.Duration, from, to time.Time) ([]UsagePoint, error) {
	rows, err := q.query(ctx, `SELECT ts, samples, `+usageColumns+` FROM usage_points
		WHERE cluster_uid = ? AND series = ? AND step = ? AND ts >= ? AND ts < ? ORDER BY ts`,
		clusterUID, series, int64(step/time.Second), from.Unix(), to.Add(time.Second-1).Unix()) // to rounded up: a bucket that began in to's second counts
	if err != nil {
		return nil, fmt.Errorf("reading usage of %s: %w", series, err)
	}
	defer rows.Close()
	var out []UsagePoint
	for rows.Next() {
		p := UsagePoint{Series: series, Step: step}
		var ts int64
		v := &p.Values
		if err := rows.Scan(&ts, &p.Samples, &v.CPUUsage, &v.CPURequest, &v.CPUTotal, &v.MemoryUsage, &v.MemoryRequest,
			&v.MemoryTotal, &v.DiskUsage, &v.DiskTotal); err != nil {
			return nil, fmt.Errorf("reading usage of %s: %w", series, err)
		}
		p.At = time.Unix(ts, 0).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeleteUsage drops every series of a cluster (when the cluster is deleted).
func (q queries) DeleteUsage(ctx context.Context, clusterUID string) error {
	for _, table := range []string{"usage_points", "current_usage"} {
		if _, err := q.exec(ctx, `DELETE FROM `+table+` WHERE cluster_uid = ?`, clusterUID); err != nil {
			return fmt.Errorf("deleting usage of %s: %w", clusterUID, err)
		}
	}
	return nil
}

// The current usage has a row of its own (current_usage): a sample rewrites it, not the cluster's
// document, which at 5,000 clusters was a fifth of the hub's CPU. Readers of a cluster take it
// (Live), and lists its metrics column.
func (q queries) PutCurrentUsage(ctx context.Context, clusterUID string, st usage.State) error {
	state, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encoding the usage of cluster %s: %w", clusterUID, err)
	}
	metrics, err := json.Marshal(usage.Metrics(st.Nodes, st.ReceivedAt, false))
	if err != nil {
		return fmt.Errorf("encoding the usage of cluster %s: %w", clusterUID, err)
	}
	if _, err := q.exec(ctx, `INSERT INTO current_usage (cluster_uid, received_at, usage_state, metrics) VALUES (?, ?, ?, ?)
		ON CONFLICT (cluster_uid) DO UPDATE SET received_at = excluded.received_at, usage_state = excluded.usage_state, metrics = excluded.metrics`,
		clusterUID, micros(st.ReceivedAt), string(state), string(metrics)); err != nil {
		return fmt.Errorf("recording the usage of cluster %s: %w", clusterUID, err)
	}
	return nil
}

// backfillCurrentUsage gives every cluster stored before current usage had its row (migration
// 0008) a row with its document's usage.
func backfillCurrentUsage(ctx context.Context, q queries) error {
	return eachCluster(ctx, q, "keeping their usage apart", func(r *Record) error {
		cl, err := clusters.Decode(r.Doc)
		if err != nil || cl.Status.Usage.ReceivedAt.IsZero() {
			return err
		}
		return q.PutCurrentUsage(ctx, r.UID, cl.Status.Usage)
	})
}
