// Package easelbin builds the easel binary once per test process, for tests whose hub starts
// agents as child processes (a test binary cannot stand in for it).
package easelbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/easelhq/easel/internal/testenv"
)

var (
	once     sync.Once
	path     string
	errBuild error
)

// Path returns the path of a freshly built easel binary.
func Path(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		root, err := testenv.RepoRoot()
		if err != nil {
			errBuild = err
			return
		}
		dir, err := os.MkdirTemp("", "easel-bin-")
		if err != nil {
			errBuild = err
			return
		}
		path = filepath.Join(dir, "easel")
		cmd := exec.Command("go", "build", "-o", path, "./cmd/easel")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			errBuild = fmt.Errorf("building easel: %v\n%s", err, out)
		}
	})
	if errBuild != nil {
		t.Fatal(errBuild)
	}
	return path
}
