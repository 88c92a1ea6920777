// Package service holds what every domain service shares: who is calling and what they may do,
// the typed errors the transports map to their answers, and the records every write leaves (its
// events and its audit entry, in the write's transaction). The services themselves are its
// subpackages, one per domain; the API (internal/hub) and the console call them and nothing below.
package service

import (
	"maps"
	"slices"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/store"
)

// Permission is what an operation needs. The API's route table names one per route (the table
// docs/identity.md is written from, and the RBAC matrix test runs every route against every kind
// of caller); each service method checks its own.
type Permission int

const (
	// PermUser: any signed-in user; the operation limits them to their own things (their user,
	// their API keys, their sessions) and lets a tenant admin act on anyone's.
	PermUser Permission = iota
	// PermRead: see the objects of the object's project (any role in it).
	PermRead
	// PermWriteClusters: create, change and delete clusters (cluster admin and above).
	PermWriteClusters
	// PermWriteProfiles: create, change and delete profiles (project admin and above).
	PermWriteProfiles
	// PermClusterCredentials: download a cluster's kubeconfigs, whose certificate is cluster-admin
	// in the cluster (cluster admin and above; every download is audited).
	PermClusterCredentials
	// PermProjectAdmin: change a project's settings.
	PermProjectAdmin
	// PermTenantAdmin: users, projects and the audit trail of the tenant.
	PermTenantAdmin
	// PermAgent: the agent of the cluster, with its own token; nobody else.
	PermAgent
)

// String is the permission's name in the route table and docs/identity.md.
func (p Permission) String() string {
	return [...]string{"user", "read", "write-clusters", "write-profiles", "cluster-credentials",
		"project-admin", "tenant-admin", "agent"}[p]
}

// Caller is who an operation acts as.
type Caller struct {
	TenantUID    string
	UserUID      string
	Name         string
	ActorType    string // "user" or "agent"
	TenantAdmin  bool
	ProjectRoles map[string]string
	// AgentCluster is the one cluster an agent token acts for.
	AgentCluster string
}

// UserCaller is the caller a user's credentials act as.
func UserCaller(tenantUID, userUID, email string, tenantRoles []string, projectRoles []v1.ProjectRole) Caller {
	c := Caller{TenantUID: tenantUID, UserUID: userUID, Name: email, ActorType: "user", ProjectRoles: map[string]string{},
		TenantAdmin: slices.Contains(tenantRoles, v1.RoleTenantAdmin)}
	for _, pr := range projectRoles {
		c.ProjectRoles[pr.ProjectUID] = pr.Role
	}
	return c
}

// AgentCaller is the caller a cluster's agent token acts as.
func AgentCaller(tenantUID, clusterUID string) Caller {
	return Caller{TenantUID: tenantUID, Name: "agent of cluster " + clusterUID, ActorType: "agent",
		AgentCluster: clusterUID, ProjectRoles: map[string]string{}}
}

// Can reports whether c may act in projectUID ("" is the tenant scope: tenant admins write there,
// everyone in the tenant reads).
func (c Caller) Can(projectUID string, perm Permission) bool {
	if perm == PermAgent {
		return false // an agent's rights are its cluster's, checked where its operations come in
	}
	if c.TenantAdmin {
		return true
	}
	if perm == PermUser {
		return c.ActorType == "user"
	}
	if projectUID == "" {
		return perm == PermRead
	}
	switch c.ProjectRoles[projectUID] {
	case v1.RoleProjectAdmin:
		return perm != PermTenantAdmin
	case v1.RoleClusterAdmin:
		return perm == PermRead || perm == PermWriteClusters || perm == PermClusterCredentials
	case v1.RoleViewer:
		return perm == PermRead
	}
	return false
}

// Sees reports whether c may know that an object of projectUID exists at all.
func (c Caller) Sees(projectUID string) bool { return c.Can(projectUID, PermRead) }

// Projects returns the projects c may read, nil meaning all of them (tenant admin).
func (c Caller) Projects() []string {
	if c.TenantAdmin {
		return nil
	}
	return slices.Sorted(maps.Keys(c.ProjectRoles))
}

// Call is a caller acting in a scope: the project it named (the API's ProjectUid header), already
// checked to exist and to be visible to it, or "" for the tenant scope.
type Call struct {
	Caller
	Project string
}

// Authorize checks that the caller has perm in projectUID, the project of the object acted on
// ("" for the tenant scope).
func (c *Call) Authorize(perm Permission, projectUID string) error {
	if c.Can(projectUID, perm) {
		return nil
	}
	if projectUID == "" {
		return Forbidden("only a tenant admin may do this in the tenant scope (it needs %s); set the ProjectUid header", perm)
	}
	return Forbidden("your role in this project does not allow this (it needs %s)", perm)
}

// WriteScope is the project a new object of the call goes to (its scope), once the caller may
// write there with perm; what names the operation in the refusal.
func (c *Call) WriteScope(perm Permission, what string) (string, error) {
	if c.Can(c.Project, perm) {
		return c.Project, nil
	}
	if c.Project == "" {
		return "", Forbidden("only a tenant admin may %s in the tenant scope; set the ProjectUid header", what)
	}
	return "", Forbidden("your role in this project does not allow you to %s (it needs %s)", what, perm)
}

// Visible reports whether the call may see rec: the caller's tenant, a project it sees, and the
// call's project if it named one.
func (c *Call) Visible(rec store.Record) bool {
	if rec.TenantUID != c.TenantUID || !c.Sees(rec.ProjectUID) {
		return false
	}
	return c.Project == "" || rec.ProjectUID == "" || rec.ProjectUID == c.Project
}

// Input decodes what the caller sent into the value given (the API's JSON body, the console's
// form). Services call it after the permission check, so that a caller who may not act learns
// nothing from how their input is judged.
type Input func(into any) error
