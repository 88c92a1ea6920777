package identity_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/service/identity"
	"github.com/easelhq/easel/internal/service/servicetest"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testenv/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const adminKey = "identity-test-admin-key-0123456789"

type fixture struct {
	t     *testing.T
	ctx   context.Context
	store store.Store
	clock *clocktesting.FakeClock
	svc   *identity.Service
	boot  *identity.Bootstrapped
	admin *service.Call
}

func eachStore(t *testing.T, fn func(t *testing.T, f *fixture)) {
	servicetest.EachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		boot, err := identity.Bootstrap(ctx, st, adminKey)
		if err != nil || boot == nil {
			t.Fatalf("bootstrap: %v %v", boot, err)
		}
		f := &fixture{t: t, ctx: ctx, store: st, clock: clocktesting.NewFakeClock(time.Unix(1_800_000_000, 0)), boot: boot}
		f.svc = identity.New(st, f.clock)
		caller, err := f.svc.Authenticate(ctx, identity.Credentials{APIKey: adminKey})
		if err != nil || !caller.TenantAdmin {
			t.Fatalf("the bootstrap key: %+v, %v", caller, err)
		}
		f.admin = &service.Call{Caller: caller}
		fn(t, f)
	})
}

func input(v any) service.Input {
	return func(into any) error {
		doc, _ := json.Marshal(v)
		return json.Unmarshal(doc, into)
	}
}

// user creates a user with a project role in the default project and returns their call.
func (f *fixture) user(email, role string) *service.Call {
	f.t.Helper()
	var in v1.UserEntity
	in.Spec.EmailID, in.Spec.Password = email, "a-long-enough-password"
	in.Spec.ProjectRoles = []v1.ProjectRole{{ProjectUID: f.boot.DefaultProjectUID, Role: role}}
	if _, err := f.svc.CreateUser(f.ctx, f.admin, input(in)); err != nil {
		f.t.Fatal(err)
	}
	token, err := f.svc.Login(f.ctx, v1.AuthLogin{EmailID: email, Password: "a-long-enough-password"}, "192.0.2.1")
	if err != nil {
		f.t.Fatal(err)
	}
	caller, err := f.svc.Authenticate(f.ctx, identity.Credentials{Bearer: token})
	if err != nil {
		f.t.Fatal(err)
	}
	return &service.Call{Caller: caller}
}

// Five wrong passwords lock the account for the window, before any password is checked, and each
// failure is in the audit trail.
func TestLoginThrottleAndAudit(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		wrong := v1.AuthLogin{EmailID: identity.AdminEmail, Password: "not-the-password"}
		for i := range v1.LoginFailuresPerAccount {
			if _, err := f.svc.Login(f.ctx, wrong, "192.0.2.7"); service.KindOf(err) != service.KindUnauthorized {
				t.Fatalf("wrong password %d: %v, want Unauthorized", i+1, err)
			}
		}
		_, err := f.svc.Login(f.ctx, v1.AuthLogin{EmailID: identity.AdminEmail, Password: f.boot.AdminPassword}, "192.0.2.8")
		var refused *service.Error
		if service.KindOf(err) != service.KindTooManyRequests || !errorsAs(err, &refused) || refused.RetryAfter <= 0 {
			t.Fatalf("login after %d failures = %v, want TooManyRequests with a retry time", v1.LoginFailuresPerAccount, err)
		}
		audits, _, err := f.store.ListAudits(f.ctx, store.AuditFilter{TenantUID: f.boot.TenantUID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		failed := 0
		for _, a := range audits {
			if a.Action == "login-failed" && strings.Contains(a.Message, "from 192.0.2.7") {
				failed++
			}
		}
		if failed != v1.LoginFailuresPerAccount {
			t.Fatalf("%d login-failed audit entries, want %d", failed, v1.LoginFailuresPerAccount)
		}
		f.clock.Step(v1.LoginWindow + time.Second)
		if _, err := f.svc.Login(f.ctx, v1.AuthLogin{EmailID: identity.AdminEmail, Password: f.boot.AdminPassword}, "192.0.2.8"); err != nil {
			t.Fatalf("login once the window passed: %v", err)
		}
	})
}

// The throttle lives in the store: failures through one hub replica count at another, and the
// failures that left the window are deleted.
func TestLoginThrottleIsSharedByReplicas(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		other := identity.New(f.store, f.clock) // a second replica's service over the same store
		wrong := v1.AuthLogin{EmailID: identity.AdminEmail, Password: "not-the-password"}
		for i := range v1.LoginFailuresPerAccount {
			svc := f.svc
			if i%2 == 1 {
				svc = other
			}
			if _, err := svc.Login(f.ctx, wrong, "192.0.2.9"); service.KindOf(err) != service.KindUnauthorized {
				t.Fatalf("wrong password %d: %v, want Unauthorized", i+1, err)
			}
		}
		for name, svc := range map[string]*identity.Service{"first": f.svc, "second": other} {
			if _, err := svc.Login(f.ctx, v1.AuthLogin{EmailID: identity.AdminEmail, Password: f.boot.AdminPassword}, "192.0.2.10"); service.KindOf(err) != service.KindTooManyRequests {
				t.Fatalf("the %s replica after %d failures spread over two = %v, want TooManyRequests", name, v1.LoginFailuresPerAccount, err)
			}
		}
		f.clock.Step(v1.LoginWindow + time.Second)
		if _, err := other.Login(f.ctx, wrong, "192.0.2.11"); service.KindOf(err) != service.KindUnauthorized {
			t.Fatalf("a wrong password after the window: %v, want Unauthorized", err)
		}
		left, err := f.store.RecentLoginFailures(f.ctx, "address:192.0.2.9", time.Time{}, 100)
		if err != nil || len(left) != 0 {
			t.Fatalf("failures kept from before the window: %v, %v; want them deleted", left, err)
		}
	})
}

// A revoked session and an expired key no longer authenticate; a user revokes only their own
// sessions.
func TestSessionsAndKeysEnd(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		viewer := f.user("viewer@example.com", v1.RoleViewer)
		token, err := f.svc.Login(f.ctx, v1.AuthLogin{EmailID: identity.AdminEmail, Password: f.boot.AdminPassword}, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.RevokeSessions(f.ctx, viewer, []string{token}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Authenticate(f.ctx, identity.Credentials{Bearer: token}); err != nil {
			t.Fatalf("the admin's session after a viewer 'revoked' it: %v; want it still valid", err)
		}
		if err := f.svc.RevokeSessions(f.ctx, f.admin, []string{token}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Authenticate(f.ctx, identity.Credentials{Bearer: token}); service.KindOf(err) != service.KindUnauthorized ||
			!strings.Contains(err.Error(), "revoked") {
			t.Fatalf("a revoked session authenticates: %v", err)
		}

		// A key a user gives themselves lives at most MaxSelfIssuedKeyLifetime.
		key, keyUID, err := f.svc.CreateAPIKey(f.ctx, viewer, input(map[string]any{"metadata": map[string]any{"name": "mine"}}))
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.GetAPIKey(f.ctx, viewer, keyUID)
		if err != nil || !got.Spec.Expiry.Equal(f.clock.Now().Add(v1.MaxSelfIssuedKeyLifetime)) {
			t.Fatalf("the viewer's key expires %v (%v), want in %s", got.Spec.Expiry, err, v1.MaxSelfIssuedKeyLifetime)
		}
		later := f.clock.Now().Add(v1.MaxSelfIssuedKeyLifetime + time.Hour)
		if err := f.svc.UpdateAPIKey(f.ctx, viewer, keyUID, input(map[string]any{"spec": map[string]any{"expiry": later}})); service.KindOf(err) != service.KindForbidden {
			t.Fatalf("a viewer extends their key: %v, want Forbidden", err)
		}
		f.clock.Step(v1.MaxSelfIssuedKeyLifetime + time.Second)
		if _, err := f.svc.Authenticate(f.ctx, identity.Credentials{APIKey: key}); service.KindOf(err) != service.KindUnauthorized ||
			!strings.Contains(err.Error(), "expired") {
			t.Fatalf("an expired key authenticates: %v", err)
		}
	})
}

// Users are the tenant admin's to manage; a caller without the permission is refused before their
// input is read.
func TestUsersAreTheTenantAdmins(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		viewer := f.user("viewer@example.com", v1.RoleViewer)
		read := false
		_, err := f.svc.CreateUser(f.ctx, viewer, func(any) error { read = true; return nil })
		if service.KindOf(err) != service.KindForbidden || read {
			t.Fatalf("viewer creates a user: %v (input read %v), want Forbidden before reading it", err, read)
		}
		if _, _, err := f.svc.ListUsers(f.ctx, viewer, 10, 0); service.KindOf(err) != service.KindForbidden {
			t.Fatalf("viewer lists users: %v, want Forbidden", err)
		}
		if _, err := f.svc.GetUser(f.ctx, viewer, viewer.UserUID); err != nil {
			t.Fatalf("a user reads themselves: %v", err)
		}
		if _, err := f.svc.GetUser(f.ctx, viewer, f.admin.UserUID); service.KindOf(err) != service.KindNotFound {
			t.Fatalf("a viewer reads the admin: %v, want NotFound", err)
		}
		if err := f.svc.DeleteUser(f.ctx, f.admin, f.admin.UserUID); service.KindOf(err) != service.KindConflict {
			t.Fatalf("the admin deletes themselves: %v, want Conflict", err)
		}
		if err := f.svc.DeleteUser(f.ctx, f.admin, viewer.UserUID); err != nil {
			t.Fatal(err)
		}
		users, total, err := f.svc.ListUsers(f.ctx, f.admin, 10, 0)
		if err != nil || total != 1 || users[0].Spec.EmailID != identity.AdminEmail {
			t.Fatalf("users after deleting the viewer: %d %v %v", total, users, err)
		}
	})
}

func errorsAs(err error, target **service.Error) bool { return errors.As(err, target) }
