package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/utils/clock"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/console"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/service"
	clustersvc "github.com/easelhq/easel/internal/service/clusters"
	"github.com/easelhq/easel/internal/service/identity"
	profilesvc "github.com/easelhq/easel/internal/service/profiles"
	projectsvc "github.com/easelhq/easel/internal/service/projects"
	"github.com/easelhq/easel/internal/service/troubleshooting"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/usage"
)

// fixture is a console over real services on SQLite, with the first start's tenant admin and
// clusters in the default project.
type fixture struct {
	t      *testing.T
	url    string
	boot   *identity.Bootstrapped
	store  store.Store
	client *http.Client
	// handler is the console itself, for a test that serves a request without the server.
	handler http.Handler
	// log is what the console logged.
	log *syncBuffer
}

// syncBuffer is a log the console writes while a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "easel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	boot, err := identity.Bootstrap(ctx, st, "")
	if err != nil {
		t.Fatal(err)
	}
	catalog := packs.MustBuiltin()
	troubleshootingService, err := troubleshooting.New(st, troubleshooting.Options{BlobDir: filepath.Join(t.TempDir(), "logs")})
	if err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	con, err := console.New(console.Options{Logger: slog.New(slog.NewTextHandler(log, nil)), Identity: identity.New(st, clock.RealClock{}),
		Clusters: clustersvc.New(st, catalog, clustersvc.Options{}), Projects: projectsvc.New(st, clock.RealClock{}),
		Profiles: profilesvc.New(st, catalog, clock.RealClock{}), Troubleshooting: troubleshootingService})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(con)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	// Redirects are the answers under test: the client does not follow them.
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &fixture{t: t, url: srv.URL, boot: boot, store: st, client: client, handler: con, log: log}
}

// cluster stores a cluster in the default project as the engine leaves it.
func (f *fixture) cluster(name, state string, readyNodes, nodes int) {
	f.t.Helper()
	cl := clusters.Cluster{CloudType: "local", Status: clusters.Status{State: state, Health: clusters.Health{State: clusters.HealthHealthy}}}
	for i := range nodes {
		cl.Status.Nodes = append(cl.Status.Nodes, v1.NodeReport{Name: fmt.Sprintf("%s-%d", name, i), Ready: i < readyNodes})
	}
	err := f.store.CreateObject(context.Background(), &store.Record{Kind: clusters.Kind, UID: name + "-uid", TenantUID: f.boot.TenantUID,
		ProjectUID: f.boot.DefaultProjectUID, Name: name, State: state, Doc: cl.Encode()})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) do(method, path string, form url.Values, headers ...string) (*http.Response, string) {
	f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, f.url+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// adminCall is the first start's tenant admin, acting in the tenant scope.
func (f *fixture) adminCall() *service.Call {
	return &service.Call{Caller: service.UserCaller(f.boot.TenantUID, "admin", f.boot.AdminEmail, []string{v1.RoleTenantAdmin}, nil)}
}

// userWithRole creates a user holding role in the default project; the password is
// "a long password 123".
func (f *fixture) userWithRole(email, role string) {
	f.t.Helper()
	body, _ := json.Marshal(map[string]any{"spec": map[string]any{"emailId": email, "password": "a long password 123",
		"projectRoles": []v1.ProjectRole{{ProjectUID: f.boot.DefaultProjectUID, Role: role}}}})
	if _, err := identity.New(f.store, clock.RealClock{}).CreateUser(context.Background(), f.adminCall(),
		func(into any) error { return json.Unmarshal(body, into) }); err != nil {
		f.t.Fatal(err)
	}
}

// csrfAfterLogin signs in and returns the session's CSRF token, from the page it lands on.
func (f *fixture) csrfAfterLogin(email, password string) string {
	f.t.Helper()
	if resp, _ := f.login(email, password); resp.StatusCode != http.StatusSeeOther {
		f.t.Fatalf("signing in as %s: %d", email, resp.StatusCode)
	}
	return f.csrfOn("/clusters")
}

// csrfOn reads the session's CSRF token from a page.
func (f *fixture) csrfOn(path string) string {
	f.t.Helper()
	_, page := f.do("GET", path, nil)
	m := hiddenCSRF.FindStringSubmatch(page)
	if m == nil {
		f.t.Fatalf("%s has no CSRF field:\n%s", path, page)
	}
	return m[1]
}

// as makes a user with role in the default project and returns a fixture signed in as them,
// with the session's CSRF token.
func (f *fixture) as(email, role string) (*fixture, string) {
	f.t.Helper()
	f.userWithRole(email, role)
	other := *f
	jar, _ := cookiejar.New(nil)
	other.client = &http.Client{Jar: jar, CheckRedirect: f.client.CheckRedirect}
	return &other, other.csrfAfterLogin(email, "a long password 123")
}

var hiddenCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login signs in through the form and returns the session's CSRF token (from the next page).
func (f *fixture) login(email, password string) (*http.Response, string) {
	f.t.Helper()
	_, page := f.do("GET", "/login", nil)
	m := hiddenCSRF.FindStringSubmatch(page)
	if m == nil {
		f.t.Fatalf("the login page has no CSRF field:\n%s", page)
	}
	return f.do("POST", "/login", url.Values{"csrf": {m[1]}, "email": {email}, "password": {password}, "next": {"/clusters?name=web"}})
}

func TestSignInAndOut(t *testing.T) {
	f := newFixture(t)
	f.cluster("web", v1.ClusterStateRunning, 2, 3)

	resp, _ := f.do("GET", "/clusters", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fclusters" {
		t.Fatalf("the grid without a session: %d %s; want a redirect to the login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}

	resp, body := f.do("POST", "/login", url.Values{"email": {f.boot.AdminEmail}, "password": {f.boot.AdminPassword}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "This form has expired") {
		t.Errorf("a login without the form's token: %d; want 403", resp.StatusCode)
	}
	resp, body = f.login(f.boot.AdminEmail, "wrong password")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "The email or the password is wrong.") {
		t.Errorf("a wrong password: %d\n%s", resp.StatusCode, body)
	}

	resp, _ = f.login(f.boot.AdminEmail, f.boot.AdminPassword)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/clusters?name=web" {
		t.Fatalf("signing in: %d %s; want a redirect to where the user was going", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == console.SessionCookie {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/" {
		t.Fatalf("session cookie %+v; want HttpOnly, SameSite=Strict, Path=/", session)
	}

	resp, body = f.do("GET", "/clusters", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-cluster="web"`) || !strings.Contains(body, "2 / 3") {
		t.Fatalf("the grid: %d\n%s", resp.StatusCode, body)
	}
	csrf := hiddenCSRF.FindStringSubmatch(body)[1]

	resp, _ = f.do("POST", "/logout", url.Values{})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a logout without the session's CSRF token: %d; want 403", resp.StatusCode)
	}
	resp, _ = f.do("POST", "/logout", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The token is revoked, not only forgotten by the browser: sent again, it lets nobody in.
	req, _ := http.NewRequest("GET", f.url+"/clusters", nil)
	req.AddCookie(session)
	again, err := (&http.Client{CheckRedirect: f.client.CheckRedirect}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if again.StatusCode != http.StatusSeeOther {
		t.Errorf("the logged-out session's token: %d; want a redirect to the login", again.StatusCode)
	}
}

// Where the login sends the user afterwards is a path of the console, never another site.
func TestLoginNextStaysHere(t *testing.T) {
	f := newFixture(t)
	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "/login"} {
		_, page := f.do("GET", "/login?next="+url.QueryEscape(next), nil)
		if !strings.Contains(page, `name="next" value="/clusters"`) {
			t.Errorf("next %q: the form sends the user elsewhere:\n%s", next, page)
		}
	}
}

// The grid filters, sorts and pages on the server; an htmx refresh gets the rows alone.
func TestClusterGrid(t *testing.T) {
	f := newFixture(t)
	for i := range 30 {
		state := v1.ClusterStateRunning
		if i%3 == 0 {
			state = v1.ClusterStateProvisioning
		}
		f.cluster(fmt.Sprintf("c%02d", i), state, 1, 1)
	}
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)
	names := func(body string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`data-cluster="([^"]+)"`).FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	_, body := f.do("GET", "/clusters", nil)
	if got := names(body); len(got) != 25 || got[0] != "c00" || !strings.Contains(body, "30 clusters") || !strings.Contains(body, "Page 1 of 2") {
		t.Errorf("first page: %v", got)
	}
	_, body = f.do("GET", "/clusters?page=2", nil)
	if got := names(body); len(got) != 5 || got[0] != "c25" {
		t.Errorf("second page: %v", got)
	}
	_, body = f.do("GET", "/clusters?state=Provisioning&sort=name&order=desc", nil)
	if got := names(body); len(got) != 10 || got[0] != "c27" || got[9] != "c00" {
		t.Errorf("Provisioning, by name descending: %v", got)
	}
	_, body = f.do("GET", "/clusters?name=C1", nil)
	if got := names(body); len(got) != 10 || got[0] != "c10" {
		t.Errorf("name containing C1 (any case): %v", got)
	}
	resp, body := f.do("GET", "/clusters?name=c0", nil, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(body), `<tbody id="cluster-rows"`) || strings.Contains(body, "<html") {
		t.Errorf("an htmx refresh: %d\n%.300s", resp.StatusCode, body)
	}
	resp, _ = f.do("GET", "/clusters?project=not-a-project", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("a project the caller does not see: %d; want 404", resp.StatusCode)
	}
}

// A cluster's page shows its state, health with reasons, conditions and events; its status part
// refreshes alone; "warnings only" keeps the warnings.
func TestOverview(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cl := clusters.Cluster{CloudType: "local", Status: clusters.Status{State: v1.ClusterStateProvisioning,
		Health:     clusters.Health{State: clusters.HealthUnhealthy, Reasons: []string{"NodeNotReady: node w1 is Ready=False (KubeletDown)"}},
		Conditions: []v1.ClusterCondition{{Type: "WorkerNodesReady", Status: "False", Reason: "WaitingForNodes", Message: "1 of 2 worker nodes Ready"}},
		Machines:   []clusters.Machine{{UID: "m1", Name: "w1", Pool: "workers", Maintenance: &v1.MachineMaintenanceStatus{Action: v1.MaintenanceCordon, State: v1.MaintenanceInitiated}}}}}
	rec := &store.Record{Kind: clusters.Kind, UID: "web-uid", TenantUID: f.boot.TenantUID, ProjectUID: f.boot.DefaultProjectUID, Name: "web", Doc: cl.Encode()}
	if err := f.store.CreateObject(ctx, rec); err != nil {
		t.Fatal(err)
	}
	for i, sev := range []string{v1.SeverityInfo, v1.SeverityWarning, v1.SeverityInfo} {
		if err := f.store.AddEvent(ctx, &store.Event{UID: fmt.Sprintf("e%d", i), TenantUID: f.boot.TenantUID, ProjectUID: f.boot.DefaultProjectUID,
			ObjectKind: clusters.Kind, ObjectUID: "web-uid", ObjectName: "web", Reason: fmt.Sprintf("Reason%d", i), Message: "m", Severity: sev}); err != nil {
			t.Fatal(err)
		}
	}
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)

	resp, body := f.do("GET", "/clusters/web-uid", nil)
	for _, want := range []string{`data-state="Provisioning"`, "NodeNotReady: node w1", "In maintenance: w1", `class="failed"`,
		"1 of 2 worker nodes Ready", "Reason0", "Reason1", "Reason2", "3 events, newest first"} {
		if !strings.Contains(body, want) {
			t.Errorf("the overview (%d) lacks %q", resp.StatusCode, want)
		}
	}
	_, body = f.do("GET", "/clusters/web-uid?warnings=1", nil)
	if !strings.Contains(body, "Reason1") || strings.Contains(body, "Reason0") || !strings.Contains(body, "1 warning,") {
		t.Errorf("warnings only:\n%s", body)
	}
	_, body = f.do("GET", "/clusters/web-uid", nil, "HX-Request", "true")
	if !strings.HasPrefix(strings.TrimSpace(body), `<div id="cluster-status"`) || strings.Contains(body, "Events") {
		t.Errorf("the status refresh:\n%.300s", body)
	}
	if resp, _ := f.do("GET", "/clusters/nope", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a cluster that does not exist: %d; want 404", resp.StatusCode)
	}
}

// The overview's charts read the cluster's usage series: the workers' by default, with the
// control plane on request, over the range asked for.
func TestUsageJSON(t *testing.T) {
	f := newFixture(t)
	f.cluster("web", v1.ClusterStateRunning, 1, 1)
	ctx := context.Background()
	at := time.Now().Add(-10 * time.Minute)
	if err := f.store.RecordUsage(ctx, "web-uid", at, time.Time{}, map[string]usage.Values{
		usage.SeriesWorkers:      {CPUUsage: 1.5, CPURequest: 2, CPUTotal: 8, MemoryUsage: 3 << 30, MemoryRequest: 4 << 30, MemoryTotal: 16 << 30},
		usage.SeriesControlPlane: {CPUUsage: 0.5, CPUTotal: 4},
	}); err != nil {
		t.Fatal(err)
	}
	f.login(f.boot.AdminEmail, f.boot.AdminPassword)
	var got struct {
		Time   []int64
		Charts []struct {
			Title           string
			Used, Requested []float64
		}
	}
	for query, wantCPU := range map[string]float64{"": 1.5, "?range=6h&controlPlane=1": 2} {
		resp, body := f.do("GET", "/clusters/web-uid/usage.json"+query, nil)
		if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 {
			t.Fatalf("usage.json%s: %d %v\n%s", query, resp.StatusCode, err, body)
		}
		if len(got.Time) != 1 || got.Time[0] != at.Truncate(time.Minute).Unix() || got.Charts[0].Used[0] != wantCPU ||
			got.Charts[1].Title != "Memory" || got.Charts[1].Requested[0] != 4 {
			t.Errorf("usage.json%s = %+v; want one point, CPU used %v, memory requested 4 GiB", query, got, wantCPU)
		}
	}
	_, body := f.do("GET", "/clusters/web-uid?range=30d", nil)
	if !strings.Contains(body, `data-usage="/clusters/web-uid/usage.json?range=30d"`) || !strings.Contains(body, "<strong>30d</strong>") {
		t.Errorf("the overview's charts for 30d:\n%s", body)
	}
}
