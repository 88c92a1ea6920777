package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/easelhq/easel/internal/usage"
)

// Heartbeat is the newest sign of life of a cluster's agent, kept in a row of its own: a
// heartbeat writes this row, not the cluster's document. Readers of a cluster take the newer of
// the two (clusters.Cluster.ObserveHeartbeat).
type Heartbeat struct {
	ClusterUID   string
	At           time.Time
	AgentVersion string
}

// Live is what a cluster's agent said last, kept beside the cluster's document: its newest
// heartbeat (the zero Heartbeat if none) and its current usage (nil before the first sample).
type Live struct {
	Heartbeat Heartbeat
	Usage     *usage.State
}

// HeartbeatQueries keep the agents' heartbeats.
type HeartbeatQueries interface {
	// PutHeartbeat records a heartbeat, unless the cluster's row holds a newer one already.
	PutHeartbeat(ctx context.Context, hb Heartbeat) error
	// Live returns a cluster's newest heartbeat and current usage, in one query.
	Live(ctx context.Context, clusterUID string) (Live, error)
}

func (q queries) PutHeartbeat(ctx context.Context, hb Heartbeat) error {
	_, err := q.exec(ctx, `INSERT INTO heartbeats (cluster_uid, at, agent_version) VALUES (?, ?, ?)
		ON CONFLICT (cluster_uid) DO UPDATE SET at = excluded.at, agent_version = excluded.agent_version
		WHERE excluded.at > heartbeats.at`, hb.ClusterUID, micros(hb.At), hb.AgentVersion)
	if err != nil {
		return fmt.Errorf("recording the heartbeat of cluster %s: %w", hb.ClusterUID, err)
	}
	return nil
}

func (q queries) Live(ctx context.Context, clusterUID string) (Live, error) {
	live := Live{Heartbeat: Heartbeat{ClusterUID: clusterUID}}
	var (
		at           sql.NullInt64
		agentVersion sql.NullString
		state        sql.RawBytes
	)
	rows, err := q.query(ctx, `SELECT heartbeats.at, heartbeats.agent_version, current_usage.usage_state
		FROM (SELECT CAST(? AS TEXT) AS uid) asked
		LEFT JOIN heartbeats ON heartbeats.cluster_uid = asked.uid
		LEFT JOIN current_usage ON current_usage.cluster_uid = asked.uid`, clusterUID)
	if err != nil {
		return live, fmt.Errorf("reading what the agent of cluster %s said last: %w", clusterUID, err)
	}
	defer rows.Close()
	if !rows.Next() { // one row always, unless the query failed
		return live, fmt.Errorf("reading what the agent of cluster %s said last: %w", clusterUID, cmp.Or(rows.Err(), sql.ErrNoRows))
	}
	if err := rows.Scan(&at, &agentVersion, &state); err != nil {
		return live, fmt.Errorf("reading what the agent of cluster %s said last: %w", clusterUID, err)
	}
	if at.Valid {
		live.Heartbeat.At, live.Heartbeat.AgentVersion = fromMicros(at.Int64), agentVersion.String
	}
	if state != nil { // decoded before the next row or the close, which reuse its bytes
		live.Usage = new(usage.State)
		if err := json.Unmarshal(state, live.Usage); err != nil {
			return live, fmt.Errorf("decoding the usage of cluster %s: %w", clusterUID, err)
		}
	}
	return live, nil
}
