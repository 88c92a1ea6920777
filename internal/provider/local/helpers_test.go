package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/easelhq/easel/internal/provider/local"
)

func allReady(ctx context.Context, c kubernetes.Interface, want int) error {
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	ready := 0
	for i := range nodes.Items {
		if local.NodeReady(&nodes.Items[i]) {
			ready++
		}
	}
	if ready != want {
		return fmt.Errorf("%d of %d nodes Ready, want %d", ready, len(nodes.Items), want)
	}
	return nil
}

// pids reads the recorded PIDs from the control plane's state file.
func pids(t *testing.T, dir string) []int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Processes []struct{ PID int }
	}
	json.Unmarshal(data, &st)
	var out []int
	for _, p := range st.Processes {
		out = append(out, p.PID)
	}
	return out
}

// logTails returns the end of every component's log, for failure messages.
func logTails(dir string) string {
	var out string
	files, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if len(data) > 1500 {
			data = data[len(data)-1500:]
		}
		out += "--- " + filepath.Base(f) + "\n" + string(data) + "\n"
	}
	return out
}

// startControlPlane brings up a control plane of its own for the test, destroyed after it, and
// returns it with a cluster-admin client.
func startControlPlane(t testing.TB, name string) (*local.ControlPlane, kubernetes.Interface) {
	t.Helper()
	cp := &local.ControlPlane{Name: name, Dir: filepath.Join(t.TempDir(), name), Bins: binaries(t)}
	t.Cleanup(func() { cp.Destroy() })
	eventually(t, 60*time.Second, "control plane up", func() error { return up(context.Background(), cp) })
	c, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	return cp, c
}

// up is one step of bringing a control plane up: nil once every component runs and it answers.
func up(ctx context.Context, cp *local.ControlPlane) error {
	if err := cp.Ensure(ctx); err != nil {
		return err
	}
	if got := cp.Running(); len(got) != 5 {
		return fmt.Errorf("running: %v", got)
	}
	return cp.Ready(ctx)
}

// forgetPIDs rewrites the control plane's state file with every PID zeroed.
func forgetPIDs(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, "state.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	json.Unmarshal(data, &st)
	for _, p := range st["processes"].([]any) {
		p.(map[string]any)["pid"] = 0
	}
	data, _ = json.Marshal(st)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
