package console

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// clustersPerPage is the grid's page size.
const clustersPerPage = 25

// gridSorts are the grid's sortable columns and the stored fields they sort on.
var gridSorts = map[string]store.Field{
	"name": store.FieldName, "state": store.FieldState, "cloud": store.FieldCategory, "modified": store.FieldUpdatedAt,
}

// gridStates are the states the grid filters on.
var gridStates = []string{v1.ClusterStatePending, v1.ClusterStateProvisioning, v1.ClusterStateRunning, v1.ClusterStateDeleting}

// clusterRow is one cluster of the grid.
type clusterRow struct {
	UID, Name, CloudType, State, Health, Project string
	InMaintenance                                bool
	HealthyNodes, Nodes                          int
	CPU, Memory                                  *v1.ComputeMetrics
	Modified                                     time.Time
}

// gridQuery is what the grid shows: its filters, its order and its page.
type gridQuery struct {
	Name, State, Sort, Order, Project string
	Page                              int
}

// link is the grid's URL with q changed by change.
func (q gridQuery) link(change func(q *gridQuery)) string {
	change(&q)
	v := url.Values{}
	for key, value := range map[string]string{"name": q.Name, "state": q.State, "sort": q.Sort, "order": q.Order, "project": q.Project} {
		if value != "" {
			v.Set(key, value)
		}
	}
	if q.Page > 1 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	if len(v) == 0 {
		return "/clusters"
	}
	return "/clusters?" + v.Encode()
}

// SortLink is the link that sorts by column: ascending, or descending when it already sorts by it
// ascending.
func (q gridQuery) SortLink(column string) string {
	return q.link(func(q *gridQuery) {
		desc := q.Sort == column && q.Order != "desc"
		q.Sort, q.Order, q.Page = column, "asc", 1
		if desc {
			q.Order = "desc"
		}
	})
}

// PageLink is the link to another page of the grid.
func (q gridQuery) PageLink(page int) string { return q.link(func(q *gridQuery) { q.Page = page }) }

// clusters is the grid: every cluster the call shows, filtered by name and state, sorted, a page
// at a time. An htmx request for it gets the rows alone (the grid refreshes them every few
// seconds).
func (c *Console) clusters(w http.ResponseWriter, r *http.Request, s *session) error {
	form := r.URL.Query()
	q := gridQuery{Name: form.Get("name"), State: form.Get("state"), Sort: form.Get("sort"), Order: form.Get("order"),
		Project: s.call.Project, Page: 1}
	q.Page = pageNumber(form.Get("page"))
	if len(q.Name) > v1.MaxFilterValueLength {
		return service.Invalid("the name filter is at most %d characters (MaxFilterValueLength)", v1.MaxFilterValueLength)
	}
	opts := store.ListOptions{OrderBy: store.FieldName, Limit: clustersPerPage, Offset: (q.Page - 1) * clustersPerPage}
	if f, ok := gridSorts[q.Sort]; ok {
		opts.OrderBy, opts.Desc = f, q.Order == "desc"
	}
	if q.Name != "" {
		opts.Conditions = append(opts.Conditions, store.Condition{Field: store.FieldName, Op: store.OpContains, Values: []string{q.Name}, IgnoreCase: true})
	}
	if q.State != "" {
		opts.Conditions = append(opts.Conditions, store.Condition{Field: store.FieldState, Op: store.OpEq, Values: []string{q.State}})
	}
	sums, total, err := c.o.Clusters.Summaries(r.Context(), &s.call, opts)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, p := range s.projects {
		names[p.UID] = p.Name
	}
	rows := make([]clusterRow, 0, len(sums))
	for _, cs := range sums {
		rows = append(rows, gridRow(cs, names[cs.ProjectUID]))
	}
	pages := max(1, (total+clustersPerPage-1)/clustersPerPage)
	data := layoutData(s, "Clusters", map[string]any{"Rows": rows, "Query": q, "Total": total, "Pages": pages,
		"States": gridStates, "CanCreate": s.mayCreate(service.PermWriteClusters)})
	fragment := ""
	if r.Header.Get("HX-Request") == "true" {
		fragment = "cluster-rows"
	}
	c.render(w, http.StatusOK, "clusters", fragment, data)
	return nil
}

// pageNumber reads a page number from a query: 1 unless it is a number past 1 within
// MaxListOffset.
func pageNumber(v string) int {
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > v1.MaxListOffset/clustersPerPage {
		return 1
	}
	return p
}

// gridRow is what the grid shows of a cluster: its health with a maintenance mark, how many of its
// nodes are Ready, and its workers' CPU and memory use.
func gridRow(cs store.ClusterSummary, project string) clusterRow {
	sum := cs.Summary
	row := clusterRow{UID: cs.UID, Name: cs.Name, CloudType: sum.CloudType, State: sum.State, Health: sum.Health.State,
		Project: project, InMaintenance: sum.InMaintenance, HealthyNodes: sum.ReadyNodes, Nodes: sum.Nodes,
		Modified: cs.UpdatedAt}
	if m := sum.Metrics; m != nil {
		row.CPU, row.Memory = m.CPU, m.Memory
	}
	return row
}

// layoutData is what every page's layout shows (who, in which project, the switcher) with the
// page's own data under Page.
func layoutData(s *session, title string, page any) map[string]any {
	data := map[string]any{"Title": title, "Page": page}
	if s != nil {
		data["User"], data["CSRF"], data["Projects"] = s.call.Name, s.csrf, s.projects
		data["Project"], data["ProjectName"] = s.call.Project, s.projectName
		data["AllProjects"] = s.call.Project == ""
		data["Auditor"] = s.auditor()
	}
	return data
}
