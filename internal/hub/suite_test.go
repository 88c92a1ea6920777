package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/utils/clock"

	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/hub"
	"github.com/easelhq/easel/internal/packs"
	clustersvc "github.com/easelhq/easel/internal/service/clusters"
	"github.com/easelhq/easel/internal/service/identity"
	"github.com/easelhq/easel/internal/service/troubleshooting"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testenv/pgtest"
	"github.com/easelhq/easel/internal/wakeup"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const adminKey = "easel-test-admin-key"

// testHub is a hub on a real store, served over loopback HTTP.
type testHub struct {
	t          *testing.T
	url        string
	store      store.Store
	defaultPrj string
	adminPass  string
}

// testOptions are what tests vary in a hub; zero values take the defaults.
type testOptions struct {
	clock       clock.PassiveClock
	kubeconfigs clustersvc.Kubeconfigs
}

// eachStore runs fn against a hub on SQLite and a hub on PostgreSQL.
func eachStore(t *testing.T, fn func(t *testing.T, h *testHub)) {
	eachStoreWith(t, func() testOptions { return testOptions{} }, fn)
}

// eachStoreWith is eachStore with the options opts makes (a new fake clock for each store).
func eachStoreWith(t *testing.T, opts func() testOptions, fn func(t *testing.T, h *testHub)) {
	pgtest.EachStore(t, func(t *testing.T, url string) {
		fn(t, newTestHub(t, url, opts()))
	})
}

// newTestHub starts a hub on the store at url, with the options given (at most one).
func newTestHub(t *testing.T, url string, opts ...testOptions) *testHub {
	t.Helper()
	var o testOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.clock == nil {
		o.clock = clock.RealClock{}
	}
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	boot, err := identity.Bootstrap(ctx, st, adminKey)
	if err != nil || boot == nil {
		t.Fatalf("bootstrap: %v, %v", boot, err)
	}
	catalog := packs.MustBuiltin()
	// PublicURL only goes into import manifests: agents of the tests' imported clusters never dial it.
	clustersService := clustersvc.New(st, catalog, clustersvc.Options{Clock: o.clock, Kubeconfigs: o.kubeconfigs,
		PublicURL: "https://easel.example.test"})
	waiters := &wakeup.Waiters{}
	troubleshootingService, err := troubleshooting.New(st, troubleshooting.Options{Clock: o.clock, Waiters: waiters, BlobDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub.New(st, catalog, hub.Options{Clock: o.clock, Clusters: clustersService, Waiters: waiters,
		Troubleshooting: troubleshootingService}).Handler())
	t.Cleanup(srv.Close)
	return &testHub{t: t, url: srv.URL, store: st, defaultPrj: boot.DefaultProjectUID, adminPass: boot.AdminPassword}
}

// recordStatus changes a cluster's stored status as the engine would (its machines, its state):
// change edits it, and the record's state follows. It returns the cluster as stored.
func (h *testHub) recordStatus(uid string, change func(cl *clusters.Cluster)) clusters.Cluster {
	h.t.Helper()
	ctx := context.Background()
	rec, err := h.store.GetObject(ctx, "spectrocluster", uid)
	if err != nil {
		h.t.Fatal(err)
	}
	cl, err := clusters.Decode(rec.Doc)
	if err != nil {
		h.t.Fatal(err)
	}
	change(&cl)
	rec.Doc, rec.State = cl.Encode(), cl.Status.State
	if err := h.store.UpdateObject(ctx, &rec); err != nil {
		h.t.Fatal(err)
	}
	return cl
}

// client is one caller: its credentials and project scope.
type client struct {
	h       *testHub
	key     string
	project string
}

func (h *testHub) admin() client { return client{h: h, key: adminKey} }

func (c client) in(project string) client { c.project = project; return c }

// do sends a request; body may be a string (sent as is) or a value (sent as JSON).
func (c client) do(method, path string, body any, headers ...string) (int, []byte, http.Header) {
	c.h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			c.h.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, c.h.url+path, rd)
	if err != nil {
		c.h.t.Fatal(err)
	}
	if c.key != "" {
		req.Header.Set("ApiKey", c.key)
	}
	if c.project != "" {
		req.Header.Set("ProjectUid", c.project)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out, resp.Header
}

// must sends a request and fails the test unless the status is want; it decodes the answer into out.
func (c client) must(want int, method, path string, body any, out any, headers ...string) {
	c.h.t.Helper()
	status, data, _ := c.do(method, path, body, headers...)
	if status != want {
		c.h.t.Fatalf("%s %s: status %d, want %d; body: %s", method, path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.h.t.Fatalf("%s %s: decoding %s: %v", method, path, data, err)
		}
	}
}

// apiErr is the Palette error body.
type apiErr struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref"`
}

// fails sends a request that must fail with status and code, and a message containing each of msgs.
func (c client) fails(status int, code, method, path string, body any, msgs ...string) apiErr {
	c.h.t.Helper()
	got, data, _ := c.do(method, path, body)
	var e apiErr
	json.Unmarshal(data, &e)
	if got != status || e.Code != code {
		c.h.t.Fatalf("%s %s: %d %s, want %d %s; body: %s", method, path, got, e.Code, status, code, data)
	}
	for _, m := range msgs {
		if !strings.Contains(e.Message, m) {
			c.h.t.Fatalf("%s %s: message %q does not mention %q", method, path, e.Message, m)
		}
	}
	return e
}

type uidBody struct {
	UID string `json:"uid"`
}

// createProject makes a project as the tenant admin.
func (h *testHub) createProject(name string) string {
	var out uidBody
	h.admin().must(201, "POST", "/v1/projects", map[string]any{"metadata": map[string]any{"name": name}}, &out)
	return out.UID
}

// userWith creates a user with one project role and returns a client with an API key of theirs.
func (h *testHub) userWith(email, project, role string) client {
	var u uidBody
	h.admin().must(201, "POST", "/v1/users", map[string]any{"spec": map[string]any{"emailId": email,
		"projectRoles": []map[string]string{{"projectUid": project, "role": role}}}}, &u)
	var key struct {
		APIKey string `json:"apiKey"`
	}
	h.admin().must(201, "POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": email},
		"spec": map[string]any{"userUid": u.UID}}, &key)
	return client{h: h, key: key.APIKey}
}

// profile is a valid full cluster profile for cloud type local.
func profile(name, version string) map[string]any {
	return map[string]any{
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{"version": version, "template": map[string]any{
			"type": "cluster", "cloudType": "local",
			"packs": []map[string]any{
				{"name": "kubernetes", "tag": "1.34.4"},
				{"name": "ubuntu", "tag": "24.04"},
				{"name": "cni-calico", "tag": "3.30.3"},
				{"name": "prometheus-operator", "tag": latest("prometheus-operator")},
			},
		}},
	}
}

func latest(name string) string {
	p, ok := packs.MustBuiltin().Latest(name)
	if !ok {
		panic("no pack " + name)
	}
	return p.Version
}

// publishedProfile creates and publishes a profile in the client's scope.
func (c client) publishedProfile(name string) string {
	var out uidBody
	c.must(201, "POST", "/v1/clusterprofiles", profile(name, "1.0.0"), &out)
	c.must(204, "PATCH", "/v1/clusterprofiles/"+out.UID+"/publish", nil, nil)
	return out.UID
}

// clusterEntity is a 1 control-plane + 2 worker local cluster.
func clusterEntity(name, profileUID string) map[string]any {
	return map[string]any{
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"profiles": []map[string]any{{"uid": profileUID}},
			"machinepoolconfig": []map[string]any{
				{"poolConfig": map[string]any{"name": "cp", "size": 1, "isControlPlane": true}, "cloudConfig": map[string]any{"instanceType": "small"}},
				{"poolConfig": map[string]any{"name": "workers", "size": 2}, "cloudConfig": map[string]any{"instanceType": "medium", "azs": []string{"local-a", "local-b"}}},
			},
		},
	}
}

func (c client) createCluster(name, profileUID string) string {
	var out uidBody
	c.must(201, "POST", "/v1/spectroclusters/cloudTypes/local", clusterEntity(name, profileUID), &out)
	return out.UID
}

// importFile uploads a profile export through POST /v1/clusterprofiles/import/file?publish=true.
func importFile(t *testing.T, c client, content string) string {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("importFile", "profile.yaml")
	fw.Write([]byte(content))
	mw.Close()
	var out uidBody
	c.must(201, "POST", "/v1/clusterprofiles/import/file?publish=true", buf.Bytes(), &out, "Content-Type", mw.FormDataContentType())
	return out.UID
}
