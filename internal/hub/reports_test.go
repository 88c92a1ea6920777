package hub_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/easelhq/easel/internal/secret"
)

// agentClient is a cluster's agent: its token on its cluster's agent endpoints.
type agentClient struct {
	t       *testing.T
	h       *testHub
	cluster string
	bearer  []string
}

func newAgent(t *testing.T, h *testHub, cluster string) agentClient {
	t.Helper()
	token, err := secret.IssueAgentToken(context.Background(), h.store, mustTenant(t, h), cluster)
	if err != nil {
		t.Fatal(err)
	}
	return agentClient{t: t, h: h, cluster: cluster, bearer: []string{"Authorization", "Bearer " + token}}
}

// put sends a body to one of the agent's report routes and returns the status and answer.
func (a agentClient) put(route string, body any) (int, string) {
	a.t.Helper()
	status, data, _ := client{h: a.h}.do("PUT", "/v1/spectroclusters/"+a.cluster+"/agent/"+route, body, a.bearer...)
	return status, string(data)
}

func (a agentClient) mustPut(want int, route string, body any) {
	a.t.Helper()
	if status, data := a.put(route, body); status != want {
		a.t.Fatalf("PUT agent/%s: %d %s, want %d", route, status, data, want)
	}
}

func nodePage(id string, page, pages int, names ...string) map[string]any {
	nodes := []map[string]any{}
	for _, n := range names {
		nodes = append(nodes, map[string]any{"name": n, "role": "worker", "ready": true,
			"conditions": []map[string]string{{"type": "Ready", "status": "True"}}})
	}
	return map[string]any{"reportId": id, "page": page, "pages": pages, "nodes": nodes}
}

func TestPagedNodeReport(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		prof := c.publishedProfile("base")
		mine, other := c.createCluster("mine", prof), c.createCluster("other", prof)
		agent := newAgent(t, h, mine)
		nodeNames := func() string {
			var sum struct {
				Status struct{ Nodes []struct{ Name string } }
			}
			c.must(200, "GET", "/v1/dashboard/spectroclusters/"+mine, nil, &sum)
			var names []string
			for _, n := range sum.Status.Nodes {
				names = append(names, n.Name)
			}
			return strings.Join(names, " ")
		}

		// A small cluster's report is one page, applied at once; so is a body without paging.
		agent.mustPut(204, "nodes", nodePage("r1", 0, 1, "cp-0", "w-0"))
		if got := nodeNames(); got != "cp-0 w-0" {
			t.Fatalf("nodes after a one-page report = %q", got)
		}
		agent.mustPut(204, "nodes", map[string]any{"nodes": []map[string]any{{"name": "solo", "role": "worker"}}})
		if got := nodeNames(); got != "solo" {
			t.Fatalf("nodes after an unpaged report = %q", got)
		}

		// Three pages out of order, one of them twice: held (202) until whole, then applied once.
		agent.mustPut(202, "nodes", nodePage("r2", 2, 3, "w-4"))
		agent.mustPut(202, "nodes", nodePage("r2", 0, 3, "cp-0", "w-0"))
		agent.mustPut(202, "nodes", nodePage("r2", 0, 3, "cp-0", "w-0"))
		if got := nodeNames(); got != "solo" {
			t.Fatalf("nodes while report r2 is incomplete = %q, want the previous report", got)
		}
		agent.mustPut(204, "nodes", nodePage("r2", 1, 3, "w-1", "w-2", "w-3"))
		if got := nodeNames(); got != "cp-0 w-0 w-1 w-2 w-3 w-4" {
			t.Fatalf("nodes after report r2 = %q", got)
		}
		// A late or retried page of the applied report is acknowledged and changes nothing.
		agent.mustPut(204, "nodes", nodePage("r2", 2, 3, "w-4"))
		agent.mustPut(204, "nodes", nodePage("r2", 0, 3, "cp-0", "w-0"))
		if got := nodeNames(); got != "cp-0 w-0 w-1 w-2 w-3 w-4" {
			t.Fatalf("nodes after late pages of r2 = %q", got)
		}

		// Malformed pages: 400, and nothing changes.
		for _, bad := range []any{
			nodePage("r3", 3, 3, "x"),
			nodePage("r3", -1, 3, "x"),
			nodePage("", 1, 2, "x"),
			nodePage(strings.Repeat("r", 65), 0, 2, "x"),
			`{"reportId": "r3", "page": 0, "pages": 2, "nodes": [{"name": ""}]}`,
			`{"reportId": "r3", "page": "zero"}`,
			`{"reportId": "r3",`,
		} {
			if status, body := agent.put("nodes", bad); status != 400 {
				t.Fatalf("malformed page %v: %d %s, want 400", bad, status, body)
			}
		}
		// Pages that disagree on the page count: refused when the report completes, and dropped.
		agent.mustPut(202, "nodes", nodePage("r4", 1, 3, "a"))
		agent.mustPut(202, "nodes", nodePage("r4", 2, 3, "b"))
		if status, body := agent.put("nodes", nodePage("r4", 0, 2, "c")); status != 400 || !strings.Contains(body, "disagree") {
			t.Fatalf("pages disagreeing on the count: %d %s, want 400", status, body)
		}
		if got := nodeNames(); got != "cp-0 w-0 w-1 w-2 w-3 w-4" {
			t.Fatalf("nodes after malformed pages = %q", got)
		}

		// Over 1 MiB: 413 on these routes (the hub's global limit is 4 MiB).
		big := fmt.Sprintf(`{"reportId":"r5","page":0,"pages":2,"nodes":[{"name":"n","role":"%s"}]}`, strings.Repeat("x", 1<<20))
		for _, route := range []string{"nodes", "workloads"} {
			if status, body := agent.put(route, big); status != 413 || !strings.Contains(body, "RequestEntityTooLarge") {
				t.Fatalf("a body over 1 MiB on agent/%s: %d %s, want 413", route, status, body[:min(len(body), 200)])
			}
		}
		// Just under the limit is fine.
		pad := fmt.Sprintf(`{"reportId":"r6","page":0,"pages":1,"nodes":[{"name":"n","role":"%s"}]}`, strings.Repeat("x", 1<<20-100))
		agent.mustPut(204, "nodes", pad)

		// Another cluster's uid with this cluster's token: 403 on every report route.
		intruder := agentClient{t: t, h: h, cluster: other, bearer: agent.bearer}
		if status, body := intruder.put("nodes", nodePage("r7", 0, 1, "evil")); status != 403 || !strings.Contains(body, "another cluster") {
			t.Fatalf("node report for another cluster: %d %s, want 403", status, body)
		}
		if status, body := intruder.put("workloads", map[string]any{"reportId": "r7", "pages": 1, "items": []any{}}); status != 403 {
			t.Fatalf("workload report for another cluster: %d %s, want 403", status, body)
		}
	})
}

// pod is a workload item of kind pod as the agent sends it.
func pod(ns, name, phase string) map[string]any {
	return map[string]any{"kind": "pod", "namespace": ns, "name": name, "uid": "uid-" + name,
		"labels": map[string]string{"app": name}, "created": "2026-11-22T10:00:00Z",
		"pod": map[string]any{"phase": phase, "node": "w-0", "ip": "10.0.0.1", "qos": "Burstable", "owner": "ReplicaSet/web-1",
			"containers": []map[string]any{{"name": "app", "image": "nginx", "ready": true, "restarts": 3, "mcpu": 250, "memory": 64 << 20}}}}
}

func workloadPage(id, base string, page, pages int, items ...map[string]any) map[string]any {
	if items == nil {
		items = []map[string]any{}
	}
	return map[string]any{"reportId": id, "base": base, "page": page, "pages": pages, "items": items}
}

// workloadList is the answer of the dashboard's workloads operation.
type workloadList struct {
	Pods []struct {
		Metadata struct {
			Entity         struct{ Kind, Name, UID string }
			Namespace      string
			Labels         map[string]string
			Nodename       string
			AssociatedRefs []struct{ Kind, Name string }
		}
		Spec struct {
			Containers []struct {
				Name      string
				Resources struct {
					Requests struct {
						CPU        int32
						CPUUnit    string
						Memory     int64
						MemoryUnit string
					}
				}
			}
		}
		Status struct {
			Phase, PodIP, QosClass string
			Containers             []struct {
				Ready        bool
				RestartCount int32
			}
		}
	}
	Deployments []struct {
		Metadata struct{ Entity struct{ Name string } }
		Status   struct {
			Replicas struct{ Total, Ready, Available, Updated int32 }
		}
	}
	Namespaces []struct {
		Metadata struct{ Entity struct{ Name string } }
		Status   struct{ Phase string }
	}
	Listmeta struct {
		Count, Limit, Offset int
		Continue             string
	}
	ReportedAt string
	Disabled   bool
}

func (l workloadList) podNames() string {
	var names []string
	for _, p := range l.Pods {
		names = append(names, p.Metadata.Namespace+"/"+p.Metadata.Entity.Name)
	}
	return strings.Join(names, " ")
}

func TestWorkloadReport(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		mine := c.createCluster("mine", c.publishedProfile("base"))
		agent := newAgent(t, h, mine)
		list := func(kind, query string, spec any) workloadList {
			t.Helper()
			var out workloadList
			c.must(200, "POST", "/v1/dashboard/spectroclusters/"+mine+"/workloads/"+kind+query, spec, &out)
			return out
		}

		// Before any report: empty lists, never reported, not disabled.
		if got := list("pod", "", nil); got.Pods == nil || len(got.Pods) != 0 || got.ReportedAt != "" || got.Disabled {
			t.Fatalf("pods before any report = %+v", got)
		}

		// A full report in two pages.
		agent.mustPut(202, "workloads", workloadPage("w1", "", 1, 2, pod("b", "b-1", "Running"), pod("a", "a-2", "Pending"),
			map[string]any{"kind": "deployment", "namespace": "a", "name": "web",
				"replicas": map[string]int{"desired": 3, "ready": 2, "available": 2, "updated": 3}}))
		agent.mustPut(204, "workloads", workloadPage("w1", "", 0, 2, pod("a", "a-1", "Running"),
			map[string]any{"kind": "namespace", "name": "a", "phase": "Active"}))
		pods := list("pod", "", map[string]any{})
		if pods.podNames() != "a/a-1 a/a-2 b/b-1" || pods.Listmeta.Count != 3 || pods.ReportedAt == "" {
			t.Fatalf("pods after the full report = %q %+v", pods.podNames(), pods.Listmeta)
		}
		p := pods.Pods[0]
		if p.Metadata.Entity.Kind != "Pod" || p.Metadata.Entity.UID != "uid-a-1" || p.Metadata.Labels["app"] != "a-1" ||
			p.Metadata.Nodename != "w-0" || len(p.Metadata.AssociatedRefs) != 1 || p.Metadata.AssociatedRefs[0].Name != "web-1" ||
			p.Status.Phase != "Running" || p.Status.PodIP != "10.0.0.1" || p.Status.QosClass != "Burstable" ||
			p.Status.Containers[0].RestartCount != 3 || !p.Status.Containers[0].Ready ||
			p.Spec.Containers[0].Resources.Requests.CPU != 250 || p.Spec.Containers[0].Resources.Requests.Memory != 64 {
			t.Fatalf("pod a/a-1 = %+v", p)
		}
		deps := list("deployment", "", nil)
		if len(deps.Deployments) != 1 || deps.Deployments[0].Status.Replicas.Total != 3 || deps.Deployments[0].Status.Replicas.Ready != 2 {
			t.Fatalf("deployments = %+v", deps.Deployments)
		}
		if ns := list("namespace", "", nil); len(ns.Namespaces) != 1 || ns.Namespaces[0].Status.Phase != "Active" {
			t.Fatalf("namespaces = %+v", ns.Namespaces)
		}

		// Filters and paging.
		if got := list("pod", "", map[string]any{"filter": map[string]any{"namespaces": []string{"b"}}}); got.podNames() != "b/b-1" || got.Listmeta.Count != 1 {
			t.Fatalf("pods of namespace b = %q", got.podNames())
		}
		first := list("pod", "?limit=2", nil)
		if first.podNames() != "a/a-1 a/a-2" || first.Listmeta.Count != 3 || first.Listmeta.Continue == "" {
			t.Fatalf("first page = %q %+v", first.podNames(), first.Listmeta)
		}
		if next := list("pod", "?limit=2&continue="+first.Listmeta.Continue, nil); next.podNames() != "b/b-1" || next.Listmeta.Continue != "" {
			t.Fatalf("second page = %q %+v", next.podNames(), next.Listmeta)
		}
		if got := list("pod", "?limit=1&offset=1", nil); got.podNames() != "a/a-2" {
			t.Fatalf("offset 1 = %q", got.podNames())
		}

		// A delta on w1: one pod changed, one deleted, one new; its pages retried and out of order.
		agent.mustPut(202, "workloads", workloadPage("w2", "w1", 1, 2, pod("c", "c-1", "Running")))
		agent.mustPut(202, "workloads", workloadPage("w2", "w1", 1, 2, pod("c", "c-1", "Running")))
		agent.mustPut(204, "workloads", workloadPage("w2", "w1", 0, 2, pod("a", "a-2", "Running"),
			map[string]any{"kind": "pod", "namespace": "b", "name": "b-1", "deleted": true}))
		agent.mustPut(204, "workloads", workloadPage("w2", "w1", 1, 2, pod("c", "c-1", "Running")))
		pods = list("pod", "", nil)
		if pods.podNames() != "a/a-1 a/a-2 c/c-1" || pods.Pods[1].Status.Phase != "Running" {
			t.Fatalf("pods after the delta = %q", pods.podNames())
		}
		// A delta on a report the hub does not hold (w1 is no longer the base): 409, nothing changes.
		for _, base := range []string{"w1", "never-sent"} {
			if status, body := agent.put("workloads", workloadPage("w3", base, 0, 1, pod("d", "d-1", "Running"))); status != 409 ||
				!strings.Contains(body, "full report") {
				t.Fatalf("delta on %s: %d %s, want 409", base, status, body)
			}
		}
		if got := list("pod", "", nil); got.podNames() != "a/a-1 a/a-2 c/c-1" {
			t.Fatalf("pods after refused deltas = %q", got.podNames())
		}
		// Bad items: 400.
		for _, bad := range []any{
			workloadPage("w4", "", 0, 1, map[string]any{"kind": "secret", "namespace": "a", "name": "x"}),
			workloadPage("w4", "", 0, 1, map[string]any{"kind": "pod", "name": "no-namespace"}),
			workloadPage("w4", "", 0, 1, map[string]any{"kind": "pod", "namespace": "a", "name": "x", "deleted": true}),
			map[string]any{"page": 0, "pages": 1, "items": []any{}},
		} {
			if status, body := agent.put("workloads", bad); status != 400 {
				t.Fatalf("bad workload report %v: %d %s, want 400", bad, status, body)
			}
		}

		// Turned off: the hub says so and serves empty lists; a delta then has no base (409).
		agent.mustPut(204, "workloads", map[string]any{"reportId": "w5", "pages": 1, "disabled": true, "items": []any{}})
		if got := list("pod", "", nil); !got.Disabled || len(got.Pods) != 0 {
			t.Fatalf("pods while disabled = %+v", got)
		}
		if status, _ := agent.put("workloads", workloadPage("w6", "w2", 0, 1)); status != 409 {
			t.Fatalf("delta after disabling: %d, want 409", status)
		}
		// On again: a full report.
		agent.mustPut(204, "workloads", workloadPage("w7", "", 0, 1, pod("a", "a-1", "Running")))
		if got := list("pod", "", nil); got.Disabled || got.podNames() != "a/a-1" {
			t.Fatalf("pods after turning it on = %q disabled=%v", got.podNames(), got.Disabled)
		}

		// Unknown kind: 400 naming the kinds; bad paging: 400.
		c.fails(400, "InvalidArgument", "POST", "/v1/dashboard/spectroclusters/"+mine+"/workloads/secret", nil,
			"namespace, pod, deployment, daemonset, statefulset, job, cronjob")
		c.fails(400, "InvalidArgument", "POST", "/v1/dashboard/spectroclusters/"+mine+"/workloads/pod?limit=x", nil, "limit")
		c.fails(400, "InvalidArgument", "POST", "/v1/dashboard/spectroclusters/"+mine+"/workloads/pod", `{"filter":`, "malformed")

		// Another project's cluster: 404, as everywhere.
		elsewhere := h.createProject("elsewhere")
		theirs := h.admin().in(elsewhere).createCluster("theirs", h.admin().in(elsewhere).publishedProfile("base"))
		c.fails(404, "ResourceNotFound", "POST", "/v1/dashboard/spectroclusters/"+theirs+"/workloads/pod", nil)
	})
}
