package v1

import "time"

// The agent protocol: Palette's agent-facing operations (heartbeat, conditions) plus easel's own
// additions under /v1/spectroclusters/{uid}/agent/… for what Palette does not publish.

// Heartbeat is the body of PUT /v1/spectroclusters/{uid}/heartbeat.
type Heartbeat struct {
	AgentVersion string `json:"agentVersion"`
}

// AgentManifest is one rendered manifest of a pack: multi-document Kubernetes YAML.
type AgentManifest struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

// AgentPack is one pack the agent applies, in order.
type AgentPack struct {
	Name      string          `json:"name"`
	Version   string          `json:"version"`
	Layer     string          `json:"layer"`
	Profile   string          `json:"profile"`
	Manifests []AgentManifest `json:"manifests"`
}

// AgentDesired is the answer of GET /v1/spectroclusters/{uid}/agent/desired?generation=G&nodes=R&requests=Q:
// the packs of the cluster's desired generation, bottom layer first, what the hub wants of the
// nodes at nodes revision R, and the troubleshooting requests open at requests revision Q.
type AgentDesired struct {
	Generation    int64                `json:"generation"`
	Packs         []AgentPack          `json:"packs"`
	NodesRevision int64                `json:"nodesRevision"`
	Nodes         []AgentNodeOperation `json:"nodes"`
	// RequestsRevision counts changes of Requests: the log bundles and doctor runs the agent has
	// yet to carry out.
	RequestsRevision int64          `json:"requestsRevision"`
	Requests         []AgentRequest `json:"requests"`
}

// Pack states the agent reports.
const (
	PackStateApplied = "Applied"
	PackStateFailed  = "Failed"
	// PackStatePending: applied, except on nodes in maintenance (DaemonSet pods there keep the
	// previous version until the node leaves maintenance); the message says which.
	PackStatePending = "Pending"
	// PackStateRemoved: the pack was detached and the objects it applied deleted.
	PackStateRemoved = "Removed"
)

// PackStatus is what the agent reports of one pack.
type PackStatus struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	State   string `json:"state"`
	Message string `json:"message,omitempty"`
	Objects int    `json:"objects"`
	// Pruned counts the objects the agent deleted because the pack no longer has them.
	Pruned    int       `json:"pruned,omitempty"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// AgentPackReport is the body of PUT /v1/spectroclusters/{uid}/agent/packs: the state of every pack
// for the generation the agent applied.
type AgentPackReport struct {
	Generation int64        `json:"generation"`
	Packs      []PackStatus `json:"packs"`
}

// ServicePort is one port of an application service.
type ServicePort struct {
	Port     int32  `json:"port"`
	Protocol string `json:"protocol,omitempty"`
}

// LoadBalancerService is one application service of a cluster (a Service of type LoadBalancer or
// NodePort) with the link to reach it; the body of PUT …/status/services is a list of them.
type LoadBalancerService struct {
	Name  string        `json:"name"`
	Host  string        `json:"host,omitempty"`
	Ports []ServicePort `json:"ports"`
	// easel's additions: where the Service lives, its type and a usable link.
	Namespace string `json:"namespace,omitempty"`
	Type      string `json:"type,omitempty"`
	Link      string `json:"link,omitempty"`
}

// NodeCondition is one condition of a node as the agent reports it.
type NodeCondition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// NodeReport is one node as the agent sees it.
type NodeReport struct {
	Name           string            `json:"name"`
	Machine        string            `json:"machine,omitempty"` // the easel machine uid, if easel made it
	Pool           string            `json:"pool,omitempty"`
	Role           string            `json:"role"` // control-plane or worker
	Ready          bool              `json:"ready"`
	Conditions     []NodeCondition   `json:"conditions"`
	Unschedulable  bool              `json:"unschedulable"`
	Taints         []Taint           `json:"taints,omitempty"`
	Capacity       map[string]string `json:"capacity,omitempty"`
	Allocatable    map[string]string `json:"allocatable,omitempty"`
	KubeletVersion string            `json:"kubeletVersion,omitempty"`
	LeaseRenewTime time.Time         `json:"leaseRenewTime,omitzero"`
	// Maintenance is the hub's addition when it shows the node: its machine's maintenance status.
	Maintenance *MachineMaintenanceStatus `json:"maintenance,omitempty"`
}

// AgentNodeReport is the body of PUT /v1/spectroclusters/{uid}/agent/nodes: every node, in pages
// of at most MaxAgentMessageBytes.
type AgentNodeReport struct {
	ReportPage
	Nodes []NodeReport `json:"nodes"`
}
