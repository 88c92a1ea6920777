package console_test

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/profiles"
	"github.com/easelhq/easel/internal/store"
)

// settingsCluster stores cluster "web" (uid web-uid), Running, as the engine leaves it: a
// control-plane pool and a worker pool spread over two zones with a label and a taint (its one
// machine ready, and another being taken away), the infra profile "base" attached.
func settingsCluster(f *fixture, change func(cl *clusters.Cluster)) {
	f.t.Helper()
	f.profile("base-uid", "base", "1.0.0", "cluster", v1.PackManifestEntity{Name: "ubuntu", Tag: "24.04"},
		v1.PackManifestEntity{Name: "kubernetes", Tag: "1.34.4"}, v1.PackManifestEntity{Name: "cni-calico", Tag: "3.30.3"})
	cl := clusters.Cluster{CloudType: "local", CloudConfigUID: "web-cc",
		Profiles: []clusters.ProfileRef{{UID: "base-uid", Name: "base", Version: "1.0.0", Type: "cluster"}},
		Pools: []clusters.Pool{
			{Name: "cp", ControlPlane: true, Size: 1, InstanceType: "small", DiskGiB: 20, Zones: []string{"local-a"}, UpdateStrategy: "RollingUpdateScaleOut"},
			{Name: "workers", Size: 1, InstanceType: "medium", DiskGiB: 40, Zones: []string{"local-a", "local-b"}, UpdateStrategy: "RollingUpdateScaleOut",
				Labels: map[string]string{"tier": "web"}, Taints: []v1.Taint{{Key: "dedicated", Value: "web", Effect: "NoSchedule"}}},
		},
		Status: clusters.Status{State: v1.ClusterStateRunning, Health: clusters.Health{State: clusters.HealthHealthy},
			Machines: []clusters.Machine{{UID: "m1", Name: "cp-1", Pool: "cp", Ready: true},
				{UID: "m2", Name: "workers-1", Pool: "workers", Ready: true},
				{UID: "m3", Name: "workers-0", Pool: "workers", Ready: true, DeletingSince: time.Now()}}}}
	if change != nil {
		change(&cl)
	}
	if err := f.store.CreateObject(context.Background(), &store.Record{Kind: clusters.Kind, UID: "web-uid", AltUID: "web-cc", Category: "local",
		TenantUID: f.boot.TenantUID, ProjectUID: f.boot.DefaultProjectUID, Name: "web", State: cl.Status.State, Doc: cl.Encode()}); err != nil {
		f.t.Fatal(err)
	}
}

// profile stores a published profile of the default project.
func (f *fixture) profile(uid, name, version, typ string, packList ...v1.PackManifestEntity) {
	f.t.Helper()
	var e v1.ClusterProfileEntity
	e.Metadata.Name = name
	e.Spec.Version = version
	e.Spec.Template = v1.ClusterProfileTemplateDraft{Type: typ, CloudType: "local", Packs: packList}
	p, err := profiles.FromEntity(e, packs.MustBuiltin())
	if err != nil {
		f.t.Fatal(err)
	}
	p.Published = true
	if err := f.store.CreateObject(context.Background(), &store.Record{Kind: profiles.Kind, UID: uid, TenantUID: f.boot.TenantUID,
		ProjectUID: f.boot.DefaultProjectUID, Name: name, Version: version, Category: typ, Doc: p.Encode()}); err != nil {
		f.t.Fatal(err)
	}
}

// stored reads the cluster as the store has it.
func (f *fixture) stored(uid string) (store.Record, clusters.Cluster) {
	f.t.Helper()
	rec, err := f.store.GetObject(context.Background(), clusters.Kind, uid)
	if err != nil {
		f.t.Fatal(err)
	}
	cl, err := clusters.Decode(rec.Doc)
	if err != nil {
		f.t.Fatal(err)
	}
	return rec, cl
}

// Scaling a pool from its form changes its size and nothing else of it; a size that is not a
// number of machines changes nothing.
func TestSettingsScalePool(t *testing.T) {
	f := newFixture(t)
	settingsCluster(f, nil)
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)

	resp, page := f.do("GET", "/clusters/web-uid/settings", nil)
	for _, want := range []string{`<strong aria-current="page">Settings</strong>`, `id="size-workers"`, `name="size" type="number" min="0"`,
		`id="size-cp" name="size" type="number" min="1"`, `data-ready="1">1 of 1</td>`, "local-a, local-b", "tier=web", "dedicated=web:NoSchedule", "medium"} {
		if !strings.Contains(page, want) {
			t.Errorf("the settings page (%d) lacks %q", resp.StatusCode, want)
		}
	}
	csrf := hiddenCSRF.FindStringSubmatch(page)[1]

	before, _ := f.stored("web-uid")
	resp, _ = f.do("POST", "/clusters/web-uid/settings/pools/workers", url.Values{"csrf": {csrf}, "size": {"3"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/clusters/web-uid/settings?done=scaled#pools" {
		t.Fatalf("scaling: %d %s; want a redirect back to the pools", resp.StatusCode, resp.Header.Get("Location"))
	}
	rec, cl := f.stored("web-uid")
	workers, _ := cl.Pool("workers")
	if workers.Size != 3 || !slices.Equal(workers.Zones, []string{"local-a", "local-b"}) || workers.InstanceType != "medium" ||
		workers.DiskGiB != 40 || workers.Labels["tier"] != "web" || len(workers.Taints) != 1 || rec.Generation != before.Generation+1 {
		t.Errorf("the workers pool after scaling to 3: %+v (generation %d, was %d); want size 3 and the rest as it was", *workers, rec.Generation, before.Generation)
	}
	if _, page := f.do("GET", "/clusters/web-uid/settings?done=scaled", nil); !strings.Contains(page, "The pool&#39;s new size is saved") ||
		!strings.Contains(page, `id="size-workers" name="size" type="number" min="0" max="1000" value="3"`) {
		t.Errorf("the page after scaling:\n%s", page)
	}

	for _, size := range []string{"two", "4294967298", "-1"} {
		resp, page := f.do("POST", "/clusters/web-uid/settings/pools/workers", url.Values{"csrf": {csrf}, "size": {size}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("size %q: %d; want 400\n%s", size, resp.StatusCode, page)
		}
	}
	if _, cl := f.stored("web-uid"); cl.Pools[1].Size != 3 {
		t.Errorf("after refused sizes the pool has %d machines; want 3", cl.Pools[1].Size)
	}
	if resp, _ := f.do("POST", "/clusters/web-uid/settings/pools/nope", url.Values{"csrf": {csrf}, "size": {"1"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a pool that does not exist: %d; want 404", resp.StatusCode)
	}
}

// Deleting needs the cluster's name typed: a wrong one deletes nothing and says so.
func TestSettingsDeleteNeedsTheName(t *testing.T) {
	f := newFixture(t)
	settingsCluster(f, nil)
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)
	csrf := f.csrfOn("/clusters/web-uid/settings")

	resp, page := f.do("POST", "/clusters/web-uid/settings/delete", url.Values{"csrf": {csrf}, "name": {"wbe"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "&#34;wbe&#34; is not this cluster&#39;s name; nothing was deleted") {
		t.Errorf("a wrong name: %d\n%s", resp.StatusCode, page)
	}
	if rec, _ := f.stored("web-uid"); rec.State != v1.ClusterStateRunning {
		t.Errorf("after a wrong name the cluster is %s; want Running", rec.State)
	}
	resp, _ = f.do("POST", "/clusters/web-uid/settings/delete", url.Values{"csrf": {csrf}, "name": {"web"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/clusters" {
		t.Fatalf("the right name: %d %s; want a redirect to the grid", resp.StatusCode, resp.Header.Get("Location"))
	}
	if rec, _ := f.stored("web-uid"); rec.State != v1.ClusterStateDeleting {
		t.Errorf("after the right name the cluster is %s; want Deleting", rec.State)
	}
}

// A viewer sees the settings without a form; a POST forged with their own session is the
// service's 403 and changes nothing. A write without the CSRF token is 403 for anyone.
func TestSettingsViewerAndCSRF(t *testing.T) {
	f := newFixture(t)
	settingsCluster(f, nil)
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)
	viewer, csrf := f.as("viewer@example.com", v1.RoleViewer)
	before, _ := f.stored("web-uid")

	resp, page := viewer.do("GET", "/clusters/web-uid/settings", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `<span class="size">1</span>`) || !strings.Contains(page, "local-a, local-b") ||
		!strings.Contains(page, `data-profile="base"`) {
		t.Fatalf("the viewer's settings page: %d\n%s", resp.StatusCode, page)
	}
	if n := strings.Count(page, `method="post"`); n != 1 { // the layout's "Log out"
		t.Errorf("the viewer's page has %d forms that post; want only the logout's", n-1)
	}
	for _, control := range []string{`name="size"`, "Request a log bundle", "Delete the cluster", "Renew the certificates", "Attach"} {
		if strings.Contains(page, control) {
			t.Errorf("the viewer's page offers %q", control)
		}
	}
	for path, form := range map[string]url.Values{
		"/clusters/web-uid/settings/pools/workers":      {"size": {"5"}},
		"/clusters/web-uid/settings/logs":               {},
		"/clusters/web-uid/settings/certificates/renew": {},
		"/clusters/web-uid/settings/delete":             {"name": {"web"}},
		"/clusters/web-uid/settings/profiles/attach":    {"profile": {"base-uid"}},
		"/clusters/web-uid/settings/profiles/x/detach":  {},
		"/clusters/web-uid/settings/repave/approve":     {},
		"/clusters/web-uid/settings/profiles/x/upgrade": {"to": {"base-uid"}},
	} {
		form.Set("csrf", csrf)
		if resp, page := viewer.do("POST", path, form); resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "needs write-clusters") {
			t.Errorf("the viewer's POST %s: %d; want the service's 403\n%s", path, resp.StatusCode, page)
		}
	}
	if rec, cl := f.stored("web-uid"); rec.State != v1.ClusterStateRunning || cl.Pools[1].Size != 1 || rec.ResourceVersion != before.ResourceVersion {
		t.Errorf("after the viewer's POSTs: %s, workers %d, version %d (was %d); want nothing changed", rec.State, cl.Pools[1].Size,
			rec.ResourceVersion, before.ResourceVersion)
	}

	// The admin's session, without its token.
	for _, form := range []url.Values{{"size": {"4"}}, {"size": {"4"}, "csrf": {"forged"}}} {
		if resp, _ := f.do("POST", "/clusters/web-uid/settings/pools/workers", form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("scaling with csrf %q: %d; want 403", form.Get("csrf"), resp.StatusCode)
		}
	}
	if _, cl := f.stored("web-uid"); cl.Pools[1].Size != 1 {
		t.Errorf("after POSTs without the token the workers pool has %d machines; want 1", cl.Pools[1].Size)
	}
}

// Add-on profiles are attached, upgraded to another published version and detached from the page.
func TestSettingsProfiles(t *testing.T) {
	f := newFixture(t)
	settingsCluster(f, nil)
	prometheus := v1.PackManifestEntity{Name: "prometheus-operator", Tag: "0.85.0"}
	f.profile("mon-1", "monitoring", "1.0.0", "add-on", prometheus)
	f.profile("mon-2", "monitoring", "1.1.0", "add-on", prometheus)
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)
	_, page := f.do("GET", "/clusters/web-uid/settings", nil)
	if !strings.Contains(page, `<option value="mon-1">monitoring 1.0.0</option><option value="mon-2">monitoring 1.1.0</option>`) {
		t.Fatalf("the attach form does not offer both versions:\n%s", page)
	}
	csrf := hiddenCSRF.FindStringSubmatch(page)[1]
	profilesOf := func() []string {
		_, cl := f.stored("web-uid")
		var out []string
		for _, p := range cl.Profiles {
			out = append(out, p.Name+"@"+p.Version)
		}
		return out
	}

	resp, _ := f.do("POST", "/clusters/web-uid/settings/profiles/attach", url.Values{"csrf": {csrf}, "profile": {"mon-1"}})
	if got := profilesOf(); resp.StatusCode != http.StatusSeeOther || !slices.Equal(got, []string{"base@1.0.0", "monitoring@1.0.0"}) {
		t.Fatalf("attaching: %d, profiles %v", resp.StatusCode, got)
	}
	_, page = f.do("GET", "/clusters/web-uid/settings?done=attached", nil)
	if !strings.Contains(page, `action="/clusters/web-uid/settings/profiles/mon-1/upgrade"`) || !strings.Contains(page, `<option value="mon-2">1.1.0</option>`) ||
		!strings.Contains(page, "No other published add-on profile to attach.") || !strings.Contains(page, "The profile is attached") {
		t.Errorf("after attaching, the page offers no upgrade to 1.1.0:\n%s", page)
	}
	resp, _ = f.do("POST", "/clusters/web-uid/settings/profiles/mon-1/upgrade", url.Values{"csrf": {csrf}, "to": {"mon-2"}})
	if got := profilesOf(); resp.StatusCode != http.StatusSeeOther || !slices.Equal(got, []string{"base@1.0.0", "monitoring@1.1.0"}) {
		t.Fatalf("upgrading: %d, profiles %v", resp.StatusCode, got)
	}
	resp, page = f.do("POST", "/clusters/web-uid/settings/profiles/base-uid/detach", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "infra profile") {
		t.Errorf("detaching the infra profile: %d; want the service's 400\n%s", resp.StatusCode, page)
	}
	resp, _ = f.do("POST", "/clusters/web-uid/settings/profiles/mon-2/detach", url.Values{"csrf": {csrf}})
	if got := profilesOf(); resp.StatusCode != http.StatusSeeOther || !slices.Equal(got, []string{"base@1.0.0"}) {
		t.Errorf("detaching: %d, profiles %v", resp.StatusCode, got)
	}
}

// A repave that waits shows why, and is approved from the page; the certificates show their
// expiry and their renewal is requested from it.
func TestSettingsRepaveAndCertificates(t *testing.T) {
	f := newFixture(t)
	expiry := time.Now().Add(300 * 24 * time.Hour)
	settingsCluster(f, func(cl *clusters.Cluster) {
		cl.RepaveApproval = true
		cl.Status.Repave = clusters.Repave{State: clusters.RepavePending, Reasons: []string{"pool workers: instanceType small → medium"}, Since: time.Now()}
		cl.Status.Certificates = []v1.CertificateAuthority{{Name: "ca", Expiry: expiry.Add(3650 * 24 * time.Hour),
			Certificates: []v1.Certificate{{Name: "apiserver", Expiry: expiry}}}}
	})
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)
	_, page := f.do("GET", "/clusters/web-uid/settings", nil)
	for _, want := range []string{"A repave waits for approval", "pool workers: instanceType small → medium", "Approve the repave",
		"apiserver", expiry.Format("2006-01-02"), "(in 299d)", "Renew the certificates"} {
		if !strings.Contains(page, want) {
			t.Errorf("the settings page lacks %q", want)
		}
	}
	csrf := hiddenCSRF.FindStringSubmatch(page)[1]
	if resp, _ := f.do("POST", "/clusters/web-uid/settings/repave/approve", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("approving: %d", resp.StatusCode)
	}
	if _, cl := f.stored("web-uid"); cl.Status.Repave.State != clusters.RepaveApproved {
		t.Errorf("after approving the repave is %q; want Approved", cl.Status.Repave.State)
	}
	if resp, page := f.do("POST", "/clusters/web-uid/settings/repave/approve", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("approving again: %d; want the service's 409\n%s", resp.StatusCode, page)
	}
	if resp, _ := f.do("POST", "/clusters/web-uid/settings/certificates/renew", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("renewing: %d", resp.StatusCode)
	}
	if _, cl := f.stored("web-uid"); cl.CertificatesRenewal.IsZero() {
		t.Error("after renewing no renewal is recorded")
	}
	if _, page := f.do("GET", "/clusters/web-uid/settings?done=renewal", nil); !strings.Contains(page, "Repaving since") || !strings.Contains(page, "Renewal last requested") {
		t.Errorf("the page after approving and renewing:\n%s", page)
	}
}

// A log bundle is requested from the page, its state shows in a part that refreshes alone, and
// once Completed it downloads as the API serves it; a viewer sees its state but cannot download it.
func TestSettingsLogBundle(t *testing.T) {
	f := newFixture(t)
	settingsCluster(f, nil)
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)
	_, page := f.do("GET", "/clusters/web-uid/settings", nil)
	if !strings.Contains(page, "No log bundle yet.") {
		t.Errorf("the page before any request:\n%s", page)
	}
	csrf := hiddenCSRF.FindStringSubmatch(page)[1]
	resp, _ := f.do("POST", "/clusters/web-uid/settings/logs", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/clusters/web-uid/settings?done=logs#logs" {
		t.Fatalf("requesting a bundle: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The cluster has no agent: the bundle is made at once of the hub's part.
	resp, part := f.do("GET", "/clusters/web-uid/settings", nil, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(part), `<div id="log-requests">`) || strings.Contains(part, "<html") ||
		!strings.Contains(part, `data-state="Completed"`) {
		t.Fatalf("the log part's refresh: %d\n%s", resp.StatusCode, part)
	}
	link := regexpFind(t, part, `href="(/clusters/web-uid/logs/[^/]+/download)"`)
	req, _ := http.NewRequest("GET", f.url+link, nil)
	dl, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	zipped.ReadFrom(dl.Body)
	dl.Body.Close()
	if dl.StatusCode != http.StatusOK || dl.Header.Get("Content-Disposition") != `attachment; filename="spectro_logs.zip"` ||
		dl.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("the download: %d %v", dl.StatusCode, dl.Header)
	}
	zr, err := zip.NewReader(bytes.NewReader(zipped.Bytes()), int64(zipped.Len()))
	if err != nil {
		t.Fatalf("the download is not a zip: %v", err)
	}
	if !slices.ContainsFunc(zr.File, func(zf *zip.File) bool { return zf.Name == "hub/cluster.yaml" }) {
		t.Errorf("the bundle has no hub/cluster.yaml")
	}

	viewer, _ := f.as("viewer@example.com", v1.RoleViewer)
	if _, part := viewer.do("GET", "/clusters/web-uid/settings", nil, "HX-Request", "true"); !strings.Contains(part, `data-state="Completed"`) || strings.Contains(part, "download") {
		t.Errorf("the viewer's log part:\n%s", part)
	}
	if resp, _ := viewer.do("GET", link, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the viewer's download: %d; want 403", resp.StatusCode)
	}
	if resp, _ := f.do("GET", strings.Replace(link, "web-uid", "other-uid", 1), nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the bundle under another cluster's URL: %d; want 404", resp.StatusCode)
	}
}

// regexpFind is the first group of pattern's first match in s.
func regexpFind(t *testing.T, s, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%s", pattern, s)
	}
	return m[1]
}
