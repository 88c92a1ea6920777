package reports

import (
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
)

// badRequest fails the fuzz run unless err is nil or Invalid: a body an agent sends must never be
// answered with a 500, nor panic the hub.
func badRequest(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil && service.KindOf(err) != service.KindInvalid {
		t.Fatalf("%s: %v is not Invalid (a 400)", what, err)
	}
}

// FuzzAgentReports feeds arbitrary bodies to the decoders of every agent report: they never
// panic, refuse with a 400, and what they accept is within the limits.
func FuzzAgentReports(f *testing.F) {
	f.Add(`{"reportId":"r1","page":0,"pages":2,"nodes":[{"name":"w-0","role":"worker","ready":true,"conditions":[{"type":"Ready","status":"True"}]}]}`)
	f.Add(`{"reportId":"r1","page":1,"pages":1001,"nodes":[]}`)
	f.Add(`{"run":"r","seq":1,"nodes":[{"name":"w-0","role":"worker","cpuUsage":1.5,"cpuAllocatable":4}]}`)
	f.Add(`{"reportId":"w1","base":"w0","page":0,"pages":1,"items":[{"kind":"pod","namespace":"a","name":"p","deleted":true}]}`)
	f.Add(`{"generation":3,"packs":[{"name":"cni-calico","version":"3.30.3","state":"Applied","objects":12}]}`)
	f.Add(`[{"type":"APIServerReachable","status":"True","reason":"Reachable"}]`)
	f.Add(`[{"name":"web","namespace":"shop","type":"LoadBalancer","link":"http://10.0.0.1:80","ports":[{"port":80}]}]`)
	f.Add(`{"reportId":"r","page":-1,"pages":-5}`)
	f.Fuzz(func(t *testing.T, body string) {
		b := []byte(body)
		nodes, err := decodeNodePage(b)
		badRequest(t, "node page", err)
		if err == nil && (len(nodes.Nodes) > v1.MaxReportedNodes || nodes.Pages > v1.MaxReportPages || nodes.Page >= max(nodes.Pages, 1) || nodes.Page < 0) {
			t.Fatalf("node page accepted beyond the limits: %d nodes, page %d of %d", len(nodes.Nodes), nodes.Page, nodes.Pages)
		}
		for _, n := range nodes.Nodes {
			if err == nil && (n.Name == "" || len(n.Name) > v1.MaxNodeNameLength) {
				t.Fatalf("node name %q accepted", n.Name)
			}
		}
		use, err := decodeUsagePage(b)
		badRequest(t, "usage page", err)
		if err == nil && (len(use.Nodes) > v1.MaxReportedNodes || use.Pages > v1.MaxReportPages || use.Run == "") {
			t.Fatalf("usage page accepted beyond the limits: %d nodes, %d pages, run %q", len(use.Nodes), use.Pages, use.Run)
		}
		wl, err := decodeWorkloadPage(b)
		badRequest(t, "workload page", err)
		if err == nil && (wl.ReportID == "" || wl.Pages > v1.MaxReportPages) {
			t.Fatalf("workload page accepted without a report id or beyond the pages: %+v", wl.ReportPage)
		}
		for _, it := range wl.Items {
			if err == nil && (it.Deleted && wl.Base == "" || it.Name == "") {
				t.Fatalf("workload item %+v accepted in a report based on %q", it, wl.Base)
			}
		}
		packs, err := decodePackReport(b)
		badRequest(t, "pack report", err)
		if err == nil && (len(packs.Packs) > v1.MaxReportedPacks || packs.Generation <= 0) {
			t.Fatalf("pack report accepted beyond the limits: %d packs, generation %d", len(packs.Packs), packs.Generation)
		}
		conds, err := decodeConditions(b)
		badRequest(t, "conditions", err)
		if err == nil {
			types := map[string]bool{}
			for _, c := range conds {
				types[c.Type] = true
			}
			if len(types) > v1.MaxAgentConditions {
				t.Fatalf("%d condition types accepted", len(types))
			}
			// The same check against what the cluster has is what the hub does when it stores them.
			badRequest(t, "conditions against the stored ones", checkAgentConditions(conds, conds))
		}
		services, err := decodeServices(b)
		badRequest(t, "services", err)
		if err == nil && len(services) > v1.MaxReportedServices {
			t.Fatalf("%d services accepted", len(services))
		}
	})
}
