package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/service/troubleshooting"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/usage"
)

// nodesCluster stores cluster "web" as the engine and its agent leave it: a control plane and
// three workers — w1 in maintenance, its drain held by a PodDisruptionBudget; w2 NotReady, its
// machine unhealthy; w3 Ready — with the agent's usage of w1, and a heartbeat just now.
func (f *fixture) nodesCluster() {
	f.t.Helper()
	now := time.Now()
	ready := []v1.NodeCondition{{Type: "Ready", Status: "True", Reason: "KubeletReady"}}
	cl := clusters.Cluster{CloudType: "local",
		Pools: []clusters.Pool{{Name: "cp", ControlPlane: true, Size: 1}, {Name: "workers", Size: 3}},
		Status: clusters.Status{State: v1.ClusterStateRunning, Health: clusters.Health{State: clusters.HealthUnhealthy, LastHeartbeat: now},
			Machines: []clusters.Machine{
				{UID: "m-w2", Name: "w2", Pool: "workers", Ready: false,
					Unhealthy: &clusters.Unhealthy{Reason: clusters.UnhealthyNotReady, Message: "its kubelet is not up (Ready is not True)", Since: now.Add(-3 * time.Minute)}},
				{UID: "m-w1", Name: "w1", Pool: "workers", Ready: true, Maintenance: &v1.MachineMaintenanceStatus{Action: v1.MaintenanceCordon,
					State: v1.MaintenanceInitiated, BlockedBy: "shop/web",
					Message: "2 pods cannot be evicted yet (e.g. shop/web-1): PodDisruptionBudget shop/web allows no more disruptions; retrying"}},
				{UID: "m-w3", Name: "w3", Pool: "workers", Ready: true},
				{UID: "m-cp1", Name: "cp1", Pool: "cp", ControlPlane: true, Ready: true},
			},
			Nodes: []v1.NodeReport{
				{Name: "cp1", Machine: "m-cp1", Pool: "cp", Role: "control-plane", Ready: true, Conditions: ready, KubeletVersion: "v1.34.4"},
				{Name: "w1", Machine: "m-w1", Pool: "workers", Role: "worker", Ready: true, Conditions: ready, KubeletVersion: "v1.34.4", Unschedulable: true},
				{Name: "w2", Machine: "m-w2", Pool: "workers", Role: "worker", Conditions: []v1.NodeCondition{
					{Type: "Ready", Status: "False", Reason: "KubeletDown", Message: "Kubelet stopped posting node status."},
					{Type: "MemoryPressure", Status: "False"}}, KubeletVersion: "v1.34.4"},
				{Name: "w3", Machine: "m-w3", Pool: "workers", Role: "worker", Ready: true, Conditions: ready, KubeletVersion: "v1.34.3"},
			},
			Usage: usage.State{ReceivedAt: now, Nodes: []v1.NodeUsage{{Name: "w1", Role: "worker", CPUUsage: 0.5, CPUAllocatable: 4,
				MemoryUsage: 2 << 30, MemoryAllocatable: 8 << 30}}},
		}}
	err := f.store.CreateObject(context.Background(), &store.Record{Kind: clusters.Kind, UID: "web-uid", TenantUID: f.boot.TenantUID,
		ProjectUID: f.boot.DefaultProjectUID, Name: "web", State: v1.ClusterStateRunning, Doc: cl.Encode()})
	if err != nil {
		f.t.Fatal(err)
	}
}

// machineMaintenance is a machine's maintenance as stored.
func (f *fixture) machineMaintenance(machineUID string) *v1.MachineMaintenanceStatus {
	f.t.Helper()
	_, cl := f.stored("web-uid")
	m, ok := cl.FindMachine(machineUID)
	if !ok {
		f.t.Fatalf("no machine %s", machineUID)
	}
	return m.Maintenance
}

var nodeNames = regexp.MustCompile(`data-node="([^"]+)"`)

// The nodes page shows each node with its pool, role, health, failed conditions, usage, kubelet
// and maintenance state (a drain held by a PodDisruptionBudget names it); its table refreshes alone.
func TestNodesPage(t *testing.T) {
	f := newFixture(t)
	f.nodesCluster()
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)

	resp, body := f.do("GET", "/clusters/web-uid/nodes", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the nodes page: %d\n%s", resp.StatusCode, body)
	}
	var order []string
	for _, m := range nodeNames.FindAllStringSubmatch(body, -1) {
		order = append(order, m[1])
	}
	if strings.Join(order, ",") != "cp1,w1,w2,w3" {
		t.Errorf("the nodes in order %v; want the control plane first, then the workers by name", order)
	}
	for _, want := range []string{
		`<strong aria-current="page">Nodes</strong>`, "4 nodes", "control plane", "worker", "v1.34.4", "v1.34.3",
		"0.50 of 4 cores (12%)", "2.0 of 8.0 GiB (25%)",
		"NotReady", "Unhealthy since 3m ago: NodeNotReady — its kubelet is not up (Ready is not True)",
		"Ready=False (KubeletDown): Kubelet stopped posting node status.",
		`aria-label="In maintenance">🔧`, `data-maintenance-state="Initiated"`,
		"Drain held by PodDisruptionBudget shop/web</strong>: 2 pods cannot be evicted yet (e.g. shop/web-1)",
		`aria-label="Maintenance off: w1"`, `aria-label="Maintenance on: w3"`, `aria-label="Maintenance on: cp1"`,
		"The doctor has not run on this cluster.", "Run the doctor",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the nodes page lacks %q", want)
		}
	}
	if strings.Contains(body, "MemoryPressure") {
		t.Error("the page lists MemoryPressure=False, which is no failure")
	}

	resp, body = f.do("GET", "/clusters/web-uid/nodes?part=nodes", nil, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(body), `<div id="nodes"`) || strings.Contains(body, "<html") ||
		!strings.Contains(body, `data-node="w1"`) {
		t.Errorf("the table's refresh: %d\n%.300s", resp.StatusCode, body)
	}
	if resp, _ := f.do("GET", "/clusters/nope/nodes", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the nodes of a cluster that does not exist: %d; want 404", resp.StatusCode)
	}
}

// Maintenance on and off goes through a question, then the clusters service; without the
// session's CSRF token nothing changes; a refusal is shown in the question's place.
func TestNodesMaintenance(t *testing.T) {
	f := newFixture(t)
	f.nodesCluster()
	csrf := f.csrfAfterLogin(f.boot.AdminEmail, f.boot.AdminPassword)
	const w3 = "/clusters/web-uid/pools/workers/machines/m-w3/maintenance"

	resp, body := f.do("GET", w3+"?action=cordon", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Put node <strong>w3</strong> into maintenance? Its pods are drained") ||
		!strings.Contains(body, `<form class="confirm" method="post" action="`+w3+`"`) || !strings.Contains(body, `data-node="w3"`) {
		t.Fatalf("the question without htmx (the page with it): %d\n%s", resp.StatusCode, body)
	}
	resp, body = f.do("GET", w3+"?action=cordon", nil, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(body), `<form class="confirm"`) {
		t.Fatalf("the question for htmx: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := f.do("GET", "/clusters/web-uid/pools/cp/machines/m-w3/maintenance?action=cordon", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a question for a machine of another pool: %d; want 404", resp.StatusCode)
	}

	resp, _ = f.do("POST", w3, url.Values{"action": {"cordon"}})
	if resp.StatusCode != http.StatusForbidden || f.machineMaintenance("m-w3") != nil {
		t.Fatalf("maintenance without the CSRF token: %d, maintenance %+v; want 403 and nothing changed", resp.StatusCode, f.machineMaintenance("m-w3"))
	}
	resp, _ = f.do("POST", w3, url.Values{"csrf": {csrf}, "action": {"cordon"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/clusters/web-uid/nodes?done=cordon" {
		t.Fatalf("maintenance on: %d %s; want a redirect back to the nodes", resp.StatusCode, resp.Header.Get("Location"))
	}
	if m := f.machineMaintenance("m-w3"); m == nil || m.Action != v1.MaintenanceCordon || m.State != v1.MaintenanceInitiated {
		t.Fatalf("w3's maintenance after confirming: %+v; want cordon Initiated", m)
	}
	_, body = f.do("GET", "/clusters/web-uid/nodes?done=cordon", nil)
	if !strings.Contains(body, "Maintenance requested: the node is cordoned") || !strings.Contains(body, `aria-label="Maintenance off: w3"`) {
		t.Errorf("the page after maintenance on:\n%s", body)
	}

	// w2 is now the last schedulable worker: the service refuses, and htmx is shown why in the
	// question's place.
	resp, body = f.do("POST", "/clusters/web-uid/pools/workers/machines/m-w2/maintenance", url.Values{"csrf": {csrf}, "action": {"cordon"}}, "HX-Request", "true")
	if resp.StatusCode != http.StatusConflict || resp.Header.Get("HX-Retarget") != "#confirm" ||
		!strings.Contains(body, "w2 is the last schedulable worker") || !strings.Contains(body, `role="alert"`) {
		t.Errorf("maintenance of the last schedulable worker through htmx: %d %q\n%s", resp.StatusCode, resp.Header.Get("HX-Retarget"), body)
	}

	// Off, through htmx: the refreshed table, and the question replaced by the notice.
	resp, body = f.do("POST", w3, url.Values{"csrf": {csrf}, "action": {"uncordon"}}, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(body), `<div id="nodes"`) ||
		!strings.Contains(body, `<div id="confirm" hx-swap-oob="true">`) || !strings.Contains(body, "End of maintenance requested") ||
		!strings.Contains(body, `data-maintenance-action="uncordon"`) {
		t.Errorf("maintenance off through htmx: %d\n%s", resp.StatusCode, body)
	}
	if m := f.machineMaintenance("m-w3"); m == nil || m.Action != v1.MaintenanceUncordon {
		t.Errorf("w3's maintenance after turning it off: %+v; want uncordon", m)
	}
}

// A viewer sees no maintenance or doctor control, and a write they forge (with their own valid
// CSRF token) is refused by the services.
func TestNodesViewer(t *testing.T) {
	f := newFixture(t)
	f.nodesCluster()
	viewer, csrf := f.as("viewer@example.com", v1.RoleViewer)

	resp, body := viewer.do("GET", "/clusters/web-uid/nodes", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-node="w3"`) {
		t.Fatalf("the nodes page for a viewer: %d\n%s", resp.StatusCode, body)
	}
	for _, control := range []string{"Maintenance on", "Maintenance off", "/maintenance", "Run the doctor", "/nodes/doctor"} {
		if strings.Contains(body, control) {
			t.Errorf("a viewer is shown %q", control)
		}
	}
	if resp, _ := viewer.do("GET", "/clusters/web-uid/pools/workers/machines/m-w3/maintenance?action=cordon", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the maintenance question for a viewer: %d; want 403", resp.StatusCode)
	}
	resp, body = viewer.do("POST", "/clusters/web-uid/pools/workers/machines/m-w3/maintenance", url.Values{"csrf": {csrf}, "action": {"cordon"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "your role in this project does not allow this") || f.machineMaintenance("m-w3") != nil {
		t.Errorf("a viewer's forged maintenance: %d, maintenance %+v; want 403 from the service and nothing changed\n%s", resp.StatusCode, f.machineMaintenance("m-w3"), body)
	}
	resp, body = viewer.do("POST", "/clusters/web-uid/nodes/doctor", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "your role in this project does not allow this") {
		t.Errorf("a viewer's forged doctor run: %d; want 403 from the service\n%s", resp.StatusCode, body)
	}
}

// The doctor runs from the page; its part refreshes itself while the run goes on, then shows each
// node's problems and warnings with evidence, cause and fix, and the checks that passed folded.
func TestNodesDoctor(t *testing.T) {
	f := newFixture(t)
	f.nodesCluster()
	csrf := f.csrfAfterLogin(f.boot.AdminEmail, f.boot.AdminPassword)

	if resp, _ := f.do("POST", "/clusters/web-uid/nodes/doctor", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a doctor run without the CSRF token: %d; want 403", resp.StatusCode)
	}
	resp, body := f.do("POST", "/clusters/web-uid/nodes/doctor", url.Values{"csrf": {csrf}}, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(body), `<section id="doctor"`) ||
		!strings.Contains(body, `hx-trigger="every 3s"`) || !strings.Contains(body, `data-doctor-state="Requested"`) {
		t.Fatalf("running the doctor through htmx: %d\n%s", resp.StatusCode, body)
	}

	// The agent reports the run's findings.
	ctx := context.Background()
	runs, _, err := f.store.ListObjects(ctx, store.ListOptions{Kind: troubleshooting.KindDoctor, TenantUID: f.boot.TenantUID})
	if err != nil || len(runs) != 1 {
		t.Fatalf("doctor runs stored: %d, %v; want 1", len(runs), err)
	}
	svc, err := troubleshooting.New(f.store, troubleshooting.Options{BlobDir: filepath.Join(t.TempDir(), "logs")})
	if err != nil {
		t.Fatal(err)
	}
	crec, err := f.store.GetObject(ctx, clusters.Kind, "web-uid")
	if err != nil {
		t.Fatal(err)
	}
	report, _ := json.Marshal(v1.AgentRequestReport{State: v1.LogStateCompleted, Findings: []v1.Finding{
		{Node: "w2", Check: "NodeStatusUpdated", Status: v1.FindingOK, Evidence: "status posted 5s ago"},
		{Node: "w2", Check: "Taints", Status: v1.FindingWarning, Evidence: "taint example.com/odd:NoSchedule", Cause: "a taint no pool sets", Fix: "kubectl taint node w2 example.com/odd-"},
		{Node: "w2", Check: "KubeletReady", Status: v1.FindingProblem, Evidence: "Ready=False (KubeletDown) for 3m",
			Cause: "the kubelet stopped posting its status", Fix: "restart the kubelet: systemctl restart kubelet"},
		{Node: "w1", Check: "KubeletReady", Status: v1.FindingOK},
		{Node: "w1", Check: "NodeLease", Status: v1.FindingOK},
	}})
	if err := svc.AgentReport(ctx, crec, runs[0].UID, report); err != nil {
		t.Fatal(err)
	}

	_, body = f.do("GET", "/clusters/web-uid/nodes", nil)
	for _, want := range []string{`data-doctor-state="Completed"`, "5 checks.", `<a href="#doctor-w2">1 problem, 1 warning</a>`,
		"Ready=False (KubeletDown) for 3m", "the kubelet stopped posting its status", "restart the kubelet: systemctl restart kubelet",
		"kubectl taint node w2 example.com/odd-", "<summary>1 check ok</summary>", "<summary>2 checks ok</summary>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the findings lack %q", want)
		}
	}
	// w1 passed every check; cp1 and w3 were not checked, so nothing is said of them.
	if n := strings.Count(body, "<td>ok</td>"); n != 1 {
		t.Errorf("%d nodes shown as ok by the doctor; want w1 alone", n)
	}
	doctor := body[strings.Index(body, `<section id="doctor"`):]
	if strings.Contains(doctor, "hx-trigger") {
		t.Error("the doctor's part keeps refreshing after the run completed")
	}
	// w2's problem before its warning, w1 (first in the table) before w2.
	if i, j, k := strings.Index(doctor, `data-doctor-node="w1"`), strings.Index(doctor, `data-check="KubeletReady"`), strings.Index(doctor, `data-check="Taints"`); i < 0 || j < i || k < j {
		t.Errorf("findings in the order w1 %d, w2's problem %d, w2's warning %d; want nodes in the table's order, problems first", i, j, k)
	}
}
