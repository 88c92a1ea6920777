package clusters

import (
	"crypto/rand"
	"slices"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
)

// Machine is one machine of a pool, recorded in the cluster's status before it is created so that
// a crash between the two never makes a duplicate.
type Machine struct {
	UID          string    `json:"uid"`
	Name         string    `json:"name"`
	Pool         string    `json:"pool"`
	ControlPlane bool      `json:"controlPlane,omitempty"`
	InstanceType string    `json:"instanceType"`
	Zone         string    `json:"zone"`
	DiskGiB      int64     `json:"diskGiB"`
	CreatedAt    time.Time `json:"createdAt"`
	// Ready is what the provider last observed.
	Ready bool `json:"ready"`
	// Maintenance is the machine's last node operation (maintenance mode, or the drain before it
	// is deleted) and how far it got.
	Maintenance *v1.MachineMaintenanceStatus `json:"maintenance,omitempty"`
	// DeletingSince is when the engine started to take the machine away: its node is drained, then
	// the machine deleted.
	DeletingSince time.Time `json:"deletingSince,omitzero"`
}

// PlanMachines compares the recorded machines with the pools and returns the machines to add
// (named, spread over the pool's zones) and those to remove (the newest first, and every machine
// of a pool that is gone). newUID makes machine uids.
func PlanMachines(c *Cluster, now time.Time, newUID func() string) (add, remove []Machine) {
	byPool := map[string][]Machine{}
	for _, m := range c.Status.Machines {
		byPool[m.Pool] = append(byPool[m.Pool], m)
	}
	for _, p := range c.Pools {
		have := byPool[p.Name]
		delete(byPool, p.Name)
		// Oldest first, so scale-down removes the newest.
		slices.SortStableFunc(have, func(a, b Machine) int { return a.CreatedAt.Compare(b.CreatedAt) })
		for i := len(have); i < p.Size; i++ {
			add = append(add, Machine{UID: newUID(), Name: p.Name + "-" + randomSuffix(), Pool: p.Name,
				ControlPlane: p.ControlPlane, InstanceType: p.InstanceType, Zone: p.Zones[i%len(p.Zones)],
				DiskGiB: p.DiskGiB, CreatedAt: now})
		}
		if len(have) > p.Size {
			extra := have[p.Size:]
			slices.Reverse(extra)
			remove = append(remove, extra...)
		}
	}
	for _, gone := range byPool {
		remove = append(remove, gone...)
	}
	return add, remove
}

// randomSuffix is five lower-case alphanumerics, as Kubernetes names generated objects.
func randomSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// VCPUs is how many vCPUs the cluster's pools ask for.
func (c *Cluster) VCPUs() int {
	n := 0
	for _, p := range c.Pools {
		n += p.Size * InstanceTypes[p.InstanceType].CPU
	}
	return n
}
