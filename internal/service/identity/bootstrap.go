package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/secret"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
)

const (
	// SettingTenantUID is the setting that holds the tenant's uid once the first start made it.
	SettingTenantUID = "tenant.uid"
	// AdminEmail is the tenant admin the first start creates.
	AdminEmail = "admin@easel.local"
	// DefaultProject is the project the first start creates.
	DefaultProject = "default"
)

// Bootstrapped is what the first start of an empty store created; the secrets are shown once.
type Bootstrapped struct {
	TenantUID         string
	DefaultProjectUID string
	AdminEmail        string
	AdminPassword     string
	APIKey            string
}

// Bootstrap creates the tenant, its admin, an API key and the default project when the store is
// empty, and returns nil when it is not. apiKey, if not empty, becomes the admin's key (for
// automation); otherwise one is generated.
func Bootstrap(ctx context.Context, st store.Store, apiKey string) (*Bootstrapped, error) {
	return BootstrapWith(ctx, st, apiKey, nil)
}

// BootstrapWith is Bootstrap that hands the new secrets to keep before the store commits them:
// if keep fails, nothing is created, so no secret exists that nobody was given.
func BootstrapWith(ctx context.Context, st store.Store, apiKey string, keep func(*Bootstrapped) error) (*Bootstrapped, error) {
	var out *Bootstrapped
	err := st.Tx(ctx, func(q store.Queries) error {
		// Hub replicas starting at once on an empty store: one creates the tenant, the others wait
		// and find it.
		if err := q.Serialize(ctx, "easel bootstrap"); err != nil {
			return err
		}
		_, err := q.GetSetting(ctx, SettingTenantUID)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		b := &Bootstrapped{TenantUID: uid.New(), DefaultProjectUID: uid.New(), AdminEmail: AdminEmail,
			AdminPassword: secret.New("")[:20], APIKey: apiKey}
		if b.APIKey == "" {
			b.APIKey = secret.New("easel-")
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(b.AdminPassword), bcrypt.DefaultCost)
		if err != nil {
			return err
		}
		adminUID := uid.New()
		doc, _ := json.Marshal(user{Email: AdminEmail, FirstName: "Tenant", LastName: "Admin",
			PasswordHash: string(hash), TenantRoles: []string{v1.RoleTenantAdmin}})
		if err := q.CreateObject(ctx, &store.Record{Kind: KindUser, UID: adminUID, TenantUID: b.TenantUID,
			Name: AdminEmail, Doc: doc}); err != nil {
			return err
		}
		if err := q.CreateObject(ctx, &store.Record{Kind: kindProject, UID: b.DefaultProjectUID,
			TenantUID: b.TenantUID, Name: DefaultProject, Doc: []byte(`{}`)}); err != nil {
			return err
		}
		if err := q.CreateCredential(ctx, &store.Credential{UID: uid.New(), Kind: store.CredentialAPIKey,
			TenantUID: b.TenantUID, UserUID: adminUID, Name: "bootstrap", Hash: secret.Hash(b.APIKey), Active: true}); err != nil {
			return fmt.Errorf("storing the bootstrap API key: %w", err)
		}
		if err := q.AddAudit(ctx, &store.Audit{UID: uid.New(), TenantUID: b.TenantUID, ActorType: "system",
			ActorName: "easel", Action: "create", ResourceKind: "tenant", ResourceUID: b.TenantUID,
			Message: "Created the tenant, its admin " + AdminEmail + " and project " + DefaultProject}); err != nil {
			return err
		}
		if err := q.PutSetting(ctx, SettingTenantUID, b.TenantUID); err != nil {
			return err
		}
		if keep != nil {
			if err := keep(b); err != nil {
				return err
			}
		}
		out = b
		return nil
	})
	return out, err
}
