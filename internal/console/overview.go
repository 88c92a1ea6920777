package console

import (
	"net/http"

	v1 "github.com/easelhq/easel/api/v1"
	clustersvc "github.com/easelhq/easel/internal/service/clusters"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/usage"
)

// eventsPerPage is how many events the overview shows at a time.
const eventsPerPage = 20

// overview is a cluster's page: state and health with their reasons, a reminder when a node is in
// maintenance, usage, conditions (failed ones with their message), application services, upgrades,
// profiles and the event stream (newest first, paged, warnings only on request). Its status part
// refreshes itself, so a cluster turning Running shows without a reload.
func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) error {
	rec, cl, err := c.o.Clusters.Get(r.Context(), &s.call, clustersvc.ByUID(r.PathValue("uid")))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	// The status part's refresh (every 3 s while the page is open) shows no events: it reads none.
	fragment := ""
	if r.Header.Get("HX-Request") == "true" {
		fragment = "cluster-status"
	}
	warningsOnly := q.Get("warnings") == "1"
	offset := (pageNumber(q.Get("events")) - 1) * eventsPerPage
	var events []store.Event
	total := 0
	if fragment == "" {
		if events, total, err = c.eventsOf(r, s, rec.UID, warningsOnly, offset); err != nil {
			return err
		}
	}
	var inMaintenance []string
	for i := range cl.Status.Machines {
		if m := &cl.Status.Machines[i]; m.InMaintenance() {
			inMaintenance = append(inMaintenance, m.Name)
		}
	}
	row := gridRow(store.ClusterSummary{Record: rec, Summary: cl.Summary()}, "")
	_, _, chosen := chartRange(q.Get("range"))
	data := layoutData(s, rec.Name, map[string]any{
		"UID": rec.UID, "Name": rec.Name, "Cluster": cl, "Tabs": clusterTabs(rec.UID, "Overview"), "Row": row, "InMaintenance": inMaintenance,
		"Metrics": usage.Metrics(cl.Status.Usage.Nodes, cl.Status.Usage.ReceivedAt, false),
		"Events":  events, "EventsTotal": total, "EventsPage": offset/eventsPerPage + 1,
		"EventsPages": max(1, (total+eventsPerPage-1)/eventsPerPage), "WarningsOnly": warningsOnly,
		"Range": chosen, "Ranges": chartRanges, "ControlPlane": q.Get("controlPlane") == "1",
	})
	c.render(w, http.StatusOK, "overview", fragment, data)
	return nil
}

// eventsOf is one page of the cluster's events, newest first, or of its warnings alone. Warnings
// are picked from the kept events (at most store.EventsKept), a page at a time.
func (c *Console) eventsOf(r *http.Request, s *session, uid string, warningsOnly bool, offset int) ([]store.Event, int, error) {
	if !warningsOnly {
		return c.o.Clusters.Events(r.Context(), &s.call, uid, eventsPerPage, offset)
	}
	all, _, err := c.o.Clusters.Events(r.Context(), &s.call, uid, store.EventsKept, 0)
	if err != nil {
		return nil, 0, err
	}
	var warnings []store.Event
	for _, e := range all {
		if e.Severity == v1.SeverityWarning {
			warnings = append(warnings, e)
		}
	}
	end := min(len(warnings), offset+eventsPerPage)
	if offset >= end {
		return nil, len(warnings), nil
	}
	return warnings[offset:end], len(warnings), nil
}

// tab is one of a cluster's pages, in the tabs above each.
type tab struct {
	Name, Href string
	Current    bool
}

// clusterTabs are a cluster's pages, current the one shown.
func clusterTabs(uid, current string) []tab {
	tabs := []tab{{Name: "Overview", Href: "/clusters/" + uid}, {Name: "Nodes", Href: "/clusters/" + uid + "/nodes"},
		{Name: "Settings", Href: "/clusters/" + uid + "/settings"}}
	for i := range tabs {
		tabs[i].Current = tabs[i].Name == current
	}
	return tabs
}

// failed reports whether a condition is not what a healthy cluster has.
func failed(cond v1.ClusterCondition) bool { return cond.Status != "True" }
