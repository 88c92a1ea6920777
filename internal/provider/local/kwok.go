package local

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/easelhq/easel/internal/atomicfile"
)

// KwokNodeAnnotation marks the nodes KWOK plays the kubelet for: every machine of a local cluster.
const KwokNodeAnnotation = "kwok.x-k8s.io/node"

//go:embed kwok.yaml
var kwokConfig []byte

// containerLogFile is where a cluster's simulated containers' log is, in CRI format: KWOK serves
// it as every container's log (the API server's pods/log), as a kubelet serves a real one.
const containerLogFile = "simulated-containers.log"

// writeKwokConfig writes KWOK's configuration: easel's stages and options, and a ClusterLogs that
// points every container of every namespace (an empty selector matches all) at the cluster's
// simulated-container log, which it writes the first time.
func (cp *ControlPlane) writeKwokConfig() error {
	logPath := filepath.Join(cp.Dir, containerLogFile)
	if err := cp.writeContainerLog(logPath); err != nil {
		return err
	}
	quoted, _ := json.Marshal(logPath) // a JSON string is a YAML double-quoted scalar
	config := fmt.Appendf(append([]byte(nil), kwokConfig...), `---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: easel-simulated-containers
spec:
  selector: {}
  logs:
  - logsFile: %s
    previousLogsFile: %s
`, quoted, quoted)
	path := filepath.Join(cp.Dir, "kwok.yaml")
	if old, err := os.ReadFile(path); err == nil && string(old) == string(config) {
		return nil
	}
	return atomicfile.Write(path, config, 0o644)
}

// writeContainerLog writes the simulated-container log once. KWOK runs no processes, so no
// container has output of its own: the lines say so rather than make some up, and an agent reading
// logs reads them through the same pods/log as on a real cluster.
func (cp *ControlPlane) writeContainerLog(path string) error {
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return err
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	lines := fmt.Sprintf("%[1]s stdout F easel local provider: the containers of cluster %[2]s are simulated by KWOK, which runs no container processes\n"+
		"%[1]s stdout F easel local provider: simulated container of cluster %[2]s; no output of its own exists (KWOK runs no containers)\n",
		now, cp.Name)
	return atomicfile.Write(path, []byte(lines), 0o644)
}
