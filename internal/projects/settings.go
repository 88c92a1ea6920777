// Package projects holds what a project keeps beyond its name: the cluster settings its clusters
// follow (usage thresholds, node auto-remediation).
package projects

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/usage"
)

// Kind is the stored kind of projects.
const Kind = "project"

// Settings is a project's stored document.
type Settings struct {
	UsageThresholds      *v1.UsageThresholds              `json:"usageThresholds,omitempty"`
	NodesAutoRemediation *v1.NodesAutoRemediationSettings `json:"nodesAutoRemediation,omitempty"`
}

// Decode reads a project's stored document.
func Decode(doc []byte) (Settings, error) {
	var s Settings
	if err := json.Unmarshal(doc, &s); err != nil {
		return s, fmt.Errorf("decoding project settings: %w", err)
	}
	return s, nil
}

// Encode returns the stored document.
func (s Settings) Encode() []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // Settings always marshal
	}
	return b
}

// Thresholds are the project's usage thresholds, or the defaults.
func (s Settings) Thresholds() v1.UsageThresholds {
	if s.UsageThresholds == nil {
		return usage.DefaultThresholds
	}
	return *s.UsageThresholds
}

// AutoRemediation is the project's node auto-remediation setting; on unless turned off.
func (s Settings) AutoRemediation() v1.NodesAutoRemediationSettings {
	if s.NodesAutoRemediation == nil {
		return v1.NodesAutoRemediationSettings{IsEnabled: true}
	}
	return *s.NodesAutoRemediation
}

// Remediates reports whether the project's clusters relaunch unhealthy nodes.
func (s Settings) Remediates() bool {
	r := s.AutoRemediation()
	return r.IsEnabled && !r.DisableNodesAutoRemediation
}

// Load reads a project's settings; the defaults for the tenant scope ("") or a project gone.
func Load(ctx context.Context, q store.Queries, projectUID string) (Settings, error) {
	if projectUID == "" {
		return Settings{}, nil
	}
	rec, err := q.GetObject(ctx, Kind, projectUID)
	if errors.Is(err, store.ErrNotFound) {
		return Settings{}, nil
	}
	if err != nil {
		return Settings{}, err
	}
	return Decode(rec.Doc)
}
