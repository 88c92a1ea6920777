package v1

import "time"

// Workload kinds, as the agent reports them and as POST
// /v1/dashboard/spectroclusters/{uid}/workloads/{kind} names them.
const (
	WorkloadNamespace   = "namespace"
	WorkloadPod         = "pod"
	WorkloadDeployment  = "deployment"
	WorkloadDaemonSet   = "daemonset"
	WorkloadStatefulSet = "statefulset"
	WorkloadJob         = "job"
	WorkloadCronJob     = "cronjob"
)

// WorkloadKinds are the kinds of the workload report, in the order the agent lists them.
var WorkloadKinds = []string{WorkloadNamespace, WorkloadPod, WorkloadDeployment, WorkloadDaemonSet,
	WorkloadStatefulSet, WorkloadJob, WorkloadCronJob}

// AgentWorkloadReport is the body of PUT /v1/spectroclusters/{uid}/agent/workloads, one page of a
// report. A full report (no Base) replaces every workload the hub holds for the cluster; a delta
// (Base is the id of the last report the hub acknowledged) upserts its items and deletes those
// marked Deleted. The hub answers 409 to a delta whose base it does not hold. Disabled says the
// cluster's palette-agent-config turned the report off; it comes with no items.
type AgentWorkloadReport struct {
	ReportPage
	Base     string         `json:"base,omitempty"`
	Disabled bool           `json:"disabled,omitempty"`
	Items    []WorkloadItem `json:"items"`
}

// WorkloadItem is one workload as the agent reports it: compact, with the status a user looks at.
// Exactly one of the kind-specific fields is set, or none for a deletion.
type WorkloadItem struct {
	Kind      string            `json:"kind"`
	Namespace string            `json:"namespace,omitempty"`
	Name      string            `json:"name"`
	Deleted   bool              `json:"deleted,omitempty"` // in a delta: the item is gone
	UID       string            `json:"uid,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	Created   time.Time         `json:"created,omitzero"`
	Pod       *PodItem          `json:"pod,omitempty"`
	Replicas  *ReplicasItem     `json:"replicas,omitempty"` // deployments, statefulsets, daemonsets
	Job       *JobItem          `json:"job,omitempty"`
	CronJob   *CronJobItem      `json:"cronJob,omitempty"`
	Phase     string            `json:"phase,omitempty"` // namespaces
}

// PodItem is a pod's status.
type PodItem struct {
	Phase      string          `json:"phase,omitempty"`
	Node       string          `json:"node,omitempty"`
	IP         string          `json:"ip,omitempty"`
	QOSClass   string          `json:"qos,omitempty"`
	Owner      string          `json:"owner,omitempty"` // Kind/name of the controller
	Containers []ContainerItem `json:"containers"`
}

// ContainerItem is one container of a pod: readiness, restarts and what it requests.
type ContainerItem struct {
	Name     string `json:"name"`
	Image    string `json:"image,omitempty"`
	Ready    bool   `json:"ready,omitempty"`
	Started  bool   `json:"started,omitempty"`
	Restarts int32  `json:"restarts,omitempty"`
	MilliCPU int64  `json:"mcpu,omitempty"`   // requested
	Memory   int64  `json:"memory,omitempty"` // requested, bytes
}

// ReplicasItem is the replica counts of a deployment, statefulset or daemonset (for a daemonset,
// Desired is the number of nodes that should run it).
type ReplicasItem struct {
	Desired      int32 `json:"desired"`
	Ready        int32 `json:"ready"`
	Available    int32 `json:"available"`
	Updated      int32 `json:"updated"`
	Current      int32 `json:"current,omitempty"`      // daemonsets: nodes running it
	MisScheduled int32 `json:"misScheduled,omitempty"` // daemonsets: nodes running it that should not
}

// JobItem is a job's progress.
type JobItem struct {
	Completions int32     `json:"completions,omitempty"` // wanted
	Active      int32     `json:"active,omitempty"`
	Succeeded   int32     `json:"succeeded,omitempty"`
	Failed      int32     `json:"failed,omitempty"`
	Started     time.Time `json:"started,omitzero"`
	Completed   time.Time `json:"completed,omitzero"`
}

// CronJobItem is a cronjob's schedule and last run.
type CronJobItem struct {
	Schedule     string    `json:"schedule"`
	Suspend      bool      `json:"suspend,omitempty"`
	LastSchedule time.Time `json:"lastSchedule,omitzero"`
}

// ClusterWorkloadsSpec is the body of POST /v1/dashboard/spectroclusters/{uid}/workloads/{kind}
// (Palette's V1ClusterWorkloadsSpec); it may be empty.
type ClusterWorkloadsSpec struct {
	Filter *ClusterWorkloadsFilter `json:"filter,omitempty"`
}

// ClusterWorkloadsFilter limits the list to some namespaces (none: all).
type ClusterWorkloadsFilter struct {
	Namespaces []string `json:"namespaces"`
}

// ClusterWorkloads is the answer of POST /v1/dashboard/spectroclusters/{uid}/workloads/{kind}: the
// list of the kind asked for, under Palette's key for it. ListMeta, ReportedAt and Disabled are
// easel's additions: the page served, when the agent's report arrived (zero: never) and whether the
// cluster's agent has turned the workload report off.
type ClusterWorkloads struct {
	Pods         []ClusterWorkloadPod         `json:"pods,omitzero"`
	Deployments  []ClusterWorkloadDeployment  `json:"deployments,omitzero"`
	DaemonSets   []ClusterWorkloadDaemonSet   `json:"daemonSets,omitzero"`
	StatefulSets []ClusterWorkloadStatefulSet `json:"statefulSets,omitzero"`
	Jobs         []ClusterWorkloadJob         `json:"jobs,omitzero"`
	CronJobs     []ClusterWorkloadCronJob     `json:"cronJobs,omitzero"`
	Namespaces   []ClusterWorkloadNamespace   `json:"namespaces,omitzero"`
	ListMeta     ListMeta                     `json:"listmeta"`
	ReportedAt   time.Time                    `json:"reportedAt,omitzero"`
	Disabled     bool                         `json:"disabled"`
}

// ClusterWorkloadRef names a workload (Palette's V1ClusterWorkloadRef).
type ClusterWorkloadRef struct {
	Kind string `json:"kind,omitempty"`
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// ClusterWorkloadMetadata is Palette's V1ClusterWorkloadMetadata.
type ClusterWorkloadMetadata struct {
	CreationTimestamp time.Time           `json:"creationTimestamp,omitzero"`
	Entity            *ClusterWorkloadRef `json:"entity,omitempty"`
	Labels            map[string]string   `json:"labels,omitempty"`
	Namespace         string              `json:"namespace,omitempty"`
}

// ClusterWorkloadPodMetadata is Palette's V1ClusterWorkloadPodMetadata.
type ClusterWorkloadPodMetadata struct {
	ClusterWorkloadMetadata
	AssociatedRefs []ClusterWorkloadRef `json:"associatedRefs"`
	Nodename       string               `json:"nodename,omitempty"`
}

// ClusterWorkloadPod is Palette's V1ClusterWorkloadPod.
type ClusterWorkloadPod struct {
	Metadata ClusterWorkloadPodMetadata `json:"metadata"`
	Spec     ClusterWorkloadPodSpec     `json:"spec"`
	Status   ClusterWorkloadPodStatus   `json:"status"`
}

// ClusterWorkloadPodSpec is Palette's V1ClusterWorkloadPodSpec.
type ClusterWorkloadPodSpec struct {
	Containers []ClusterWorkloadPodContainer `json:"containers"`
	Volumes    []any                         `json:"volumes"`
}

// ClusterWorkloadPodContainer is Palette's V1ClusterWorkloadPodContainer.
type ClusterWorkloadPodContainer struct {
	Image     string                                `json:"image,omitempty"`
	Name      string                                `json:"name,omitempty"`
	Resources *ClusterWorkloadPodContainerResources `json:"resources,omitempty"`
}

// ClusterWorkloadPodContainerResources is Palette's V1ClusterWorkloadPodContainerResources.
type ClusterWorkloadPodContainerResources struct {
	Requests *ClusterWorkloadPodContainerResource `json:"requests,omitempty"`
}

// ClusterWorkloadPodContainerResource is Palette's V1ClusterWorkloadPodContainerResource: CPU in
// millicores ("m"), memory in MiB ("Mi").
type ClusterWorkloadPodContainerResource struct {
	CPU        int32  `json:"cpu"`
	CPUUnit    string `json:"cpuUnit,omitempty"`
	Memory     int64  `json:"memory"`
	MemoryUnit string `json:"memoryUnit,omitempty"`
}

// ClusterWorkloadPodStatus is Palette's V1ClusterWorkloadPodStatus.
type ClusterWorkloadPodStatus struct {
	Containers []ClusterWorkloadPodContainerStatus `json:"containers"`
	Phase      string                              `json:"phase,omitempty"`
	PodIP      string                              `json:"podIp,omitempty"`
	QOSClass   string                              `json:"qosClass,omitempty"`
}

// ClusterWorkloadPodContainerStatus is Palette's V1ClusterWorkloadPodContainerStatus.
type ClusterWorkloadPodContainerStatus struct {
	Image        string `json:"image,omitempty"`
	Name         string `json:"name,omitempty"`
	Ready        bool   `json:"ready"`
	RestartCount int32  `json:"restartCount"`
	Started      bool   `json:"started"`
}

// ClusterWorkloadReplicaStatus is Palette's V1ClusterWorkloadReplicaStatus.
type ClusterWorkloadReplicaStatus struct {
	Available int32 `json:"available"`
	Ready     int32 `json:"ready"`
	Total     int32 `json:"total"`
	Updated   int32 `json:"updated"`
}

// ClusterWorkloadReplicas is the status of Palette's deployments and statefulsets.
type ClusterWorkloadReplicas struct {
	Replicas ClusterWorkloadReplicaStatus `json:"replicas"`
}

// ClusterWorkloadDeployment is Palette's V1ClusterWorkloadDeployment.
type ClusterWorkloadDeployment struct {
	Metadata ClusterWorkloadMetadata `json:"metadata"`
	Status   ClusterWorkloadReplicas `json:"status"`
}

// ClusterWorkloadStatefulSet is Palette's V1ClusterWorkloadStatefulSet.
type ClusterWorkloadStatefulSet struct {
	Metadata ClusterWorkloadMetadata `json:"metadata"`
	Status   ClusterWorkloadReplicas `json:"status"`
}

// ClusterWorkloadDaemonSet is Palette's V1ClusterWorkloadDaemonSet.
type ClusterWorkloadDaemonSet struct {
	Metadata ClusterWorkloadMetadata        `json:"metadata"`
	Status   ClusterWorkloadDaemonSetStatus `json:"status"`
}

// ClusterWorkloadDaemonSetStatus is Palette's V1ClusterWorkloadDaemonSetStatus.
type ClusterWorkloadDaemonSetStatus struct {
	Available        int32 `json:"available"`
	CurrentScheduled int32 `json:"currentScheduled"`
	DesiredScheduled int32 `json:"desiredScheduled"`
	MisScheduled     int32 `json:"misScheduled"`
	Ready            int32 `json:"ready"`
	UpdatedScheduled int32 `json:"updatedScheduled"`
}

// ClusterWorkloadJob is Palette's V1ClusterWorkloadJob.
type ClusterWorkloadJob struct {
	Metadata ClusterWorkloadMetadata  `json:"metadata"`
	Status   ClusterWorkloadJobStatus `json:"status"`
}

// ClusterWorkloadJobStatus is Palette's V1ClusterWorkloadJobStatus; Active, Failed and Completions
// are easel's additions.
type ClusterWorkloadJobStatus struct {
	CompletionTime time.Time `json:"completionTime,omitzero"`
	StartTime      time.Time `json:"startTime,omitzero"`
	Succeeded      int32     `json:"succeeded"`
	Conditions     []any     `json:"conditions"`
	Active         int32     `json:"active"`
	Failed         int32     `json:"failed"`
	Completions    int32     `json:"completions,omitempty"`
}

// ClusterWorkloadCronJob is Palette's V1ClusterWorkloadCronJob.
type ClusterWorkloadCronJob struct {
	Metadata ClusterWorkloadMetadata      `json:"metadata"`
	Spec     ClusterWorkloadCronJobSpec   `json:"spec"`
	Status   ClusterWorkloadCronJobStatus `json:"status"`
}

// ClusterWorkloadCronJobSpec is Palette's V1ClusterWorkloadCronJobSpec; Suspend is easel's addition.
type ClusterWorkloadCronJobSpec struct {
	Schedule string `json:"schedule,omitempty"`
	Suspend  bool   `json:"suspend"`
}

// ClusterWorkloadCronJobStatus is Palette's V1ClusterWorkloadCronJobStatus.
type ClusterWorkloadCronJobStatus struct {
	LastScheduleTime time.Time `json:"lastScheduleTime,omitzero"`
}

// ClusterWorkloadNamespace is Palette's V1ClusterWorkloadNamespace.
type ClusterWorkloadNamespace struct {
	Metadata ClusterWorkloadMetadata        `json:"metadata"`
	Status   ClusterWorkloadNamespaceStatus `json:"status"`
}

// ClusterWorkloadNamespaceStatus is Palette's V1ClusterWorkloadNamespaceStatus.
type ClusterWorkloadNamespaceStatus struct {
	Phase string `json:"phase,omitempty"`
}
