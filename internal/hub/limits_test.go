package hub_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// Every size a client controls has a named limit; these tests cross each one through the API and
// check the status and that the message names the limit (api/v1/limits.go, docs/api.md).

// nodeItems is n nodes as a node report (or, with usage, a usage report) lists them.
func nodeItems(n int, usage bool) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"name": fmt.Sprintf("n-%d", i), "role": "worker"}
		if usage {
			out[i]["cpuAllocatable"] = 4
		}
	}
	return out
}

// refused checks that an agent request failed with status and a message naming limit.
func refused(t *testing.T, what string, status int, body string, wantStatus int, limit string) {
	t.Helper()
	if status != wantStatus || !strings.Contains(body, limit) {
		t.Fatalf("%s: %d %s, want %d naming %s", what, status, body[:min(len(body), 300)], wantStatus, limit)
	}
}

func TestAgentReportLimits(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		mine := c.createCluster("mine", c.publishedProfile("base"))
		agent := newAgent(t, h, mine)
		patch := func(path string, body any) (int, string) {
			status, data, _ := client{h: h}.do("PATCH", "/v1/spectroclusters/"+mine+path, body, agent.bearer...)
			return status, string(data)
		}
		put := func(path string, body any) (int, string) {
			status, data, _ := client{h: h}.do("PUT", "/v1/spectroclusters/"+mine+path, body, agent.bearer...)
			return status, string(data)
		}

		// Pages: a report of more than 1,000 pages is refused at its first page.
		status, body := agent.put("nodes", nodePage("huge", 0, 1001, "n"))
		refused(t, "a report of 1001 pages", status, body, 400, "MaxReportPages")
		agent.mustPut(202, "nodes", nodePage("big", 0, 1000, "n"))

		// Message size: 413 naming the agent's limit.
		big := fmt.Sprintf(`{"reportId":"r","page":0,"pages":2,"nodes":[{"name":"n","role":"%s"}]}`, strings.Repeat("x", 1<<20))
		status, body = agent.put("nodes", big)
		refused(t, "a page over 1 MiB", status, body, 413, "MaxAgentMessageBytes")

		// Nodes: 5,000 in one report at most, in one page or over several; names of 253 characters.
		status, body = agent.put("nodes", map[string]any{"nodes": nodeItems(5001, false)})
		refused(t, "a node report of 5001 nodes", status, body, 400, "MaxReportedNodes")
		agent.mustPut(202, "nodes", map[string]any{"reportId": "split", "page": 0, "pages": 2, "nodes": nodeItems(3000, false)})
		status, body = agent.put("nodes", map[string]any{"reportId": "split", "page": 1, "pages": 2, "nodes": nodeItems(3000, false)})
		refused(t, "a node report of 2 pages of 3000 nodes", status, body, 400, "MaxReportedNodes")
		status, body = agent.put("nodes", nodePage("", 0, 1, strings.Repeat("n", 254)))
		refused(t, "a node name of 254 characters", status, body, 400, "MaxNodeNameLength")
		agent.mustPut(204, "nodes", map[string]any{"nodes": nodeItems(5000, false)})
		status, body = agent.put("usage", map[string]any{"run": "r", "seq": 1, "nodes": nodeItems(5001, true)})
		refused(t, "a usage report of 5001 nodes", status, body, 400, "MaxReportedNodes")
		status, body = agent.put("usage", map[string]any{"run": "r", "seq": 1, "nodes": []map[string]any{{"name": strings.Repeat("n", 254), "role": "worker"}}})
		refused(t, "a usage node name of 254 characters", status, body, 400, "MaxNodeNameLength")
		agent.mustPut(204, "usage", map[string]any{"run": "r", "seq": 1, "nodes": nodeItems(5000, true)})
		// The node of a metrics query is a node name too.
		c.fails(400, "InvalidArgument", "GET", "/v1/metrics/spectrocluster/"+mine+"/values?node="+strings.Repeat("n", 254), nil, "MaxNodeNameLength")
		c.fails(400, "InvalidArgument", "GET", "/v1/metrics/spectrocluster/"+mine+"/values?metricKind=cpuUsage,cpuUsage", nil, "listed twice")

		// Packs: 256 in one pack report at most.
		packs := make([]map[string]any, 257)
		for i := range packs {
			packs[i] = map[string]any{"name": fmt.Sprintf("p-%d", i), "state": "Applied"}
		}
		status, body = agent.put("packs", map[string]any{"generation": 1, "packs": packs})
		refused(t, "a pack report of 257 packs", status, body, 400, "MaxReportedPacks")
		if status, body = agent.put("packs", map[string]any{"generation": 1, "packs": packs[:256]}); status != 204 {
			t.Fatalf("a pack report of 256 packs: %d %s, want 204", status, body)
		}

		// Services: 10,000 in one report at most.
		services := make([]map[string]any, 10001)
		for i := range services {
			services[i] = map[string]any{"name": fmt.Sprintf("s-%d", i)}
		}
		status, body = put("/status/services", services)
		refused(t, "a services report of 10001 services", status, body, 400, "MaxReportedServices")

		// Conditions: 32 types of the agent's at most; those it has are still updated, and the
		// hub's own conditions do not count.
		conds := func(from, to int, status string) []map[string]string {
			var out []map[string]string
			for i := from; i < to; i++ {
				out = append(out, map[string]string{"type": fmt.Sprintf("Probe%d", i), "status": status, "reason": "R"})
			}
			return out
		}
		if status, body := patch("/status/conditions", conds(0, 30, "True")); status != 204 {
			t.Fatalf("30 condition types: %d %s", status, body)
		}
		status, body = patch("/status/conditions", conds(28, 33, "True"))
		refused(t, "a report adding a 33rd condition type", status, body, 400, "MaxAgentConditions")
		if status, body := patch("/status/conditions", conds(0, 32, "False")); status != 204 {
			t.Fatalf("updating 30 types and adding 2 (32 in all): %d %s", status, body)
		}
		var sum struct {
			Status struct {
				Conditions []struct{ Type, Status string }
			}
		}
		c.must(200, "GET", "/v1/dashboard/spectroclusters/"+mine, nil, &sum)
		agentTypes := 0
		for _, cond := range sum.Status.Conditions {
			if strings.HasPrefix(cond.Type, "Probe") {
				agentTypes++
				if cond.Status != "False" {
					t.Fatalf("condition %s = %s after its update, want False", cond.Type, cond.Status)
				}
			}
		}
		if agentTypes != 32 {
			t.Fatalf("the cluster has %d of the agent's condition types, want 32", agentTypes)
		}
		status, body = patch("/status/conditions", conds(32, 33, "True"))
		refused(t, "a 33rd condition type alone", status, body, 400, "MaxAgentConditions")
	})
}

// A cluster holds at most four reports partly sent: a fifth waits (429) until one is finished, or
// takes the place of one that was abandoned.
func TestReportsInFlight(t *testing.T) {
	var clk *clocktesting.FakeClock
	eachStoreWith(t, func() testOptions {
		clk = clocktesting.NewFakeClock(time.Now())
		return testOptions{clock: clk}
	}, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		mine := c.createCluster("mine", c.publishedProfile("base"))
		agent := newAgent(t, h, mine)

		agent.mustPut(202, "nodes", nodePage("a", 0, 2, "a-0"))
		agent.mustPut(202, "nodes", nodePage("b", 0, 2, "b-0"))
		agent.mustPut(202, "usage", map[string]any{"reportId": "c", "page": 0, "pages": 2, "run": "r", "seq": 1, "nodes": nodeItems(1, true)})
		clk.Step(30 * time.Second)
		agent.mustPut(202, "workloads", workloadPage("d", "", 0, 2))
		// A fifth report: 429 naming the limit, with when to try again.
		status, data, hdr := client{h: h}.do("PUT", "/v1/spectroclusters/"+mine+"/agent/nodes", nodePage("e", 0, 2, "e-0"), agent.bearer...)
		refused(t, "a fifth report in flight", status, string(data), 429, "MaxReportsInFlight")
		if hdr.Get("Retry-After") != "60" {
			t.Fatalf("Retry-After = %q, want 60", hdr.Get("Retry-After"))
		}
		// Pages of the reports in flight still come in, and finishing one makes room.
		agent.mustPut(202, "nodes", nodePage("b", 0, 2, "b-0"))
		agent.mustPut(204, "nodes", nodePage("a", 1, 2, "a-1"))
		agent.mustPut(202, "nodes", nodePage("e", 0, 2, "e-0"))
		status, body := agent.put("nodes", nodePage("f", 0, 2, "f-0"))
		refused(t, "a fifth report once more", status, body, 429, "MaxReportsInFlight")

		// A minute and a half later b and c have had no page for a minute: the least recently sent,
		// b, makes room for f; c is still held and can be finished.
		clk.Step(60 * time.Second)
		agent.mustPut(202, "nodes", nodePage("f", 0, 2, "f-0"))
		agent.mustPut(204, "usage", map[string]any{"reportId": "c", "page": 1, "pages": 2, "run": "r", "seq": 1, "nodes": []any{}})
		agent.mustPut(202, "nodes", nodePage("b", 1, 2, "b-1")) // b was dropped: its last page is held as a new report
	})
}

func TestListAndSearchLimits(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		mine := c.createCluster("mine", c.publishedProfile("base"))

		// Pages: limit 1,000 and offset 1,000,000 at most, however they are given.
		c.must(200, "GET", "/v1/audits?limit=1000&offset=1000000", nil, nil)
		for query, limit := range map[string]string{
			"limit=1001":                  "MaxListLimit",
			"limit=99999999999999999999":  "MaxListLimit",
			"offset=1000001":              "MaxListOffset",
			"offset=99999999999999999999": "MaxListOffset",
		} {
			for _, path := range []string{"/v1/audits", "/v1/packs", "/v1/events/components/spectrocluster/" + mine} {
				c.fails(400, "InvalidArgument", "GET", path+"?"+query, nil, limit)
			}
			c.fails(400, "InvalidArgument", "POST", "/v1/dashboard/spectroclusters/search?"+query, nil, limit)
		}
		c.fails(400, "InvalidArgument", "GET", "/v1/audits?continue=MTAwMDAwMQ", nil, "not one this hub issued") // "1000001"

		// Filters: 100 values of 253 characters at most.
		values := func(n, length int) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = fmt.Sprintf("%0*d", length, i)
			}
			return out
		}
		search := func(vals []string) map[string]any {
			return map[string]any{"filter": map[string]any{"filterGroups": []map[string]any{{"filters": []map[string]any{{
				"property": "clusterName", "condition": map[string]any{"string": map[string]any{"match": map[string]any{"values": vals}}}}}}}}}
		}
		c.must(200, "POST", "/v1/dashboard/spectroclusters/search", search(values(100, 253)), nil)
		c.fails(400, "InvalidArgument", "POST", "/v1/dashboard/spectroclusters/search", search(values(101, 3)), "MaxFilterValues")
		c.fails(400, "InvalidArgument", "POST", "/v1/dashboard/spectroclusters/search", search(values(1, 254)), "MaxFilterValueLength")
		// Over many filters of one value each, too.
		var filters []map[string]any
		for i := range 101 {
			filters = append(filters, map[string]any{"property": "clusterName", "condition": map[string]any{"string": map[string]any{
				"operator": "contains", "match": map[string]any{"values": []string{fmt.Sprint(i)}}}}})
		}
		c.fails(400, "InvalidArgument", "POST", "/v1/dashboard/spectroclusters/search",
			map[string]any{"filter": map[string]any{"filterGroups": []map[string]any{{"filters": filters}}}}, "MaxFilterValues")

		c.must(200, "POST", "/v1/packs/search", map[string]any{"filter": map[string]any{"layer": values(100, 3)}}, nil)
		c.fails(400, "InvalidArgument", "POST", "/v1/packs/search", map[string]any{"filter": map[string]any{"layer": values(101, 3)}}, "MaxFilterValues")
		c.fails(400, "InvalidArgument", "POST", "/v1/packs/search", map[string]any{"filter": map[string]any{"name": map[string]any{"contains": strings.Repeat("k", 254)}}}, "MaxFilterValueLength")
		c.must(200, "GET", "/v1/packs?filters="+url.QueryEscape("spec.layer_in_"+strings.Join(values(100, 3), ",")), nil, nil)
		c.fails(400, "InvalidArgument", "GET", "/v1/packs?filters="+url.QueryEscape("spec.layer_in_"+strings.Join(values(101, 3), ",")), nil, "MaxFilterValues")
		c.fails(400, "InvalidArgument", "GET", "/v1/packs?filters="+url.QueryEscape("spec.name="+strings.Repeat("k", 254)), nil, "MaxFilterValueLength")

		workloads := "/v1/dashboard/spectroclusters/" + mine + "/workloads/pod"
		c.must(200, "POST", workloads, map[string]any{"filter": map[string]any{"namespaces": values(100, 63)}}, nil)
		c.fails(400, "InvalidArgument", "POST", workloads, map[string]any{"filter": map[string]any{"namespaces": values(101, 3)}}, "MaxFilterValues")
		c.fails(400, "InvalidArgument", "POST", workloads, map[string]any{"filter": map[string]any{"namespaces": values(1, 254)}}, "MaxFilterValueLength")
	})
}

func TestClusterSizeLimits(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		prof := c.publishedProfile("base")
		pools := func(n, size int) []map[string]any {
			out := []map[string]any{{"poolConfig": map[string]any{"name": "cp", "size": 1, "isControlPlane": true}}}
			for i := 1; i < n; i++ {
				out = append(out, map[string]any{"poolConfig": map[string]any{"name": fmt.Sprintf("w%d", i), "size": size}})
			}
			return out
		}
		entity := func(name string, pools []map[string]any) map[string]any {
			return map[string]any{"metadata": map[string]any{"name": name},
				"spec": map[string]any{"profiles": []map[string]any{{"uid": prof}}, "machinepoolconfig": pools}}
		}
		const create = "/v1/spectroclusters/cloudTypes/local"

		// Pools: 16 at most, at create and when one is added.
		c.fails(400, "InvalidArgument", "POST", create, entity("many", pools(17, 1)), "MaxPoolsPerCluster")
		var out uidBody
		c.must(201, "POST", create, entity("sixteen", pools(16, 1)), &out)
		var cl struct {
			Spec struct{ CloudConfigRef struct{ UID string } }
		}
		c.must(200, "GET", "/v1/spectroclusters/"+out.UID, nil, &cl)
		cfg := "/v1/cloudconfigs/cloudTypes/local/" + cl.Spec.CloudConfigRef.UID + "/machinePools"
		c.fails(400, "InvalidArgument", "POST", cfg, map[string]any{"poolConfig": map[string]any{"name": "w16", "size": 1}}, "MaxPoolsPerCluster")

		// Machines: 1,000 in all at most, in one pool or over several, at create and on update.
		c.fails(400, "InvalidArgument", "POST", create, entity("huge", pools(2, 1000)), "MaxMachinesPerCluster")
		c.fails(400, "InvalidArgument", "POST", create, entity("wide", pools(3, 500)), "MaxMachinesPerCluster")
		c.must(204, "PUT", cfg+"/w1", map[string]any{"poolConfig": map[string]any{"size": 985}, "cloudConfig": map[string]any{}}, nil) // 1 + 985 + 14
		c.fails(400, "InvalidArgument", "PUT", cfg+"/w2", map[string]any{"poolConfig": map[string]any{"size": 2}, "cloudConfig": map[string]any{}}, "MaxMachinesPerCluster")

		// Labels and annotations, wherever a client gives them.
		labels := map[string]string{}
		for i := range 65 {
			labels[fmt.Sprintf("l%d", i)] = "v"
		}
		withMeta := func(meta map[string]any) map[string]any {
			e := entity("meta", pools(2, 1))
			for k, v := range meta {
				e["metadata"].(map[string]any)[k] = v
			}
			return e
		}
		c.fails(400, "InvalidArgument", "POST", create, withMeta(map[string]any{"labels": labels}), "MaxLabels")
		c.fails(400, "InvalidArgument", "POST", create, withMeta(map[string]any{"labels": map[string]string{"tier": strings.Repeat("v", 64)}}), "MaxLabelValueLength")
		c.fails(400, "InvalidArgument", "POST", create, withMeta(map[string]any{"annotations": map[string]string{"note": strings.Repeat("a", 256<<10)}}), "MaxAnnotationBytes")
		c.fails(400, "InvalidArgument", "POST", "/v1/spectroclusters/generic/import",
			map[string]any{"metadata": map[string]any{"name": "imported", "labels": map[string]string{strings.Repeat("k", 64): "v"}}}, "MaxLabelNameLength")
		c.fails(400, "InvalidArgument", "POST", cfg, map[string]any{"poolConfig": map[string]any{"name": "w1",
			"additionalLabels": map[string]string{strings.Repeat("p", 254) + "/k": "v"}}}, "MaxLabelKeyPrefixLength")
		c.fails(400, "InvalidArgument", "PUT", cfg+"/w1", map[string]any{"poolConfig": map[string]any{"size": 1, "additionalLabels": labels}, "cloudConfig": map[string]any{}}, "MaxLabels")
		p := profile("labelled", "1.0.0")
		p["metadata"].(map[string]any)["labels"] = labels
		c.fails(400, "InvalidArgument", "POST", "/v1/clusterprofiles", p, "MaxLabels")
		annotations := map[string]string{}
		for i := range 65 {
			annotations[fmt.Sprintf("a%d", i)] = "v"
		}
		h.admin().fails(400, "InvalidArgument", "POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": "k", "annotations": annotations}}, "MaxAnnotations")
	})
}
