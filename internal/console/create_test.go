package console_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/packs"
	profilesvc "github.com/easelhq/easel/internal/service/profiles"
	"github.com/easelhq/easel/internal/store"
)

// publishedProfile creates and publishes a profile of the default project through the profile
// service, as the API would, and returns its uid.
func (f *fixture) publishedProfile(name, profileType, packsJSON string) string {
	f.t.Helper()
	ctx := context.Background()
	svc := profilesvc.New(f.store, packs.MustBuiltin(), nil)
	call := f.adminCall()
	call.Project = f.boot.DefaultProjectUID
	body := `{"metadata":{"name":"` + name + `"},"spec":{"version":"1.0.0","template":{"type":"` + profileType +
		`","cloudType":"local","packs":[` + packsJSON + `]}}}`
	uid, err := svc.Create(ctx, call, func(into any) error { return json.Unmarshal([]byte(body), into) })
	if err != nil {
		f.t.Fatal(err)
	}
	if err := svc.Publish(ctx, call, uid); err != nil {
		f.t.Fatal(err)
	}
	return uid
}

// storedClusters are the clusters of the store, by name.
func (f *fixture) storedClusters() map[string]clusters.Cluster {
	f.t.Helper()
	recs, _, err := f.store.ListObjects(context.Background(), store.ListOptions{Kind: clusters.Kind, TenantUID: f.boot.TenantUID})
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]clusters.Cluster{}
	for _, rec := range recs {
		cl, err := clusters.Decode(rec.Doc)
		if err != nil {
			f.t.Fatal(err)
		}
		out[rec.Name] = cl
	}
	return out
}

const basePacks = `{"name":"ubuntu","tag":"24.04"},{"name":"kubernetes","tag":"1.34.4"},{"name":"cni-calico","tag":"3.30.3"}`

// clusterForm is the new-cluster form as a user fills it: a control plane and a worker pool.
func clusterForm(csrf, name, profile string) url.Values {
	return url.Values{"csrf": {csrf}, "name": {name}, "profile": {profile}, "pools": {"2"},
		"pool-0-name": {"cp"}, "pool-0-size": {"1"}, "pool-0-instanceType": {"medium"}, "pool-0-zones": {"local-a", "local-b"},
		"pool-1-name": {"workers"}, "pool-1-size": {"2"}, "pool-1-instanceType": {"small"}, "pool-1-zones": {"local-c"}}
}

// The form creates the cluster with the pools and profiles asked for and leads to its overview; a
// refused form comes back with the service's message and the values typed, and nothing is stored.
func TestCreateClusterFromForm(t *testing.T) {
	f := newFixture(t)
	base := f.publishedProfile("base", v1.ProfileTypeCluster, basePacks)
	addOn := f.publishedProfile("monitoring", v1.ProfileTypeAddOn, `{"name":"prometheus-operator","tag":"0.85.0"}`)
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)
	project := "?project=" + f.boot.DefaultProjectUID

	_, grid := f.do("GET", "/clusters"+project, nil)
	if !strings.Contains(grid, `href="/clusters/new`+project+`">New cluster</a>`) {
		t.Errorf("the project's grid has no New cluster link:\n%s", grid)
	}
	resp, page := f.do("GET", "/clusters/new"+project, nil)
	csrf := hiddenCSRF.FindStringSubmatch(page)[1]
	for _, want := range []string{`<option value="` + base + `">base 1.0.0 (cluster)</option>`, `name="addon" value="` + addOn + `"`,
		`id="pool-0-name"`, `id="pool-1-name"`, `value="xlarge"`, `name="pool-1-zones" value="local-c"`, "Add a worker pool"} {
		if !strings.Contains(page, want) {
			t.Errorf("the form (%d) lacks %q", resp.StatusCode, want)
		}
	}

	// "Add a worker pool" posts the form back with a third pool; what was typed stays.
	form := clusterForm(csrf, "shop", base)
	form.Set("change", "add-pool")
	resp, page = f.do("POST", "/clusters/new"+project, form)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="pool-2-name" required maxlength="63" value="workers-2"`) ||
		!strings.Contains(page, `id="name" name="name" required maxlength="63" value="shop"`) || len(f.storedClusters()) != 0 {
		t.Fatalf("adding a worker pool: %d\n%s", resp.StatusCode, page)
	}

	form = clusterForm(csrf, "shop", base)
	form.Set("pools", "3")
	form["addon"] = []string{addOn}
	form["pool-2-name"], form["pool-2-size"], form["pool-2-instanceType"] = []string{"batch"}, []string{"0"}, []string{"large"}
	resp, _ = f.do("POST", "/clusters/new"+project, form)
	stored := f.storedClusters()
	shop, ok := stored["shop"]
	if resp.StatusCode != http.StatusSeeOther || !ok {
		t.Fatalf("creating: %d; stored %v", resp.StatusCode, stored)
	}
	if loc := resp.Header.Get("Location"); !regexp.MustCompile(`^/clusters/[0-9a-f-]+$`).MatchString(loc) {
		t.Errorf("after creating, the browser goes to %q; want the cluster's overview", loc)
	}
	type pool struct {
		Name         string
		ControlPlane bool
		Size         int
		InstanceType string
		Zones        []string
	}
	var pools []pool
	for _, p := range shop.Pools {
		pools = append(pools, pool{p.Name, p.ControlPlane, p.Size, p.InstanceType, p.Zones})
	}
	want := []pool{{"cp", true, 1, "medium", []string{"local-a", "local-b"}}, {"workers", false, 2, "small", []string{"local-c"}},
		{"batch", false, 0, "large", []string{"local-a"}}}
	if !slices.EqualFunc(pools, want, func(a, b pool) bool {
		return a.Name == b.Name && a.ControlPlane == b.ControlPlane && a.Size == b.Size && a.InstanceType == b.InstanceType && slices.Equal(a.Zones, b.Zones)
	}) {
		t.Errorf("pools %+v; want %+v", pools, want)
	}
	if len(shop.Profiles) != 2 || shop.Profiles[0].UID != base || shop.Profiles[1].UID != addOn {
		t.Errorf("profiles %+v; want base and monitoring", shop.Profiles)
	}

	for _, c := range []struct {
		what   string
		change func(url.Values)
		status int
		says   string
		kept   string
	}{
		{"a name taken", func(url.Values) {}, http.StatusConflict, "a cluster named shop already exists in this project", `value="shop"`},
		{"an empty control plane", func(v url.Values) { v.Set("name", "other"); v.Set("pool-0-size", "0") },
			http.StatusBadRequest, "a control-plane pool needs size &gt;= 1, not 0", `value="other"`},
		{"an unknown instance type", func(v url.Values) { v.Set("name", "other"); v.Set("pool-1-instanceType", "huge") },
			http.StatusBadRequest, `unknown instance type &#34;huge&#34;`, `name="pool-1-zones" value="local-c" checked`},
		{"a size that is no number", func(v url.Values) { v.Set("name", "other"); v.Set("pool-1-size", "two") },
			http.StatusBadRequest, `pool workers: size &#34;two&#34; is not a whole number`, `value="two"`},
		{"no profile", func(v url.Values) { v.Set("name", "other"); v.Del("profile") },
			http.StatusBadRequest, "needs exactly one infra or cluster profile", `value="other"`},
	} {
		form := clusterForm(csrf, "shop", base)
		c.change(form)
		resp, page := f.do("POST", "/clusters/new"+project, form)
		if resp.StatusCode != c.status || !strings.Contains(page, c.says) || !strings.Contains(page, c.kept) {
			t.Errorf("%s: %d; want %d saying %q and keeping %q:\n%s", c.what, resp.StatusCode, c.status, c.says, c.kept, page)
		}
	}
	if n := len(f.storedClusters()); n != 1 {
		t.Errorf("%d clusters stored after the refused forms; want the one created", n)
	}

	resp, _ = f.do("POST", "/clusters/new"+project, clusterForm("", "nocsrf", base))
	if resp.StatusCode != http.StatusForbidden || len(f.storedClusters()) != 1 {
		t.Errorf("a form without the CSRF token: %d; want 403 and nothing created", resp.StatusCode)
	}

	// The count of pools comes from the client: no more than a cluster may have.
	_, page = f.do("GET", "/clusters/new"+project+"&pools=1000", nil)
	if n := strings.Count(page, `<fieldset class="pool"`); n != v1.MaxPoolsPerCluster || strings.Contains(page, "Add a worker pool") {
		t.Errorf("?pools=1000 shows %d pools; want %d (MaxPoolsPerCluster) and no way to add one", n, v1.MaxPoolsPerCluster)
	}
}

// The "paste YAML" form takes the API's body, in YAML or JSON, and creates the same cluster.
func TestCreateClusterFromYAML(t *testing.T) {
	f := newFixture(t)
	base := f.publishedProfile("base", v1.ProfileTypeCluster, basePacks)
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)
	project := "?project=" + f.boot.DefaultProjectUID
	_, page := f.do("GET", "/clusters/new"+project+"&mode=yaml", nil)
	csrf := hiddenCSRF.FindStringSubmatch(page)[1]
	if !strings.Contains(page, `<textarea id="spec" name="spec"`) {
		t.Fatalf("the YAML form:\n%s", page)
	}
	spec := `metadata:
  name: from-yaml
spec:
  profiles:
  - uid: ` + base + `
  machinepoolconfig:
  - poolConfig: {name: cp, size: 1, isControlPlane: true}
  - poolConfig: {name: workers, size: 3}
    cloudConfig: {instanceType: large, azs: [local-b]}
`
	resp, _ := f.do("POST", "/clusters/new"+project, url.Values{"csrf": {csrf}, "mode": {"yaml"}, "cloudType": {"local"}, "spec": {spec}})
	cl, ok := f.storedClusters()["from-yaml"]
	if resp.StatusCode != http.StatusSeeOther || !ok || len(cl.Pools) != 2 || cl.Pools[1].Size != 3 || cl.Pools[1].InstanceType != "large" ||
		!slices.Equal(cl.Pools[1].Zones, []string{"local-b"}) {
		t.Fatalf("creating from YAML: %d; stored %+v", resp.StatusCode, cl)
	}
	jsonSpec := `{"metadata":{"name":"from-json"},"spec":{"profiles":[{"uid":"` + base + `"}],
		"machinepoolconfig":[{"poolConfig":{"name":"cp","size":1,"isControlPlane":true}}]}}`
	if resp, _ := f.do("POST", "/clusters/new"+project, url.Values{"csrf": {csrf}, "mode": {"yaml"}, "spec": {jsonSpec}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("creating from JSON: %d", resp.StatusCode)
	}

	for spec, says := range map[string]string{
		"metadata: [unclosed":                 "the spec is neither JSON nor YAML",
		`{"metadata": {"name": "x"},}`:        "malformed JSON at line 1, column 29",
		strings.Replace(spec, "3}", "-1}", 1): "size must be &gt;= 0, not -1",
	} {
		resp, page := f.do("POST", "/clusters/new"+project, url.Values{"csrf": {csrf}, "mode": {"yaml"}, "spec": {spec}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, says) || !strings.Contains(page, html.EscapeString(spec)) {
			t.Errorf("spec %.30q: %d; want 400 saying %q with the text kept:\n%s", spec, resp.StatusCode, says, page)
		}
	}
	// The pasted text is what the API's body would be: no larger.
	huge := strings.Repeat("x", v1.MaxRequestBodyBytes+1)
	resp, page = f.do("POST", "/clusters/new"+project, url.Values{"csrf": {csrf}, "mode": {"yaml"}, "spec": {huge}})
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "the spec is over the limit of 4194304 bytes (MaxRequestBodyBytes)") {
		t.Errorf("a spec over MaxRequestBodyBytes: %d; want 413 naming the limit", resp.StatusCode)
	}
	if n := len(f.storedClusters()); n != 2 {
		t.Errorf("%d clusters stored; want the two created", n)
	}
}

// A viewer sees no way to create a cluster, and the service refuses a forged form; the All
// projects view creates nothing.
func TestCreateClusterRefused(t *testing.T) {
	f := newFixture(t)
	base := f.publishedProfile("base", v1.ProfileTypeCluster, basePacks)
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)
	_, page := f.do("GET", "/clusters/new", nil)
	if !strings.Contains(page, "Choose a project to create a cluster") || strings.Contains(page, `<form class="create"`) {
		t.Errorf("All projects offers a form:\n%s", page)
	}
	if _, grid := f.do("GET", "/clusters", nil); strings.Contains(grid, "New cluster") {
		t.Error("the All projects grid offers New cluster")
	}

	f.userWithRole("viewer@example.com", v1.RoleViewer)
	f.login("viewer@example.com", "a long password 123")
	project := "?project=" + f.boot.DefaultProjectUID
	_, grid := f.do("GET", "/clusters"+project, nil)
	_, page = f.do("GET", "/clusters/new"+project, nil)
	if strings.Contains(grid, "New cluster") || strings.Contains(page, `<form class="create"`) || !strings.Contains(page, "does not allow creating clusters") {
		t.Errorf("a viewer is offered to create a cluster:\n%s", page)
	}
	csrf := hiddenCSRF.FindStringSubmatch(page)[1]
	for what, form := range map[string]url.Values{
		"form": clusterForm(csrf, "forged", base),
		// Refused before it is read: a viewer learns nothing from how the spec would be judged.
		"malformed YAML": {"csrf": {csrf}, "mode": {"yaml"}, "spec": {"metadata: [unclosed"}},
	} {
		resp, page := f.do("POST", "/clusters/new"+project, form)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "does not allow you to create clusters") || len(f.storedClusters()) != 0 {
			t.Errorf("a viewer's forged %s: %d; want the service's 403 and nothing created:\n%s", what, resp.StatusCode, page)
		}
	}
}
