package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

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
