package hub

import (
	"net/http"
	"strconv"

	"github.com/easelhq/easel/internal/service"
)

// importManifest returns the YAML that installs an imported cluster's agent (see
// clustersvc.Service.ImportManifest for when a token is issued and what it revokes).
func (s *Server) importManifest(w http.ResponseWriter, r *http.Request, c *call) error {
	rotate := false
	if v := r.URL.Query().Get("rotateToken"); v != "" {
		var err error
		if rotate, err = strconv.ParseBool(v); err != nil {
			return service.Invalid("rotateToken %q must be true or false", v)
		}
	}
	rendered, name, err := s.clusters.ImportManifest(r.Context(), &c.Call, target(r), rotate)
	if err != nil {
		return err
	}
	s.log.Info("Issued an agent token in an import manifest", "cluster", r.PathValue("uid"), "rotateToken", rotate, "actor", c.Name)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`-import.yaml"`)
	for i, m := range rendered {
		if i > 0 {
			w.Write([]byte("---\n"))
		}
		w.Write([]byte(m.Content))
	}
	return nil
}
