package console

import (
	"net/http"

	"github.com/easelhq/easel/internal/store"
)

// auditPerPage is how many audit entries the audit page shows at a time.
const auditPerPage = 50

// audit is the audit trail the caller may read, newest first: every entry of the tenant for a
// tenant admin, those of the projects they administer for a project admin, none for the others
// (the projects service decides, as for GET /v1/audits).
func (c *Console) audit(w http.ResponseWriter, r *http.Request, s *session) error {
	page := pageNumber(r.URL.Query().Get("page"))
	entries, total, err := c.o.Projects.Audits(r.Context(), &s.call, auditPerPage, (page-1)*auditPerPage)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, p := range s.projects {
		names[p.UID] = p.Name
	}
	type row struct {
		store.Audit
		Project string
	}
	rows := make([]row, len(entries))
	for i, e := range entries {
		rows[i] = row{Audit: e, Project: names[e.ProjectUID]}
	}
	c.render(w, http.StatusOK, "audit", "", layoutData(s, "Audit", map[string]any{
		"Entries": rows, "Total": total, "Page": page, "Pages": max(1, (total+auditPerPage-1)/auditPerPage),
	}))
	return nil
}
