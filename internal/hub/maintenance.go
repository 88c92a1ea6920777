package hub

import (
	"net/http"
)

// putMaintenance turns a machine's maintenance mode on (cordon: the agent cordons and drains its
// node) or off (uncordon). Palette's PUT …/machines/{machineUid}/maintenance.
func (s *Server) putMaintenance(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.clusters.SetMaintenance(r.Context(), &c.Call, cloudConfigTarget(r), r.PathValue("poolName"), r.PathValue("machineUid"), body(r)))
}
