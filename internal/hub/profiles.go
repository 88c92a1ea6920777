package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"sigs.k8s.io/yaml"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/profiles"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
)

func (s *Server) createProfile(w http.ResponseWriter, r *http.Request, c *call) error {
	var in v1.ClusterProfileEntity
	if err := decode(r, &in); err != nil {
		return err
	}
	uid, err := s.storeNewProfile(r, c, in, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1.UID{UID: uid})
	return nil
}

// storeNewProfile validates and stores a new profile (published at once when publish is set).
func (s *Server) storeNewProfile(r *http.Request, c *call, in v1.ClusterProfileEntity, publish bool) (string, error) {
	project, err := c.WriteScope(c.perm, "create profiles")
	if err != nil {
		return "", err
	}
	p, err := profiles.FromEntity(in, s.catalog)
	if err != nil {
		return "", err
	}
	p.Published = publish
	rec := &store.Record{Kind: kindProfile, UID: uid.New(), TenantUID: c.TenantUID, ProjectUID: project,
		Name: p.Name, Version: p.Version, State: profileState(p), Category: p.Type}
	p.AssignManifestUIDs(rec.UID)
	rec.Doc = p.Encode()
	err = s.store.Tx(r.Context(), func(q store.Queries) error {
		if err := service.LockProject(r.Context(), q, project); err != nil {
			return err
		}
		if err := q.CreateObject(r.Context(), rec); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return service.Conflict("profile %s version %s already exists; give the new one another spec.version", p.Name, p.Version)
			}
			return err
		}
		if err := s.records.Event(r.Context(), q, rec, v1.SeverityInfo, "Created", "Profile "+p.Name+" "+p.Version+" created as "+profileState(p)); err != nil {
			return err
		}
		return s.records.Audit(r.Context(), q, &c.Call, project, "create", kindProfile, rec.UID, rec.Name, "Created cluster profile "+p.Name+" "+p.Version)
	})
	return rec.UID, err
}

func profileState(p profiles.Profile) string {
	if p.Published {
		return "published"
	}
	return "draft"
}

func (s *Server) profileRecord(r *http.Request, c *call) (store.Record, profiles.Profile, error) {
	rec, err := s.records.Object(r.Context(), &c.Call, kindProfile, r.PathValue("uid"))
	if err != nil {
		return rec, profiles.Profile{}, err
	}
	p, err := profiles.Decode(rec.Doc)
	return rec, p, err
}

func (s *Server) getProfile(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, p, err := s.profileRecord(r, c)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(rec))
	out := v1.ClusterProfile{APIVersion: "v1", Kind: "ClusterProfile", Metadata: meta(rec)}
	out.Metadata.Labels, out.Metadata.Annotations = p.Labels, withScope(rec, p.Annotations)
	tmpl := p.Template(rec.UID)
	if p.Published {
		out.Spec.Published = &tmpl
	} else {
		out.Spec.Draft = &tmpl
	}
	out.Spec.Version = p.Version
	out.Status.IsPublished = p.Published
	out.Spec.Versions = []v1.ClusterProfileVersion{}
	versions, _, err := s.store.ListObjects(r.Context(), store.ListOptions{Kind: kindProfile, TenantUID: rec.TenantUID,
		ProjectUIDs: []string{rec.ProjectUID}, Conditions: []store.Condition{{Field: store.FieldName, Values: []string{rec.Name}}},
		OrderBy: store.FieldVersion})
	if err != nil {
		return err
	}
	for _, v := range versions {
		out.Spec.Versions = append(out.Spec.Versions, v1.ClusterProfileVersion{UID: v.UID, Version: v.Version})
	}
	out.Status.InUseClusterUIDs, err = clustersUsingProfile(r.Context(), s.store, rec)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// clustersUsingProfile lists the clusters that have the profile attached.
func clustersUsingProfile(ctx context.Context, q store.Queries, rec store.Record) ([]string, error) {
	opts := store.ListOptions{Kind: kindCluster, TenantUID: rec.TenantUID}
	if rec.ProjectUID != "" {
		opts.ProjectUIDs = []string{rec.ProjectUID}
	}
	recs, _, err := q.ListObjects(ctx, opts)
	if err != nil {
		return nil, err
	}
	uids := []string{}
	for _, cr := range recs {
		cl, err := clusters.Decode(cr.Doc)
		if err != nil {
			return nil, err
		}
		for _, ref := range cl.Profiles {
			if ref.UID == rec.UID {
				uids = append(uids, cr.UID)
			}
		}
	}
	return uids, nil
}

func (s *Server) updateProfile(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, old, err := s.profileRecord(r, c)
	if err != nil {
		return err
	}
	if err := c.authorize(rec.ProjectUID); err != nil {
		return err
	}
	if err := checkIfMatch(r, rec); err != nil {
		return err
	}
	if old.Published {
		return service.Conflict("profile %s %s is published and cannot change; create a new version (same name, another spec.version)", old.Name, old.Version)
	}
	var in v1.ClusterProfileEntity
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Metadata.Name == "" {
		in.Metadata.Name = old.Name
	}
	if in.Spec.Version == "" {
		in.Spec.Version = old.Version
	}
	p, err := profiles.FromEntity(in, s.catalog)
	if err != nil {
		return err
	}
	p.AssignManifestUIDs(rec.UID)
	rec.Name, rec.Version, rec.Category, rec.Doc = p.Name, p.Version, p.Type, p.Encode()
	rec.Generation++
	err = s.store.Tx(r.Context(), func(q store.Queries) error {
		if err := q.UpdateObject(r.Context(), &rec); err != nil {
			return err
		}
		if err := s.records.Event(r.Context(), q, &rec, v1.SeverityInfo, "Updated", "Profile draft updated"); err != nil {
			return err
		}
		return s.records.Audit(r.Context(), q, &c.Call, rec.ProjectUID, "update", kindProfile, rec.UID, rec.Name, "Updated cluster profile "+p.Name+" "+p.Version)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) publishProfile(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, p, err := s.profileRecord(r, c)
	if err != nil {
		return err
	}
	if err := c.authorize(rec.ProjectUID); err != nil {
		return err
	}
	if !p.Published {
		p.Published = true
		rec.Doc, rec.State = p.Encode(), profileState(p)
		err = s.store.Tx(r.Context(), func(q store.Queries) error {
			if err := q.UpdateObject(r.Context(), &rec); err != nil {
				return err
			}
			if err := s.records.Event(r.Context(), q, &rec, v1.SeverityInfo, "Published", "Profile "+p.Name+" "+p.Version+" published; it can no longer change"); err != nil {
				return err
			}
			return s.records.Audit(r.Context(), q, &c.Call, rec.ProjectUID, "publish", kindProfile, rec.UID, rec.Name, "Published cluster profile "+p.Name+" "+p.Version)
		})
		if err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteProfile(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, p, err := s.profileRecord(r, c)
	if err != nil {
		return err
	}
	if err := c.authorize(rec.ProjectUID); err != nil {
		return err
	}
	err = s.store.Tx(r.Context(), func(q store.Queries) error {
		// Locked before its users are listed: a cluster that attaches it meanwhile (holding a share
		// lock, see profileResolver) has committed when the lock is ours, so the list shows it.
		if _, err := q.LockObject(r.Context(), kindProfile, rec.UID, store.LockExclusive); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return service.NotFound(kindProfile, rec.UID)
			}
			return err
		}
		users, err := clustersUsingProfile(r.Context(), q, rec)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return service.Conflict("profile %s %s is used by %d cluster(s) (%s); detach it first", p.Name, p.Version, len(users), strings.Join(users, ", "))
		}
		if err := q.DeleteObject(r.Context(), kindProfile, rec.UID); err != nil {
			return err
		}
		return s.records.Audit(r.Context(), q, &c.Call, rec.ProjectUID, "delete", kindProfile, rec.UID, rec.Name, "Deleted cluster profile "+p.Name+" "+p.Version)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// visibleProjects is what a list in the call's scope covers: its project and the tenant scope,
// or, without a ProjectUid header, every project the caller sees.
func visibleProjects(c *call) []string {
	if c.Project != "" {
		return []string{c.Project, ""}
	}
	if ps := c.Projects(); ps != nil {
		return append(ps, "")
	}
	return nil
}

func (s *Server) profilesMetadata(w http.ResponseWriter, r *http.Request, c *call) error {
	recs, _, err := s.store.ListObjects(r.Context(), store.ListOptions{Kind: kindProfile, TenantUID: c.TenantUID,
		ProjectUIDs: visibleProjects(c)})
	if err != nil {
		return err
	}
	out := v1.ClusterProfilesMetadata{Items: []v1.ClusterProfileMetadata{}}
	for _, rec := range recs {
		p, err := profiles.Decode(rec.Doc)
		if err != nil {
			return err
		}
		var m v1.ClusterProfileMetadata
		m.Metadata = v1.ObjectEntity{UID: rec.UID, Name: rec.Name, Annotations: withScope(rec, nil)}
		m.Spec.CloudType, m.Spec.Version = p.CloudType, p.Version
		out.Items = append(out.Items, m)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) profilePacks(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, p, err := s.profileRecord(r, c)
	if err != nil {
		return err
	}
	out := v1.ClusterProfilePacks{Items: []v1.ClusterProfilePack{}}
	for _, ref := range p.PackRefs() {
		out.Items = append(out.Items, v1.ClusterProfilePack{
			Metadata: v1.ObjectMeta{UID: ref.PackUID, Name: ref.Name, CreationTimestamp: rec.CreatedAt}, Spec: ref})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) profilePackManifests(w http.ResponseWriter, r *http.Request, c *call) error {
	_, p, err := s.profileRecord(r, c)
	if err != nil {
		return err
	}
	name := r.PathValue("packName")
	pk, ok := p.FindPack(name)
	if !ok {
		return service.NotFound("pack", name+" in profile "+p.Name)
	}
	out := v1.ManifestEntities{Items: []v1.ManifestEntity{}}
	for _, m := range pk.Manifests {
		var e v1.ManifestEntity
		e.Metadata = v1.ObjectMeta{UID: m.UID, Name: m.Name}
		e.Spec.Published.Content, e.Spec.Draft.Content = m.Content, m.Content
		out.Items = append(out.Items, e)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) exportProfile(w http.ResponseWriter, r *http.Request, c *call) error {
	_, p, err := s.profileRecord(r, c)
	if err != nil {
		return err
	}
	body, err := json.MarshalIndent(p.Entity(), "", "  ")
	if err != nil {
		return err
	}
	ext := "json"
	switch format := r.URL.Query().Get("format"); format {
	case "", "json":
	case "yaml":
		if body, err = yaml.JSONToYAML(body); err != nil {
			return err
		}
		ext = "yaml"
	default:
		return service.Invalid("format %q must be json or yaml", format)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+p.Name+"-"+p.Version+"."+ext+`"`)
	w.Write(body)
	return nil
}

// importProfile creates a profile from an exported file (multipart field importFile, JSON or YAML).
func (s *Server) importProfile(w http.ResponseWriter, r *http.Request, c *call) error {
	file, _, err := r.FormFile("importFile")
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return service.Invalid("expected a multipart form with the profile in field importFile: %v", err)
	}
	defer file.Close()
	data, err := io.ReadAll(file)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		if data, err = yaml.YAMLToJSON(data); err != nil {
			return service.Invalid("importFile is neither JSON nor YAML: %v", err)
		}
	}
	var in v1.ClusterProfileEntity
	if err := json.Unmarshal(data, &in); err != nil {
		return service.Invalid("importFile is not a cluster profile: %v", err)
	}
	uid, err := s.storeNewProfile(r, c, in, r.URL.Query().Get("publish") == "true")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1.UID{UID: uid})
	return nil
}

// profileVariables answers Palette's profile variables: easel profiles have none.
func (s *Server) profileVariables(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, _, err := s.profileRecord(r, c); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string][]any{"variables": {}})
	return nil
}
