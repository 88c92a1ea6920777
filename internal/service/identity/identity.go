// Package identity is the identity service: who a credential belongs to (API keys, login sessions,
// agent tokens), logins with their throttle and audit, sessions and their revocation, users and
// their API keys, and the first start's tenant.
package identity

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"k8s.io/utils/clock"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/projects"
	"github.com/easelhq/easel/internal/secret"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
)

// Kinds of stored objects.
const (
	KindUser    = "user"
	kindProject = projects.Kind
)

// SessionLifetime is how long a login token is valid.
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

// Service is the identity service.
type Service struct {
	records service.Records
	store   store.Store
	clock   clock.PassiveClock
}

// New returns the identity service over st; clk dates sessions, keys and audit entries (default
// the real clock).
func New(st store.Store, clk clock.PassiveClock) *Service {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Service{records: service.Records{Store: st, Clock: clk}, store: st, clock: clk}
}

// The keys failed logins are counted under, in the store (shared by every hub replica).
func accountKey(email string) string   { return "account:" + email }
func addressKey(address string) string { return "address:" + address }

// loginWait is how long key must wait before it may try to log in again: once it failed limit
// times within v1.LoginWindow, until the oldest of those leaves the window (it slides); 0 means
// now.
func (s *Service) loginWait(ctx context.Context, key string, limit int) (time.Duration, error) {
	now := s.clock.Now()
	times, err := s.store.RecentLoginFailures(ctx, key, now.Add(-v1.LoginWindow), limit)
	if err != nil || len(times) < limit {
		return 0, err
	}
	return times[limit-1].Add(v1.LoginWindow).Sub(now), nil
}

// Credentials are what a request authenticates with: an API key, or else a bearer token (a login
// session's or an agent's).
type Credentials struct {
	APIKey string
	Bearer string
}

// Authenticate returns who the credentials belong to.
func (s *Service) Authenticate(ctx context.Context, cr Credentials) (service.Caller, error) {
	c, _, err := s.AuthenticateHolder(ctx, cr)
	return c, err
}

// AuthenticateHolder is Authenticate that also returns what holds the credentials, read in the
// same query: the user, or an agent's cluster (the zero Record if the cluster is gone). An agent's
// call then needs no second read of its cluster.
func (s *Service) AuthenticateHolder(ctx context.Context, cr Credentials) (service.Caller, store.Record, error) {
	token, kinds := cr.APIKey, []string{store.CredentialAPIKey}
	if token == "" {
		token, kinds = cr.Bearer, []string{store.CredentialSession, store.CredentialAgent}
	}
	if token == "" {
		return service.Caller{}, store.Record{}, service.Unauthorized("no credentials: send an ApiKey header, or an Authorization header with a token from POST /v1/auth/authenticate")
	}
	cred, rec, err := s.store.GetCredentialAndHolder(ctx, secret.Hash(token), KindUser, clusters.Kind)
	if errors.Is(err, store.ErrNotFound) || err == nil && !slices.Contains(kinds, cred.Kind) {
		return service.Caller{}, store.Record{}, service.Unauthorized("invalid credentials")
	}
	if err != nil {
		return service.Caller{}, store.Record{}, err
	}
	if !cred.Active {
		return service.Caller{}, store.Record{}, service.Unauthorized("credentials are revoked")
	}
	if !cred.ExpiresAt.IsZero() && s.clock.Now().After(cred.ExpiresAt) {
		return service.Caller{}, store.Record{}, service.Unauthorized("credentials expired at " + cred.ExpiresAt.Format(time.RFC3339))
	}
	if cred.Kind == store.CredentialAgent {
		return service.AgentCaller(cred.TenantUID, cred.UserUID), rec, nil
	}
	if rec.Kind != KindUser {
		return service.Caller{}, store.Record{}, service.Unauthorized("the user of these credentials no longer exists")
	}
	var u user
	if err := json.Unmarshal(rec.Doc, &u); err != nil {
		return service.Caller{}, store.Record{}, err
	}
	return service.UserCaller(rec.TenantUID, rec.UID, u.Email, u.TenantRoles, u.ProjectRoles), rec, nil
}

// Login checks an email and password (v1.AuthLogin) from a client at address and issues a session
// token. Every failure is audited, and an account or an address that failed too often is refused
// before its password is checked.
func (s *Service) Login(ctx context.Context, in v1.AuthLogin, address string) (string, error) {
	if in.EmailID == "" || in.Password == "" {
		return "", service.Invalid("emailId and password are required")
	}
	// The login throttle remembers emails; bound what it may be asked to remember.
	if len(in.EmailID) > v1.MaxEmailBytes || len(in.Password) > v1.MaxPasswordBytes {
		return "", service.Invalid("emailId is at most %d bytes (MaxEmailBytes) and password at most %d (MaxPasswordBytes)", v1.MaxEmailBytes, v1.MaxPasswordBytes)
	}
	email := strings.ToLower(strings.TrimSpace(in.EmailID))
	if wait, err := s.loginWait(ctx, accountKey(email), v1.LoginFailuresPerAccount); err != nil {
		return "", err
	} else if wait > 0 {
		return "", service.TooManyRequests(wait, "this account has had %d failed logins within %s", v1.LoginFailuresPerAccount, v1.LoginWindow)
	}
	if wait, err := s.loginWait(ctx, addressKey(address), v1.LoginFailuresPerAddress); err != nil {
		return "", err
	} else if wait > 0 {
		return "", service.TooManyRequests(wait, "your address has had %d failed logins within %s", v1.LoginFailuresPerAddress, v1.LoginWindow)
	}
	tenantUID, err := s.store.GetSetting(ctx, SettingTenantUID)
	if err != nil {
		return "", err
	}
	rec, err := s.store.FindObject(ctx, KindUser, tenantUID, "", email, "")
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
		now := s.clock.Now()
		err := s.store.Tx(ctx, func(q store.Queries) error {
			if err := q.AddLoginFailure(ctx, now, now.Add(-v1.LoginWindow), accountKey(email), addressKey(address)); err != nil {
				return err
			}
			return q.AddAudit(ctx, &store.Audit{UID: uid.New(), TenantUID: tenantUID, ActorType: "user",
				ActorUID: rec.UID, ActorName: email, Action: "login-failed", ResourceKind: KindUser,
				ResourceUID: rec.UID, ResourceName: email, CreatedAt: now,
				Message: "Failed login as " + email + " from " + address})
		})
		if err != nil {
			return "", err
		}
		return "", service.Unauthorized("wrong email or password")
	}
	if err := s.store.ForgetLoginFailures(ctx, accountKey(email)); err != nil {
		return "", err
	}
	token := secret.New("easel-session-")
	cred := &store.Credential{UID: uid.New(), Kind: store.CredentialSession, TenantUID: tenantUID, UserUID: rec.UID,
		Hash: secret.Hash(token), Active: true, ExpiresAt: s.clock.Now().Add(SessionLifetime)}
	err = s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateCredential(ctx, cred); err != nil {
			return err
		}
		return q.AddAudit(ctx, &store.Audit{UID: uid.New(), TenantUID: tenantUID, ActorType: "user", ActorUID: rec.UID,
			ActorName: rec.Name, Action: "login", ResourceKind: KindUser, ResourceUID: rec.UID, ResourceName: rec.Name,
			Message: "Logged in from " + address, CreatedAt: s.clock.Now()})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.DefaultCost)

// RevokeSessions ends the login sessions whose tokens are named (1 to v1.MaxTokensPerRevoke). A
// user revokes their own sessions, a tenant admin anyone's in the tenant; a token that is no such
// session is passed over, so that the answer tells nothing about it.
func (s *Service) RevokeSessions(ctx context.Context, c *service.Call, tokens []string) error {
	if err := c.Authorize(service.PermUser, ""); err != nil {
		return err
	}
	if len(tokens) == 0 || len(tokens) > v1.MaxTokensPerRevoke {
		return service.Invalid("tokens: name 1 to %d tokens (MaxTokensPerRevoke), not %d", v1.MaxTokensPerRevoke, len(tokens))
	}
	return s.store.Tx(ctx, func(q store.Queries) error {
		for _, token := range tokens {
			cred, err := q.GetCredentialByHash(ctx, secret.Hash(token))
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if cred.Kind != store.CredentialSession || !cred.Active || cred.TenantUID != c.TenantUID ||
				!c.TenantAdmin && cred.UserUID != c.UserUID {
				continue
			}
			cred.Active = false
			if err := q.UpdateCredential(ctx, &cred); err != nil {
				return err
			}
			if err := s.records.Audit(ctx, q, c, "", "revoke", "session", cred.UID, "", "Revoked a login session of user "+cred.UserUID); err != nil {
				return err
			}
		}
		return nil
	})
}

// Ready says whether the store answers and holds the tenant (the hub's readiness).
func (s *Service) Ready(ctx context.Context) error {
	_, err := s.store.GetSetting(ctx, SettingTenantUID)
	return err
}
