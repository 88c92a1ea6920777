package v1

import "time"

// Maintenance actions (Palette's V1MachineMaintenance.action).
const (
	MaintenanceCordon   = "cordon"
	MaintenanceUncordon = "uncordon"
)

// Purposes of a node operation (AgentNodeOperation.purpose).
const (
	PurposeMaintenance = "maintenance" // the node is in maintenance mode
	PurposeDeletion    = "deletion"    // the node is drained before its machine is deleted
)

// Maintenance states (Palette's V1MachineMaintenanceStatus.state).
const (
	MaintenanceInitiated = "Initiated"
	MaintenanceCompleted = "Completed"
	MaintenanceFailed    = "Failed"
)

// MachineMaintenance is the body of PUT …/machines/{machineUid}/maintenance.
type MachineMaintenance struct {
	Action string `json:"action"`
}

// MachineMaintenanceStatus is a machine's maintenance status (status.maintenanceStatus of a
// machine), and the body of the agent's PUT …/machines/{machineUid}/maintenance/status.
type MachineMaintenanceStatus struct {
	Action  string `json:"action,omitempty"`
	State   string `json:"state,omitempty"`
	Message string `json:"message,omitempty"`
	// easel's additions: the PodDisruptionBudget a drain waits for, and when the state last changed.
	BlockedBy          string    `json:"blockedBy,omitempty"`
	LastTransitionTime time.Time `json:"lastTransitionTime,omitzero"`
}

// AgentNodeOperation is what the hub wants of one node: cordoned and drained (cordon) or
// schedulable again (uncordon). The agent converges the node and reports to StatusPath.
type AgentNodeOperation struct {
	Node                string `json:"node"`
	Machine             string `json:"machine"`
	Pool                string `json:"pool"`
	Action              string `json:"action"`
	Purpose             string `json:"purpose"` // maintenance, or deletion (a drain before the machine goes)
	DrainTimeoutSeconds int64  `json:"drainTimeoutSeconds,omitempty"`
	StatusPath          string `json:"statusPath"`
}
