package hub

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/projects"
	"github.com/easelhq/easel/internal/secret"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
)

// Kinds of stored objects.
const (
	kindProject = projects.Kind
	kindUser    = "user"
	kindProfile = "clusterprofile"
	kindCluster = "spectrocluster"
)

// SessionLifetime is how long a login token from POST /v1/auth/authenticate is valid.
const SessionLifetime = 24 * time.Hour

// user is the stored document of a user.
type user struct {
	Email        string           `json:"email"`
	FirstName    string           `json:"firstName,omitempty"`
	LastName     string           `json:"lastName,omitempty"`
	PasswordHash string           `json:"passwordHash,omitempty"`
	TenantRoles  []string         `json:"tenantRoles"`
	ProjectRoles []v1.ProjectRole `json:"projectRoles,omitempty"`
}

// principal is who a request acts as.
type principal struct {
	TenantUID    string
	UserUID      string
	Name         string
	ActorType    string // "user" or "agent"
	TenantAdmin  bool
	ProjectRoles map[string]string
	// AgentCluster is the one cluster an agent token acts for.
	AgentCluster string
}

func principalOf(tenantUID, uid string, u user) principal {
	p := principal{TenantUID: tenantUID, UserUID: uid, Name: u.Email, ActorType: "user", ProjectRoles: map[string]string{}}
	for _, r := range u.TenantRoles {
		if r == v1.RoleTenantAdmin {
			p.TenantAdmin = true
		}
	}
	for _, pr := range u.ProjectRoles {
		p.ProjectRoles[pr.ProjectUID] = pr.Role
	}
	return p
}

// permission is what a route needs; every route names one in routes.go, the one table of who may
// do what (docs/identity.md is written from it, and the RBAC matrix test runs every route against
// every kind of caller).
type permission int

const (
	// permUser: any signed-in user; the handler limits them to their own things (their user, their
	// API keys, their sessions) and lets a tenant admin act on anyone's.
	permUser permission = iota
	// permRead: see the objects of the object's project (any role in it).
	permRead
	// permWriteClusters: create, change and delete clusters (cluster admin and above).
	permWriteClusters
	// permWriteProfiles: create, change and delete profiles (project admin and above).
	permWriteProfiles
	// permClusterCredentials: download a cluster's kubeconfigs, whose certificate is cluster-admin
	// in the cluster (cluster admin and above; every download is audited).
	permClusterCredentials
	// permProjectAdmin: change a project's settings.
	permProjectAdmin
	// permTenantAdmin: users, projects and the audit trail of the tenant.
	permTenantAdmin
	// permAgent: the agent of the path's cluster, with its own token; nobody else.
	permAgent
)

// String is the permission's name in the route table and docs/identity.md.
func (p permission) String() string {
	return [...]string{"user", "read", "write-clusters", "write-profiles", "cluster-credentials",
		"project-admin", "tenant-admin", "agent"}[p]
}

// can reports whether p may act in projectUID ("" is the tenant scope: tenant admins write there,
// everyone in the tenant reads).
func (p principal) can(projectUID string, perm permission) bool {
	if perm == permAgent {
		return false // an agent's rights are its cluster's, checked by wrapAgent
	}
	if p.TenantAdmin {
		return true
	}
	if perm == permUser {
		return p.ActorType == "user"
	}
	if projectUID == "" {
		return perm == permRead
	}
	switch p.ProjectRoles[projectUID] {
	case v1.RoleProjectAdmin:
		return perm != permTenantAdmin
	case v1.RoleClusterAdmin:
		return perm == permRead || perm == permWriteClusters || perm == permClusterCredentials
	case v1.RoleViewer:
		return perm == permRead
	}
	return false
}

// sees reports whether p may know that an object of projectUID exists at all.
func (p principal) sees(projectUID string) bool { return p.can(projectUID, permRead) }

// projects returns the projects p may read, nil meaning all of them (tenant admin).
func (p principal) projects() []string {
	if p.TenantAdmin {
		return nil
	}
	out := []string{}
	for uid := range p.ProjectRoles {
		out = append(out, uid)
	}
	return out
}

// authenticate finds the principal of a request from its ApiKey or Authorization header.
func (s *Server) authenticate(ctx context.Context, r *http.Request) (principal, error) {
	token := r.Header.Get("ApiKey")
	kinds := []string{store.CredentialAPIKey}
	if token == "" {
		token = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		kinds = []string{store.CredentialSession, store.CredentialAgent}
	}
	if token == "" {
		return principal{}, errUnauthorized("no credentials: send an ApiKey header, or an Authorization header with a token from POST /v1/auth/authenticate")
	}
	cred, err := s.store.GetCredentialByHash(ctx, secret.Hash(token))
	if errors.Is(err, store.ErrNotFound) || err == nil && !slices.Contains(kinds, cred.Kind) {
		return principal{}, errUnauthorized("invalid credentials")
	}
	if err != nil {
		return principal{}, err
	}
	if !cred.Active {
		return principal{}, errUnauthorized("credentials are revoked")
	}
	if !cred.ExpiresAt.IsZero() && s.clock.Now().After(cred.ExpiresAt) {
		return principal{}, errUnauthorized("credentials expired at " + cred.ExpiresAt.Format(time.RFC3339))
	}
	if cred.Kind == store.CredentialAgent {
		return principal{TenantUID: cred.TenantUID, Name: "agent of cluster " + cred.UserUID, ActorType: "agent",
			AgentCluster: cred.UserUID, ProjectRoles: map[string]string{}}, nil
	}
	rec, err := s.store.GetObject(ctx, kindUser, cred.UserUID)
	if errors.Is(err, store.ErrNotFound) {
		return principal{}, errUnauthorized("the user of these credentials no longer exists")
	}
	if err != nil {
		return principal{}, err
	}
	var u user
	if err := json.Unmarshal(rec.Doc, &u); err != nil {
		return principal{}, err
	}
	return principalOf(rec.TenantUID, rec.UID, u), nil
}

// loginKeysKept bounds the memory the login throttle's counters take (accounts and addresses each).
const loginKeysKept = 10000

// login checks an email and password and issues a session token. Every failure is audited, and an
// account or a client address that failed too often is refused before its password is checked.
func (s *Server) login(r *http.Request, in v1.AuthLogin) (string, error) {
	ctx := r.Context()
	email := strings.ToLower(strings.TrimSpace(in.EmailID))
	address := clientAddress(r)
	if wait := s.loginsByAccount.Wait(email); wait > 0 {
		return "", errTooManyRequests(wait, "this account has had %d failed logins within %s", v1.LoginFailuresPerAccount, v1.LoginWindow)
	}
	if wait := s.loginsByAddress.Wait(address); wait > 0 {
		return "", errTooManyRequests(wait, "your address has had %d failed logins within %s", v1.LoginFailuresPerAddress, v1.LoginWindow)
	}
	tenantUID, err := s.store.GetSetting(ctx, settingTenantUID)
	if err != nil {
		return "", err
	}
	rec, err := s.store.FindObject(ctx, kindUser, tenantUID, "", email, "")
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	var u user
	if err == nil {
		if err := json.Unmarshal(rec.Doc, &u); err != nil {
			return "", err
		}
	}
	hash := []byte(u.PasswordHash)
	if len(hash) == 0 {
		// Spend the same time as a wrong password, so probing for accounts learns nothing.
		hash = dummyHash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(in.Password)) != nil || u.PasswordHash == "" {
		s.loginsByAccount.Fail(email)
		s.loginsByAddress.Fail(address)
		if err := s.store.AddAudit(ctx, &store.Audit{UID: uid.New(), TenantUID: tenantUID, ActorType: "user",
			ActorUID: rec.UID, ActorName: truncate(email, 254), Action: "login-failed", ResourceKind: kindUser,
			ResourceUID: rec.UID, ResourceName: truncate(email, 254), CreatedAt: s.clock.Now(),
			Message: "Failed login as " + truncate(email, 254) + " from " + address}); err != nil {
			return "", err
		}
		return "", errUnauthorized("wrong email or password")
	}
	s.loginsByAccount.Reset(email)
	token := secret.New("easel-session-")
	cred := &store.Credential{UID: uid.New(), Kind: store.CredentialSession, TenantUID: tenantUID, UserUID: rec.UID,
		Hash: secret.Hash(token), Active: true, ExpiresAt: s.clock.Now().Add(SessionLifetime)}
	err = s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateCredential(ctx, cred); err != nil {
			return err
		}
		return q.AddAudit(ctx, &store.Audit{UID: uid.New(), TenantUID: tenantUID, ActorType: "user", ActorUID: rec.UID,
			ActorName: rec.Name, Action: "login", ResourceKind: kindUser, ResourceUID: rec.UID, ResourceName: rec.Name,
			Message: "Logged in from " + address, CreatedAt: s.clock.Now()})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// clientAddress is the address a request came from: the connection's peer, never a header the
// client could set (a hub behind a proxy counts the proxy).
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.DefaultCost)
