package console

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/service"
	clustersvc "github.com/easelhq/easel/internal/service/clusters"
)

// nodeRow is one node of a cluster's nodes page: its machine as the hub recorded it, joined with
// the node the agent reported and the node's usage. A node easel did not make (an imported
// cluster's) has no machine, and so no maintenance control.
type nodeRow struct {
	Name, Pool, MachineUID, KubeletVersion string
	ControlPlane                           bool
	// Reported: the agent reported the node; Ready is what it reported.
	Reported, Ready bool
	Unhealthy       *clusters.Unhealthy
	Remediation     string
	Failed          []v1.NodeCondition
	CPU, Memory     string
	Maintenance     *v1.MachineMaintenanceStatus
	InMaintenance   bool
	Deleting        bool
	// Checked, Problems and Warnings count the checks of the doctor's newest completed run on
	// the node and what they found.
	Checked, Problems, Warnings int
}

// nodeFindings are the doctor's findings of one node: problems and warnings in full, the checks
// that passed apart (a page shows them folded).
type nodeFindings struct {
	Node     string
	Troubles []v1.Finding
	OK       []v1.Finding
}

// confirmation is the question a maintenance change asks before it is made.
type confirmation struct {
	UID, Pool, MachineUID, Node, Action, CSRF string
	// Problem is why the change was refused, when it was.
	Problem string
}

// nodesPage is the nodes page's data.
type nodesPage struct {
	UID, Name, CloudType string
	Tabs                 []tab
	Rows                 []nodeRow
	CanWrite             bool
	// Doctor is the cluster's newest doctor run (nil before the first); Findings are its
	// findings by node, in the table's order, once Completed.
	Doctor   *v1.Doctor
	Findings []nodeFindings
	Running  bool
	Confirm  *confirmation
	Notice   string
}

// nodesDone are the notices the nodes page may show after a change it asked for (?done=), by
// key: the page never echoes text from the URL.
var nodesDone = map[string]string{
	v1.MaintenanceCordon:   "Maintenance requested: the node is cordoned and its pods drained; its state shows in the table.",
	v1.MaintenanceUncordon: "End of maintenance requested: the node becomes schedulable again; its pods are not moved back.",
	"doctor":               "The doctor is running its checks; its findings show below once it is done.",
}

// nodes is a cluster's Nodes tab: each node with its pool, role, health, failed conditions, usage,
// kubelet version and maintenance state, and the doctor's newest findings. The table refreshes
// itself (?part=nodes), and so does the doctor's part while a run goes on (?part=doctor), so a
// drain completing shows without a reload.
func (c *Console) nodes(w http.ResponseWriter, r *http.Request, s *session) error {
	p, err := c.nodesPage(r, s)
	if err != nil {
		return err
	}
	p.Notice = nodesDone[r.URL.Query().Get("done")]
	fragment := ""
	if r.Header.Get("HX-Request") == "true" {
		fragment = "node-table"
		if r.URL.Query().Get("part") == "doctor" {
			fragment = "doctor"
		}
	}
	c.render(w, http.StatusOK, "nodes", fragment, layoutData(s, p.Name+" · Nodes", p))
	return nil
}

// nodesPage reads what the nodes page shows, through the services.
func (c *Console) nodesPage(r *http.Request, s *session) (*nodesPage, error) {
	rec, cl, err := c.o.Clusters.Get(r.Context(), &s.call, clustersvc.ByUID(r.PathValue("uid")))
	if err != nil {
		return nil, err
	}
	p := &nodesPage{UID: rec.UID, Name: rec.Name, CloudType: cl.CloudType, Tabs: clusterTabs(rec.UID, "Nodes"),
		Rows: nodeRows(cl), CanWrite: s.can(service.PermWriteClusters, rec.ProjectUID)}
	d, err := c.o.Troubleshooting.Doctor(r.Context(), &s.call, rec.UID, "")
	switch {
	case service.KindOf(err) == service.KindNotFound:
		return p, nil // the doctor never ran on this cluster (the cluster itself was just read)
	case err != nil:
		return nil, err
	}
	p.Doctor = &d
	p.Running = d.Status.State == v1.LogStateRequested || d.Status.State == v1.LogStateCollecting
	if d.Status.State == v1.LogStateCompleted {
		p.Findings = findingsByNode(p.Rows, d.Status.Findings)
	}
	return p, nil
}

// nodeRows joins the cluster's machines with the agent's node and usage reports: control planes
// first, then by pool and name.
func nodeRows(cl clusters.Cluster) []nodeRow {
	reports := map[string]v1.NodeReport{}
	for _, n := range cl.Status.Nodes {
		reports[n.Name] = n
		if n.Machine != "" {
			reports[n.Machine] = n
		}
	}
	use := map[string]v1.NodeUsage{}
	for _, u := range cl.Status.Usage.Nodes {
		use[u.Name] = u
	}
	var rows []nodeRow
	shown := map[string]bool{}
	for _, m := range cl.Status.Machines {
		row := nodeRow{Name: m.Name, Pool: m.Pool, MachineUID: m.UID, ControlPlane: m.ControlPlane, Unhealthy: m.Unhealthy,
			Remediation: m.Remediation, Maintenance: m.Maintenance, InMaintenance: m.InMaintenance(), Deleting: m.Deleting()}
		n, ok := reports[m.UID]
		if !ok {
			n, ok = reports[m.Name]
		}
		if ok {
			row.Name = n.Name
			row.report(n)
		}
		shown[row.Name] = true
		rows = append(rows, row)
	}
	for _, n := range cl.Status.Nodes {
		if !shown[n.Name] {
			row := nodeRow{Name: n.Name, Pool: n.Pool, ControlPlane: n.Role == "control-plane"}
			row.report(n)
			rows = append(rows, row)
		}
	}
	for i := range rows {
		rows[i].CPU, rows[i].Memory = usageText(use[rows[i].Name], rows[i].Reported)
	}
	slices.SortStableFunc(rows, func(a, b nodeRow) int {
		if a.ControlPlane != b.ControlPlane {
			if a.ControlPlane {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.Pool, b.Pool), cmp.Compare(a.Name, b.Name))
	})
	return rows
}

// report takes what the agent reported of the row's node.
func (row *nodeRow) report(n v1.NodeReport) {
	row.Reported, row.Ready, row.KubeletVersion, row.Failed = true, n.Ready, n.KubeletVersion, clusters.FailedConditions(n)
}

// usageText is a node's CPU and memory use as the page shows it: used of allocatable, with the
// share; "-" when nothing was measured.
func usageText(u v1.NodeUsage, reported bool) (cpu, memory string) {
	switch {
	case !reported || u.Name == "":
		return "-", "-"
	case u.UsageNotAvailable:
		why := "usage not measured"
		if u.UsageNotAvailableReason != "" {
			why += ": " + u.UsageNotAvailableReason
		}
		return fmt.Sprintf("%.2f of %.0f cores requested (%s)", u.CPURequest, u.CPUAllocatable, why),
			fmt.Sprintf("%.1f of %.1f GiB requested", gib(u.MemoryRequest), gib(u.MemoryAllocatable))
	}
	return fmt.Sprintf("%.2f of %.0f cores (%s)", u.CPUUsage, u.CPUAllocatable, percent(u.CPUUsage, u.CPUAllocatable)),
		fmt.Sprintf("%.1f of %.1f GiB (%s)", gib(u.MemoryUsage), gib(u.MemoryAllocatable), percent(u.MemoryUsage, u.MemoryAllocatable))
}

// findingsByNode groups a run's findings by node — problems, then warnings, then the checks that
// passed — in the table's order (nodes the table does not show last), and counts each row's
// checks, problems and warnings.
func findingsByNode(rows []nodeRow, findings []v1.Finding) []nodeFindings {
	type group struct{ problems, warnings, ok []v1.Finding }
	byNode := map[string]*group{}
	var order []string
	for _, f := range findings {
		g, ok := byNode[f.Node]
		if !ok {
			g = &group{}
			byNode[f.Node] = g
			order = append(order, f.Node)
		}
		switch f.Status {
		case v1.FindingProblem:
			g.problems = append(g.problems, f)
		case v1.FindingWarning:
			g.warnings = append(g.warnings, f)
		default:
			g.ok = append(g.ok, f)
		}
	}
	out := make([]nodeFindings, 0, len(order))
	add := func(node string) {
		if g, ok := byNode[node]; ok {
			out = append(out, nodeFindings{Node: node, Troubles: append(g.problems, g.warnings...), OK: g.ok})
			delete(byNode, node)
		}
	}
	for i := range rows {
		if g, ok := byNode[rows[i].Name]; ok {
			rows[i].Checked, rows[i].Problems, rows[i].Warnings = len(g.problems)+len(g.warnings)+len(g.ok), len(g.problems), len(g.warnings)
		}
		add(rows[i].Name)
	}
	for _, node := range order {
		add(node)
	}
	return out
}

// maintenanceTarget reads the machine a maintenance request names, from its path: its pool and
// uid, as the API's PUT …/machinePools/{pool}/machines/{machineUid}/maintenance has them.
func maintenanceTarget(r *http.Request) (pool, machineUID string) {
	return r.PathValue("pool"), r.PathValue("machine")
}

// confirmMaintenance asks whether to change a node's maintenance (?action=cordon|uncordon): as a
// fragment for htmx, which shows it above the table, or as the nodes page with the question on it.
func (c *Console) confirmMaintenance(w http.ResponseWriter, r *http.Request, s *session) error {
	p, err := c.nodesPage(r, s)
	if err != nil {
		return err
	}
	if !p.CanWrite {
		return service.Forbidden("your role in this project does not allow changing its nodes' maintenance (it needs %s)", service.PermWriteClusters)
	}
	action := r.URL.Query().Get("action")
	if action != v1.MaintenanceCordon && action != v1.MaintenanceUncordon {
		return service.Invalid("action %q must be %s or %s", action, v1.MaintenanceCordon, v1.MaintenanceUncordon)
	}
	pool, machineUID := maintenanceTarget(r)
	i := slices.IndexFunc(p.Rows, func(row nodeRow) bool { return row.MachineUID == machineUID && row.Pool == pool })
	if i < 0 {
		return service.NotFound("machine", machineUID)
	}
	p.Confirm = &confirmation{UID: p.UID, Pool: pool, MachineUID: machineUID, Node: p.Rows[i].Name, Action: action, CSRF: s.csrf}
	fragment := ""
	if r.Header.Get("HX-Request") == "true" {
		fragment = "confirm"
	}
	c.render(w, http.StatusOK, "nodes", fragment, layoutData(s, p.Name+" · Nodes", p))
	return nil
}

// setMaintenance turns a node's maintenance on or off through the clusters service, as the API's
// handler does. For htmx it answers with the refreshed table (and clears the question); a refusal
// is shown in the question's place. Without htmx it redirects back to the page.
func (c *Console) setMaintenance(w http.ResponseWriter, r *http.Request, s *session) error {
	uid := r.PathValue("uid")
	pool, machineUID := maintenanceTarget(r)
	action := r.PostFormValue("action")
	err := c.o.Clusters.SetMaintenance(r.Context(), &s.call, clustersvc.ByUID(uid), pool, machineUID,
		formInput(v1.MachineMaintenance{Action: action}))
	htmx := r.Header.Get("HX-Request") == "true"
	if !htmx {
		if err != nil {
			return err
		}
		http.Redirect(w, r, "/clusters/"+uid+"/nodes?done="+action, http.StatusSeeOther)
		return nil
	}
	p, readErr := c.nodesPage(r, s)
	if readErr != nil {
		return readErr
	}
	if err != nil {
		status, message := c.refusal(r, err)
		node := machineUID
		if i := slices.IndexFunc(p.Rows, func(row nodeRow) bool { return row.MachineUID == machineUID }); i >= 0 {
			node = p.Rows[i].Name
		}
		p.Confirm = &confirmation{UID: uid, Pool: pool, MachineUID: machineUID, Node: node, Action: action, CSRF: s.csrf, Problem: message}
		w.Header().Set("HX-Retarget", "#confirm")
		w.Header().Set("HX-Reswap", "innerHTML")
		c.render(w, status, "nodes", "confirm", layoutData(s, p.Name+" · Nodes", p))
		return nil
	}
	p.Notice = nodesDone[action]
	c.render(w, http.StatusOK, "nodes", "maintenance-done", layoutData(s, p.Name+" · Nodes", p))
	return nil
}

// runDoctor starts a doctor run over every node of the cluster, as the API's POST
// …/features/doctor with an empty body does. For htmx it answers with the doctor's part, which
// then refreshes itself until the run ends.
func (c *Console) runDoctor(w http.ResponseWriter, r *http.Request, s *session) error {
	uid := r.PathValue("uid")
	if _, err := c.o.Troubleshooting.RequestDoctor(r.Context(), &s.call, uid, formInput(v1.DoctorRequest{})); err != nil {
		return err
	}
	if r.Header.Get("HX-Request") != "true" {
		http.Redirect(w, r, "/clusters/"+uid+"/nodes?done=doctor#doctor", http.StatusSeeOther)
		return nil
	}
	p, err := c.nodesPage(r, s)
	if err != nil {
		return err
	}
	c.render(w, http.StatusOK, "nodes", "doctor", layoutData(s, p.Name+" · Nodes", p))
	return nil
}
