package clusters

import (
	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/usage"
)

// Summary is what the lists of clusters show of one (the dashboard search, the console's grid).
// The store keeps it beside the cluster's document, written with every write of the document, so
// that a page of a list reads fifty small summaries instead of decoding fifty whole documents.
type Summary struct {
	Labels         map[string]string `json:"labels,omitempty"`
	Annotations    map[string]string `json:"annotations,omitempty"`
	CloudType      string            `json:"cloudType"`
	CloudConfigUID string            `json:"cloudConfigUid"`
	// Profiles are the attached profiles without their pack values (lists show no values).
	Profiles []ProfileRef  `json:"profiles"`
	Pools    []PoolSummary `json:"pools"`
	State    string        `json:"state"`
	// Health is what the document holds; a reader takes the newer heartbeat of the heartbeat row
	// (Health.ObserveHeartbeat), as for the document itself.
	Health Health `json:"health"`
	// Nodes and ReadyNodes count the nodes the agent last reported.
	Nodes      int `json:"nodes"`
	ReadyNodes int `json:"readyNodes"`
	// InMaintenance: a machine is in maintenance mode.
	InMaintenance bool `json:"inMaintenance,omitempty"`
	// Metrics are the workers' current usage figures (usage.Metrics); nil before the first sample.
	Metrics *v1.ClusterMetrics `json:"metrics,omitempty"`
}

// PoolSummary is a machine pool as lists show it: its size and how many of its machines are Ready.
type PoolSummary struct {
	Name         string `json:"name"`
	ControlPlane bool   `json:"controlPlane,omitempty"`
	Size         int    `json:"size"`
	Healthy      int    `json:"healthy"`
}

// Summary is what lists show of the cluster.
func (c Cluster) Summary() Summary {
	s := Summary{Labels: c.Labels, Annotations: c.Annotations, CloudType: c.CloudType, CloudConfigUID: c.CloudConfigUID,
		Profiles: make([]ProfileRef, 0, len(c.Profiles)), Pools: c.PoolSummaries(), State: c.Status.State,
		Health: c.Status.Health, Nodes: len(c.Status.Nodes),
		Metrics: usage.Metrics(c.Status.Usage.Nodes, c.Status.Usage.ReceivedAt, false)}
	for _, ref := range c.Profiles {
		ref.PackValues = nil
		s.Profiles = append(s.Profiles, ref)
	}
	for _, n := range c.Status.Nodes {
		if n.Ready {
			s.ReadyNodes++
		}
	}
	for i := range c.Status.Machines {
		if c.Status.Machines[i].InMaintenance() {
			s.InMaintenance = true
		}
	}
	return s
}

// PoolSummaries are the cluster's pools, each with the count of its Ready machines.
func (c Cluster) PoolSummaries() []PoolSummary {
	out := make([]PoolSummary, 0, len(c.Pools))
	for _, p := range c.Pools {
		healthy := 0
		for _, m := range c.Status.Machines {
			if m.Pool == p.Name && m.Ready {
				healthy++
			}
		}
		out = append(out, PoolSummary{Name: p.Name, ControlPlane: p.ControlPlane, Size: p.Size, Healthy: healthy})
	}
	return out
}
