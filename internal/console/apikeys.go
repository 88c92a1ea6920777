package console

import (
	"net/http"
	"strconv"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
)

// apiKeys lists the caller's API keys (every key of the tenant for a tenant admin), with a form
// to create one.
func (c *Console) apiKeys(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.renderAPIKeys(w, r, s, http.StatusOK, nil)
}

// renderAPIKeys shows the keys; created, when set, is the key just made, shown this once.
func (c *Console) renderAPIKeys(w http.ResponseWriter, r *http.Request, s *session, status int, created *v1.APIKeyCreateResponse) error {
	keys, err := c.o.Identity.ListAPIKeys(r.Context(), &s.call)
	if err != nil {
		return err
	}
	if created != nil {
		// The key is in this page alone: no cache keeps it.
		w.Header().Set("Cache-Control", "no-store")
	}
	c.render(w, status, "apikeys", "", layoutData(s, "API keys", map[string]any{
		"Keys": keys, "Created": created, "TenantAdmin": s.call.TenantAdmin, "Self": s.call.UserUID,
		"MaxDays": int(v1.MaxSelfIssuedKeyLifetime / (24 * time.Hour)), "Done": r.URL.Query().Get("done"),
	}))
	return nil
}

// createAPIKey makes a key from the form (name, lifetime in days) through the identity service,
// as POST /v1/apiKeys does, and shows it once.
func (c *Console) createAPIKey(w http.ResponseWriter, r *http.Request, s *session) error {
	var in v1.APIKeyEntity
	in.Metadata.Name = r.PostFormValue("name")
	if days := r.PostFormValue("days"); days != "" {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 3650 {
			return service.Invalid("the lifetime must be a whole number of days from 1 to 3650, not %q", days)
		}
		in.Spec.Expiry = c.o.Clock.Now().Add(time.Duration(n) * 24 * time.Hour)
	}
	key, uid, err := c.o.Identity.CreateAPIKey(r.Context(), &s.call, formInput(in))
	if err != nil {
		return err
	}
	return c.renderAPIKeys(w, r, s, http.StatusCreated, &v1.APIKeyCreateResponse{APIKey: key, UID: uid})
}

// deleteAPIKey deletes one of the caller's keys (any of the tenant's for a tenant admin), as
// DELETE /v1/apiKeys/{uid} does.
func (c *Console) deleteAPIKey(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.o.Identity.DeleteAPIKey(r.Context(), &s.call, r.PathValue("uid")); err != nil {
		return err
	}
	http.Redirect(w, r, "/apikeys?done=deleted", http.StatusSeeOther)
	return nil
}
