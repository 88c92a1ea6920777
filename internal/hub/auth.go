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
	"github.com/easelhq/easel/internal/service"
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

// authenticate finds the caller of a request from its ApiKey or Authorization header.
func (s *Server) authenticate(ctx context.Context, r *http.Request) (service.Caller, error) {
	token := r.Header.Get("ApiKey")
	kinds := []string{store.CredentialAPIKey}
	if token == "" {
		token = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		kinds = []string{store.CredentialSession, store.CredentialAgent}
	}
	if token == "" {
		return service.Caller{}, service.Unauthorized("no credentials: send an ApiKey header, or an Authorization header with a token from POST /v1/auth/authenticate")
	}
	cred, err := s.store.GetCredentialByHash(ctx, secret.Hash(token))
	if errors.Is(err, store.ErrNotFound) || err == nil && !slices.Contains(kinds, cred.Kind) {
		return service.Caller{}, service.Unauthorized("invalid credentials")
	}
	if err != nil {
		return service.Caller{}, err
	}
	if !cred.Active {
		return service.Caller{}, service.Unauthorized("credentials are revoked")
	}
	if !cred.ExpiresAt.IsZero() && s.clock.Now().After(cred.ExpiresAt) {
		return service.Caller{}, service.Unauthorized("credentials expired at " + cred.ExpiresAt.Format(time.RFC3339))
	}
	if cred.Kind == store.CredentialAgent {
		return service.AgentCaller(cred.TenantUID, cred.UserUID), nil
	}
	rec, err := s.store.GetObject(ctx, kindUser, cred.UserUID)
	if errors.Is(err, store.ErrNotFound) {
		return service.Caller{}, service.Unauthorized("the user of these credentials no longer exists")
	}
	if err != nil {
		return service.Caller{}, err
	}
	var u user
	if err := json.Unmarshal(rec.Doc, &u); err != nil {
		return service.Caller{}, err
	}
	return service.UserCaller(rec.TenantUID, rec.UID, u.Email, u.TenantRoles, u.ProjectRoles), nil
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
		return "", service.TooManyRequests(wait, "this account has had %d failed logins within %s", v1.LoginFailuresPerAccount, v1.LoginWindow)
	}
	if wait := s.loginsByAddress.Wait(address); wait > 0 {
		return "", service.TooManyRequests(wait, "your address has had %d failed logins within %s", v1.LoginFailuresPerAddress, v1.LoginWindow)
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
		return "", service.Unauthorized("wrong email or password")
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
