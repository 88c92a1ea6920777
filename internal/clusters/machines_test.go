package clusters_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/clusters"
)

func TestPlanMachines(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	newUID := func() string { n++; return fmt.Sprint("m", n) }
	c := &clusters.Cluster{Pools: []clusters.Pool{
		{Name: "cp", ControlPlane: true, Size: 1, InstanceType: "small", Zones: []string{"local-a"}, DiskGiB: 60},
		{Name: "workers", Size: 3, InstanceType: "large", Zones: []string{"local-a", "local-b"}, DiskGiB: 80},
	}}
	add, remove := clusters.PlanMachines(c, t0, newUID)
	if len(add) != 4 || len(remove) != 0 {
		t.Fatalf("first plan: add %d remove %d, want 4 and 0", len(add), len(remove))
	}
	var zones []string
	for _, m := range add {
		if !strings.HasPrefix(m.Name, m.Pool+"-") || len(m.Name) != len(m.Pool)+6 {
			t.Errorf("machine name %q", m.Name)
		}
		if m.Pool == "workers" {
			zones = append(zones, m.Zone)
		}
	}
	if fmt.Sprint(zones) != "[local-a local-b local-a]" {
		t.Errorf("worker zones = %v, want spread over the pool's zones", zones)
	}
	if add[0].ControlPlane != true || add[1].InstanceType != "large" || add[1].DiskGiB != 80 {
		t.Errorf("machines = %+v", add)
	}

	// Recorded: nothing more to do.
	for i := range add {
		add[i].CreatedAt = t0.Add(time.Duration(i) * time.Minute)
	}
	c.Status.Machines = add
	if a, r := clusters.PlanMachines(c, t0, newUID); len(a)+len(r) != 0 {
		t.Fatalf("steady state plans %d adds and %d removals", len(a), len(r))
	}

	// Scale down removes the newest; a removed pool removes all of its machines.
	c.Pools[1].Size = 1
	_, remove = clusters.PlanMachines(c, t0, newUID)
	if len(remove) != 2 || remove[0].UID != add[3].UID || remove[1].UID != add[2].UID {
		t.Fatalf("scale-down removes %v, want the two newest workers, newest first", remove)
	}
	c.Pools = c.Pools[:1]
	if _, remove = clusters.PlanMachines(c, t0, newUID); len(remove) != 3 {
		t.Fatalf("dropping the pool removes %d machines, want 3", len(remove))
	}
	if c.VCPUs() != 2 {
		t.Fatalf("VCPUs = %d, want 2", c.VCPUs())
	}
}
