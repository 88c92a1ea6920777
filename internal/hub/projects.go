package hub

import (
	"errors"
	"net/http"
	"slices"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
	"github.com/easelhq/easel/internal/validate"
)

func (s *Server) createProject(w http.ResponseWriter, r *http.Request, c *call) error {
	var in v1.ProjectEntity
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := validate.Name("metadata.name", in.Metadata.Name); err != nil {
		return service.Invalid("%v", err)
	}
	rec := &store.Record{Kind: kindProject, UID: uid.New(), TenantUID: c.TenantUID, Name: in.Metadata.Name, Doc: []byte(`{}`)}
	err := s.store.Tx(r.Context(), func(q store.Queries) error {
		if err := q.CreateObject(r.Context(), rec); err != nil {
			return err
		}
		return s.records.Audit(r.Context(), q, &c.Call, rec.UID, "create", kindProject, rec.UID, rec.Name, "Created project "+rec.Name)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1.UID{UID: rec.UID})
	return nil
}

// projectRecord returns the project of the path, 404 when the caller has no role in it.
func (s *Server) projectRecord(r *http.Request, c *call) (store.Record, error) {
	uid := r.PathValue("uid")
	rec, err := s.store.GetObject(r.Context(), kindProject, uid)
	if errors.Is(err, store.ErrNotFound) || err == nil && (rec.TenantUID != c.TenantUID || !c.Sees(uid)) {
		return rec, service.NotFound("project", uid)
	}
	return rec, err
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, err := s.projectRecord(r, c)
	if err != nil {
		return err
	}
	out := v1.Project{Metadata: meta(rec)}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) updateProject(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, err := s.projectRecord(r, c)
	if err != nil {
		return err
	}
	var in v1.ProjectEntity
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := validate.Name("metadata.name", in.Metadata.Name); err != nil {
		return service.Invalid("%v", err)
	}
	old := rec.Name
	rec.Name = in.Metadata.Name
	err = s.store.Tx(r.Context(), func(q store.Queries) error {
		if err := q.UpdateObject(r.Context(), &rec); err != nil {
			return err
		}
		return s.records.Audit(r.Context(), q, &c.Call, rec.UID, "update", kindProject, rec.UID, rec.Name, "Renamed project "+old+" to "+rec.Name)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, err := s.projectRecord(r, c)
	if err != nil {
		return err
	}
	err = s.store.Tx(r.Context(), func(q store.Queries) error {
		// Locked before its contents are counted: a cluster or profile being created in it holds a
		// share lock (see lockProject), so it has committed when the lock is ours and is counted.
		if _, err := q.LockObject(r.Context(), kindProject, rec.UID, store.LockExclusive); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return service.NotFound(kindProject, rec.UID)
			}
			return err
		}
		for _, kind := range []string{kindCluster, kindProfile} {
			_, n, err := q.ListObjects(r.Context(), store.ListOptions{Kind: kind, TenantUID: rec.TenantUID,
				ProjectUIDs: []string{rec.UID}, Limit: 1})
			if err != nil {
				return err
			}
			if n > 0 {
				return service.Conflict("project %s still holds %d %s object(s); delete them first", rec.Name, n, kind)
			}
		}
		if err := q.DeleteObject(r.Context(), kindProject, rec.UID); err != nil {
			return err
		}
		return s.records.Audit(r.Context(), q, &c.Call, rec.UID, "delete", kindProject, rec.UID, rec.Name, "Deleted project "+rec.Name)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) projectsMetadata(w http.ResponseWriter, r *http.Request, c *call) error {
	recs, _, err := s.store.ListObjects(r.Context(), store.ListOptions{Kind: kindProject, TenantUID: c.TenantUID})
	if err != nil {
		return err
	}
	out := v1.ProjectsMetadata{Items: []v1.ProjectMetadata{}}
	for _, rec := range recs {
		if c.Sees(rec.UID) {
			out.Items = append(out.Items, v1.ProjectMetadata{Metadata: v1.ObjectEntity{UID: rec.UID, Name: rec.Name}})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
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

// auditScope is what audits the caller may read: all (tenant admin), or those of the projects
// they administer.
func auditScope(c *call) []string {
	if c.TenantAdmin {
		if c.Project != "" {
			return []string{c.Project}
		}
		return nil
	}
	out := []string{}
	for uid := range c.ProjectRoles {
		if c.Can(uid, service.PermProjectAdmin) && (c.Project == "" || c.Project == uid) {
			out = append(out, uid)
		}
	}
	return out
}

func (s *Server) listAudits(w http.ResponseWriter, r *http.Request, c *call) error {
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	audits, total, err := s.store.ListAudits(r.Context(), store.AuditFilter{TenantUID: c.TenantUID,
		ProjectUIDs: auditScope(c), Limit: pg.limit, Offset: pg.offset})
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
	uid := r.PathValue("uid")
	a, err := s.store.GetAudit(r.Context(), uid)
	if errors.Is(err, store.ErrNotFound) {
		return service.NotFound("audit", uid)
	}
	if err != nil {
		return err
	}
	scope := auditScope(c)
	if a.TenantUID != c.TenantUID || scope != nil && !slices.Contains(scope, a.ProjectUID) {
		return service.NotFound("audit", uid)
	}
	writeJSON(w, http.StatusOK, auditWire(a))
	return nil
}
