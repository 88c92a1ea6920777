package hub_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/secret"
)

func TestMaintenanceMode(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		ctx := context.Background()
		c := h.admin().in(h.defaultPrj)
		prof := c.publishedProfile("base")
		uid, other := c.createCluster("mine", prof), c.createCluster("other", prof)
		// The machines the engine would have recorded: one control plane, two workers.
		cl := h.recordStatus(uid, func(cl *clusters.Cluster) {
			now := time.Now()
			cl.Status.Machines = []clusters.Machine{
				{UID: "m-cp", Name: "cp-1", Pool: "cp", ControlPlane: true, CreatedAt: now, Ready: true},
				{UID: "m-w1", Name: "workers-1", Pool: "workers", CreatedAt: now, Ready: true},
				{UID: "m-w2", Name: "workers-2", Pool: "workers", CreatedAt: now, Ready: true},
			}
		})
		token, err := secret.IssueAgentToken(ctx, h.store, mustTenant(t, h), uid)
		if err != nil {
			t.Fatal(err)
		}
		agent := func(method, path string, body any) (int, string) {
			status, data, _ := client{h: h}.do(method, path, body, "Authorization", "Bearer "+token)
			return status, string(data)
		}
		machines := "/v1/cloudconfigs/local/" + cl.CloudConfigUID + "/machinePools/"
		userPath := func(pool, m string) string { return machines + pool + "/machines/" + m + "/maintenance" }
		machine := func(pool, m string) map[string]any {
			var out struct {
				Status struct{ MaintenanceStatus map[string]any }
			}
			c.must(200, "GET", "/v1/cloudconfigs/cloudTypes/local/"+cl.CloudConfigUID+"/machinePools/"+pool+"/machines/"+m, nil, &out)
			return out.Status.MaintenanceStatus
		}

		c.must(204, "PUT", userPath("workers", "m-w1"), map[string]string{"action": "cordon"}, nil)
		if st := machine("workers", "m-w1"); st["action"] != "cordon" || st["state"] != "Initiated" {
			t.Fatalf("maintenance status after cordon = %v", st)
		}
		// The agent's desired state names the node operation, and where to report it.
		status, body := agent("GET", "/v1/spectroclusters/"+uid+"/agent/desired?generation=1&nodes=0&wait=1s", nil)
		var d struct {
			NodesRevision int64
			Nodes         []struct{ Node, Machine, Pool, Action, StatusPath string }
		}
		json.Unmarshal([]byte(body), &d)
		if status != 200 || d.NodesRevision != 1 || len(d.Nodes) != 1 || d.Nodes[0].Node != "workers-1" || d.Nodes[0].Action != "cordon" ||
			d.Nodes[0].StatusPath != userPath("workers", "m-w1")+"/status" {
			t.Fatalf("desired after cordon = %d %s", status, body)
		}
		if status, _ := agent("GET", "/v1/spectroclusters/"+uid+"/agent/desired?generation=1&nodes=1&wait=50ms", nil); status != 304 {
			t.Fatalf("long-poll at the current revision: %d; want 304", status)
		}

		// Refused where no other node could take the workloads; bad input changes nothing.
		c.fails(409, "Conflict", "PUT", userPath("workers", "m-w2"), map[string]string{"action": "cordon"}, "last schedulable worker")
		c.fails(409, "Conflict", "PUT", userPath("cp", "m-cp"), map[string]string{"action": "cordon"}, "only control-plane node")
		c.fails(400, "InvalidArgument", "PUT", userPath("workers", "m-w2"), map[string]string{"action": "drain"}, "cordon or uncordon")
		c.fails(404, "ResourceNotFound", "PUT", userPath("workers", "m-nope"), map[string]string{"action": "cordon"})
		c.fails(404, "ResourceNotFound", "PUT", userPath("cp", "m-w2"), map[string]string{"action": "cordon"})
		if st := machine("workers", "m-w2"); len(st) != 0 {
			t.Fatalf("refused maintenance left a status: %v", st)
		}

		// The agent's progress: blocked by a PDB (an event naming it), then done.
		statusPath := userPath("workers", "m-w1") + "/status"
		for _, st := range []map[string]string{
			{"action": "cordon", "state": "Initiated", "message": "3 pods cannot be evicted yet", "blockedBy": "shop/web"},
			{"action": "cordon", "state": "Initiated", "message": "3 pods cannot be evicted yet", "blockedBy": "shop/web"},
			{"action": "cordon", "state": "Completed", "message": "cordoned; 7 pods evicted"},
		} {
			if status, body := agent("PUT", statusPath, st); status != 204 {
				t.Fatalf("maintenance status %v: %d %s", st, status, body)
			}
		}
		if status, body := agent("PUT", statusPath, map[string]string{"action": "cordon", "state": "Done"}); status != 400 {
			t.Fatalf("unknown state: %d %s; want 400", status, body)
		}
		if st := machine("workers", "m-w1"); st["state"] != "Completed" || st["message"] != "cordoned; 7 pods evicted" {
			t.Fatalf("maintenance status after the agent's report = %v", st)
		}
		// Another cluster's machine path with this cluster's token.
		var otherCl struct {
			Spec struct{ CloudConfigRef struct{ UID string } }
		}
		c.must(200, "GET", "/v1/spectroclusters/"+other, nil, &otherCl)
		otherPath := "/v1/cloudconfigs/local/" + otherCl.Spec.CloudConfigRef.UID + "/machinePools/workers/machines/m-w1/maintenance/status"
		if status, body := agent("PUT", otherPath, map[string]string{"action": "cordon", "state": "Completed"}); status != 403 {
			t.Fatalf("status for another cluster's machine: %d %s; want 403", status, body)
		}

		// Off: the node operation becomes uncordon until the agent says it is done.
		c.must(204, "PUT", userPath("workers", "m-w1"), map[string]string{"action": "uncordon"}, nil)
		_, body = agent("GET", "/v1/spectroclusters/"+uid+"/agent/desired?generation=1&nodes=1&wait=1s", nil)
		json.Unmarshal([]byte(body), &d)
		if d.NodesRevision != 2 || len(d.Nodes) != 1 || d.Nodes[0].Action != "uncordon" {
			t.Fatalf("desired after uncordon = %s", body)
		}
		if status, body := agent("PUT", statusPath, map[string]string{"action": "uncordon", "state": "Completed"}); status != 204 {
			t.Fatalf("uncordon done: %d %s", status, body)
		}
		_, body = agent("GET", "/v1/spectroclusters/"+uid+"/agent/desired?generation=1&nodes=1&wait=1s", nil)
		json.Unmarshal([]byte(body), &d)
		if len(d.Nodes) != 0 {
			t.Fatalf("desired once uncordoned = %s; want no node operation", body)
		}
		// Now the other worker may go into maintenance.
		c.must(204, "PUT", userPath("workers", "m-w2"), map[string]string{"action": "cordon"}, nil)

		var events struct {
			Items []struct{ Reason, Message string }
		}
		c.must(200, "GET", "/v1/events/components/spectrocluster/"+uid, nil, &events)
		var reasons []string
		for _, e := range events.Items {
			reasons = append(reasons, e.Reason)
		}
		if got := strings.Join(reasons, " "); !strings.HasPrefix(got, "MaintenanceInitiated MaintenanceEnded MaintenanceEnding MaintenanceCompleted DrainBlocked MaintenanceInitiated") {
			t.Fatalf("events = %s", got)
		}
		if !strings.Contains(events.Items[4].Message, "PodDisruptionBudget shop/web") {
			t.Fatalf("DrainBlocked event = %q; want the PDB named", events.Items[4].Message)
		}
	})
}
