package agent

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"k8s.io/utils/clock"

	v1 "github.com/easelhq/easel/api/v1"
)

// Client is the agent's side of the agent protocol without a cluster behind it: the same calls,
// report pages and size limits as the agent's, fed with reports its caller makes up. The fleet
// simulator (test/bench) runs thousands of them as virtual agents, so the load it measures is
// the real agent's. Every method returns the status of the hub's answer — 0 when none came — with
// the error; a paged report's status is its refused page's, or 0 once every page was accepted.
type Client struct {
	a *Agent // only its hub calls: it has no cluster, applier nor loops
}

// NewClient is a client of the hub at hubURLs (its replicas, ParseHubURLs) for one cluster,
// authenticated with its agent token; it moves between the URLs as the agent does. Many clients
// may share hc (its transport's connections); pollWait is the long-poll's wait.
func NewClient(hubURLs []string, clusterUID, token string, hc *http.Client, pollWait time.Duration, log *slog.Logger) (*Client, error) {
	urls, err := ParseHubURLs(hubURLs)
	if err != nil {
		return nil, err
	}
	cfg := Config{HubURLs: urls, ClusterUID: clusterUID, Token: token, PollWait: pollWait, Logger: log}
	return &Client{a: &Agent{cfg: cfg, hubs: newHubs(urls, log), http: hc, clock: clock.RealClock{}, log: log}}, nil
}

// Heartbeat sends a heartbeat with the agent's version.
func (c *Client) Heartbeat(ctx context.Context) (int, error) {
	return c.a.do(ctx, "PUT", "/heartbeat", v1.Heartbeat{AgentVersion: Version}, nil)
}

// Desired long-polls the desired state: 200 with it when the hub's generation or revisions differ
// from these, 304 when nothing changed within the wait.
func (c *Client) Desired(ctx context.Context, generation, nodesRevision, requestsRevision int64) (v1.AgentDesired, int, error) {
	return c.a.poll(ctx, generation, nodesRevision, requestsRevision)
}

// SendNodes sends node report id.
func (c *Client) SendNodes(ctx context.Context, id string, nodes []v1.NodeReport) (int, error) {
	return c.a.sendNodeReport(ctx, id, nodes)
}

// SendUsage sends one usage sample.
func (c *Client) SendUsage(ctx context.Context, report v1.AgentUsageReport) (int, error) {
	return c.a.sendUsage(ctx, report)
}

// SendWorkloads sends workload report id: a delta of the report base when base is set (upserts,
// and items marked Deleted), else a full one. The hub answers 409 to a delta whose base it does
// not hold.
func (c *Client) SendWorkloads(ctx context.Context, id, base string, items []v1.WorkloadItem) (int, error) {
	encoded, err := encodeItems(items)
	if err != nil {
		return 0, err
	}
	pages, err := workloadPages(c.a.log, id, base, encoded)
	if err != nil {
		return 0, err
	}
	return c.a.sendPages(ctx, "/agent/workloads", pages)
}
