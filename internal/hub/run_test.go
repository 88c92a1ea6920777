package hub_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/easelhq/easel/internal/hub"
)

// runHub starts hub.Run on a data dir and returns its address, its first-start output and a
// function that stops it and returns Run's error.
func runHub(t *testing.T, dataDir, key string) (string, string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- hub.Run(ctx, hub.Config{Listen: "127.0.0.1:0", DataDir: dataDir, AdminAPIKey: key, Out: &out, APIOnly: true,
			Ready: func(addr string) { ready <- addr }})
	}()
	select {
	case addr := <-ready:
		return addr, out.String(), func() error { cancel(); return <-done }
	case err := <-done:
		cancel()
		t.Fatalf("hub did not start: %v", err)
		return "", "", nil
	}
}

func TestRunBootstrapsOnceAndShutsDownGracefully(t *testing.T) {
	dir := t.TempDir()
	addr, welcome, stop := runHub(t, dir, "")
	for _, want := range []string{"admin@easel.local", "password:", "easel login --hub http://" + addr + " --api-key \"easel-"} {
		if !strings.Contains(welcome, want) {
			t.Fatalf("first-start output lacks %q:\n%s", want, welcome)
		}
	}
	key := welcome[strings.Index(welcome, "--api-key \"")+len("--api-key \""):]
	key = key[:strings.Index(key, "\"")]
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/users/info", nil)
	req.Header.Set("ApiKey", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the printed key does not work: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := stop(); err != nil {
		t.Fatalf("graceful shutdown returned %v", err)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("the hub still serves after shutdown")
	}

	// A restart on the same store keeps the tenant and the key, and prints no new secrets.
	addr, welcome, stop = runHub(t, dir, "")
	defer stop()
	if welcome != "" {
		t.Fatalf("second start printed:\n%s", welcome)
	}
	req, _ = http.NewRequest("GET", "http://"+addr+"/v1/users/info", nil)
	req.Header.Set("ApiKey", key)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the key from the first start no longer works: %v %v", resp, err)
	}
}

func TestRunUsesTheAdminKeyFromTheEnvironment(t *testing.T) {
	addr, welcome, stop := runHub(t, t.TempDir(), "from-automation-0123456789")
	defer stop()
	if strings.Contains(welcome, "from-automation") || !strings.Contains(welcome, "$EASEL_ADMIN_API_KEY") {
		t.Fatalf("welcome should point at the env var, not print the key:\n%s", welcome)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/users/info", nil)
	req.Header.Set("ApiKey", "from-automation-0123456789")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("EASEL_ADMIN_API_KEY does not work: %v %v", resp, err)
	}
}
