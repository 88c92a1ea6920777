package v1

import "time"

// Role names. A user holds at most one tenant role and one role per project.
const (
	RoleTenantAdmin  = "tenant-admin"
	RoleProjectAdmin = "project-admin"
	RoleClusterAdmin = "cluster-admin"
	RoleViewer       = "viewer"
)

// AuthLogin is the body of POST /v1/auth/authenticate.
type AuthLogin struct {
	EmailID  string `json:"emailId"`
	Org      string `json:"org,omitempty"`
	Password string `json:"password"`
}

// UserToken is the answer of POST /v1/auth/authenticate; the token goes in the Authorization header.
type UserToken struct {
	Authorization string `json:"Authorization"`
	IsMfa         bool   `json:"isMfa"`
}

// UserInfo is the answer of GET /v1/users/info.
type UserInfo struct {
	OrgName   string `json:"orgName,omitempty"`
	TenantUID string `json:"tenantUid,omitempty"`
	UserUID   string `json:"userUid,omitempty"`
}

// ProjectRole grants a role in one project.
type ProjectRole struct {
	ProjectUID string `json:"projectUid"`
	Role       string `json:"role"`
}

// UserEntity is the body of POST /v1/users. Roles holds tenant roles (Palette's shape); easel adds
// Password (login) and ProjectRoles.
type UserEntity struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		EmailID      string        `json:"emailId"`
		FirstName    string        `json:"firstName,omitempty"`
		LastName     string        `json:"lastName,omitempty"`
		Roles        []string      `json:"roles"`
		Password     string        `json:"password,omitempty"`
		ProjectRoles []ProjectRole `json:"projectRoles,omitempty"`
	} `json:"spec"`
}

// UserSpec is what is stored and shown of a user.
type UserSpec struct {
	EmailID      string        `json:"emailId"`
	FirstName    string        `json:"firstName,omitempty"`
	LastName     string        `json:"lastName,omitempty"`
	Roles        []string      `json:"roles"`
	ProjectRoles []ProjectRole `json:"projectRoles,omitempty"`
}

// UserStatus is the state of a user.
type UserStatus struct {
	ActivationLink      string `json:"activationLink"`
	IsActive            bool   `json:"isActive"`
	IsPasswordResetting bool   `json:"isPasswordResetting"`
}

// User is one user.
type User struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     UserSpec   `json:"spec"`
	Status   UserStatus `json:"status"`
}

// Users is the answer of GET /v1/users.
type Users struct {
	Items    []User   `json:"items"`
	Listmeta ListMeta `json:"listmeta"`
}

// APIKeyEntity is the body of POST /v1/apiKeys and PUT /v1/apiKeys/{uid}.
type APIKeyEntity struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		Expiry  time.Time `json:"expiry,omitzero"`
		UserUID string    `json:"userUid,omitempty"`
	} `json:"spec"`
}

// APIKeyCreateResponse carries the key itself; it is shown this once and only its hash is stored.
type APIKeyCreateResponse struct {
	APIKey string `json:"apiKey"`
	UID    string `json:"uid"`
}

// APIKeyUser names the owner of an API key.
type APIKeyUser struct {
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	UID       string `json:"uid,omitempty"`
}

// APIKey is one API key as listed (never with the key).
type APIKey struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		Expiry time.Time  `json:"expiry,omitzero"`
		User   APIKeyUser `json:"user"`
	} `json:"spec"`
	Status struct {
		IsActive bool `json:"isActive"`
	} `json:"status"`
}

// APIKeys is the answer of GET /v1/apiKeys.
type APIKeys struct {
	Items []APIKey `json:"items"`
}

// ProjectEntity is the body of POST /v1/projects and PUT /v1/projects/{uid}.
type ProjectEntity struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		LogoURL string `json:"logoUrl,omitempty"`
	} `json:"spec"`
}

// Project is one project.
type Project struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		LogoURL string `json:"logoUrl,omitempty"`
	} `json:"spec"`
	Status struct {
		IsDisabled bool `json:"isDisabled"`
	} `json:"status"`
}

// ProjectMetadata is one item of GET /v1/dashboard/projects/metadata.
type ProjectMetadata struct {
	Metadata ObjectEntity `json:"metadata"`
}

// ProjectsMetadata is the answer of GET /v1/dashboard/projects/metadata.
type ProjectsMetadata struct {
	Items []ProjectMetadata `json:"items"`
}

// AuditActor says who acted.
type AuditActor struct {
	ActorType string        `json:"actorType"`
	User      *AuditUser    `json:"user,omitempty"`
	Project   *ObjectEntity `json:"project,omitempty"`
}

// AuditUser names a user in an audit entry.
type AuditUser struct {
	UID   string `json:"uid"`
	Name  string `json:"name"`
	Email string `json:"emailId,omitempty"`
}

// AuditResource names the object an audit entry is about.
type AuditResource struct {
	Kind string `json:"kind"`
	Name string `json:"name,omitempty"`
	UID  string `json:"uid"`
}

// AuditSpec is what an audit entry records.
type AuditSpec struct {
	ActionMsg  string        `json:"actionMsg"`
	ActionType string        `json:"actionType"`
	Actor      AuditActor    `json:"actor"`
	Resource   AuditResource `json:"resource"`
	ContentMsg string        `json:"contentMsg,omitempty"`
}

// Audit is one audit entry.
type Audit struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     AuditSpec  `json:"spec"`
}

// Audits is the answer of GET /v1/audits.
type Audits struct {
	Items    []Audit  `json:"items"`
	Listmeta ListMeta `json:"listmeta"`
}
