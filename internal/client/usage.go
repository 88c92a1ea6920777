package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
)

// UsageQuery selects a cluster's usage series.
type UsageQuery struct {
	Kinds        []string // e.g. cpuUsage, memoryUsage; empty means those two
	Start, End   time.Time
	Period       time.Duration // rounded down to whole minutes; zero lets the hub choose
	ControlPlane bool          // add the control-plane nodes to the workers
	Node         string        // one node's series instead
}

// ClusterUsage returns a cluster's usage series (GET /v1/metrics/spectrocluster/{uid}/values).
func (c *Client) ClusterUsage(ctx context.Context, uid string, uq UsageQuery) (*v1.MetricTimeSeries, error) {
	if uid == "" {
		return nil, errEmptyUID
	}
	q := url.Values{}
	if len(uq.Kinds) > 0 {
		q.Set("metricKind", strings.Join(uq.Kinds, ","))
	}
	if !uq.Start.IsZero() {
		q.Set("startTime", uq.Start.UTC().Format(time.RFC3339))
	}
	if !uq.End.IsZero() {
		q.Set("endTime", uq.End.UTC().Format(time.RFC3339))
	}
	if m := int(uq.Period / time.Minute); m > 0 {
		q.Set("period", strconv.Itoa(m))
	}
	if uq.ControlPlane {
		q.Set("includeControlPlaneMachines", "true")
	}
	if uq.Node != "" {
		q.Set("node", uq.Node)
	}
	var out v1.MetricTimeSeries
	if err := c.do(ctx, http.MethodGet, uidPath("/v1/metrics/spectrocluster", uid, "values"), q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
