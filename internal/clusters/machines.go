package clusters

import (
	"crypto/rand"
	"maps"
	"slices"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
)

// Machine is one machine of a pool, recorded in the cluster's status before it is created so that
// a crash between the two never makes a duplicate.
type Machine struct {
	UID          string `json:"uid"`
	Name         string `json:"name"`
	Pool         string `json:"pool"`
	ControlPlane bool   `json:"controlPlane,omitempty"`
	InstanceType string `json:"instanceType"`
	Zone         string `json:"zone"`
	DiskGiB      int64  `json:"diskGiB"`
	// Image is what the machine was built from.
	Image     Image     `json:"image,omitzero"`
	CreatedAt time.Time `json:"createdAt"`
	// Ready is what the provider last observed.
	Ready bool `json:"ready"`
	// Maintenance is the machine's last node operation (maintenance mode, or the drain before it
	// is deleted) and how far it got.
	Maintenance *v1.MachineMaintenanceStatus `json:"maintenance,omitempty"`
	// JoinedAt is when the machine's node was first seen Ready; Unhealthy is why it is not
	// healthy now, and since when; Remediation, why it is being relaunched.
	JoinedAt    time.Time  `json:"joinedAt,omitzero"`
	Unhealthy   *Unhealthy `json:"unhealthy,omitempty"`
	Remediation string     `json:"remediation,omitempty"`
	// DeletingSince is when the engine started to take the machine away: its node is drained, then
	// the machine deleted.
	DeletingSince time.Time `json:"deletingSince,omitzero"`
}

// PlanMachines compares the recorded machines with the pools and returns the machines to add
// (named, in the pool's least used zone) and those to remove: machines already being deleted,
// every machine of a pool that is gone, and on scale-down the newest.
// While an approved repave runs, a pool's outdated machines are replaced one at a time: one new
// machine beyond the pool's size, then — once every up-to-date machine of the pool is Ready — the
// oldest outdated machine goes. newUID makes machine uids.
func PlanMachines(c *Cluster, now time.Time, newUID func() string) (add, remove []Machine) {
	byPool, deleting := map[string][]Machine{}, map[string]int{}
	for _, m := range c.Status.Machines {
		if m.Deleting() {
			remove = append(remove, m) // its drain and deletion go on
			deleting[m.Pool]++
			continue
		}
		byPool[m.Pool] = append(byPool[m.Pool], m)
	}
	repaving := c.Status.Repave.State == RepaveApproved
	for _, p := range c.Pools {
		live := byPool[p.Name]
		delete(byPool, p.Name)
		slices.SortStableFunc(live, func(a, b Machine) int { return a.CreatedAt.Compare(b.CreatedAt) }) // oldest first
		var current, old []Machine
		for _, m := range live {
			if repaving && len(c.machineReasons(m, p)) > 0 {
				old = append(old, m)
			} else {
				current = append(current, m)
			}
		}
		newMachine := func() Machine {
			return Machine{UID: newUID(), Name: p.Name + "-" + randomSuffix(), Pool: p.Name, ControlPlane: p.ControlPlane,
				InstanceType: p.InstanceType, Zone: leastUsedZone(p.Zones, current), DiskGiB: p.DiskGiB, Image: c.Image, CreatedAt: now}
		}
		switch {
		case len(live) < p.Size: // scale up
			for range p.Size - len(live) {
				m := newMachine()
				current = append(current, m)
				add = append(add, m)
			}
		case len(old) > 0 && deleting[p.Name] > 0: // repave: the previous outdated machine is still going
		case len(old) > 0 && len(live) == p.Size: // repave: first a machine beyond the pool's size
			add = append(add, newMachine())
		case len(old) > 0: // repave: once the new machines are Ready, an outdated one goes
			if allReady(current) {
				remove = append(remove, old[0])
			}
		case len(live) > p.Size: // scale down: the newest first
			slices.Reverse(current)
			remove = append(remove, current[:len(live)-p.Size]...)
		}
	}
	for _, gone := range byPool {
		remove = append(remove, gone...)
	}
	return add, remove
}

func allReady(ms []Machine) bool {
	return !slices.ContainsFunc(ms, func(m Machine) bool { return !m.Ready })
}

// leastUsedZone is the zone of zones that has the fewest of machines (the first such).
func leastUsedZone(zones []string, machines []Machine) string {
	best, fewest := zones[0], -1
	for _, z := range zones {
		n := 0
		for _, m := range machines {
			if m.Zone == z {
				n++
			}
		}
		if fewest < 0 || n < fewest {
			best, fewest = z, n
		}
	}
	return best
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

// LabelsOutdated reports whether the machine's node, given labels and taints of its pool (as the
// provider observes them), lacks its pool's current ones. They are changed in place, not by a
// repave.
func (c *Cluster) LabelsOutdated(m Machine, labels map[string]string, taints []v1.Taint) bool {
	p, ok := c.Pool(m.Pool)
	return ok && !m.Deleting() && (!maps.Equal(labels, p.Labels) || !slices.Equal(taints, p.Taints))
}
