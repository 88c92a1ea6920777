package v1

import "time"

// Cluster states.
const (
	ClusterStatePending      = "Pending"
	ClusterStateProvisioning = "Provisioning"
	ClusterStateRunning      = "Running"
	ClusterStateDeleting     = "Deleting"
)

// CloudTypeLocal is the cloud type of clusters the embedded local provider builds.
const CloudTypeLocal = "local"

// CloudTypeGeneric is the cloud type of imported clusters: they exist already and their owner
// installs the agent from the import manifest.
const CloudTypeGeneric = "generic"

// Taint is a node taint of a machine pool.
type Taint struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Effect string `json:"effect"`
}

// SpectroClusterProfileEntity attaches a profile to a cluster, optionally overriding pack values.
type SpectroClusterProfileEntity struct {
	UID        string             `json:"uid"`
	PackValues []PackValuesEntity `json:"packValues,omitempty"`
	// ReplaceWithProfile, in PATCH …/profiles, names the attached profile this one replaces (a new
	// version of it, typically).
	ReplaceWithProfile string `json:"replaceWithProfile,omitempty"`
}

// SpectroClusterProfiles is the body of PUT and PATCH /v1/spectroclusters/{uid}/profiles: PUT sets
// the cluster's whole list of profiles, PATCH attaches, changes or replaces the ones it names.
type SpectroClusterProfiles struct {
	Profiles []SpectroClusterProfileEntity `json:"profiles"`
	// SpcApplySettings is accepted and ignored: easel applies profile changes at once.
	SpcApplySettings any `json:"spcApplySettings,omitempty"`
}

// SpectroClusterProfilesDeleteEntity is the body of DELETE /v1/spectroclusters/{uid}/profiles.
type SpectroClusterProfilesDeleteEntity struct {
	ProfileUids []string `json:"profileUids"`
}

// SpectroClusterProfile is one profile as attached to a cluster, with the cluster's values.
type SpectroClusterProfile struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		CloudType string `json:"cloudType"`
		Type      string `json:"type"`
		Version   int32  `json:"version"`
		// ProfileVersion is the profile's own version (easel's addition).
		ProfileVersion string               `json:"profileVersion"`
		Packs          []ClusterProfilePack `json:"packs"`
	} `json:"spec"`
}

// SpectroClusterProfileList is the answer of GET /v1/spectroclusters/{uid}/profiles.
type SpectroClusterProfileList struct {
	Profiles []SpectroClusterProfile `json:"profiles"`
}

// PackValuesEntity overrides one pack's values in a cluster.
type PackValuesEntity struct {
	Name      string          `json:"name"`
	Tag       string          `json:"tag,omitempty"`
	Values    string          `json:"values,omitempty"`
	Manifests []ManifestInput `json:"manifests,omitempty"`
}

// MachinePoolCloudConfigEntity is a pool's cloud-specific settings. Values is Palette's YAML
// (a KubeadmControlPlane or MachineDeployment naming the pool and its replicas); the structured
// fields are easel's own for the local provider.
type MachinePoolCloudConfigEntity struct {
	Values         string   `json:"values,omitempty"`
	InstanceType   string   `json:"instanceType,omitempty"`
	RootDeviceSize int64    `json:"rootDeviceSize,omitempty"`
	Azs            []string `json:"azs,omitempty"`
}

// MachinePoolBaseConfigEntity is a pool's cloud-independent settings.
type MachinePoolBaseConfigEntity struct {
	Name                    string            `json:"name,omitempty"`
	Size                    *int32            `json:"size,omitempty"`
	IsControlPlane          bool              `json:"isControlPlane"`
	UseControlPlaneAsWorker bool              `json:"useControlPlaneAsWorker"`
	Labels                  []string          `json:"labels,omitempty"`
	AdditionalLabels        map[string]string `json:"additionalLabels,omitempty"`
	Taints                  []Taint           `json:"taints,omitempty"`
	UpdateStrategy          *struct {
		Type string `json:"type,omitempty"`
	} `json:"updateStrategy,omitempty"`
	// MachineHealthCheck is easel's addition: the pool's own node auto-remediation timeouts.
	MachineHealthCheck *MachineHealthCheckConfig `json:"machineHealthCheck,omitempty"`
}

// MachineHealthCheckConfig overrides when a pool's nodes are relaunched (Palette's
// V1MachineHealthCheckConfig, with easel's nodeStartupTimeout): durations such as "10m", the cap a
// percentage such as "40%". Empty fields keep the defaults.
type MachineHealthCheckConfig struct {
	NodeReadyHealthCheckDuration    string `json:"nodeReadyHealthCheckDuration,omitempty"`
	NetworkReadyHealthCheckDuration string `json:"networkReadyHealthCheckDuration,omitempty"`
	NodeStartupTimeout              string `json:"nodeStartupTimeout,omitempty"`
	HealthCheckMaxUnhealthy         string `json:"healthCheckMaxUnhealthy,omitempty"`
}

// MachinePoolConfigEntity is one machine pool of a cluster being created, or of a pool operation.
type MachinePoolConfigEntity struct {
	CloudConfig MachinePoolCloudConfigEntity `json:"cloudConfig"`
	PoolConfig  MachinePoolBaseConfigEntity  `json:"poolConfig"`
}

// ClusterCloudConfigEntity is the cluster-wide cloud settings (Palette's YAML values).
type ClusterCloudConfigEntity struct {
	Values string `json:"values,omitempty"`
}

// ClusterConfigEntity is a cluster's settings (Palette's V1ClusterConfigEntity; its other fields are
// accepted and ignored).
type ClusterConfigEntity struct {
	// RepaveApprovalRequired is easel's addition: a repave waits for PATCH …/repave/approve.
	RepaveApprovalRequired bool `json:"repaveApprovalRequired,omitempty"`
	// UpdateWorkerPoolsInParallel is recorded and answered back, not acted on: the local provider
	// changes pools as it always does. Palette's Terraform provider compares it on every refresh.
	UpdateWorkerPoolsInParallel bool `json:"updateWorkerPoolsInParallel,omitempty"`
}

// SpectroClusterEntity is the body of POST /v1/spectroclusters/cloudTypes/{cloudType}.
type SpectroClusterEntity struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		CloudAccountUID   string                        `json:"cloudAccountUid,omitempty"`
		CloudConfig       ClusterCloudConfigEntity      `json:"cloudConfig"`
		ClusterConfig     ClusterConfigEntity           `json:"clusterConfig,omitzero"`
		Machinepoolconfig []MachinePoolConfigEntity     `json:"machinepoolconfig"`
		Profiles          []SpectroClusterProfileEntity `json:"profiles"`
	} `json:"spec"`
}

// ClusterCondition is one milestone of a cluster's life.
type ClusterCondition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"`
	Reason             string    `json:"reason,omitempty"`
	Message            string    `json:"message,omitempty"`
	LastProbeTime      time.Time `json:"lastProbeTime,omitzero"`
	LastTransitionTime time.Time `json:"lastTransitionTime,omitzero"`
}

// Upgrade records why nodes were replaced and when.
type Upgrade struct {
	Reason    []string  `json:"reason"`
	Timestamp time.Time `json:"timestamp,omitzero"`
}

// ClusterProfileTemplateMeta is a profile as attached to a cluster.
type ClusterProfileTemplateMeta struct {
	UID       string `json:"uid,omitempty"`
	Name      string `json:"name,omitempty"`
	CloudType string `json:"cloudType,omitempty"`
	Type      string `json:"type,omitempty"`
	Version   int32  `json:"version,omitempty"`
	// ProfileVersion is the profile's own version (easel's addition).
	ProfileVersion string    `json:"profileVersion,omitempty"`
	Packs          []PackRef `json:"packs"`
}

// SpectroClusterSpec is the desired state of a cluster as shown.
type SpectroClusterSpec struct {
	CloudConfigRef          ObjectReference              `json:"cloudConfigRef"`
	CloudType               string                       `json:"cloudType"`
	ClusterType             string                       `json:"clusterType,omitempty"`
	ClusterProfileTemplates []ClusterProfileTemplateMeta `json:"clusterProfileTemplates"`
	// ClusterConfig is Palette's cluster settings (machine management, timezone, host cluster…);
	// easel has only the one it echoes, but the object is always there: Palette's Terraform
	// provider before v0.29.9 reads spec.clusterConfig.clusterMetaAttribute unguarded on every
	// refresh.
	ClusterConfig struct {
		UpdateWorkerPoolsInParallel bool `json:"updateWorkerPoolsInParallel"`
	} `json:"clusterConfig"`
}

// ClusterRepaveStatus is the repave state of a cluster.
type ClusterRepaveStatus struct {
	State string `json:"state,omitempty"`
}

// SpectroClusterStatus is the observed state of a cluster.
type SpectroClusterStatus struct {
	State      string                `json:"state"`
	Conditions []ClusterCondition    `json:"conditions"`
	Upgrades   []Upgrade             `json:"upgrades"`
	Services   []LoadBalancerService `json:"services"`
	Packs      []PackStatus          `json:"packs"`
	Repave     ClusterRepaveStatus   `json:"repave"`
	// Generation is the cluster's spec generation (every change of profiles or pools is one), and
	// PacksGeneration the one status.packs was reported for (easel's additions): the packs are
	// up to date when the two are equal.
	Generation      int64 `json:"generation,omitempty"`
	PacksGeneration int64 `json:"packsGeneration,omitempty"`
}

// SpectroCluster is one cluster.
type SpectroCluster struct {
	APIVersion string               `json:"apiVersion,omitempty"`
	Kind       string               `json:"kind,omitempty"`
	Metadata   ObjectMeta           `json:"metadata"`
	Spec       SpectroClusterSpec   `json:"spec"`
	Status     SpectroClusterStatus `json:"status"`
}

// ClusterStatusOnly is the answer of GET /v1/spectroclusters/{uid}/status.
type ClusterStatusOnly struct {
	Status SpectroClusterStatus `json:"status"`
}

// MachinePoolMeta is a pool as summarised in a cluster summary.
type MachinePoolMeta struct {
	Name             string `json:"name"`
	IsControlPlane   bool   `json:"isControlPlane"`
	Size             int32  `json:"size"`
	HealthyNodeCount int32  `json:"healthyNodeCount"`
}

// CloudConfigMeta is the cloud config as summarised in a cluster summary.
type CloudConfigMeta struct {
	UID          string            `json:"uid"`
	CloudType    string            `json:"cloudType"`
	MachinePools []MachinePoolMeta `json:"machinePools"`
}

// SpectroClusterHealth is the health of a cluster as its agent reports it.
type SpectroClusterHealth struct {
	State                  string    `json:"state,omitempty"`
	AgentVersion           string    `json:"agentVersion,omitempty"`
	LastHeartBeatTimestamp time.Time `json:"lastHeartBeatTimestamp,omitzero"`
	Conditions             []any     `json:"conditions"`
}

// SpectroClusterSummary is one cluster as searched and listed on dashboards.
type SpectroClusterSummary struct {
	Metadata    ObjectMeta `json:"metadata"`
	SpecSummary struct {
		CloudConfig             CloudConfigMeta              `json:"cloudConfig"`
		ClusterProfileTemplates []ClusterProfileTemplateMeta `json:"clusterProfileTemplates"`
		ProjectMeta             ObjectEntity                 `json:"projectMeta"`
	} `json:"specSummary"`
	Status struct {
		State   string                `json:"state"`
		Health  *SpectroClusterHealth `json:"health,omitempty"`
		Metrics *ClusterMetrics       `json:"metrics,omitempty"`
		Repave  ClusterRepaveStatus   `json:"repave"`
	} `json:"status"`
}

// SpectroClustersSummary is one page of a cluster search.
type SpectroClustersSummary struct {
	Items    []SpectroClusterSummary `json:"items"`
	Listmeta ListMeta                `json:"listmeta"`
}

// SpectroClusterUIDSummary is the answer of GET /v1/dashboard/spectroclusters/{uid} and …/overview.
type SpectroClusterUIDSummary struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		CloudConfig             CloudConfigMeta              `json:"cloudConfig"`
		ClusterProfileTemplates []ClusterProfileTemplateMeta `json:"clusterProfileTemplates"`
		ArchTypes               []string                     `json:"archTypes"`
	} `json:"spec"`
	Status struct {
		State      string                `json:"state"`
		Health     *SpectroClusterHealth `json:"health,omitempty"`
		Conditions []ClusterCondition    `json:"conditions"`
		Upgrades   []Upgrade             `json:"upgrades"`
		Repave     ClusterRepaveStatus   `json:"repave"`
		Metrics    *ClusterMetrics       `json:"metrics,omitempty"`
		// Nodes and NodeUsage are easel's additions: every node and its usage as the agent last
		// reported them.
		Nodes     []NodeReport `json:"nodes,omitempty"`
		NodeUsage []NodeUsage  `json:"nodeUsage,omitempty"`
	} `json:"status"`
}

// SpectroClustersMetadata is the answer of GET /v1/dashboard/spectroclusters/meta.
type SpectroClustersMetadata struct {
	Items []ObjectMeta `json:"items"`
}

// MachinePoolConfig is one pool of a cloud config as shown.
type MachinePoolConfig struct {
	Name                    string            `json:"name"`
	Size                    int32             `json:"size"`
	IsControlPlane          bool              `json:"isControlPlane"`
	UseControlPlaneAsWorker bool              `json:"useControlPlaneAsWorker"`
	AdditionalLabels        map[string]string `json:"additionalLabels,omitempty"`
	Taints                  []Taint           `json:"taints"`
	InstanceType            string            `json:"instanceType"`
	RootDeviceSize          int64             `json:"rootDeviceSize"`
	Azs                     []string          `json:"azs"`
	UpdateStrategy          string            `json:"updateStrategy,omitempty"`
	Values                  string            `json:"values,omitempty"`
	// MachineHealthCheck is easel's addition, as in MachinePoolBaseConfigEntity: shown so that a
	// client that reads a pool and sends it back whole keeps the pool's overrides.
	MachineHealthCheck *MachineHealthCheckConfig `json:"machineHealthCheck,omitempty"`
}

// CloudConfig is the answer of GET /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}.
type CloudConfig struct {
	Kind     string     `json:"kind,omitempty"`
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		ClusterConfig     ClusterCloudConfigEntity `json:"clusterConfig"`
		MachinePoolConfig []MachinePoolConfig      `json:"machinePoolConfig"`
	} `json:"spec"`
}

// Machine is one machine of a pool: Palette's v1CustomMachine (the cloudTypes/{cloudType} routes)
// and v1GenericMachine (the generic routes), which share this shape.
type Machine struct {
	APIVersion string     `json:"apiVersion,omitempty"`
	Kind       string     `json:"kind,omitempty"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       struct {
		CloudType string `json:"cloudType,omitempty"`
		// HostName is the machine's node name.
		HostName string `json:"hostName,omitempty"`
		// InstanceType is an object, not the pool's instance type name: the SDK's models
		// (v1CustomMachineSpec, v1GenericMachineSpec) fail to decode a string here.
		InstanceType InstanceType `json:"instanceType"`
		Zone         string       `json:"zone,omitempty"` // easel's addition
	} `json:"spec"`
	// Status and its maintenanceStatus are always present (the latter empty for a machine never
	// in maintenance): the SDK's machine-list helpers read status.maintenanceStatus.action without
	// a nil check.
	Status struct {
		InstanceState     string                    `json:"instanceState,omitempty"`
		MaintenanceStatus *MachineMaintenanceStatus `json:"maintenanceStatus"`
	} `json:"status"`
}

// InstanceType is a machine's size (Palette's v1CustomInstanceType and v1GenericInstanceType).
type InstanceType struct {
	Name      string `json:"name"`
	NumCPUs   int32  `json:"numCPUs"`
	MemoryMiB int64  `json:"memoryMiB"`
	DiskGiB   int32  `json:"diskGiB"`
}

// Machines is the answer of GET …/machinePools/{name}/machines.
type Machines struct {
	Items    []Machine `json:"items"`
	Listmeta ListMeta  `json:"listmeta"`
}

// SearchFilterSummarySpec is the body of POST /v1/dashboard/spectroclusters/search.
type SearchFilterSummarySpec struct {
	Filter *SearchFilterSpec  `json:"filter,omitempty"`
	Sort   []SearchFilterSort `json:"sort,omitempty"`
}

// SearchFilterSpec is groups of filters joined by a conjunction.
type SearchFilterSpec struct {
	Conjunction  string              `json:"conjunction,omitempty"`
	FilterGroups []SearchFilterGroup `json:"filterGroups,omitempty"`
}

// SearchFilterGroup is filters joined by a conjunction.
type SearchFilterGroup struct {
	Conjunction string             `json:"conjunction,omitempty"`
	Filters     []SearchFilterItem `json:"filters,omitempty"`
}

// SearchFilterItem is one condition on one property.
type SearchFilterItem struct {
	Property  string                `json:"property"`
	Type      string                `json:"type,omitempty"`
	Condition SearchFilterCondition `json:"condition"`
}

// SearchFilterCondition holds the condition of the property's type.
type SearchFilterCondition struct {
	String *SearchFilterStringCondition `json:"string,omitempty"`
	Bool   *SearchFilterBoolCondition   `json:"bool,omitempty"`
}

// SearchFilterStringCondition matches a string property against values.
type SearchFilterStringCondition struct {
	Operator   string            `json:"operator,omitempty"` // eq, beginsWith, contains
	Negation   bool              `json:"negation,omitempty"`
	IgnoreCase bool              `json:"ignoreCase,omitempty"`
	Match      SearchFilterMatch `json:"match"`
}

// SearchFilterMatch is the values a string condition matches, joined by a conjunction (or, default).
type SearchFilterMatch struct {
	Conjunction string   `json:"conjunction,omitempty"`
	Values      []string `json:"values"`
}

// SearchFilterBoolCondition matches a bool property.
type SearchFilterBoolCondition struct {
	Value bool `json:"value"`
}

// SearchFilterSort orders a search by a field.
type SearchFilterSort struct {
	Field string `json:"field"`
	Order string `json:"order,omitempty"`
}

// RepaveReason is one reason of a repave (Palette's V1SpectroClusterRepaveReason).
type RepaveReason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// SpectroClusterRepave is the answer of GET /v1/spectroclusters/{uid}/repave/status.
type SpectroClusterRepave struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		Reasons           []RepaveReason `json:"reasons"`
		Source            string         `json:"source,omitempty"`
		SpectroClusterUID string         `json:"spectroClusterUid"`
	} `json:"spec"`
	Status struct {
		State                string    `json:"state,omitempty"`
		Message              string    `json:"message,omitempty"`
		RepaveTransitionTime time.Time `json:"repaveTransitionTime,omitzero"`
	} `json:"status"`
}
