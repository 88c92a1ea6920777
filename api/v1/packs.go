package v1

// Pack layers, in the order a cluster profile stacks them.
const (
	PackLayerOS    = "os"
	PackLayerK8s   = "k8s"
	PackLayerCNI   = "cni"
	PackLayerCSI   = "csi"
	PackLayerAddon = "addon"
)

// Pack types. Every built-in pack is a native ("spectro") pack.
const (
	PackTypeSpectro  = "spectro"
	PackTypeHelm     = "helm"
	PackTypeManifest = "manifest"
	PackTypeOCI      = "oci"
)

// PackSummary is one item of GET /v1/packs.
type PackSummary struct {
	APIVersion string          `json:"apiVersion,omitempty"`
	Kind       string          `json:"kind,omitempty"`
	Metadata   ObjectMeta      `json:"metadata"`
	Spec       PackSummarySpec `json:"spec"`
	// Status is an opaque object in the Palette API; easel leaves it out.
	Status any `json:"status,omitempty"`
}

// PackSummarySpec describes one version of a pack.
type PackSummarySpec struct {
	AddonSubType string            `json:"addonSubType,omitempty"`
	AddonType    string            `json:"addonType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	CloudTypes   []string          `json:"cloudTypes"`
	Digest       string            `json:"digest,omitempty"`
	DisplayName  string            `json:"displayName,omitempty"`
	Eol          string            `json:"eol,omitempty"`
	Group        string            `json:"group,omitempty"`
	Layer        string            `json:"layer,omitempty"`
	LogoURL      string            `json:"logoUrl,omitempty"`
	Manifests    []ObjectReference `json:"manifests"`
	Name         string            `json:"name,omitempty"`
	RegistryUID  string            `json:"registryUid,omitempty"`
	Type         string            `json:"type,omitempty"`
	Values       string            `json:"values,omitempty"`
	Version      string            `json:"version,omitempty"`
}

// PackSummaries is the answer of GET /v1/packs.
type PackSummaries struct {
	Items    []PackSummary `json:"items"`
	Listmeta *ListMeta     `json:"listmeta,omitempty"`
}

// PacksFilterSpec is the body of POST /v1/packs/search.
type PacksFilterSpec struct {
	Filter *PackFilterSpec `json:"filter,omitempty"`
	Sort   []PackSortSpec  `json:"sort"`
}

// PackFilterSpec selects packs. Every non-empty field must match; the values of a list field are
// alternatives.
type PackFilterSpec struct {
	AddOnSubType []string      `json:"addOnSubType"`
	AddOnType    []string      `json:"addOnType"`
	DisplayName  *FilterString `json:"displayName,omitempty"`
	// Environment lists cloud types.
	Environment []string      `json:"environment"`
	IsFips      bool          `json:"isFips,omitempty"`
	Layer       []string      `json:"layer"`
	Name        *FilterString `json:"name,omitempty"`
	RegistryUID []string      `json:"registryUid"`
	Source      []string      `json:"source"`
	State       []string      `json:"state"`
	Type        []string      `json:"type"`
}

// FilterString is a condition on a string property. Every set operator must hold.
type FilterString struct {
	BeginsWith *string `json:"beginsWith,omitempty"`
	Contains   *string `json:"contains,omitempty"`
	Eq         *string `json:"eq,omitempty"`
	IgnoreCase *bool   `json:"ignoreCase,omitempty"`
	Ne         *string `json:"ne,omitempty"`
}

// Pack search sort fields and orders.
const (
	PackSortName        = "name"
	PackSortType        = "type"
	PackSortLayer       = "layer"
	PackSortAddOnType   = "addOnType"
	PackSortDisplayName = "displayName"

	SortAsc  = "asc"
	SortDesc = "desc"
)

// PackSortSpec orders a pack search by one field.
type PackSortSpec struct {
	Field string `json:"field,omitempty"`
	Order string `json:"order,omitempty"`
}

// PackMetadataList is the answer of POST /v1/packs/search.
type PackMetadataList struct {
	Items    []PackMetadata `json:"items"`
	Listmeta *ListMeta      `json:"listmeta,omitempty"`
}

// PackMetadata describes a pack name across its versions and registries.
type PackMetadata struct {
	APIVersion string           `json:"apiVersion,omitempty"`
	Kind       string           `json:"kind,omitempty"`
	Metadata   ObjectMeta       `json:"metadata"`
	Spec       PackMetadataSpec `json:"spec"`
}

// PackMetadataSpec is the version-independent description of a pack.
type PackMetadataSpec struct {
	AddonSubType string                 `json:"addonSubType,omitempty"`
	AddonType    string                 `json:"addonType,omitempty"`
	CloudTypes   []string               `json:"cloudTypes"`
	DisplayName  string                 `json:"displayName,omitempty"`
	Group        string                 `json:"group,omitempty"`
	Layer        string                 `json:"layer,omitempty"`
	Name         string                 `json:"name,omitempty"`
	Registries   []RegistryPackMetadata `json:"registries"`
	Type         string                 `json:"type,omitempty"`
}

// RegistryPackMetadata is the latest version of a pack in one registry.
type RegistryPackMetadata struct {
	Annotations   map[string]string `json:"annotations,omitempty"`
	LatestPackUID string            `json:"latestPackUid,omitempty"`
	LatestVersion string            `json:"latestVersion,omitempty"`
	LogoURL       string            `json:"logoUrl,omitempty"`
	Name          string            `json:"name,omitempty"`
	Scope         string            `json:"scope,omitempty"`
	UID           string            `json:"uid,omitempty"`
}

// PackTagEntity is the answer of GET /v1/packs/{uid} and GET /v1/packs/{packName}/registries/{registryUid}:
// a pack name in one registry with all its versions.
type PackTagEntity struct {
	AddonSubType string          `json:"addonSubType,omitempty"`
	AddonType    string          `json:"addonType,omitempty"`
	CloudTypes   []string        `json:"cloudTypes"`
	DisplayName  string          `json:"displayName,omitempty"`
	Layer        string          `json:"layer,omitempty"`
	LogoURL      string          `json:"logoUrl,omitempty"`
	Name         string          `json:"name,omitempty"`
	PackValues   []PackUIDValues `json:"packValues"`
	RegistryUID  string          `json:"registryUid,omitempty"`
	// Tags are ordered by ascending version; clients take the last one as the latest.
	Tags []PackTags `json:"tags"`
}

// PackUIDValues are the default values of one pack version.
type PackUIDValues struct {
	Annotations map[string]string `json:"annotations,omitempty"`
	PackUID     string            `json:"packUid,omitempty"`
	Readme      string            `json:"readme,omitempty"`
	Values      string            `json:"values,omitempty"`
}

// PackTags names one version of a pack.
type PackTags struct {
	Group      string   `json:"group,omitempty"`
	PackUID    string   `json:"packUid,omitempty"`
	ParentTags []string `json:"parentTags"`
	Tag        string   `json:"tag,omitempty"`
	Version    string   `json:"version,omitempty"`
}

// PackReadme is the answer of GET /v1/packs/{uid}/readme.
type PackReadme struct {
	Readme string `json:"readme,omitempty"`
}

// PackRegistries is the answer of GET /v1/registries/pack.
type PackRegistries struct {
	Items    []PackRegistry `json:"items"`
	Listmeta *ListMeta      `json:"listmeta,omitempty"`
}

// PackRegistry is one pack registry (also GET /v1/registries/pack/{uid}).
type PackRegistry struct {
	APIVersion string             `json:"apiVersion,omitempty"`
	Kind       string             `json:"kind,omitempty"`
	Metadata   ObjectMeta         `json:"metadata"`
	Spec       PackRegistrySpec   `json:"spec"`
	Status     PackRegistryStatus `json:"status"`
}

// PackRegistrySpec is where a pack registry lives and how to reach it.
type PackRegistrySpec struct {
	Auth        RegistryAuth `json:"auth"`
	Endpoint    string       `json:"endpoint"`
	Name        string       `json:"name,omitempty"`
	Private     bool         `json:"private"`
	RegistryUID string       `json:"registryUid,omitempty"`
	Scope       string       `json:"scope,omitempty"`
}

// RegistryAuth is how easel authenticates to a registry. Built-in registries need none ("noAuth").
type RegistryAuth struct {
	Type     string `json:"type,omitempty"`
	Username string `json:"username,omitempty"`
}

// PackRegistryStatus is the synchronisation state of a pack registry.
type PackRegistryStatus struct {
	PackSyncStatus *RegistrySyncStatus `json:"packSyncStatus,omitempty"`
}

// RegistrySyncStatus is the outcome of the last registry synchronisation.
type RegistrySyncStatus struct {
	IsSyncSupported bool   `json:"isSyncSupported"`
	Message         string `json:"message,omitempty"`
	Status          string `json:"status,omitempty"`
}

// PackRegistriesSummary is the answer of GET /v1/registries/pack/summary.
type PackRegistriesSummary struct {
	Items    []PackRegistrySummary `json:"items"`
	Listmeta *ListMeta             `json:"listmeta,omitempty"`
}

// PackRegistrySummary is one item of GET /v1/registries/pack/summary.
type PackRegistrySummary struct {
	Metadata ObjectMeta                `json:"metadata"`
	Spec     PackRegistrySpecSummary   `json:"spec"`
	Status   PackRegistryStatusSummary `json:"status"`
}

// PackRegistrySpecSummary is the short description of a pack registry.
type PackRegistrySpecSummary struct {
	Endpoint string `json:"endpoint,omitempty"`
	Private  bool   `json:"private"`
	Scope    string `json:"scope,omitempty"`
}

// PackRegistryStatusSummary is the short synchronisation state of a pack registry.
type PackRegistryStatusSummary struct {
	Sync *RegistrySyncStatus `json:"sync,omitempty"`
}

// RegistriesMetadata is the answer of GET /v1/registries/metadata.
type RegistriesMetadata struct {
	Items []RegistryMetadata `json:"items"`
}

// RegistryMetadata is the short description of a registry of any kind (pack, helm, oci).
type RegistryMetadata struct {
	IsDefault bool   `json:"isDefault"`
	IsPrivate bool   `json:"isPrivate"`
	Kind      string `json:"kind,omitempty"`
	Name      string `json:"name,omitempty"`
	Scope     string `json:"scope,omitempty"`
	UID       string `json:"uid,omitempty"`
}
