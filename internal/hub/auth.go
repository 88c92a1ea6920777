package hub

import (
	"context"
	"encoding/json"
	"errors"
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

// permission is what an action needs in a project.
type permission int

const (
	permRead          permission = iota // see the project's objects
	permWriteClusters                   // create, change and delete clusters
	permWriteProfiles                   // create, change and delete profiles
	permAdmin                           // project settings
)

// can reports whether p may act in projectUID ("" is the tenant scope: tenant admins write there,
// everyone in the tenant reads).
func (p principal) can(projectUID string, perm permission) bool {
	if p.TenantAdmin {
		return true
	}
	if projectUID == "" {
		return perm == permRead
	}
	switch p.ProjectRoles[projectUID] {
	case v1.RoleProjectAdmin:
		return true
	case v1.RoleClusterAdmin:
		return perm == permRead || perm == permWriteClusters
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

// login checks an email and password and issues a session token.
func (s *Server) login(ctx context.Context, in v1.AuthLogin) (string, error) {
	tenantUID, err := s.store.GetSetting(ctx, settingTenantUID)
	if err != nil {
		return "", err
	}
	rec, err := s.store.FindObject(ctx, kindUser, tenantUID, "", strings.ToLower(in.EmailID), "")
	if errors.Is(err, store.ErrNotFound) {
		// Spend the same time as a wrong password, so probing for accounts learns nothing.
		bcrypt.CompareHashAndPassword(dummyHash, []byte(in.Password))
		return "", errUnauthorized("wrong email or password")
	}
	if err != nil {
		return "", err
	}
	var u user
	if err := json.Unmarshal(rec.Doc, &u); err != nil {
		return "", err
	}
	if u.PasswordHash == "" || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(in.Password)) != nil {
		return "", errUnauthorized("wrong email or password")
	}
	token := secret.New("easel-session-")
	cred := &store.Credential{UID: uid.New(), Kind: store.CredentialSession, TenantUID: tenantUID, UserUID: rec.UID,
		Hash: secret.Hash(token), Active: true, ExpiresAt: s.clock.Now().Add(SessionLifetime)}
	if err := s.store.CreateCredential(ctx, cred); err != nil {
		return "", err
	}
	return token, nil
}

var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.DefaultCost)
