package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Heartbeat is the newest sign of life of a cluster's agent, kept in a row of its own: a
// heartbeat writes this row, not the cluster's document. Readers of a cluster take the newer of
// the two (clusters.Cluster.ObserveHeartbeat).
type Heartbeat struct {
	ClusterUID   string
	At           time.Time
	AgentVersion string
}

// HeartbeatQueries keep the agents' heartbeats.
type HeartbeatQueries interface {
	// PutHeartbeat records a heartbeat, unless the cluster's row holds a newer one already.
	PutHeartbeat(ctx context.Context, hb Heartbeat) error
	// Heartbeat returns a cluster's newest heartbeat; the zero Heartbeat if it never sent one.
	Heartbeat(ctx context.Context, clusterUID string) (Heartbeat, error)
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

func (q queries) Heartbeat(ctx context.Context, clusterUID string) (Heartbeat, error) {
	hb := Heartbeat{ClusterUID: clusterUID}
	var at int64
	err := q.queryRow(ctx, `SELECT at, agent_version FROM heartbeats WHERE cluster_uid = ?`, clusterUID).Scan(&at, &hb.AgentVersion)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return hb, nil
	case err != nil:
		return hb, fmt.Errorf("reading the heartbeat of cluster %s: %w", clusterUID, err)
	}
	hb.At = fromMicros(at)
	return hb, nil
}
