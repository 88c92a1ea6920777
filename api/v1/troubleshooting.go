package v1

import "time"

// Troubleshooting: Palette's log fetcher (cluster log bundles) and easel's doctor (the checks an
// engineer runs by hand on a node that will not join). Both are requests the hub records and the
// cluster's agent carries out (design 005).

// LogFetcherRequest is the body of POST /v1/spectroclusters/{uid}/features/logFetcher (Palette's
// v1ClusterLogFetcherRequest); every field is optional.
type LogFetcherRequest struct {
	// Mode is "cluster" (the default) or "app".
	Mode string `json:"mode,omitempty"`
	// Duration is how far back the logs of the agent's namespace go, in seconds (default one
	// hour, at most MaxLogDuration). Palette does not document its unit.
	Duration  int64               `json:"duration,omitempty"`
	NoOfLines int64               `json:"noOfLines,omitempty"`
	K8s       *LogFetcherK8s      `json:"k8s,omitempty"`
	Node      *LogFetcherNodeLogs `json:"node,omitempty"`
}

// LogFetcherK8s selects what the bundle takes from the cluster's API server besides kube-system
// and the agent's namespace: the logs of these namespaces' pods, of the pods these label selectors
// select.
type LogFetcherK8s struct {
	Namespaces    []string `json:"namespaces"`
	LabelSelector []string `json:"labelSelector"`
}

// LogFetcherNodeLogs names the files of each node's /var/log the bundle takes (default: the
// system log and the cloud-init log).
type LogFetcherNodeLogs struct {
	Logs []string `json:"logs"`
}

// Log bundle states, in order; Failed can follow any but Completed.
const (
	LogStateRequested  = "Requested"
	LogStateCollecting = "Collecting"
	LogStateUploading  = "Uploading"
	LogStateCompleted  = "Completed"
	LogStateFailed     = "Failed"
)

// LogFetcher is the answer of GET /v1/spectroclusters/{uid}/features/logFetcher?requestId=R
// (Palette's v1ClusterLogFetcher).
type LogFetcher struct {
	Metadata ObjectMeta       `json:"metadata"`
	Spec     LogFetcherSpec   `json:"spec"`
	Status   LogFetcherStatus `json:"status"`
}

// LogFetcherSpec is what was asked. Log is the bundle's file name once it is ready.
type LogFetcherSpec struct {
	ClusterUID string `json:"clusterUid"`
	Log        string `json:"log,omitempty"`
	// Request is easel's addition: the request as the hub normalised it (defaults filled in).
	Request *LogFetcherRequest `json:"request,omitempty"`
}

// LogFetcherStatus is where the bundle is. Message, Size and CompletedAt are easel's additions.
type LogFetcherStatus struct {
	State       string    `json:"state"`
	Message     string    `json:"message,omitempty"`
	Size        int64     `json:"size,omitempty"`
	CompletedAt time.Time `json:"completedAt,omitzero"`
}

// LogBundleFileName is the name the bundle is downloaded as (Palette's).
const LogBundleFileName = "spectro_logs.zip"

// DoctorRequest is the body of POST /v1/spectroclusters/{uid}/features/doctor (easel's own operation):
// the nodes to check, by name; none means every node, and every machine easel made.
type DoctorRequest struct {
	Nodes []string `json:"nodes,omitempty"`
}

// Doctor check outcomes.
const (
	FindingOK      = "ok"
	FindingWarning = "warning"
	FindingProblem = "problem"
)

// Finding is one check of one node: what was seen, why it matters and what to do. Node is the
// machine's name for a machine whose node never appeared.
type Finding struct {
	Node     string `json:"node"`
	Check    string `json:"check"`
	Status   string `json:"status"`
	Evidence string `json:"evidence,omitempty"`
	Cause    string `json:"cause,omitempty"`
	Fix      string `json:"fix,omitempty"`
}

// Doctor is the answer of POST and GET /v1/spectroclusters/{uid}/features/doctor: one run of the checks.
// Its states are the log bundle's: Requested, Collecting (the agent runs the checks), Completed or
// Failed.
type Doctor struct {
	Metadata ObjectMeta   `json:"metadata"`
	Spec     DoctorSpec   `json:"spec"`
	Status   DoctorStatus `json:"status"`
}

// DoctorSpec is what was asked.
type DoctorSpec struct {
	ClusterUID string   `json:"clusterUid"`
	Nodes      []string `json:"nodes,omitempty"`
}

// DoctorStatus is the run's state and, once Completed, its findings.
type DoctorStatus struct {
	State       string    `json:"state"`
	Message     string    `json:"message,omitempty"`
	Findings    []Finding `json:"findings"`
	CompletedAt time.Time `json:"completedAt,omitzero"`
}

// AgentRequest kinds.
const (
	AgentRequestLogs   = "logs"
	AgentRequestDoctor = "doctor"
)

// AgentRequest is one troubleshooting request the agent carries out, in the desired state: a log
// bundle to collect and upload, or the doctor's checks to run.
type AgentRequest struct {
	UID  string `json:"uid"`
	Kind string `json:"kind"`
	// Logs is the normalised log request (kind logs).
	Logs *LogFetcherRequest `json:"logs,omitempty"`
	// Doctor is the doctor's request (kind doctor) with the machines easel made, so that one
	// whose node never appeared is found.
	Doctor *AgentDoctorRequest `json:"doctor,omitempty"`
}

// AgentDoctorRequest is a doctor request as the agent gets it.
type AgentDoctorRequest struct {
	Nodes    []string        `json:"nodes,omitempty"`
	Machines []DoctorMachine `json:"machines,omitempty"`
}

// DoctorMachine is a machine easel made, with the name its node has: a node that has not
// appeared NodeTimeoutSeconds after CreatedAt is a finding.
type DoctorMachine struct {
	Name               string    `json:"name"`
	Pool               string    `json:"pool,omitempty"`
	CreatedAt          time.Time `json:"createdAt"`
	NodeTimeoutSeconds int64     `json:"nodeTimeoutSeconds"`
}

// AgentRequestReport is the body of PUT /v1/spectroclusters/{uid}/agent/requests/{requestUid}:
// the agent's progress on a request (Collecting, Uploading, Failed; a doctor run's Completed with
// its findings). A log bundle becomes Completed when the hub has its upload.
type AgentRequestReport struct {
	State    string    `json:"state"`
	Message  string    `json:"message,omitempty"`
	Findings []Finding `json:"findings,omitempty"`
}
