package clusters

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
)

// Repave states (Palette's V1ClusterRepaveState, and none).
const (
	RepavePending  = "Pending"  // waiting for approval
	RepaveApproved = "Approved" // under way
)

// Repave is the repave a cluster's changes call for: why, and whether it may run.
type Repave struct {
	State   string    `json:"state,omitempty"`
	Reasons []string  `json:"reasons,omitempty"`
	Since   time.Time `json:"since,omitzero"`
}

// machineReasons are the field-level reasons a machine no longer matches its pool and must be
// replaced: what it is built from changed.
func (c *Cluster) machineReasons(m Machine, p Pool) []string {
	var out []string
	if m.InstanceType != p.InstanceType {
		out = append(out, fmt.Sprintf("machinePool %s: instanceType changed from %s to %s", p.Name, m.InstanceType, p.InstanceType))
	}
	if m.DiskGiB != p.DiskGiB {
		out = append(out, fmt.Sprintf("machinePool %s: disk size changed from %d GiB to %d GiB", p.Name, m.DiskGiB, p.DiskGiB))
	}
	if !slices.Contains(p.Zones, m.Zone) {
		out = append(out, fmt.Sprintf("machinePool %s: availability zones changed to %s (a machine is in %s)", p.Name, strings.Join(p.Zones, ", "), m.Zone))
	}
	out = append(out, c.certificateReasons(m)...)
	return append(out, imageReasons(m.Image, c.Image)...)
}

// certificateReasons: a control-plane machine created before the last certificate renewal request
// carries certificates issued before it, so it is replaced by one that gets new ones (as kubeadm
// issues a joining control-plane node's certificates). Workers are not: their kubelets' client
// certificates rotate on their own.
func (c *Cluster) certificateReasons(m Machine) []string {
	if !m.ControlPlane || c.CertificatesRenewal.IsZero() || !m.CreatedAt.Before(c.CertificatesRenewal) {
		return nil
	}
	return []string{"certificates: renewal requested at " + c.CertificatesRenewal.UTC().Format(time.RFC3339)}
}

// CertificatesIssuedAfter is the certificate renewal the provider must carry out now: control-plane
// certificates issued before this time are re-issued. It is the last renewal requested, except
// while a repave waits for approval — the renewal is part of that repave and waits with it. Zero
// means no renewal.
func (c *Cluster) CertificatesIssuedAfter() time.Time {
	if c.Status.Repave.State == RepavePending {
		return time.Time{}
	}
	return c.CertificatesRenewal
}

// RepaveReasons are the reasons, one line each and sorted, that some machines must be replaced;
// none when every machine matches its pool.
func (c *Cluster) RepaveReasons() []string {
	seen := map[string]bool{}
	for _, m := range c.Status.Machines {
		p, ok := c.Pool(m.Pool)
		if !ok || m.Deleting() {
			continue
		}
		for _, r := range c.machineReasons(m, *p) {
			seen[r] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// ReplacementReasons says why a machine is being replaced ("" when it is not outdated).
func (c *Cluster) ReplacementReasons(m Machine) string {
	p, ok := c.Pool(m.Pool)
	if !ok {
		return "its pool was removed"
	}
	return strings.Join(c.machineReasons(m, *p), "; ")
}

// RecordUpgrade appends a repave's reasons to status.upgrades, so that an operator can always see
// why nodes were replaced.
func (c *Cluster) RecordUpgrade(reasons []string, now time.Time) {
	c.Status.Upgrades = append(c.Status.Upgrades, v1.Upgrade{Reason: slices.Clone(reasons), Timestamp: now})
}

// ApproveRepave lets a pending repave start; false when none is pending.
func (c *Cluster) ApproveRepave(now time.Time) bool {
	if c.Status.Repave.State != RepavePending {
		return false
	}
	c.Status.Repave.State, c.Status.Repave.Since = RepaveApproved, now
	c.RecordUpgrade(c.Status.Repave.Reasons, now)
	return true
}
