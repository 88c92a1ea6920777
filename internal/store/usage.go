package store

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
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

// RecordUsage adds one sample taken at `at` to the minute points of every series it names.
// previous is when the cluster's sample before it was taken (zero for its first): once an hour,
// a sample rolls the minute points of the hours before its own up into hour points and drops the
// cluster's points past their retention (rollUpUsage). A sample writes one row per
// series, not two and a prune: with a point per series and resolution written by every sample, a
// usage sample was the largest part of what a fleet's agents cost the hub.
func (q queries) RecordUsage(ctx context.Context, clusterUID string, at, previous time.Time, samples map[string]usage.Values) error {
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
	step := int64(UsageResolutions[0].Step / time.Second)
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
	// A cluster's hours are rolled up at a moment of the hour of its own (its uid's), so that a
	// fleet's clusters are not all rolled up in the hour's first minute. The hours rolled up are
	// those since the hour the previous sample's period began: an hour rolled up twice is made
	// again from the same minute points, which are dropped only after a day.
	hour := int64(UsageResolutions[1].Step / time.Second)
	h := fnv.New32a()
	h.Write([]byte(clusterUID))
	offset := int64(h.Sum32()) % hour
	period := func(t time.Time) int64 { return (t.Unix() - offset) / hour }
	if !previous.IsZero() && period(previous) < period(at) {
		began := period(previous)*hour + offset
		return q.rollUpUsage(ctx, clusterUID, began/hour*hour, at.Unix()/hour*hour, at)
	}
	return nil
}

// rollUpUsage makes the hour points of the hours in [from, to) (Unix seconds) from their minute
// points, for every series of the cluster, and drops the points past their retention. The hour
// points it writes replace any there: the minute points, kept a day, hold every sample of their
// hour. A node gone from the cluster is among its series as long as it has points, so its points
// expire too.
func (q queries) rollUpUsage(ctx context.Context, clusterUID string, from, to int64, at time.Time) error {
	series, err := q.usageSeries(ctx, clusterUID)
	if err != nil {
		return err
	}
	minutes, hours := UsageResolutions[0], UsageResolutions[1]
	var set []string
	for _, col := range strings.Split(usageColumns, ", ") {
		set = append(set, fmt.Sprintf("%[1]s = excluded.%[1]s", col))
	}
	for chunk := range slices.Chunk(series, usageRowsPerStatement) {
		in := placeholders("?", len(chunk))
		keys := []any{clusterUID}
		for _, name := range chunk {
			keys = append(keys, name)
		}
		// WHERE before ON CONFLICT: SQLite's upsert needs it to parse an INSERT … SELECT.
		if _, err := q.exec(ctx, `INSERT INTO usage_points (cluster_uid, series, step, ts, samples, `+usageColumns+`)
			SELECT cluster_uid, series, `+fmt.Sprint(int64(hours.Step/time.Second))+`, `+means(hours.Step)+`
			FROM usage_points WHERE cluster_uid = ? AND series IN (`+in+`) AND step = ? AND ts >= ? AND ts < ?
			GROUP BY cluster_uid, series, `+bucketOf(hours.Step)+`
			ON CONFLICT (cluster_uid, series, step, ts) DO UPDATE SET `+strings.Join(set, ", ")+`, samples = excluded.samples`,
			slices.Concat(keys, []any{int64(minutes.Step / time.Second), from, to})...); err != nil {
			return fmt.Errorf("rolling the usage of cluster %s up into hours: %w", clusterUID, err)
		}
		// A seek per series and resolution on the primary key: a delete by the cluster alone
		// would read every point it keeps (some 26,000 for a 10-node cluster).
		for _, res := range UsageResolutions {
			if _, err := q.exec(ctx, `DELETE FROM usage_points WHERE cluster_uid = ? AND series IN (`+in+`) AND step = ? AND ts < ?`,
				slices.Concat(keys, []any{int64(res.Step / time.Second), at.Add(-res.Retention).Unix()})...); err != nil {
				return fmt.Errorf("dropping old usage points: %w", err)
			}
		}
	}
	return nil
}

// bucketOf is the SQL of the start of a point's bucket at a coarser resolution (step).
func bucketOf(step time.Duration) string {
	return fmt.Sprintf("ts - ts %% %d", int64(step/time.Second))
}

// means is the SQL of the columns of the points of a coarser resolution (step) made from finer
// ones, grouped by bucketOf(step): the bucket, the samples and each value's mean over every sample.
func means(step time.Duration) string {
	cols := []string{bucketOf(step), "CAST(SUM(samples) AS BIGINT)"}
	for _, col := range strings.Split(usageColumns, ", ") {
		cols = append(cols, fmt.Sprintf("SUM(%s * samples) / CAST(SUM(samples) AS DOUBLE PRECISION)", col))
	}
	return strings.Join(cols, ", ")
}

// usageSeries is the names of the cluster's series, read by skipping from one to the next on the
// primary key: a seek per series, not a read of every point.
func (q queries) usageSeries(ctx context.Context, clusterUID string) ([]string, error) {
	rows, err := q.query(ctx, `WITH RECURSIVE s(name) AS (
			SELECT MIN(series) FROM usage_points WHERE cluster_uid = ?
			UNION ALL
			SELECT (SELECT MIN(series) FROM usage_points WHERE cluster_uid = ? AND series > s.name) FROM s WHERE s.name IS NOT NULL
		) SELECT name FROM s WHERE name IS NOT NULL`, clusterUID, clusterUID)
	if err != nil {
		return nil, fmt.Errorf("listing the usage series of cluster %s: %w", clusterUID, err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("listing the usage series of cluster %s: %w", clusterUID, err)
		}
		names = append(names, name)
	}
	return names, rows.Err()
}

// UsagePoints returns a series' points at one resolution in [from, to), oldest first. The hours
// not rolled up yet (since the cluster's latest sample's hour began) are the means of their
// minute points.
func (q queries) UsagePoints(ctx context.Context, clusterUID, series string, step time.Duration, from, to time.Time) ([]UsagePoint, error) {
	end := to.Add(time.Second - 1).Unix() // to rounded up: a bucket that began in to's second counts
	sec := int64(step / time.Second)
	out, err := q.usagePoints(ctx, series, step, `SELECT ts, samples, `+usageColumns+` FROM usage_points
		WHERE cluster_uid = ? AND series = ? AND step = ? AND ts >= ? AND ts < ? ORDER BY ts`,
		clusterUID, series, sec, from.Unix(), end)
	if err != nil || step != UsageResolutions[1].Step {
		return out, err
	}
	start := from.Unix()
	if n := len(out); n > 0 {
		start = max(start, out[n-1].At.Unix()+sec)
	}
	start = (start + sec - 1) / sec * sec // the first hour that begins at or after it
	recent, err := q.usagePoints(ctx, series, step, `SELECT `+means(step)+`
		FROM usage_points WHERE cluster_uid = ? AND series = ? AND step = ? AND ts >= ? AND `+bucketOf(step)+` < ?
		GROUP BY `+bucketOf(step)+` ORDER BY 1`,
		clusterUID, series, int64(UsageResolutions[0].Step/time.Second), start, end)
	return append(out, recent...), err
}

// usagePoints reads the points a query selects: the bucket's start, its samples and its values.
func (q queries) usagePoints(ctx context.Context, series string, step time.Duration, query string, args ...any) ([]UsagePoint, error) {
	rows, err := q.query(ctx, query, args...)
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
