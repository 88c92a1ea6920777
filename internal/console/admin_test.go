package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service/identity"
)

func TestAPIKeys(t *testing.T) {
	f := newFixture(t)
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)
	// The admin's own key (the first start's), listed before anyone else has one.
	_, adminList := f.do("GET", "/apikeys", nil)
	var adminKey string
	if m := regexp.MustCompile(`action="/apikeys/([^/]+)/delete"`).FindStringSubmatch(adminList); m != nil {
		adminKey = m[1]
	} else {
		t.Fatal("the admin's key list has no key to delete")
	}
	ops, csrf := f.as("ops@example.com", v1.RoleClusterAdmin)

	resp, body := ops.do("POST", "/apikeys", url.Values{"csrf": {csrf}, "name": {"ci"}, "days": {"30"}})
	key := regexp.MustCompile(`id="new-key" class="secret" readonly value="([^"]+)"`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusCreated || key == nil || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("creating a key: %d, cache %q, key shown: %v", resp.StatusCode, resp.Header.Get("Cache-Control"), key != nil)
	}
	// The key signs in to the API, as the user who made it.
	caller, err := identity.New(f.store, nil).Authenticate(context.Background(), identity.Credentials{APIKey: key[1]})
	if err != nil || caller.Name != "ops@example.com" {
		t.Fatalf("the new key authenticates as %q, %v; want ops@example.com", caller.Name, err)
	}
	// Listed afterwards, never shown again.
	_, list := ops.do("GET", "/apikeys", nil)
	if !strings.Contains(list, `data-key="ci"`) || strings.Contains(list, key[1]) {
		t.Fatalf("the key list: has ci %t, shows the key %t", strings.Contains(list, `data-key="ci"`), strings.Contains(list, key[1]))
	}
	// A user may not give their own key more than 90 days; the service says so and makes nothing.
	resp, body = ops.do("POST", "/apikeys", url.Values{"csrf": {csrf}, "name": {"forever"}, "days": {"365"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "ask a tenant admin") {
		t.Errorf("a year-long key of a user: %d; want 400 saying why", resp.StatusCode)
	}
	// Another user's key is not theirs to delete (not found to them); their own is.
	if resp, _ := ops.do("POST", "/apikeys/"+adminKey+"/delete", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleting the admin's key as another user: %d; want 404", resp.StatusCode)
	}
	own := regexp.MustCompile(`action="/apikeys/([^/]+)/delete"`).FindStringSubmatch(list)
	if resp, _ := ops.do("POST", "/apikeys/"+own[1]+"/delete", url.Values{"csrf": {"forged"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("deleting without the session's CSRF token: %d; want 403", resp.StatusCode)
	}
	if resp, _ := ops.do("POST", "/apikeys/"+own[1]+"/delete", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("deleting one's own key: %d", resp.StatusCode)
	}
	if _, err := identity.New(f.store, nil).Authenticate(context.Background(), identity.Credentials{APIKey: key[1]}); err == nil {
		t.Error("a deleted key still authenticates")
	}
}

func TestAudit(t *testing.T) {
	f := newFixture(t)
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)
	viewer, _ := f.as("viewer@example.com", v1.RoleViewer)

	// The tenant admin reads the trail: the viewer's creation and login are in it.
	resp, body := f.do("GET", "/audit", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "viewer@example.com") || !strings.Contains(body, `href="/audit`) {
		t.Fatalf("the admin's audit page: %d, names the viewer: %t", resp.StatusCode, strings.Contains(body, "viewer@example.com"))
	}
	// A viewer reads none of it and is not offered the page.
	resp, body = viewer.do("GET", "/audit", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "No entries you may read.") {
		t.Errorf("the viewer's audit page: %d; want an empty trail", resp.StatusCode)
	}
	if strings.Contains(body, `<a href="/audit`) {
		t.Error("the viewer's navigation offers the audit trail")
	}
}

// A form beyond the hub's body limit is refused as too large, not as a forgery.
func TestFormTooLarge(t *testing.T) {
	f := newFixture(t)
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)
	_, page := f.do("GET", "/apikeys", nil)
	csrf := hiddenCSRF.FindStringSubmatch(page)[1]
	limited := http.MaxBytesHandler(f.handler, 1<<10)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/apikeys", strings.NewReader(url.Values{"csrf": {csrf}, "name": {strings.Repeat("k", 2<<10)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	site, _ := url.Parse(f.url)
	for _, c := range f.client.Jar.Cookies(site) {
		req.AddCookie(c)
	}
	limited.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "larger than the hub accepts") {
		t.Fatalf("a form over the limit: %d %s; want 413", rec.Code, rec.Body.String())
	}
}

// A page whose reader went away (a browser navigating elsewhere mid-request) is nobody's failure:
// the console logs no error for it.
func TestClientGoneIsNotAnError(t *testing.T) {
	f := newFixture(t)
	f.cluster("web", "Running", 1, 1)
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, "GET", "/clusters", nil)
	site, _ := url.Parse(f.url)
	for _, c := range f.client.Jar.Cookies(site) {
		req.AddCookie(c)
	}
	f.handler.ServeHTTP(httptest.NewRecorder(), req)
	if logged := f.log.String(); strings.Contains(logged, "level=ERROR") {
		t.Fatalf("the console logged an error for a request its client gave up:\n%s", logged)
	}
}
