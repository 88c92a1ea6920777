package client_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/client"
)

// fakeHub answers every request with one status and body.
func fakeHub(t *testing.T, status int, body string) *client.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, "key-1", client.WithProject("p-1"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		want     client.APIError
		wantText string
		is       error
	}{
		{
			name:   "palette error body",
			status: 404, body: `{"code":"ResourceNotFound","message":"spectrocluster x not found","ref":"r1"}`,
			want:     client.APIError{Status: 404, Code: "ResourceNotFound", Message: "spectrocluster x not found", Ref: "r1"},
			wantText: "spectrocluster x not found", is: client.ErrNotFound,
		},
		{
			name:   "internal error names its reference",
			status: 500, body: `{"code":"InternalError","message":"internal error; the hub's log has the details","ref":"abc"}`,
			want:     client.APIError{Status: 500, Code: "InternalError", Message: "internal error; the hub's log has the details", Ref: "abc"},
			wantText: "internal error; the hub's log has the details (ref abc)",
		},
		{
			name:   "conflict",
			status: 409, body: `{"code":"Conflict","message":"profile p 1.0.0 is published"}`,
			want:     client.APIError{Status: 409, Code: "Conflict", Message: "profile p 1.0.0 is published"},
			wantText: "profile p 1.0.0 is published", is: client.ErrConflict,
		},
		{
			name:   "empty body",
			status: 401, body: "",
			want:     client.APIError{Status: 401, Code: "Unauthorized"},
			wantText: "the hub answered 401 Unauthorized", is: client.ErrUnauthorized,
		},
		{
			name:   "a proxy's HTML page",
			status: 502, body: "<html>bad gateway</html>\n",
			want:     client.APIError{Status: 502, Code: "BadGateway", Message: "the hub answered 502 Bad Gateway: <html>bad gateway</html>"},
			wantText: "the hub answered 502 Bad Gateway: <html>bad gateway</html>",
		},
		{
			name:   "JSON that is not an error body",
			status: 403, body: `[1,2]`,
			want:     client.APIError{Status: 403, Code: "Forbidden", Message: "the hub answered 403 Forbidden: [1,2]"},
			wantText: "the hub answered 403 Forbidden: [1,2]", is: client.ErrForbidden,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeHub(t, tt.status, tt.body)
			_, err := c.GetCluster(context.Background(), "x")
			var ae *client.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want an *APIError", err, err)
			}
			if *ae != tt.want {
				t.Errorf("APIError = %+v, want %+v", *ae, tt.want)
			}
			if err.Error() != tt.wantText {
				t.Errorf("Error() = %q, want %q", err.Error(), tt.wantText)
			}
			for _, s := range []error{client.ErrNotFound, client.ErrConflict, client.ErrUnauthorized, client.ErrForbidden, client.ErrBadRequest} {
				if got := errors.Is(fmt.Errorf("wrapped: %w", err), s); got != (s == tt.is) {
					t.Errorf("errors.Is(err, %v) = %v", s, got)
				}
			}
		})
	}
}

func TestThinSuccessBodies(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
		call                func(*client.Client) error
	}{
		{
			name: "no body where JSON is due", body: "",
			wantErr: "GET /v1/users/info: the hub answered 200 with an empty body; expected JSON",
			call:    func(c *client.Client) error { _, err := c.UserInfo(context.Background()); return err },
		},
		{
			name: "create without a uid", body: "{}",
			wantErr: "POST /v1/clusterprofiles: the hub answered without a uid",
			call: func(c *client.Client) error {
				_, err := c.CreateProfile(context.Background(), v1.ClusterProfileEntity{})
				return err
			},
		},
		{
			name: "login without a token", body: `{"isMfa":false}`,
			wantErr: "the hub accepted the login but sent no token",
			call: func(c *client.Client) error {
				_, err := c.Authenticate(context.Background(), "a@b.c", "pw")
				return err
			},
		},
		{
			name: "truncated JSON", body: `{"metadata":`,
			wantErr: "decoding the answer of GET /v1/spectroclusters/x: unexpected end of JSON input",
			call:    func(c *client.Client) error { _, err := c.GetCluster(context.Background(), "x"); return err },
		},
		{
			name: "empty uid", body: "{}",
			wantErr: "uid is empty",
			call:    func(c *client.Client) error { return c.DeleteCluster(context.Background(), "") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeHub(t, http.StatusOK, tt.body)
			if err := tt.call(c); err == nil || err.Error() != tt.wantErr {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestRequests(t *testing.T) {
	tests := []struct {
		name       string
		call       func(*client.Client) error
		wantMethod string
		wantURI    string
		wantBody   string
	}{
		{
			name:       "publish",
			call:       func(c *client.Client) error { return c.PublishProfile(context.Background(), "u 1/2") },
			wantMethod: "PATCH", wantURI: "/v1/clusterprofiles/u%201%2F2/publish",
		},
		{
			name: "events",
			call: func(c *client.Client) error {
				_, err := c.Events(context.Background(), client.KindCluster, "c1", 5, 10)
				return err
			},
			wantMethod: "GET", wantURI: "/v1/events/components/spectrocluster/c1?limit=5&offset=10",
		},
		{
			name: "create cluster defaults to local",
			call: func(c *client.Client) error {
				_, err := c.CreateCluster(context.Background(), "", v1.SpectroClusterEntity{})
				return err
			},
			wantMethod: "POST", wantURI: "/v1/spectroclusters/cloudTypes/local",
			wantBody: `{"metadata":{},"spec":{"cloudConfig":{},"machinepoolconfig":null,"profiles":null}}`,
		},
		{
			name: "search with a continue token",
			call: func(c *client.Client) error {
				_, err := c.SearchClusters(context.Background(), v1.SearchFilterSummarySpec{}, "NTA")
				return err
			},
			wantMethod: "POST", wantURI: "/v1/dashboard/spectroclusters/search?continue=NTA", wantBody: `{}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var method, uri, body string
			var header http.Header
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				method, uri, body, header = r.Method, r.RequestURI, string(b), r.Header.Clone()
				io.WriteString(w, `{"uid":"x","items":[]}`)
			}))
			defer srv.Close()
			c, err := client.New(srv.URL+"/", "key-1", client.WithProject("p-1"))
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.call(c); err != nil {
				t.Fatal(err)
			}
			if method != tt.wantMethod || uri != tt.wantURI || strings.TrimSpace(body) != tt.wantBody {
				t.Errorf("request = %s %s %s, want %s %s %s", method, uri, body, tt.wantMethod, tt.wantURI, tt.wantBody)
			}
			if header.Get("ApiKey") != "key-1" || header.Get("ProjectUid") != "p-1" || header.Get("Authorization") != "" {
				t.Errorf("headers = %v, want ApiKey key-1 and ProjectUid p-1", header)
			}
		})
	}
}

func TestCredentialsAndScope(t *testing.T) {
	var header http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header = r.Header.Clone()
		io.WriteString(w, `{"userUid":"u"}`)
	}))
	defer srv.Close()
	tests := []struct {
		name                              string
		apiKey                            string
		opts                              []client.Option
		wantAPIKey, wantAuth, wantProject string
	}{
		{name: "API key, tenant scope", apiKey: "k", wantAPIKey: "k"},
		{name: "token", opts: []client.Option{client.WithToken("t")}, wantAuth: "t"},
		{name: "API key wins over a token", apiKey: "k", opts: []client.Option{client.WithToken("t")}, wantAPIKey: "k"},
		{name: "project", apiKey: "k", opts: []client.Option{client.WithProject("p")}, wantAPIKey: "k", wantProject: "p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.New(srv.URL, tt.apiKey, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.UserInfo(context.Background()); err != nil {
				t.Fatal(err)
			}
			if header.Get("ApiKey") != tt.wantAPIKey || header.Get("Authorization") != tt.wantAuth || header.Get("ProjectUid") != tt.wantProject {
				t.Errorf("ApiKey %q, Authorization %q, ProjectUid %q; want %q, %q, %q", header.Get("ApiKey"),
					header.Get("Authorization"), header.Get("ProjectUid"), tt.wantAPIKey, tt.wantAuth, tt.wantProject)
			}
		})
	}
	// InProject scopes a copy and leaves the original alone.
	c, _ := client.New(srv.URL, "k", client.WithProject("p"))
	if c2 := c.InProject(""); c2.Project() != "" || c.Project() != "p" {
		t.Errorf("InProject: copy %q, original %q", c2.Project(), c.Project())
	}
}

func TestNewRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8080", "ftp://h", "http://", "://x"} {
		if _, err := client.New(u, "k"); err == nil {
			t.Errorf("New(%q) accepted it", u)
		}
	}
	c, err := client.New(" http://h:1/base/ ", "k")
	if err != nil || c.HubURL() != "http://h:1/base" {
		t.Errorf("New trims the URL: %q, %v", c.HubURL(), err)
	}
}

// TestAllClustersFollowsContinue serves 7 clusters in pages of 3, the hub's paging scheme.
func TestAllClustersFollowsContinue(t *testing.T) {
	const total, limit = 7, 3
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		offset := 0
		if tok := r.URL.Query().Get("continue"); tok != "" {
			b, _ := base64.RawURLEncoding.DecodeString(tok)
			offset, _ = strconv.Atoi(string(b))
		}
		var items []string
		for i := offset; i < min(offset+limit, total); i++ {
			items = append(items, fmt.Sprintf(`{"metadata":{"name":"c%d"}}`, i))
		}
		next := ""
		if offset+limit < total {
			next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset + limit)))
		}
		fmt.Fprintf(w, `{"items":[%s],"listmeta":{"continue":%q,"count":%d}}`, strings.Join(items, ","), next, total)
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL, "k")
	items, err := c.AllClusters(context.Background(), v1.SearchFilterSummarySpec{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range items {
		names = append(names, it.Metadata.Name)
	}
	if got := strings.Join(names, ","); got != "c0,c1,c2,c3,c4,c5,c6" || calls != 3 {
		t.Errorf("AllClusters = %s in %d calls, want c0…c6 in 3", got, calls)
	}
}

func TestContextAndTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	c, _ := client.New(srv.URL, "k")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.UserInfo(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v, want context.Canceled", err)
	}
	c, _ = client.New(srv.URL, "k", client.WithTimeout(50*time.Millisecond))
	var timeout interface{ Timeout() bool }
	if _, err := c.UserInfo(context.Background()); !errors.As(err, &timeout) || !timeout.Timeout() {
		t.Errorf("hung hub: err = %v, want a timeout", err)
	}
}

// A pool read from the cloud config goes back whole, with the new size, under If-Match of the
// version read: nothing of the pool is lost on the way (a PUT replaces the whole pool).
func TestPoolGoesBackWholeWithIfMatch(t *testing.T) {
	const pool = `{"name":"workers","size":2,"isControlPlane":false,"useControlPlaneAsWorker":false,
		"additionalLabels":{"tier":"web"},"taints":[{"key":"gpu","value":"true","effect":"NoSchedule"}],
		"instanceType":"large","rootDeviceSize":120,"azs":["local-a","local-b"],"updateStrategy":"RollingUpdateScaleIn",
		"values":"kind: MachineDeployment\n","machineHealthCheck":{"nodeReadyHealthCheckDuration":"3m"}}`
	var ifMatch string
	var sent v1.MachinePoolConfigEntity
	var raw map[string]json.RawMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method + " " + r.URL.Path {
		case "GET /v1/cloudconfigs/cloudTypes/local/cc-1":
			w.Header().Set("ETag", `"42"`)
			io.WriteString(w, `{"metadata":{"uid":"cc-1"},"spec":{"machinePoolConfig":[`+pool+`]}}`)
		case "PUT /v1/cloudconfigs/cloudTypes/local/cc-1/machinePools/workers":
			ifMatch = r.Header.Get("If-Match")
			b, _ := io.ReadAll(r.Body)
			json.Unmarshal(b, &sent)
			json.Unmarshal(b, &raw)
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL, "k")
	ctx := context.Background()
	cc, version, err := c.CloudConfig(ctx, "local", "cc-1")
	if err != nil || version != `"42"` || len(cc.Spec.MachinePoolConfig) != 1 {
		t.Fatalf("CloudConfig = %+v, %q, %v", cc, version, err)
	}
	e := client.PoolEntity(cc.Spec.MachinePoolConfig[0])
	*e.PoolConfig.Size = 5
	if err := c.UpdateMachinePool(ctx, "local", "cc-1", "workers", e, version); err != nil {
		t.Fatal(err)
	}
	size := int32(5)
	want := v1.MachinePoolConfigEntity{
		CloudConfig: v1.MachinePoolCloudConfigEntity{Values: "kind: MachineDeployment\n", InstanceType: "large", RootDeviceSize: 120, Azs: []string{"local-a", "local-b"}},
		PoolConfig: v1.MachinePoolBaseConfigEntity{Name: "workers", Size: &size, AdditionalLabels: map[string]string{"tier": "web"},
			Taints: []v1.Taint{{Key: "gpu", Value: "true", Effect: "NoSchedule"}}, UpdateStrategy: &struct {
				Type string `json:"type,omitempty"`
			}{"RollingUpdateScaleIn"}, MachineHealthCheck: &v1.MachineHealthCheckConfig{NodeReadyHealthCheckDuration: "3m"}},
	}
	if ifMatch != `"42"` || raw["cloudConfig"] == nil || !reflect.DeepEqual(sent, want) {
		t.Errorf("PUT sent If-Match %q and %+v; want \"42\" and %+v", ifMatch, sent, want)
	}
}

// Machines follows the hub's paging, so a pool of more machines than a page counts them all.
func TestMachinesFollowsContinue(t *testing.T) {
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls = append(calls, r.URL.RawQuery)
		if r.URL.Query().Get("continue") == "" {
			io.WriteString(w, `{"items":[{"metadata":{"name":"m0"}}],"listmeta":{"continue":"MQ","count":2}}`)
			return
		}
		io.WriteString(w, `{"items":[{"metadata":{"name":"m1"}}],"listmeta":{"count":2}}`)
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL, "k")
	ms, err := c.Machines(context.Background(), "local", "cc-1", "workers")
	if err != nil || len(ms) != 2 || ms[1].Metadata.Name != "m1" ||
		strings.Join(calls, " ") != "limit=1000 continue=MQ&limit=1000" {
		t.Errorf("Machines = %+v, %v after calls %q; want m0 and m1 over two pages", ms, err, calls)
	}
}
