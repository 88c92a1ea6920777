package console_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
)

// Every write of the console against every project role, as the API's RBAC matrix does for its
// routes: a role without the permission gets the service's 403 and nothing else; a role with it
// gets past the permission (whatever the service then says of the input). Each case runs on a
// fresh store, so that no write depends on another.
func TestConsoleRBACMatrix(t *testing.T) {
	clusterWriters := []string{v1.RoleClusterAdmin, v1.RoleProjectAdmin}
	profileWriters := []string{v1.RoleProjectAdmin}
	const profileYAML = `{"metadata":{"name":"extra"},"spec":{"version":"1.0.0","template":{"type":"add-on","cloudType":"local",
		"packs":[{"name":"prometheus-operator","tag":"0.85.0"}]}}}`
	cases := []struct {
		path    string
		form    url.Values
		allowed []string
	}{
		{"/clusters/new", url.Values{"name": {"shop"}}, clusterWriters},
		{"/clusters/web-uid/pools/workers/machines/m-w3/maintenance", url.Values{"action": {v1.MaintenanceCordon}}, clusterWriters},
		{"/clusters/web-uid/nodes/doctor", url.Values{}, clusterWriters},
		{"/clusters/web-uid/settings/pools/workers", url.Values{"size": {"4"}}, clusterWriters},
		{"/clusters/web-uid/settings/profiles/attach", url.Values{"profile": {"p-addon"}}, clusterWriters},
		{"/clusters/web-uid/settings/profiles/p-addon/upgrade", url.Values{"to": {"p-addon"}}, clusterWriters},
		{"/clusters/web-uid/settings/profiles/p-addon/detach", url.Values{}, clusterWriters},
		{"/clusters/web-uid/settings/repave/approve", url.Values{}, clusterWriters},
		{"/clusters/web-uid/settings/certificates/renew", url.Values{}, clusterWriters},
		{"/clusters/web-uid/settings/logs", url.Values{}, clusterWriters},
		{"/clusters/web-uid/settings/delete", url.Values{"name": {"web"}}, clusterWriters},
		{"/profiles", url.Values{"profile": {profileYAML}}, profileWriters},
		{"/profiles/p-addon/publish", url.Values{}, profileWriters},
	}
	for _, c := range cases {
		for _, role := range []string{v1.RoleViewer, v1.RoleClusterAdmin, v1.RoleProjectAdmin} {
			t.Run(role+c.path, func(t *testing.T) {
				f := newFixture(t)
				f.nodesCluster()
				f.profile("p-addon", "monitoring", "1.0.0", v1.ProfileTypeAddOn, v1.PackManifestEntity{Name: "prometheus-operator", Tag: "0.85.0"})
				user, csrf := f.as(role+"@example.com", role)
				form := url.Values{"csrf": {csrf}}
				for k, v := range c.form {
					form[k] = v
				}
				resp, body := user.do("POST", c.path+"?project="+f.boot.DefaultProjectUID, form)
				allowed := slices.Contains(c.allowed, role)
				switch {
				case !allowed && resp.StatusCode != http.StatusForbidden:
					t.Fatalf("%s as %s: %d; want 403\n%s", c.path, role, resp.StatusCode, body)
				case allowed && (resp.StatusCode == http.StatusForbidden || resp.StatusCode >= 500):
					t.Fatalf("%s as %s: %d; want it past the permission check\n%s", c.path, role, resp.StatusCode, body)
				}
			})
		}
	}
}
