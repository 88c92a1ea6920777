package identity

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
)

// userWire shows a stored user in Palette's shape.
func userWire(rec store.Record) (v1.User, error) {
	var u user
	if err := json.Unmarshal(rec.Doc, &u); err != nil {
		return v1.User{}, err
	}
	out := v1.User{Metadata: service.Meta(rec), Spec: v1.UserSpec{EmailID: u.Email, FirstName: u.FirstName,
		LastName: u.LastName, Roles: u.TenantRoles, ProjectRoles: u.ProjectRoles}}
	if out.Spec.Roles == nil {
		out.Spec.Roles = []string{}
	}
	out.Status.IsActive = true
	return out, nil
}

// ListUsers lists the tenant's users, a page at a time (tenant admins only).
func (s *Service) ListUsers(ctx context.Context, c *service.Call, limit, offset int) ([]v1.User, int, error) {
	if err := c.Authorize(service.PermTenantAdmin, ""); err != nil {
		return nil, 0, err
	}
	recs, total, err := s.store.ListObjects(ctx, store.ListOptions{Kind: KindUser, TenantUID: c.TenantUID, Limit: limit, Offset: offset})
	if err != nil {
		return nil, 0, err
	}
	out := []v1.User{}
	for _, rec := range recs {
		u, err := userWire(rec)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, u)
	}
	return out, total, nil
}

var roleNames = []string{v1.RoleProjectAdmin, v1.RoleClusterAdmin, v1.RoleViewer}

// CreateUser creates a user of the tenant from a v1.UserEntity (tenant admins only) and returns
// its uid.
func (s *Service) CreateUser(ctx context.Context, c *service.Call, input service.Input) (string, error) {
	if err := c.Authorize(service.PermTenantAdmin, ""); err != nil {
		return "", err
	}
	var in v1.UserEntity
	if err := input(&in); err != nil {
		return "", err
	}
	email := strings.ToLower(strings.TrimSpace(in.Spec.EmailID))
	if at := strings.Index(email, "@"); at < 1 || at == len(email)-1 || strings.ContainsAny(email, " \t") || len(email) > v1.MaxEmailBytes {
		return "", service.Invalid("spec.emailId %q is not an email address", in.Spec.EmailID)
	}
	u := user{Email: email, FirstName: in.Spec.FirstName, LastName: in.Spec.LastName, TenantRoles: []string{}}
	for _, role := range in.Spec.Roles {
		if role != v1.RoleTenantAdmin {
			return "", service.Invalid("spec.roles: %q is not a tenant role (only %s); grant project roles in spec.projectRoles", role, v1.RoleTenantAdmin)
		}
		u.TenantRoles = append(u.TenantRoles, role)
	}
	for i, pr := range in.Spec.ProjectRoles {
		if !slices.Contains(roleNames, pr.Role) {
			return "", service.Invalid("spec.projectRoles[%d].role %q must be one of %s", i, pr.Role, strings.Join(roleNames, ", "))
		}
		if rec, err := s.store.GetObject(ctx, kindProject, pr.ProjectUID); err != nil || rec.TenantUID != c.TenantUID {
			return "", service.Invalid("spec.projectRoles[%d]: project %q not found", i, pr.ProjectUID)
		}
		u.ProjectRoles = append(u.ProjectRoles, pr)
	}
	if in.Spec.Password != "" {
		if len(in.Spec.Password) < 12 || len(in.Spec.Password) > 72 {
			return "", service.Invalid("spec.password must be 12 to 72 characters (bcrypt reads no more)")
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(in.Spec.Password), bcrypt.DefaultCost)
		if err != nil {
			return "", service.Invalid("spec.password: %v", err)
		}
		u.PasswordHash = string(hash)
	}
	doc, _ := json.Marshal(u)
	rec := &store.Record{Kind: KindUser, UID: uid.New(), TenantUID: c.TenantUID, Name: email, Doc: doc}
	err := s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateObject(ctx, rec); err != nil {
			return err
		}
		return s.records.Audit(ctx, q, c, "", "create", KindUser, rec.UID, email, "Created user "+email)
	})
	if err != nil {
		return "", err
	}
	return rec.UID, nil
}

// userRecord is a user the caller may see: themselves, or anyone of the tenant for a tenant admin.
func (s *Service) userRecord(ctx context.Context, c *service.Call, userUID string) (store.Record, error) {
	rec, err := s.store.GetObject(ctx, KindUser, userUID)
	if errors.Is(err, store.ErrNotFound) || err == nil && (rec.TenantUID != c.TenantUID || !c.TenantAdmin && userUID != c.UserUID) {
		return rec, service.NotFound("user", userUID)
	}
	return rec, err
}

// GetUser returns a user: the caller themselves, or anyone of the tenant for a tenant admin.
func (s *Service) GetUser(ctx context.Context, c *service.Call, userUID string) (v1.User, error) {
	if err := c.Authorize(service.PermUser, ""); err != nil {
		return v1.User{}, err
	}
	rec, err := s.userRecord(ctx, c, userUID)
	if err != nil {
		return v1.User{}, err
	}
	return userWire(rec)
}

// DeleteUser deletes a user and their API keys and sessions (tenant admins only; never themselves).
func (s *Service) DeleteUser(ctx context.Context, c *service.Call, userUID string) error {
	if err := c.Authorize(service.PermTenantAdmin, ""); err != nil {
		return err
	}
	rec, err := s.userRecord(ctx, c, userUID)
	if err != nil {
		return err
	}
	if rec.UID == c.UserUID {
		return service.Conflict("a user cannot delete themselves")
	}
	return s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.DeleteObject(ctx, KindUser, rec.UID); err != nil {
			return err
		}
		for _, kind := range []string{store.CredentialAPIKey, store.CredentialSession} {
			if err := q.DeleteCredentialsOf(ctx, rec.TenantUID, kind, rec.UID); err != nil {
				return err
			}
		}
		return s.records.Audit(ctx, q, c, "", "delete", KindUser, rec.UID, rec.Name, "Deleted user "+rec.Name)
	})
}
