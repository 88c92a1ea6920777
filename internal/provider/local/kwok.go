package local

import (
	_ "embed"
	"os"
	"path/filepath"
)

// KwokNodeAnnotation marks the nodes KWOK plays the kubelet for: every machine of a local cluster.
const KwokNodeAnnotation = "kwok.x-k8s.io/node"

//go:embed kwok.yaml
var kwokConfig []byte

func (cp *ControlPlane) writeKwokConfig() error {
	path := filepath.Join(cp.Dir, "kwok.yaml")
	if old, err := os.ReadFile(path); err == nil && string(old) == string(kwokConfig) {
		return nil
	}
	return os.WriteFile(path, kwokConfig, 0o644)
}
