package hub

import (
	"net/http"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/store"
)

func (s *Server) createProject(w http.ResponseWriter, r *http.Request, c *call) error {
	uid, err := s.projects.Create(r.Context(), &c.Call, body(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1.UID{UID: uid})
	return nil
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, err := s.projects.Get(r.Context(), &c.Call, r.PathValue("uid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1.Project{Metadata: meta(rec)})
	return nil
}

func (s *Server) updateProject(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.projects.Rename(r.Context(), &c.Call, r.PathValue("uid"), body(r)))
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.projects.Delete(r.Context(), &c.Call, r.PathValue("uid")))
}

func (s *Server) projectsMetadata(w http.ResponseWriter, r *http.Request, c *call) error {
	recs, err := s.projects.List(r.Context(), &c.Call)
	if err != nil {
		return err
	}
	out := v1.ProjectsMetadata{Items: []v1.ProjectMetadata{}}
	for _, rec := range recs {
		out.Items = append(out.Items, v1.ProjectMetadata{Metadata: v1.ObjectEntity{UID: rec.UID, Name: rec.Name}})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// projectClusterSettings answers GET /v1/projects/{uid}/preferences/clusterSettings.
func (s *Server) projectClusterSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	ps, err := s.projects.ClusterSettings(r.Context(), &c.Call, r.PathValue("uid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1.ProjectClusterSettings{UsageThresholds: ps.Thresholds(), NodesAutoRemediationSetting: ps.AutoRemediation()})
	return nil
}

// putUsageThresholds sets a project's usage thresholds (easel's addition to the cluster settings).
func (s *Server) putUsageThresholds(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.projects.SetUsageThresholds(r.Context(), &c.Call, r.PathValue("uid"), body(r)))
}

// putAutoRemediation turns node auto-remediation on or off for a project's clusters (Palette's
// PUT …/clusterSettings/nodesAutoRemediationSetting).
func (s *Server) putAutoRemediation(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.projects.SetAutoRemediation(r.Context(), &c.Call, r.PathValue("uid"), body(r)))
}

func auditWire(a store.Audit) v1.Audit {
	out := v1.Audit{
		Metadata: v1.ObjectMeta{UID: a.UID, CreationTimestamp: a.CreatedAt, LastModifiedTimestamp: a.CreatedAt},
		Spec: v1.AuditSpec{ActionMsg: a.Message, ActionType: a.Action,
			Actor:    v1.AuditActor{ActorType: a.ActorType},
			Resource: v1.AuditResource{Kind: a.ResourceKind, Name: a.ResourceName, UID: a.ResourceUID}},
	}
	if a.ActorUID != "" || a.ActorName != "" {
		out.Spec.Actor.User = &v1.AuditUser{UID: a.ActorUID, Name: a.ActorName, Email: a.ActorName}
	}
	if a.ProjectUID != "" {
		out.Spec.Actor.Project = &v1.ObjectEntity{UID: a.ProjectUID}
	}
	return out
}

func (s *Server) listAudits(w http.ResponseWriter, r *http.Request, c *call) error {
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	audits, total, err := s.projects.Audits(r.Context(), &c.Call, pg.limit, pg.offset)
	if err != nil {
		return err
	}
	out := v1.Audits{Items: []v1.Audit{}, Listmeta: pg.listMeta(len(audits), total)}
	for _, a := range audits {
		out.Items = append(out.Items, auditWire(a))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getAudit(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := s.projects.Audit(r.Context(), &c.Call, r.PathValue("uid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, auditWire(a))
	return nil
}
