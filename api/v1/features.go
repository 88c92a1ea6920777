package v1

// CustomCloudType is one item of GET /v1/clouds/cloudTypes (Palette's v1CustomCloudType). Palette's
// SDK lets a custom-cloud cluster or account be created only for a cloud type listed here with
// isCustom set.
type CustomCloudType struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	CloudFamily string `json:"cloudFamily,omitempty"`
	IsCustom    bool   `json:"isCustom"`
	IsManaged   bool   `json:"isManaged"`
	IsVertex    bool   `json:"isVertex"`
}

// CustomCloudTypes is the answer of GET /v1/clouds/cloudTypes.
type CustomCloudTypes struct {
	CloudTypes []CustomCloudType `json:"cloudTypes"`
}

// CustomAccounts is the answer of GET /v1/cloudaccounts/cloudTypes/{cloudType} (Palette's
// v1CustomAccounts). easel's providers need no cloud account, so it is always empty.
type CustomAccounts struct {
	Items    []any    `json:"items"`
	Listmeta ListMeta `json:"listmeta"`
}

// ClusterBackup is the answer of GET /v1/spectroclusters/{uid}/features/backup (Palette's
// v1ClusterBackup). easel has no backups: spec.config is absent, which Palette's clients read as
// "no backup policy". spec is always there: the Terraform provider reads spec.config unguarded.
type ClusterBackup struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		ClusterUID string `json:"clusterUid"`
	} `json:"spec"`
	Status struct {
		ClusterBackupStatuses []any `json:"clusterBackupStatuses"`
	} `json:"status"`
}

// ClusterComplianceScan is the answer of GET /v1/spectroclusters/{uid}/features/complianceScan
// (Palette's v1ClusterComplianceScan): no scan drivers configured.
type ClusterComplianceScan struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		ClusterUID string         `json:"clusterUid"`
		DriverSpec map[string]any `json:"driverSpec"`
	} `json:"spec"`
}

// ClusterRbacs is the answer of GET /v1/spectroclusters/{uid}/config/rbacs (Palette's
// v1ClusterRbacs): no role bindings managed by the hub.
type ClusterRbacs struct {
	Items []any `json:"items"`
}

// ClusterNamespaceResources is the answer of GET /v1/spectroclusters/{uid}/config/namespaces
// (Palette's v1ClusterNamespaceResources): no namespace quotas managed by the hub.
type ClusterNamespaceResources struct {
	Items []any `json:"items"`
}
