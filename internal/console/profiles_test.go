package console_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/packs"
	profilesvc "github.com/easelhq/easel/internal/service/profiles"
)

const profileYAML = `metadata:
  name: web
spec:
  version: 1.0.0
  template:
    type: cluster
    cloudType: local
    packs:
    - {name: prometheus-operator, tag: 0.85.0}
    - {name: cni-calico, tag: 3.30.3}
    - {name: kubernetes, tag: 1.34.4}
    - name: ubuntu
      tag: "24.04"
      values: |
        kubeadmconfig:
          preKubeadmCommands: ["echo from-the-console"]
`

// storedProfiles are the profiles of the default project, by name and version.
func (f *fixture) storedProfiles() map[string]bool {
	f.t.Helper()
	call := f.adminCall()
	call.Project = f.boot.DefaultProjectUID
	listed, err := profilesvc.New(f.store, packs.MustBuiltin(), nil).List(context.Background(), call)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]bool{}
	for _, l := range listed {
		out[l.Profile.Name+" "+l.Profile.Version] = l.Profile.Published
	}
	return out
}

// A profile pasted as YAML is created as a draft; its page shows its layers bottom first with each
// pack's values; Publish publishes it. An export, changed and pasted back, is a profile too.
func TestCreateAndPublishProfile(t *testing.T) {
	f := newFixture(t)
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)
	project := "?project=" + f.boot.DefaultProjectUID
	resp, page := f.do("GET", "/profiles"+project, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `<textarea id="profile-text" name="profile"`) ||
		!strings.Contains(page, `<a href="/profiles`+project+`">Profiles</a>`) {
		t.Fatalf("the profiles page: %d\n%s", resp.StatusCode, page)
	}
	csrf := hiddenCSRF.FindStringSubmatch(page)[1]

	resp, _ = f.do("POST", "/profiles"+project, url.Values{"profile": {profileYAML}})
	if resp.StatusCode != http.StatusForbidden || len(f.storedProfiles()) != 0 {
		t.Errorf("a profile without the CSRF token: %d; want 403 and nothing created", resp.StatusCode)
	}
	resp, _ = f.do("POST", "/profiles"+project, url.Values{"csrf": {csrf}, "profile": {profileYAML}})
	loc := resp.Header.Get("Location")
	m := regexp.MustCompile(`^/profiles/([0-9a-f-]+)\?done=created&project=` + f.boot.DefaultProjectUID + `$`).FindStringSubmatch(loc)
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("creating from YAML: %d to %q", resp.StatusCode, loc)
	}
	uid := m[1]
	if published, ok := f.storedProfiles()["web 1.0.0"]; !ok || published {
		t.Fatalf("stored profiles %v; want web 1.0.0 as a draft", f.storedProfiles())
	}

	_, page = f.do("GET", loc, nil)
	order := []string{`data-layer="os"`, "ubuntu", `data-layer="k8s"`, "kubernetes", `data-layer="cni"`, "cni-calico", `data-layer="addon"`, "prometheus-operator"}
	at := 0
	for _, want := range order {
		i := strings.Index(page[at:], want)
		if i < 0 {
			t.Fatalf("the profile's page lacks %q after the layers before it (want OS, Kubernetes, CNI, add-ons):\n%s", want, page)
		}
		at += i
	}
	for _, want := range []string{"Profile created as a draft.", `data-published="false"`, "24.04 · OS",
		`<pre tabindex="0" aria-label="ubuntu values">kubeadmconfig:`, html.EscapeString(`["echo from-the-console"]`), ">Publish</button>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the profile's page lacks %q", want)
		}
	}
	_, list := f.do("GET", "/profiles"+project, nil)
	if !regexp.MustCompile(`data-profile="web-1.0.0">\s*<th scope="row"><a href="/profiles/` + uid + `\?project=[^"]+">web</a></th>\s*<td>1.0.0</td>\s*<td>cluster</td>\s*<td class="profile-draft">draft</td>\s*<td>local</td>\s*<td>default</td>`).MatchString(list) {
		t.Errorf("the list's row of web:\n%s", list)
	}

	resp, _ = f.do("POST", "/profiles/"+uid+"/publish"+project, url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || !f.storedProfiles()["web 1.0.0"] {
		t.Fatalf("publishing: %d; stored %v", resp.StatusCode, f.storedProfiles())
	}
	_, page = f.do("GET", resp.Header.Get("Location"), nil)
	if !strings.Contains(page, "Profile published") || !strings.Contains(page, `data-published="true"`) || strings.Contains(page, ">Publish</button>") {
		t.Errorf("the published profile's page:\n%s", page)
	}

	// What `easel profile export` writes (the service's export) creates a profile when pasted back.
	call := f.adminCall()
	call.Project = f.boot.DefaultProjectUID
	exported, _, err := profilesvc.New(f.store, packs.MustBuiltin(), nil).Export(context.Background(), call, uid, "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	json.Unmarshal(exported, &doc)
	doc["spec"].(map[string]any)["version"] = "1.1.0"
	exported, _ = json.Marshal(doc)
	resp, _ = f.do("POST", "/profiles"+project, url.Values{"csrf": {csrf}, "profile": {string(exported)}, "publish": {"on"}})
	if published, ok := f.storedProfiles()["web 1.1.0"]; resp.StatusCode != http.StatusSeeOther || !ok || !published {
		t.Errorf("an export pasted back, published at once: %d; stored %v", resp.StatusCode, f.storedProfiles())
	}

	for text, says := range map[string]string{
		profileYAML: "profile web version 1.0.0 already exists",
		strings.Replace(profileYAML, "cni-calico, tag: 3.30.3", "cni-calico, tag: 9.9.9", 1): `pack cni-calico has no version &#34;9.9.9&#34;`,
		"metadata: [unclosed": "the profile is neither JSON nor YAML",
	} {
		resp, page := f.do("POST", "/profiles"+project, url.Values{"csrf": {csrf}, "profile": {text}})
		if resp.StatusCode/100 != 4 || !strings.Contains(page, says) || !strings.Contains(page, html.EscapeString(text)) {
			t.Errorf("profile %.40q: %d; want a refusal saying %q with the text kept:\n%s", text, resp.StatusCode, says, page)
		}
	}
	if n := len(f.storedProfiles()); n != 2 {
		t.Errorf("%d profiles stored; want the two created", n)
	}
}

// A viewer sees the profiles but no form and no Publish; a forged publish or create is the
// service's 403.
func TestProfilesViewer(t *testing.T) {
	f := newFixture(t)
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)
	project := "?project=" + f.boot.DefaultProjectUID
	_, page := f.do("GET", "/profiles"+project, nil)
	resp, _ := f.do("POST", "/profiles"+project, url.Values{"csrf": {hiddenCSRF.FindStringSubmatch(page)[1]}, "profile": {profileYAML}})
	uid := strings.TrimPrefix(strings.Split(resp.Header.Get("Location"), "?")[0], "/profiles/")
	if _, page = f.do("GET", "/profiles", nil); strings.Contains(page, `<textarea`) || !strings.Contains(page, "Choose a project to create a profile") {
		t.Errorf("the All projects view offers a form:\n%s", page)
	}

	f.userWithRole("viewer@example.com", v1.RoleViewer)
	f.login("viewer@example.com", "a long password 123")
	_, list := f.do("GET", "/profiles"+project, nil)
	_, page = f.do("GET", "/profiles/"+uid+project, nil)
	if !strings.Contains(list, `data-profile="web-1.0.0"`) || strings.Contains(list, "<textarea") ||
		!strings.Contains(page, `data-published="false"`) || strings.Contains(page, ">Publish</button>") {
		t.Errorf("a viewer's pages offer writes:\n%s\n%s", list, page)
	}
	csrf := hiddenCSRF.FindStringSubmatch(page)[1]
	resp, page = f.do("POST", "/profiles/"+uid+"/publish"+project, url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "does not allow this") || f.storedProfiles()["web 1.0.0"] {
		t.Errorf("a viewer's forged publish: %d; want the service's 403 and the profile a draft:\n%s", resp.StatusCode, page)
	}
	resp, _ = f.do("POST", "/profiles"+project, url.Values{"csrf": {csrf}, "profile": {strings.Replace(profileYAML, "name: web", "name: forged", 1)}})
	if resp.StatusCode != http.StatusForbidden || len(f.storedProfiles()) != 1 {
		t.Errorf("a viewer's forged profile: %d; want 403 and nothing created", resp.StatusCode)
	}
}
