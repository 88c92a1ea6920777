package hub

import (
	"errors"
	"io"
	"net/http"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
)

func (s *Server) createProfile(w http.ResponseWriter, r *http.Request, c *call) error {
	uid, err := s.profiles.Create(r.Context(), &c.Call, body(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1.UID{UID: uid})
	return nil
}

func (s *Server) getProfile(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := s.profiles.Describe(r.Context(), &c.Call, r.PathValue("uid"))
	if err != nil {
		return err
	}
	rec, p := d.Record, d.Profile
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
	for _, v := range d.Versions {
		out.Spec.Versions = append(out.Spec.Versions, v1.ClusterProfileVersion{UID: v.UID, Version: v.Version})
	}
	out.Status.InUseClusterUIDs = d.UsedBy
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) updateProfile(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.profiles.Update(r.Context(), &c.Call, r.PathValue("uid"), r.Header.Get("If-Match"), body(r)))
}

func (s *Server) publishProfile(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.profiles.Publish(r.Context(), &c.Call, r.PathValue("uid")))
}

func (s *Server) deleteProfile(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.profiles.Delete(r.Context(), &c.Call, r.PathValue("uid")))
}

func (s *Server) profilesMetadata(w http.ResponseWriter, r *http.Request, c *call) error {
	list, err := s.profiles.List(r.Context(), &c.Call)
	if err != nil {
		return err
	}
	out := v1.ClusterProfilesMetadata{Items: []v1.ClusterProfileMetadata{}}
	for _, l := range list {
		var m v1.ClusterProfileMetadata
		m.Metadata = v1.ObjectEntity{UID: l.Record.UID, Name: l.Record.Name, Annotations: withScope(l.Record, nil)}
		m.Spec.CloudType, m.Spec.Version = l.Profile.CloudType, l.Profile.Version
		out.Items = append(out.Items, m)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) profilePacks(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, p, err := s.profiles.Get(r.Context(), &c.Call, r.PathValue("uid"))
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
	pk, err := s.profiles.Pack(r.Context(), &c.Call, r.PathValue("uid"), r.PathValue("packName"))
	if err != nil {
		return err
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
	data, filename, err := s.profiles.Export(r.Context(), &c.Call, r.PathValue("uid"), r.URL.Query().Get("format"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.Write(data)
	return nil
}

// importProfile creates a profile from an exported file (multipart field importFile, JSON or YAML).
func (s *Server) importProfile(w http.ResponseWriter, r *http.Request, c *call) error {
	uid, err := s.profiles.Import(r.Context(), &c.Call, r.URL.Query().Get("publish") == "true", func() ([]byte, error) {
		file, _, err := r.FormFile("importFile")
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, err
			}
			return nil, service.Invalid("expected a multipart form with the profile in field importFile: %v", err)
		}
		defer file.Close()
		return io.ReadAll(file)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1.UID{UID: uid})
	return nil
}

// profileVariables answers Palette's profile variables: easel profiles have none.
func (s *Server) profileVariables(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, _, err := s.profiles.Get(r.Context(), &c.Call, r.PathValue("uid")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string][]any{"variables": {}})
	return nil
}
