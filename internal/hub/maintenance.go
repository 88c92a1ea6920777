package hub

import (
	"fmt"
	"net/http"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// putMaintenance turns a machine's maintenance mode on (cordon: the agent cordons and drains its
// node) or off (uncordon). Palette's PUT …/machines/{machineUid}/maintenance.
func (s *Server) putMaintenance(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.clusters.SetMaintenance(r.Context(), &c.Call, cloudConfigTarget(r), r.PathValue("poolName"), r.PathValue("machineUid"), body(r)))
}

// agentMaintenanceStatus records the agent's progress on a machine's node operation (Palette's
// agent-facing PUT …/machines/{machineUid}/maintenance/status); each step is an event.
func (s *Server) agentMaintenanceStatus(w http.ResponseWriter, r *http.Request, p service.Caller, rec store.Record) error {
	var in v1.MachineMaintenanceStatus
	if err := decode(r, &in); err != nil {
		return err
	}
	switch {
	case in.Action != v1.MaintenanceCordon && in.Action != v1.MaintenanceUncordon:
		return service.Invalid("action %q must be %s or %s", in.Action, v1.MaintenanceCordon, v1.MaintenanceUncordon)
	case in.State != v1.MaintenanceInitiated && in.State != v1.MaintenanceCompleted && in.State != v1.MaintenanceFailed:
		return service.Invalid("state %q must be %s, %s or %s", in.State, v1.MaintenanceInitiated, v1.MaintenanceCompleted, v1.MaintenanceFailed)
	case len(in.Message) > 4096 || len(in.BlockedBy) > 512:
		return service.Invalid("message is at most 4096 characters and blockedBy 512")
	}
	if rec.Category != r.PathValue("cloudType") {
		return service.NotFound("cloud config", r.PathValue("configUid"))
	}
	now := s.clock.Now()
	deleting := false
	err := s.records.TxRetrying(r.Context(), func(q store.Queries) error {
		var reason, severity, message string
		err := updateClusterStatus(r.Context(), q, rec.UID, func(cl *clusters.Cluster) error {
			m, ok := cl.FindMachine(r.PathValue("machineUid"))
			if !ok || m.Pool != r.PathValue("poolName") {
				return service.NotFound("machine", r.PathValue("machineUid"))
			}
			reason, severity, message = cl.RecordMaintenance(m, in, now)
			deleting = m.Deleting()
			return nil
		})
		if err != nil || reason == "" {
			return err
		}
		return s.records.Event(r.Context(), q, &rec, severity, reason, message)
	})
	if err != nil {
		return err
	}
	if deleting {
		s.notify(rec.UID) // the engine deletes the machine once its node is drained
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// maintenanceStatusPath is where the agent reports a machine's node operation.
func maintenanceStatusPath(rec store.Record, cl clusters.Cluster, m *clusters.Machine) string {
	return fmt.Sprintf("/v1/cloudconfigs/%s/%s/machinePools/%s/machines/%s/maintenance/status", rec.Category, cl.CloudConfigUID, m.Pool, m.UID)
}
