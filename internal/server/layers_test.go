package server_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The layers of docs/design/004-services.md, as the Go toolchain sees them: the product binary
// links no benchmark; the API transport reaches no engine, controller, provider or Kubernetes
// binary; no service imports a transport, a provider or the engine.
func TestLayers(t *testing.T) {
	const module = "github.com/easelhq/easel/"
	deps := func(pkg string) []string {
		t.Helper()
		out, err := exec.Command("go", "list", "-deps", module+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	refuse := func(what string, got []string, forbidden ...string) {
		t.Helper()
		for _, p := range got {
			for _, f := range forbidden {
				if p == module+f || strings.HasPrefix(p, module+f+"/") {
					t.Errorf("%s depends on %s", what, p)
				}
			}
		}
	}
	refuse("cmd/easel (the product binary)", deps("cmd/easel"), "test", "cmd/easel-bench")
	refuse("internal/hub (the API transport)", deps("internal/hub"),
		"internal/engine", "internal/controllers", "internal/provider", "internal/k8sbin", "internal/server", "internal/console")
	refuse("internal/console (the console transport)", deps("internal/console"),
		"internal/engine", "internal/controllers", "internal/provider", "internal/k8sbin", "internal/server", "internal/hub")

	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"internal/service/...").Output()
	if err != nil {
		t.Fatalf("go list internal/service/...: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		imports := fields[1:]
		for _, p := range imports {
			if p == "net/http" {
				t.Errorf("%s imports net/http: a service knows no transport", fields[0])
			}
		}
		refuse(fields[0], imports, "internal/hub", "internal/server", "internal/engine", "internal/controllers", "internal/provider")
	}
}
