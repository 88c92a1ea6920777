package v1

import "time"

// Usage: what the agent measures of its cluster's nodes, the current figures in a cluster's summary
// (Palette's status.metrics) and the series of GET /v1/metrics/spectrocluster/{uid}/values.

// NodeUsage is one node's usage as the agent measured it. CPU is in cores, memory and disk in
// bytes. Disk is zero when the node's kubelet does not publish filesystem statistics.
type NodeUsage struct {
	Name                    string  `json:"name"`
	Role                    string  `json:"role"` // control-plane or worker
	CPUUsage                float64 `json:"cpuUsage"`
	CPURequest              float64 `json:"cpuRequest"`
	CPUAllocatable          float64 `json:"cpuAllocatable"`
	MemoryUsage             float64 `json:"memoryUsage"`
	MemoryRequest           float64 `json:"memoryRequest"`
	MemoryAllocatable       float64 `json:"memoryAllocatable"`
	DiskUsage               float64 `json:"diskUsage,omitempty"`
	DiskCapacity            float64 `json:"diskCapacity,omitempty"`
	UsageNotAvailable       bool    `json:"usageNotAvailable,omitempty"` // requests and allocatable only
	UsageNotAvailableReason string  `json:"usageNotAvailableReason,omitempty"`
}

// AgentUsageReport is the body of PUT /v1/spectroclusters/{uid}/agent/usage: one sample of every
// node, in pages of at most MaxAgentMessageBytes. Run (unique per agent start) and Seq (counting up
// within a run) identify the sample: the hub applies each once and ignores older ones, so a
// retried or late report never counts twice.
type AgentUsageReport struct {
	ReportPage
	Run       string      `json:"run"`
	Seq       int64       `json:"seq"`
	SampledAt time.Time   `json:"sampledAt"`
	Source    string      `json:"source"`          // metrics.k8s.io, kubelet-proxy or kubelet-direct
	Error     string      `json:"error,omitempty"` // why some nodes' usage could not be read
	Nodes     []NodeUsage `json:"nodes,omitempty"`
}

// ComputeMetrics is one resource in a cluster's status.metrics (Palette's V1ComputeMetrics).
type ComputeMetrics struct {
	Usage           float64   `json:"usage"`
	Request         float64   `json:"request"`
	Limit           float64   `json:"limit"`
	Total           float64   `json:"total"`
	Unit            string    `json:"unit"`
	LastUpdatedTime time.Time `json:"lastUpdatedTime,omitzero"`
}

// ClusterMetrics is a cluster's status.metrics: worker nodes' CPU (cores) and memory (GiB).
type ClusterMetrics struct {
	CPU    *ComputeMetrics `json:"cpu,omitempty"`
	Memory *ComputeMetrics `json:"memory,omitempty"`
}

// MetricPoint is one point of a series (Palette's V1MetricPoint); the timestamp is in unix seconds.
type MetricPoint struct {
	Timestamp int64   `json:"timestamp"`
	Value     float64 `json:"value"`
	Avg       float64 `json:"avg,omitempty"`
	Min       float64 `json:"min,omitempty"`
	Max       float64 `json:"max,omitempty"`
	Count     int64   `json:"count,omitempty"`
}

// Metrics is one series (Palette's V1Metrics).
type Metrics struct {
	Kind   string        `json:"kind"`
	Unit   string        `json:"unit"`
	Points []MetricPoint `json:"points"`
}

// MetricTimeSeries is the answer of GET /v1/metrics/spectrocluster/{uid}/values.
type MetricTimeSeries struct {
	Items []Metrics `json:"items"`
}

// UsageThresholds say when a node's usage makes its cluster unhealthy: a resource over its
// percentage for Period. Zero disables a resource's check. easel's addition to a project's
// cluster settings.
type UsageThresholds struct {
	CPUPercent    float64 `json:"cpuPercent"`
	MemoryPercent float64 `json:"memoryPercent"`
	DiskPercent   float64 `json:"diskPercent"`
	PeriodSeconds int64   `json:"periodSeconds"`
}

// NodesAutoRemediationSettings turn node auto-remediation on or off for a project's clusters
// (Palette's V1NodesAutoRemediationSettings).
type NodesAutoRemediationSettings struct {
	IsEnabled                   bool `json:"isEnabled"`
	DisableNodesAutoRemediation bool `json:"disableNodesAutoRemediation"`
}

// ProjectClusterSettings is the answer of GET /v1/projects/{uid}/preferences/clusterSettings.
type ProjectClusterSettings struct {
	NodesAutoRemediationSetting NodesAutoRemediationSettings `json:"nodesAutoRemediationSetting"`
	UsageThresholds             UsageThresholds              `json:"usageThresholds"`
}
