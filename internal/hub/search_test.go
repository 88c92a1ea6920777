package hub_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/usage"
)

// TestSearchShowsWhatTheClusterShows: the search answers from the clusters' summaries, the
// cluster's own dashboard page from its document, with its newest heartbeat from the heartbeat
// row; the two say the same of the cluster.
func TestSearchShowsWhatTheClusterShows(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		var created v1.UID
		c.must(201, "POST", "/v1/spectroclusters/generic/import", map[string]any{"metadata": map[string]any{
			"name": "edge-1", "labels": map[string]string{"site": "lyon"}}}, &created)
		docBeat := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		h.recordStatus(created.UID, func(cl *clusters.Cluster) {
			cl.Pools = []clusters.Pool{{Name: "cp", ControlPlane: true, Size: 1}, {Name: "workers", Size: 2}}
			cl.Status.State = v1.ClusterStateRunning
			cl.Status.Machines = []clusters.Machine{{Name: "n1", Pool: "cp", Ready: true}, {Name: "n2", Pool: "workers", Ready: true}}
			cl.Status.Nodes = []v1.NodeReport{{Name: "n1", Ready: true}, {Name: "n2", Ready: true}}
			cl.Status.Health = clusters.Health{LastHeartbeat: docBeat, AgentVersion: "1.0.0", State: clusters.HealthUnhealthy,
				Reasons: []string{"NodeCondition: node n2 reports DiskPressure (KubeletHasDiskPressure)"}}
			cl.Status.Usage = usage.State{ReceivedAt: docBeat, Nodes: []v1.NodeUsage{{Name: "n2", CPUUsage: 0.5, CPUAllocatable: 2,
				MemoryUsage: 1 << 30, MemoryAllocatable: 4 << 30}}}
		})
		// A later heartbeat went to the heartbeat row alone.
		rowBeat := docBeat.Add(time.Minute)
		if err := h.store.PutHeartbeat(context.Background(), store.Heartbeat{ClusterUID: created.UID, At: rowBeat, AgentVersion: "1.0.1"}); err != nil {
			t.Fatal(err)
		}

		var page v1.SpectroClustersSummary
		c.must(200, "POST", "/v1/dashboard/spectroclusters/search", map[string]any{}, &page)
		var one v1.SpectroClusterUIDSummary
		c.must(200, "GET", "/v1/dashboard/spectroclusters/"+created.UID, nil, &one)
		if len(page.Items) != 1 || page.Listmeta.Count != 1 {
			t.Fatalf("search found %d clusters (count %d), want the one", len(page.Items), page.Listmeta.Count)
		}
		got := page.Items[0]
		if !reflect.DeepEqual(got.Metadata, one.Metadata) || !reflect.DeepEqual(got.SpecSummary.CloudConfig, one.Spec.CloudConfig) ||
			!reflect.DeepEqual(got.SpecSummary.ClusterProfileTemplates, one.Spec.ClusterProfileTemplates) ||
			got.Status.State != one.Status.State || !reflect.DeepEqual(got.Status.Health, one.Status.Health) ||
			!reflect.DeepEqual(got.Status.Metrics, one.Status.Metrics) {
			t.Fatalf("search shows %+v\nthe cluster shows %+v", got, one)
		}
		if got.Status.Health == nil || !got.Status.Health.LastHeartBeatTimestamp.Equal(rowBeat) || got.Status.Health.AgentVersion != "1.0.1" ||
			got.Status.Health.State != clusters.HealthUnhealthy || got.SpecSummary.CloudConfig.MachinePools[1].HealthyNodeCount != 1 ||
			got.Status.Metrics == nil || got.Status.Metrics.CPU.Usage != 0.5 || got.Metadata.Labels["site"] != "lyon" {
			t.Fatalf("search shows %+v; want the row's heartbeat at %s (agent 1.0.1), Unhealthy, 1 healthy worker, 0.5 cores, label site",
				got, rowBeat)
		}
		// The cluster's project by name, in the project's scope and in the tenant's.
		var tenantPage v1.SpectroClustersSummary
		h.admin().must(200, "POST", "/v1/dashboard/spectroclusters/search", map[string]any{}, &tenantPage)
		for scope, p := range map[string]v1.SpectroClustersSummary{"project": page, "tenant": tenantPage} {
			if len(p.Items) != 1 || p.Items[0].SpecSummary.ProjectMeta.UID != h.defaultPrj || p.Items[0].SpecSummary.ProjectMeta.Name != "default" {
				t.Errorf("in the %s's scope, search shows the project as %+v; want %s named default", scope, p.Items, h.defaultPrj)
			}
		}
	})
}
