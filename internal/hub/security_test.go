package hub_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
)

// Methods a client makes up must not become label values: 300 requests with 20 KB method names
// once grew /metrics from 52 KB to 96 MB.
func TestMetricsCountUnknownMethodsAsOther(t *testing.T) {
	h := newTestHub(t, filepath.Join(t.TempDir(), "easel.db"))
	long := strings.Repeat("X", 20<<10)
	for i := range 30 {
		req, err := http.NewRequest(fmt.Sprintf("%s%d", long, i), h.url+"/v1/users/info", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// Each request is counted once it is answered: wait for the last one.
	var body []byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body, _ = client{h: h}.do("GET", "/metrics", nil)
		if strings.Contains(string(body), `method="other",route="/v1/"} 30`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Contains(string(body), "XXXX") {
		t.Fatal("/metrics holds a method name the client made up")
	}
	if !strings.Contains(string(body), `easel_http_requests_total{code="404",method="other",route="/v1/"} 30`) {
		t.Fatalf("/metrics does not count the 30 requests under method \"other\":\n%s", grepLines(string(body), "easel_http_requests_total"))
	}
	if len(body) > 256<<10 {
		t.Fatalf("/metrics is %d bytes after 30 requests", len(body))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

type loginResult struct {
	status     int
	code       string
	retryAfter string
	token      string
}

func (h *testHub) login(email, password string) loginResult {
	h.t.Helper()
	status, body, header := client{h: h}.do("POST", "/v1/auth/authenticate", map[string]string{"emailId": email, "password": password})
	var out struct{ Code, Authorization string }
	if err := json.Unmarshal(body, &out); err != nil {
		h.t.Fatalf("login answer %d %s: %v", status, body, err)
	}
	return loginResult{status, out.Code, header.Get("Retry-After"), out.Authorization}
}

func TestLoginThrottling(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		// An account: five wrong passwords, then even the right one waits, with Retry-After.
		for i := range v1.LoginFailuresPerAccount {
			if got := h.login("Admin@easel.local", "wrong password"); got.status != 401 {
				t.Fatalf("wrong password %d: %+v, want 401", i+1, got)
			}
		}
		got := h.login("admin@easel.local", h.adminPass)
		if got.status != 429 || got.code != "TooManyRequests" || got.token != "" {
			t.Fatalf("after %d failures, the right password: %+v, want 429 TooManyRequests", v1.LoginFailuresPerAccount, got)
		}
		if secs, err := strconv.Atoi(got.retryAfter); err != nil || secs < 1 || secs > int(v1.LoginWindow/time.Second) {
			t.Fatalf("Retry-After %q, want seconds within the %s window", got.retryAfter, v1.LoginWindow)
		}
		// Each failure is in the audit trail, with the address it came from.
		var audits struct {
			Items []struct {
				Spec struct {
					ActionType string
					ActionMsg  string
				}
			}
		}
		h.admin().must(200, "GET", "/v1/audits?limit=100", nil, &audits)
		failed := 0
		for _, a := range audits.Items {
			if a.Spec.ActionType == "login-failed" && strings.Contains(a.Spec.ActionMsg, "admin@easel.local from 127.0.0.1") {
				failed++
			}
		}
		if failed != v1.LoginFailuresPerAccount {
			t.Fatalf("%d failed logins audited, want %d: %+v", failed, v1.LoginFailuresPerAccount, audits.Items)
		}

		// What the throttle would have to remember is bounded.
		client{h: h}.fails(400, "InvalidArgument", "POST", "/v1/auth/authenticate",
			map[string]string{"emailId": strings.Repeat("a", 300) + "@example.com", "password": "x"}, "MaxEmailBytes")

		// An address: failures spread over many accounts are counted too.
		h.admin().must(201, "POST", "/v1/users", map[string]any{"spec": map[string]any{"emailId": "bob@example.com", "password": "a long password"}}, nil)
		for i := v1.LoginFailuresPerAccount; i < v1.LoginFailuresPerAddress; i++ {
			if got := h.login(fmt.Sprintf("guess-%d@example.com", i), "guess"); got.status != 401 {
				t.Fatalf("failure %d from the address: %+v, want 401", i+1, got)
			}
		}
		if got := h.login("bob@example.com", "a long password"); got.status != 429 {
			t.Fatalf("after %d failures from one address, another account: %+v, want 429", v1.LoginFailuresPerAddress, got)
		}
	})
}

func TestSessionsCanBeRevoked(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		h.admin().must(201, "POST", "/v1/users", map[string]any{"spec": map[string]any{"emailId": "bob@example.com", "password": "a long password"}}, nil)
		bearer := func(token string) []string { return []string{"Authorization", "Bearer " + token} }
		anon := client{h: h}
		first, second := h.login("bob@example.com", "a long password").token, h.login("bob@example.com", "a long password").token
		if first == "" || second == "" {
			t.Fatal("bob could not log in")
		}
		anon.must(200, "GET", "/v1/users/info", nil, nil, bearer(first)...)

		// Logging out ends that session only.
		anon.must(204, "DELETE", "/v1/auth/session", nil, nil, bearer(first)...)
		if status, body, _ := anon.do("GET", "/v1/users/info", nil, bearer(first)...); status != 401 || !strings.Contains(string(body), "revoked") {
			t.Fatalf("a logged-out session: %d %s, want 401 revoked", status, body)
		}
		anon.must(200, "GET", "/v1/users/info", nil, nil, bearer(second)...)

		// Another user cannot revoke bob's session; a tenant admin can.
		carol := h.userWith("carol@example.com", h.defaultPrj, "project-admin")
		carol.must(204, "POST", "/v1/users/auth/tokens/revoke", map[string]any{"tokens": []string{second}}, nil)
		anon.must(200, "GET", "/v1/users/info", nil, nil, bearer(second)...)
		h.admin().must(204, "POST", "/v1/users/auth/tokens/revoke", map[string]any{"tokens": []string{second}}, nil)
		anon.fails(401, "Unauthorized", "GET", "/v1/users/info", nil)
		if status, _, _ := anon.do("GET", "/v1/users/info", nil, bearer(second)...); status != 401 {
			t.Fatalf("a revoked session: %d, want 401", status)
		}
		tooMany := make([]string, v1.MaxTokensPerRevoke+1)
		h.admin().fails(400, "InvalidArgument", "POST", "/v1/users/auth/tokens/revoke", map[string]any{"tokens": tooMany}, "MaxTokensPerRevoke")
	})
}

func TestUsersCannotExtendTheirOwnKeys(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		bob := h.userWith("bob@example.com", h.defaultPrj, "project-admin")
		// A key bob makes himself lives at most MaxSelfIssuedKeyLifetime.
		far := time.Now().Add(v1.MaxSelfIssuedKeyLifetime + time.Hour).UTC().Format(time.RFC3339)
		bob.fails(400, "InvalidArgument", "POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": "long"},
			"spec": map[string]any{"expiry": far}}, "MaxSelfIssuedKeyLifetime")
		var key uidBody
		bob.must(201, "POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": "mine"}}, &key)
		var got struct {
			Spec struct{ Expiry time.Time }
		}
		bob.must(200, "GET", "/v1/apiKeys/"+key.UID, nil, &got)
		if limit := time.Now().Add(v1.MaxSelfIssuedKeyLifetime); got.Spec.Expiry.IsZero() || got.Spec.Expiry.After(limit) {
			t.Fatalf("bob's own key expires %v, want at most %v", got.Spec.Expiry, limit)
		}

		// The key a tenant admin gave bob, expiring in a week: bob may shorten it, not extend it.
		week := time.Now().Add(7 * 24 * time.Hour).UTC().Truncate(time.Second)
		var granted uidBody
		var info struct{ UserUID string }
		bob.must(200, "GET", "/v1/users/info", nil, &info)
		h.admin().must(201, "POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": "granted"},
			"spec": map[string]any{"userUid": info.UserUID, "expiry": week.Format(time.RFC3339)}}, &granted)
		bob.fails(403, "Forbidden", "PUT", "/v1/apiKeys/"+granted.UID, map[string]any{"spec": map[string]any{"expiry": week.Add(time.Hour).Format(time.RFC3339)}},
			"only a tenant admin may extend a key")
		bob.must(204, "PUT", "/v1/apiKeys/"+granted.UID, map[string]any{"spec": map[string]any{"expiry": week.Add(-time.Hour).Format(time.RFC3339)}}, nil)
		h.admin().must(204, "PUT", "/v1/apiKeys/"+granted.UID, map[string]any{"spec": map[string]any{"expiry": week.Add(24 * time.Hour).Format(time.RFC3339)}}, nil)
		bob.must(200, "GET", "/v1/apiKeys/"+granted.UID, nil, &got)
		if !got.Spec.Expiry.Equal(week.Add(24 * time.Hour)) {
			t.Fatalf("after the tenant admin extended it, the key expires %v, want %v", got.Spec.Expiry, week.Add(24*time.Hour))
		}
	})
}

func TestKubeconfigDownloadsNeedClusterAdminAndAreAudited(t *testing.T) {
	h := newTestHub(t, filepath.Join(t.TempDir(), "easel.db"), testOptions{kubeconfigs: kubeconfigs{}})
	f := &rbacFixture{t: t, h: h, project: h.defaultPrj}
	f.profile = h.admin().in(f.project).publishedProfile("base")
	uid, _ := f.runningCluster("web")
	viewer := h.userWith("viewer@example.com", f.project, "viewer")
	operator := h.userWith("operator@example.com", f.project, "cluster-admin")
	for _, asset := range []string{"kubeconfig", "kubeconfigclient", "adminKubeconfig"} {
		viewer.fails(403, "Forbidden", "GET", "/v1/spectroclusters/"+uid+"/assets/"+asset, nil, "cluster-credentials")
		status, body, header := operator.do("GET", "/v1/spectroclusters/"+uid+"/assets/"+asset, nil)
		if status != 200 || !strings.Contains(string(body), "kind: Config") || header.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("%s as a cluster admin: %d %s %q", asset, status, body, header.Get("Content-Type"))
		}
	}
	var audits struct {
		Items []struct {
			Spec struct {
				ActionType string
				ActionMsg  string
				Actor      struct{ User struct{ Name string } }
			}
		}
	}
	h.admin().must(200, "GET", "/v1/audits?limit=100", nil, &audits)
	var downloads []string
	for _, a := range audits.Items {
		if a.Spec.ActionType == "download" {
			downloads = append(downloads, a.Spec.Actor.User.Name+": "+a.Spec.ActionMsg)
		}
	}
	want := []string{ // newest first
		"operator@example.com: Downloaded the adminKubeconfig of cluster web",
		"operator@example.com: Downloaded the kubeconfigclient of cluster web",
		"operator@example.com: Downloaded the kubeconfig of cluster web",
	}
	if strings.Join(downloads, "\n") != strings.Join(want, "\n") {
		t.Fatalf("download audits:\n%s\nwant:\n%s", strings.Join(downloads, "\n"), strings.Join(want, "\n"))
	}
}
