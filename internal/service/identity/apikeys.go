package identity

import (
	"context"
	"errors"
	"strings"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/secret"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
	"github.com/easelhq/easel/internal/validate"
)

// kindAPIKey names API keys in the audit trail.
const kindAPIKey = "apiKey"

// CreateAPIKey creates an API key from a v1.APIKeyEntity: the caller's own, or, for a tenant
// admin, another user's. A key a user gives themselves lives at most v1.MaxSelfIssuedKeyLifetime.
// It returns the key (shown this once; only its hash is stored) and its uid.
func (s *Service) CreateAPIKey(ctx context.Context, c *service.Call, input service.Input) (key, keyUID string, err error) {
	if err := c.Authorize(service.PermUser, ""); err != nil {
		return "", "", err
	}
	var in v1.APIKeyEntity
	if err := input(&in); err != nil {
		return "", "", err
	}
	if err := validateKeyName(in.Metadata.Name); err != nil {
		return "", "", err
	}
	owner := c.UserUID
	// Palette clients send the tenant uid here; a tenant admin may name another user.
	if u := in.Spec.UserUID; u != "" && u != c.TenantUID && u != c.UserUID {
		if !c.TenantAdmin {
			return "", "", service.Forbidden("only a tenant admin may create API keys for another user")
		}
		if rec, err := s.store.GetObject(ctx, KindUser, u); err != nil || rec.TenantUID != c.TenantUID {
			return "", "", service.Invalid("spec.userUid: user %q not found", u)
		}
		owner = u
	}
	now := s.clock.Now()
	if !in.Spec.Expiry.IsZero() && !in.Spec.Expiry.After(now) {
		return "", "", service.Invalid("spec.expiry %s is in the past", in.Spec.Expiry.Format(time.RFC3339))
	}
	if !c.TenantAdmin {
		// Longer-lived keys are a tenant admin's to grant.
		limit := now.Add(v1.MaxSelfIssuedKeyLifetime)
		if in.Spec.Expiry.After(limit) {
			return "", "", service.Invalid("spec.expiry %s is beyond the %s a user may give their own key (MaxSelfIssuedKeyLifetime); ask a tenant admin for a longer-lived key",
				in.Spec.Expiry.Format(time.RFC3339), v1.MaxSelfIssuedKeyLifetime)
		}
		if in.Spec.Expiry.IsZero() {
			in.Spec.Expiry = limit
		}
	}
	if err := validate.Annotations("metadata.annotations", in.Metadata.Annotations); err != nil {
		return "", "", service.Invalid("%v", err)
	}
	key = secret.New("easel-")
	cred := &store.Credential{UID: uid.New(), Kind: store.CredentialAPIKey, TenantUID: c.TenantUID, UserUID: owner,
		Name: in.Metadata.Name, Hash: secret.Hash(key), ExpiresAt: in.Spec.Expiry, Active: true,
		Annotations: in.Metadata.Annotations}
	err = s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateCredential(ctx, cred); err != nil {
			return err
		}
		return s.records.Audit(ctx, q, c, "", "create", kindAPIKey, cred.UID, cred.Name, "Created API key "+cred.Name)
	})
	if err != nil {
		return "", "", err
	}
	return key, cred.UID, nil
}

func validateKeyName(name string) error {
	if strings.TrimSpace(name) == "" || len(name) > 128 {
		return service.Invalid("metadata.name is required (at most 128 characters)")
	}
	return nil
}

// apiKeyWire shows a stored key in Palette's shape (never the key itself).
func (s *Service) apiKeyWire(cred store.Credential) v1.APIKey {
	var k v1.APIKey
	k.Metadata = v1.ObjectMeta{UID: cred.UID, Name: cred.Name, Annotations: cred.Annotations, CreationTimestamp: cred.CreatedAt}
	k.Spec.Expiry = cred.ExpiresAt
	k.Spec.User.UID = cred.UserUID
	k.Status.IsActive = cred.Active && (cred.ExpiresAt.IsZero() || s.clock.Now().Before(cred.ExpiresAt))
	return k
}

// ListAPIKeys lists the caller's keys, or every key of the tenant for a tenant admin.
func (s *Service) ListAPIKeys(ctx context.Context, c *service.Call) ([]v1.APIKey, error) {
	if err := c.Authorize(service.PermUser, ""); err != nil {
		return nil, err
	}
	creds, err := s.store.ListCredentials(ctx, c.TenantUID, store.CredentialAPIKey)
	if err != nil {
		return nil, err
	}
	out := []v1.APIKey{}
	for _, cred := range creds {
		if c.TenantAdmin || cred.UserUID == c.UserUID {
			out = append(out, s.apiKeyWire(cred))
		}
	}
	return out, nil
}

// apiKeyRecord is a key the caller may see: their own, or anyone's in the tenant for a tenant admin.
func (s *Service) apiKeyRecord(ctx context.Context, c *service.Call, keyUID string) (store.Credential, error) {
	if err := c.Authorize(service.PermUser, ""); err != nil {
		return store.Credential{}, err
	}
	cred, err := s.store.GetCredential(ctx, keyUID)
	if errors.Is(err, store.ErrNotFound) || err == nil && (cred.Kind != store.CredentialAPIKey ||
		cred.TenantUID != c.TenantUID || !c.TenantAdmin && cred.UserUID != c.UserUID) {
		return cred, service.NotFound("API key", keyUID)
	}
	return cred, err
}

// GetAPIKey returns one of the caller's keys (any of the tenant's for a tenant admin).
func (s *Service) GetAPIKey(ctx context.Context, c *service.Call, keyUID string) (v1.APIKey, error) {
	cred, err := s.apiKeyRecord(ctx, c, keyUID)
	if err != nil {
		return v1.APIKey{}, err
	}
	return s.apiKeyWire(cred), nil
}

// UpdateAPIKey renames a key, changes its annotations or its expiry (v1.APIKeyEntity); only a
// tenant admin extends a key: a user may shorten their own key's life, never lengthen what was
// allowed to it.
func (s *Service) UpdateAPIKey(ctx context.Context, c *service.Call, keyUID string, input service.Input) error {
	cred, err := s.apiKeyRecord(ctx, c, keyUID)
	if err != nil {
		return err
	}
	var in v1.APIKeyEntity
	if err := input(&in); err != nil {
		return err
	}
	if in.Metadata.Name != "" {
		if err := validateKeyName(in.Metadata.Name); err != nil {
			return err
		}
		cred.Name = in.Metadata.Name
	}
	if !in.Spec.Expiry.IsZero() {
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
	return s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.UpdateCredential(ctx, &cred); err != nil {
			return err
		}
		return s.records.Audit(ctx, q, c, "", "update", kindAPIKey, cred.UID, cred.Name, "Updated API key "+cred.Name)
	})
}

// DeleteAPIKey deletes one of the caller's keys (any of the tenant's for a tenant admin).
func (s *Service) DeleteAPIKey(ctx context.Context, c *service.Call, keyUID string) error {
	cred, err := s.apiKeyRecord(ctx, c, keyUID)
	if err != nil {
		return err
	}
	return s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.DeleteCredential(ctx, cred.UID); err != nil {
			return err
		}
		return s.records.Audit(ctx, q, c, "", "delete", kindAPIKey, cred.UID, cred.Name, "Deleted API key "+cred.Name)
	})
}
