package v1

import "time"

// ObjectMeta is the metadata every top-level object carries.
type ObjectMeta struct {
	UID                   string            `json:"uid,omitempty"`
	Name                  string            `json:"name,omitempty"`
	Labels                map[string]string `json:"labels,omitempty"`
	Annotations           map[string]string `json:"annotations,omitempty"`
	CreationTimestamp     time.Time         `json:"creationTimestamp,omitzero"`
	LastModifiedTimestamp time.Time         `json:"lastModifiedTimestamp,omitzero"`
}

// ObjectMetaInput is the metadata a client may set on create.
type ObjectMetaInput struct {
	Name        string            `json:"name,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ObjectEntity is the short metadata of list-of-metadata responses.
type ObjectEntity struct {
	UID  string `json:"uid,omitempty"`
	Name string `json:"name,omitempty"`
	// Annotations is easel's addition (Palette's v1ObjectEntity has none; its SDK ignores it): the
	// profiles' metadata list carries each one's scope, so a client can tell a project's profile
	// from the tenant's of the same name without reading each.
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ObjectReference points at another object.
type ObjectReference struct {
	Kind string `json:"kind,omitempty"`
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// ListMeta describes one page of a list.
type ListMeta struct {
	Continue string `json:"continue"`
	Count    int64  `json:"count"`
	Limit    int64  `json:"limit"`
	Offset   int64  `json:"offset"`
}

// UID is the body of every create response.
type UID struct {
	UID string `json:"uid"`
}

// Error is the body of every error response.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref,omitempty"`
	Details any    `json:"details,omitempty"`
}
