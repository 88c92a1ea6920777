package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/server"
)

// runHub starts server.Run on a data dir and returns its address, its first-start output and a
// function that stops it and returns Run's error; tune changes the configuration.
func runHub(t *testing.T, dataDir, key string, tune ...func(*server.Config)) (string, string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	cfg := server.Config{Listen: "127.0.0.1:0", DataDir: dataDir, AdminAPIKey: key, Out: &out,
		Logger: slog.New(slog.DiscardHandler), Ready: func(addr string) { ready <- addr }}
	for _, f := range tune {
		f(&cfg)
	}
	go func() { done <- server.Run(ctx, cfg) }()
	select {
	case addr := <-ready:
		return addr, out.String(), func() error { cancel(); return <-done }
	case err := <-done:
		cancel()
		t.Fatalf("hub did not start: %v", err)
		return "", "", nil
	}
}

// The first start writes the admin's password and API key to files only their owner reads, and
// prints where they are, not the secrets; both work.
func TestRunBootstrapsOnceAndShutsDownGracefully(t *testing.T) {
	dir := t.TempDir()
	addr, welcome, stop := runHub(t, dir, "")
	passwordFile, keyFile := filepath.Join(dir, "initial-admin-password"), filepath.Join(dir, "initial-admin-api-key")
	password, key := readPrivate(t, passwordFile), readPrivate(t, keyFile)
	for _, want := range []string{"admin@easel.local  password in " + passwordFile, "API key        in " + keyFile,
		"easel login --hub http://" + addr + " --api-key \"$(cat " + keyFile + ")\""} {
		if !strings.Contains(welcome, want) {
			t.Fatalf("first-start output lacks %q:\n%s", want, welcome)
		}
	}
	if strings.Contains(welcome, password) || strings.Contains(welcome, key) {
		t.Fatalf("first-start output shows a secret:\n%s", welcome)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/users/info", nil)
	req.Header.Set("ApiKey", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the key in %s does not work: %v %v", keyFile, resp, err)
	}
	resp.Body.Close()
	resp, err = http.Post("http://"+addr+"/v1/auth/authenticate", "application/json",
		strings.NewReader(`{"emailId":"admin@easel.local","password":"`+password+`"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the password in %s does not log in: %v %v", passwordFile, resp, err)
	}
	resp.Body.Close()
	if err := stop(); err != nil {
		t.Fatalf("graceful shutdown returned %v", err)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("the hub still serves after shutdown")
	}

	// A restart on the same store keeps the tenant and the key, and prints no new secrets: only
	// where the console and the API are.
	addr, welcome, stop = runHub(t, dir, "")
	defer stop()
	if welcome != "easel is ready: the console is at http://"+addr+"/, the API at http://"+addr+"/v1/…\n" {
		t.Fatalf("second start printed:\n%s", welcome)
	}
	req, _ = http.NewRequest("GET", "http://"+addr+"/v1/users/info", nil)
	req.Header.Set("ApiKey", key)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the key from the first start no longer works: %v %v", resp, err)
	}
}

func TestRunUsesTheAdminKeyFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	addr, welcome, stop := runHub(t, dir, "from-automation-0123456789")
	defer stop()
	if strings.Contains(welcome, "from-automation") || !strings.Contains(welcome, `--api-key "$EASEL_ADMIN_API_KEY"`) {
		t.Fatalf("welcome should point at the env var, not print the key:\n%s", welcome)
	}
	if _, err := os.Stat(filepath.Join(dir, "initial-admin-api-key")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the operator's own key was written to a file: %v", err)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/users/info", nil)
	req.Header.Set("ApiKey", "from-automation-0123456789")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("EASEL_ADMIN_API_KEY does not work: %v %v", resp, err)
	}
}

// readPrivate reads a secret's file, checking that only its owner may read it.
func readPrivate(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSuffix(string(data), "\n")
	if len(secret) < 20 || strings.ContainsAny(secret, " \n") {
		t.Fatalf("%s holds %q, want one secret on one line", path, data)
	}
	return secret
}

// The composition root reads kubeconfigs through the providers: an imported cluster's is its
// owner's, which the download says in a 409 rather than failing.
func TestImportedClusterKubeconfigIsItsOwners(t *testing.T) {
	const key = "kubeconfig-test-key-0123456789"
	addr, _, stop := runHub(t, t.TempDir(), key)
	defer stop()
	var project string // the ProjectUid header, once known
	req := func(method, path, body string) (int, string) {
		t.Helper()
		r, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		r.Header.Set("ApiKey", key)
		if project != "" {
			r.Header.Set("ProjectUid", project)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	_, projects := req("GET", "/v1/dashboard/projects/metadata", "")
	var meta struct {
		Items []struct{ Metadata struct{ UID string } }
	}
	if err := json.Unmarshal([]byte(projects), &meta); err != nil || len(meta.Items) == 0 {
		t.Fatalf("projects: %v %s", err, projects)
	}
	project = meta.Items[0].Metadata.UID
	status, body := req("POST", "/v1/spectroclusters/generic/import", `{"metadata":{"name":"edge"}}`)
	var created struct{ UID string }
	if status != 201 || json.Unmarshal([]byte(body), &created) != nil {
		t.Fatalf("import = %d %s", status, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body = req("GET", "/v1/spectroclusters/"+created.UID+"/assets/kubeconfig", "")
		if status != 409 || !strings.Contains(body, "no control plane yet") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the engine did not mark the imported cluster's infrastructure ready: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status != 409 || !strings.Contains(body, "easel does not hold the kubeconfig of an imported cluster; its owner does") {
		t.Fatalf("kubeconfig of an imported cluster = %d %s; want 409 saying its owner holds it", status, body)
	}
}
