package v1

// Profile types.
const (
	ProfileTypeInfra   = "infra"
	ProfileTypeAddOn   = "add-on"
	ProfileTypeCluster = "cluster"
)

// ManifestInput is a manifest carried inline in a profile pack.
type ManifestInput struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

// PackManifestEntity is one pack of a profile being created or updated.
type PackManifestEntity struct {
	Name        string          `json:"name"`
	Tag         string          `json:"tag,omitempty"`
	Layer       string          `json:"layer,omitempty"`
	Type        string          `json:"type,omitempty"`
	UID         string          `json:"uid,omitempty"`
	RegistryUID string          `json:"registryUid,omitempty"`
	Values      string          `json:"values,omitempty"`
	Manifests   []ManifestInput `json:"manifests,omitempty"`
}

// ClusterProfileTemplateDraft is the layered content of a profile being created or updated.
type ClusterProfileTemplateDraft struct {
	CloudType string               `json:"cloudType,omitempty"`
	Type      string               `json:"type,omitempty"`
	Packs     []PackManifestEntity `json:"packs"`
}

// ClusterProfileEntity is the body of POST /v1/clusterprofiles and PUT /v1/clusterprofiles/{uid}.
type ClusterProfileEntity struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		Template ClusterProfileTemplateDraft `json:"template"`
		Version  string                      `json:"version,omitempty"`
	} `json:"spec"`
}

// PackRef is one pack of a stored profile.
type PackRef struct {
	Name        string            `json:"name"`
	Tag         string            `json:"tag,omitempty"`
	Version     string            `json:"version,omitempty"`
	Layer       string            `json:"layer"`
	Type        string            `json:"type,omitempty"`
	PackUID     string            `json:"packUid,omitempty"`
	RegistryUID string            `json:"registryUid,omitempty"`
	Values      string            `json:"values,omitempty"`
	Manifests   []ObjectReference `json:"manifests"`
}

// ClusterProfileTemplate is the layered content of a stored profile.
type ClusterProfileTemplate struct {
	UID            string    `json:"uid,omitempty"`
	Name           string    `json:"name,omitempty"`
	CloudType      string    `json:"cloudType,omitempty"`
	Type           string    `json:"type,omitempty"`
	ProfileVersion string    `json:"profileVersion,omitempty"`
	Version        int32     `json:"version,omitempty"`
	Packs          []PackRef `json:"packs"`
}

// ClusterProfileVersion names another version of a profile with the same name.
type ClusterProfileVersion struct {
	UID     string `json:"uid"`
	Version string `json:"version"`
}

// ClusterProfileSpec holds the draft or the published template, never both.
type ClusterProfileSpec struct {
	Draft     *ClusterProfileTemplate `json:"draft,omitempty"`
	Published *ClusterProfileTemplate `json:"published,omitempty"`
	Version   string                  `json:"version,omitempty"`
	Versions  []ClusterProfileVersion `json:"versions"`
}

// ClusterProfileStatus says whether a profile is published and which clusters use it.
type ClusterProfileStatus struct {
	IsPublished      bool     `json:"isPublished"`
	InUseClusterUIDs []string `json:"inUseClusterUids"`
}

// ClusterProfile is a stored profile.
type ClusterProfile struct {
	APIVersion string               `json:"apiVersion,omitempty"`
	Kind       string               `json:"kind,omitempty"`
	Metadata   ObjectMeta           `json:"metadata"`
	Spec       ClusterProfileSpec   `json:"spec"`
	Status     ClusterProfileStatus `json:"status"`
}

// ClusterProfileMetadata is one item of GET /v1/dashboard/clusterprofiles/metadata.
type ClusterProfileMetadata struct {
	Metadata ObjectEntity `json:"metadata"`
	Spec     struct {
		CloudType string `json:"cloudType,omitempty"`
		Version   string `json:"version,omitempty"`
	} `json:"spec"`
}

// ClusterProfilesMetadata is the answer of GET /v1/dashboard/clusterprofiles/metadata.
type ClusterProfilesMetadata struct {
	Items []ClusterProfileMetadata `json:"items"`
}

// ClusterProfilePack is one item of GET /v1/clusterprofiles/{uid}/packs.
type ClusterProfilePack struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     PackRef    `json:"spec"`
}

// ClusterProfilePacks is the answer of GET /v1/clusterprofiles/{uid}/packs.
type ClusterProfilePacks struct {
	Items []ClusterProfilePack `json:"items"`
}

// ManifestEntity is one manifest of a profile pack.
type ManifestEntity struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		Published struct {
			Content string `json:"content"`
		} `json:"published"`
		Draft struct {
			Content string `json:"content"`
		} `json:"draft"`
	} `json:"spec"`
}

// ManifestEntities is the answer of GET /v1/clusterprofiles/{uid}/packs/{packName}/manifests.
type ManifestEntities struct {
	Items []ManifestEntity `json:"items"`
}
