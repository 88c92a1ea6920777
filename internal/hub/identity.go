package hub

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/secret"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
	"github.com/easelhq/easel/internal/validate"
)

func (s *Server) authenticateHandler(w http.ResponseWriter, r *http.Request) error {
	var in v1.AuthLogin
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.EmailID == "" || in.Password == "" {
		return service.Invalid("emailId and password are required")
	}
	// The login throttle remembers emails; bound what it may be asked to remember.
	if len(in.EmailID) > v1.MaxEmailBytes || len(in.Password) > v1.MaxPasswordBytes {
		return service.Invalid("emailId is at most %d bytes (MaxEmailBytes) and password at most %d (MaxPasswordBytes)", v1.MaxEmailBytes, v1.MaxPasswordBytes)
	}
	token, err := s.login(r, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1.UserToken{Authorization: token})
	return nil
}

// revokeTokens is Palette's POST /v1/users/auth/tokens/revoke: the login sessions whose tokens are
// named end at once. A user revokes their own sessions, a tenant admin anyone's in the tenant; a
// token that is no such session is passed over, so that the answer tells nothing about it.
func (s *Server) revokeTokens(w http.ResponseWriter, r *http.Request, c *call) error {
	var in struct {
		Tokens []string `json:"tokens"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.Tokens) == 0 || len(in.Tokens) > v1.MaxTokensPerRevoke {
		return service.Invalid("tokens: name 1 to %d tokens (MaxTokensPerRevoke), not %d", v1.MaxTokensPerRevoke, len(in.Tokens))
	}
	if err := s.revokeSessions(r, c, in.Tokens); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// logout ends the login session the request is made with (DELETE /v1/auth/session).
func (s *Server) logout(w http.ResponseWriter, r *http.Request, c *call) error {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if r.Header.Get("ApiKey") != "" || token == "" {
		return service.Invalid("logging out ends a login session, and this request was made with an API key; to revoke the key, DELETE /v1/apiKeys/{uid}")
	}
	if err := s.revokeSessions(r, c, []string{token}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) revokeSessions(r *http.Request, c *call, tokens []string) error {
	ctx := r.Context()
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
			if err := s.records.Audit(ctx, q, &c.Call, "", "revoke", "session", cred.UID, "", "Revoked a login session of user "+cred.UserUID); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Server) userInfo(w http.ResponseWriter, r *http.Request, c *call) error {
	writeJSON(w, http.StatusOK, v1.UserInfo{OrgName: "easel", TenantUID: c.TenantUID, UserUID: c.UserUID})
	return nil
}

func userWire(rec store.Record) (v1.User, error) {
	var u user
	if err := json.Unmarshal(rec.Doc, &u); err != nil {
		return v1.User{}, err
	}
	out := v1.User{Metadata: meta(rec), Spec: v1.UserSpec{EmailID: u.Email, FirstName: u.FirstName,
		LastName: u.LastName, Roles: u.TenantRoles, ProjectRoles: u.ProjectRoles}}
	if out.Spec.Roles == nil {
		out.Spec.Roles = []string{}
	}
	out.Status.IsActive = true
	return out, nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, c *call) error {
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	recs, total, err := s.store.ListObjects(r.Context(), store.ListOptions{Kind: kindUser, TenantUID: c.TenantUID,
		Limit: pg.limit, Offset: pg.offset})
	if err != nil {
		return err
	}
	out := v1.Users{Items: []v1.User{}, Listmeta: pg.listMeta(len(recs), total)}
	for _, rec := range recs {
		u, err := userWire(rec)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, u)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

var roleNames = []string{v1.RoleProjectAdmin, v1.RoleClusterAdmin, v1.RoleViewer}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, c *call) error {
	var in v1.UserEntity
	if err := decode(r, &in); err != nil {
		return err
	}
	email := strings.ToLower(strings.TrimSpace(in.Spec.EmailID))
	if at := strings.Index(email, "@"); at < 1 || at == len(email)-1 || strings.ContainsAny(email, " \t") || len(email) > v1.MaxEmailBytes {
		return service.Invalid("spec.emailId %q is not an email address", in.Spec.EmailID)
	}
	u := user{Email: email, FirstName: in.Spec.FirstName, LastName: in.Spec.LastName, TenantRoles: []string{}}
	for _, role := range in.Spec.Roles {
		if role != v1.RoleTenantAdmin {
			return service.Invalid("spec.roles: %q is not a tenant role (only %s); grant project roles in spec.projectRoles", role, v1.RoleTenantAdmin)
		}
		u.TenantRoles = append(u.TenantRoles, role)
	}
	for i, pr := range in.Spec.ProjectRoles {
		if !slices.Contains(roleNames, pr.Role) {
			return service.Invalid("spec.projectRoles[%d].role %q must be one of %s", i, pr.Role, strings.Join(roleNames, ", "))
		}
		if _, err := s.store.GetObject(r.Context(), kindProject, pr.ProjectUID); err != nil {
			return service.Invalid("spec.projectRoles[%d]: project %q not found", i, pr.ProjectUID)
		}
		u.ProjectRoles = append(u.ProjectRoles, pr)
	}
	if in.Spec.Password != "" {
		if len(in.Spec.Password) < 12 || len(in.Spec.Password) > 72 {
			return service.Invalid("spec.password must be 12 to 72 characters (bcrypt reads no more)")
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(in.Spec.Password), bcrypt.DefaultCost)
		if err != nil {
			return service.Invalid("spec.password: %v", err)
		}
		u.PasswordHash = string(hash)
	}
	doc, _ := json.Marshal(u)
	rec := &store.Record{Kind: kindUser, UID: uid.New(), TenantUID: c.TenantUID, Name: email, Doc: doc}
	err := s.store.Tx(r.Context(), func(q store.Queries) error {
		if err := q.CreateObject(r.Context(), rec); err != nil {
			return err
		}
		return s.records.Audit(r.Context(), q, &c.Call, "", "create", kindUser, rec.UID, email, "Created user "+email)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1.UID{UID: rec.UID})
	return nil
}

func (s *Server) userRecord(r *http.Request, c *call) (store.Record, error) {
	uid := r.PathValue("uid")
	rec, err := s.store.GetObject(r.Context(), kindUser, uid)
	if errors.Is(err, store.ErrNotFound) || err == nil && (rec.TenantUID != c.TenantUID || !c.TenantAdmin && uid != c.UserUID) {
		return rec, service.NotFound("user", uid)
	}
	return rec, err
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, err := s.userRecord(r, c)
	if err != nil {
		return err
	}
	u, err := userWire(rec)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, err := s.userRecord(r, c)
	if err != nil {
		return err
	}
	if rec.UID == c.UserUID {
		return service.Conflict("a user cannot delete themselves")
	}
	err = s.store.Tx(r.Context(), func(q store.Queries) error {
		if err := q.DeleteObject(r.Context(), kindUser, rec.UID); err != nil {
			return err
		}
		for _, kind := range []string{store.CredentialAPIKey, store.CredentialSession} {
			creds, err := q.ListCredentials(r.Context(), rec.TenantUID, kind)
			if err != nil {
				return err
			}
			for _, cred := range creds {
				if cred.UserUID == rec.UID {
					if err := q.DeleteCredential(r.Context(), cred.UID); err != nil {
						return err
					}
				}
			}
		}
		return s.records.Audit(r.Context(), q, &c.Call, "", "delete", kindUser, rec.UID, rec.Name, "Deleted user "+rec.Name)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request, c *call) error {
	var in v1.APIKeyEntity
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := validateKeyName(in.Metadata.Name); err != nil {
		return err
	}
	owner := c.UserUID
	// Palette clients send the tenant uid here; a tenant admin may name another user.
	if u := in.Spec.UserUID; u != "" && u != c.TenantUID && u != c.UserUID {
		if !c.TenantAdmin {
			return service.Forbidden("only a tenant admin may create API keys for another user")
		}
		if rec, err := s.store.GetObject(r.Context(), kindUser, u); err != nil || rec.TenantUID != c.TenantUID {
			return service.Invalid("spec.userUid: user %q not found", u)
		}
		owner = u
	}
	now := s.clock.Now()
	if !in.Spec.Expiry.IsZero() && !in.Spec.Expiry.After(now) {
		return service.Invalid("spec.expiry %s is in the past", in.Spec.Expiry.Format(time.RFC3339))
	}
	if !c.TenantAdmin {
		// A key a user gives themselves lives at most MaxSelfIssuedKeyLifetime; longer-lived keys
		// are a tenant admin's to grant.
		limit := now.Add(v1.MaxSelfIssuedKeyLifetime)
		if in.Spec.Expiry.After(limit) {
			return service.Invalid("spec.expiry %s is beyond the %s a user may give their own key (MaxSelfIssuedKeyLifetime); ask a tenant admin for a longer-lived key",
				in.Spec.Expiry.Format(time.RFC3339), v1.MaxSelfIssuedKeyLifetime)
		}
		if in.Spec.Expiry.IsZero() {
			in.Spec.Expiry = limit
		}
	}
	if err := validate.Annotations("metadata.annotations", in.Metadata.Annotations); err != nil {
		return service.Invalid("%v", err)
	}
	key := secret.New("easel-")
	cred := &store.Credential{UID: uid.New(), Kind: store.CredentialAPIKey, TenantUID: c.TenantUID, UserUID: owner,
		Name: in.Metadata.Name, Hash: secret.Hash(key), ExpiresAt: in.Spec.Expiry, Active: true,
		Annotations: in.Metadata.Annotations}
	err := s.store.Tx(r.Context(), func(q store.Queries) error {
		if err := q.CreateCredential(r.Context(), cred); err != nil {
			return err
		}
		return s.records.Audit(r.Context(), q, &c.Call, "", "create", "apiKey", cred.UID, cred.Name, "Created API key "+cred.Name)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1.APIKeyCreateResponse{APIKey: key, UID: cred.UID})
	return nil
}

func validateKeyName(name string) error {
	if strings.TrimSpace(name) == "" || len(name) > 128 {
		return service.Invalid("metadata.name is required (at most 128 characters)")
	}
	return nil
}

func (s *Server) apiKeyWire(r *http.Request, cred store.Credential) v1.APIKey {
	var k v1.APIKey
	k.Metadata = v1.ObjectMeta{UID: cred.UID, Name: cred.Name, Annotations: cred.Annotations, CreationTimestamp: cred.CreatedAt}
	k.Spec.Expiry = cred.ExpiresAt
	k.Spec.User.UID = cred.UserUID
	k.Status.IsActive = cred.Active && (cred.ExpiresAt.IsZero() || s.clock.Now().Before(cred.ExpiresAt))
	return k
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request, c *call) error {
	creds, err := s.store.ListCredentials(r.Context(), c.TenantUID, store.CredentialAPIKey)
	if err != nil {
		return err
	}
	out := v1.APIKeys{Items: []v1.APIKey{}}
	for _, cred := range creds {
		if c.TenantAdmin || cred.UserUID == c.UserUID {
			out.Items = append(out.Items, s.apiKeyWire(r, cred))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) apiKeyRecord(r *http.Request, c *call) (store.Credential, error) {
	uid := r.PathValue("uid")
	cred, err := s.store.GetCredential(r.Context(), uid)
	if errors.Is(err, store.ErrNotFound) || err == nil && (cred.Kind != store.CredentialAPIKey ||
		cred.TenantUID != c.TenantUID || !c.TenantAdmin && cred.UserUID != c.UserUID) {
		return cred, service.NotFound("API key", uid)
	}
	return cred, err
}

func (s *Server) getAPIKey(w http.ResponseWriter, r *http.Request, c *call) error {
	cred, err := s.apiKeyRecord(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.apiKeyWire(r, cred))
	return nil
}

func (s *Server) updateAPIKey(w http.ResponseWriter, r *http.Request, c *call) error {
	cred, err := s.apiKeyRecord(r, c)
	if err != nil {
		return err
	}
	var in v1.APIKeyEntity
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Metadata.Name != "" {
		if err := validateKeyName(in.Metadata.Name); err != nil {
			return err
		}
		cred.Name = in.Metadata.Name
	}
	if !in.Spec.Expiry.IsZero() {
		// Only a tenant admin extends a key: a user may shorten their own key's life, never lengthen
		// what was allowed to it.
		if !c.TenantAdmin && !cred.ExpiresAt.IsZero() && in.Spec.Expiry.After(cred.ExpiresAt) {
			return service.Forbidden("spec.expiry %s is later than the key's expiry %s; only a tenant admin may extend a key",
				in.Spec.Expiry.Format(time.RFC3339), cred.ExpiresAt.Format(time.RFC3339))
		}
		cred.ExpiresAt = in.Spec.Expiry
	}
	if in.Metadata.Annotations != nil {
		if err := validate.Annotations("metadata.annotations", in.Metadata.Annotations); err != nil {
			return service.Invalid("%v", err)
		}
		cred.Annotations = in.Metadata.Annotations
	}
	err = s.store.Tx(r.Context(), func(q store.Queries) error {
		if err := q.UpdateCredential(r.Context(), &cred); err != nil {
			return err
		}
		return s.records.Audit(r.Context(), q, &c.Call, "", "update", "apiKey", cred.UID, cred.Name, "Updated API key "+cred.Name)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteAPIKey(w http.ResponseWriter, r *http.Request, c *call) error {
	cred, err := s.apiKeyRecord(r, c)
	if err != nil {
		return err
	}
	err = s.store.Tx(r.Context(), func(q store.Queries) error {
		if err := q.DeleteCredential(r.Context(), cred.UID); err != nil {
			return err
		}
		return s.records.Audit(r.Context(), q, &c.Call, "", "delete", "apiKey", cred.UID, cred.Name, "Deleted API key "+cred.Name)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// meta is the metadata of a stored object.
func meta(rec store.Record) v1.ObjectMeta {
	return v1.ObjectMeta{UID: rec.UID, Name: rec.Name, CreationTimestamp: rec.CreatedAt, LastModifiedTimestamp: rec.UpdatedAt}
}
