package clusters_test

import (
	"strings"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
)

func poolOf(n int, t0 time.Time) clusters.Cluster {
	cl := clusters.Cluster{Pools: []clusters.Pool{{Name: "workers", Size: n}}}
	for i := range n {
		cl.Status.Machines = append(cl.Status.Machines, clusters.Machine{UID: "m" + string(rune('1'+i)), Name: "w" + string(rune('1'+i)),
			Pool: "workers", CreatedAt: t0.Add(-time.Hour), Ready: true})
	}
	cl.ObserveHealth(t0.Add(-time.Hour)) // all joined
	return cl
}

func TestRemediationAfterTheTimeout(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	cl := poolOf(4, t0)
	cl.Status.Machines[0].Ready = false
	cl.ObserveHealth(t0)
	relaunch, paused, invalid, next := cl.Remediations(t0.Add(5 * time.Minute))
	if len(relaunch) != 0 || len(paused) != 0 || len(invalid) != 0 || next != 5*time.Minute {
		t.Fatalf("5m after: %v %v %v next %s; want nothing yet, next in 5m", relaunch, paused, invalid, next)
	}
	cl.ObserveHealth(t0.Add(10 * time.Minute)) // still down: the start is kept
	relaunch, _, _, _ = cl.Remediations(t0.Add(10 * time.Minute))
	if len(relaunch) != 1 || relaunch[0].Machine.Name != "w1" ||
		relaunch[0].Reason != "machine w1 relaunched: its kubelet is not up (Ready is not True) for 10m0s (NodeNotReady, limit 10m0s)" {
		t.Fatalf("10m after: %+v", relaunch)
	}
	cl.Relaunch(relaunch[0], t0.Add(10*time.Minute))
	if !cl.Status.Machines[0].Deleting() || len(cl.Status.Upgrades) != 1 || !strings.Contains(cl.Status.Upgrades[0].Reason[0], "w1 relaunched") {
		t.Fatalf("after the relaunch: machine %+v, upgrades %+v", cl.Status.Machines[0], cl.Status.Upgrades)
	}
}

func TestRemediationCapHoldsWhenHalfThePoolFails(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	cl := poolOf(4, t0)
	cl.Status.Machines[0].Ready, cl.Status.Machines[1].Ready = false, false
	cl.ObserveHealth(t0)
	relaunch, paused, _, _ := cl.Remediations(t0.Add(11 * time.Minute))
	if len(relaunch) != 0 || len(paused) != 1 || paused[0] != "2 of 4 machines of pool workers are unhealthy, more than its cap of 40% (1 at once); waiting" {
		t.Fatalf("half the pool down: relaunch %v, paused %q", relaunch, paused)
	}
	// One comes back: the other is relaunched.
	cl.Status.Machines[1].Ready = true
	cl.ObserveHealth(t0.Add(11 * time.Minute))
	if relaunch, paused, _, _ = cl.Remediations(t0.Add(11 * time.Minute)); len(relaunch) != 1 || len(paused) != 0 {
		t.Fatalf("one down: relaunch %v, paused %v", relaunch, paused)
	}
}

func TestRemediationReasonsAndOverrides(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	cl := poolOf(3, t0)
	cl.Pools[0].HealthCheck = &v1.MachineHealthCheckConfig{NetworkReadyHealthCheckDuration: "30s", NodeStartupTimeout: "soon", HealthCheckMaxUnhealthy: "50%"}
	cl.Status.Nodes = []v1.NodeReport{{Name: "w2", Conditions: []v1.NodeCondition{{Type: "NetworkUnavailable", Status: "True", Reason: "NoRouteCreated"}}}}
	cl.Status.Machines = append(cl.Status.Machines, clusters.Machine{UID: "m9", Name: "w9", Pool: "workers", CreatedAt: t0})
	cl.Pools[0].Size = 4
	cl.ObserveHealth(t0)
	relaunch, _, invalid, _ := cl.Remediations(t0.Add(31 * time.Second))
	if len(invalid) != 1 || !strings.Contains(invalid[0], `nodeStartupTimeout "soon"`) || !strings.Contains(invalid[0], "the defaults apply") {
		t.Fatalf("invalid override = %v", invalid)
	}
	if len(relaunch) != 1 || relaunch[0].Machine.Name != "w2" || !strings.Contains(relaunch[0].Reason, "NetworkUnavailable, limit 30s") {
		t.Fatalf("relaunch after 31s = %+v; want w2 for its network (override 30s)", relaunch)
	}
	// A machine whose node never got Ready: the default 30 minutes (that override was invalid); 2 of
	// 4 at once is within the 50% cap.
	relaunch, _, _, _ = cl.Remediations(t0.Add(30 * time.Minute))
	names := []string{}
	for _, r := range relaunch {
		names = append(names, r.Machine.Name)
	}
	if strings.Join(names, ",") != "w2,w9" {
		t.Fatalf("relaunch after 30m = %v; want w2 and the never-ready w9", names)
	}
}
