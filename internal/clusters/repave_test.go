package clusters_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/clusters"
)

// A certificate renewal request makes the control-plane machines created before it outdated — and
// only those: workers, and control-plane machines created after it, stay. The repave replaces
// them like any other (a new machine beyond the pool's size, then the old one once it is Ready).
func TestCertificateRenewalRepavesControlPlane(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	requested := time.Date(2026, 11, 22, 10, 0, 0, 250_000_000, time.UTC)
	c := &clusters.Cluster{Pools: []clusters.Pool{
		{Name: "cp", ControlPlane: true, Size: 1, InstanceType: "small", Zones: []string{"local-a"}, DiskGiB: 60},
		{Name: "workers", Size: 2, InstanceType: "small", Zones: []string{"local-a"}, DiskGiB: 60},
	}}
	c.Status.Machines = []clusters.Machine{
		{UID: "m1", Name: "cp-aaaaa", Pool: "cp", ControlPlane: true, InstanceType: "small", Zone: "local-a", DiskGiB: 60, CreatedAt: t0, Ready: true},
		{UID: "m2", Name: "workers-bbbbb", Pool: "workers", InstanceType: "small", Zone: "local-a", DiskGiB: 60, CreatedAt: t0, Ready: true},
		{UID: "m3", Name: "workers-ccccc", Pool: "workers", InstanceType: "small", Zone: "local-a", DiskGiB: 60, CreatedAt: t0, Ready: true},
	}
	if got := c.RepaveReasons(); len(got) != 0 {
		t.Fatalf("reasons before any renewal = %v", got)
	}
	if got := c.CertificatesIssuedAfter(); !got.IsZero() {
		t.Fatalf("CertificatesIssuedAfter before any renewal = %v", got)
	}

	c.CertificatesRenewal = requested
	const reason = "certificates: renewal requested at 2026-11-22T10:00:00Z"
	if got := c.RepaveReasons(); !slices.Equal(got, []string{reason}) {
		t.Fatalf("RepaveReasons = %q, want %q", got, reason)
	}
	if got := c.ReplacementReasons(c.Status.Machines[0]); got != reason {
		t.Errorf("control-plane machine replaced for %q, want %q", got, reason)
	}
	if got := c.ReplacementReasons(c.Status.Machines[1]); got != "" {
		t.Errorf("worker replaced for %q, want not replaced", got)
	}

	// Waiting for approval, the provider renews nothing yet; approved, it renews.
	c.Status.Repave = clusters.Repave{State: clusters.RepavePending, Reasons: []string{reason}}
	if got := c.CertificatesIssuedAfter(); !got.IsZero() {
		t.Errorf("CertificatesIssuedAfter while the repave waits for approval = %v, want zero", got)
	}
	if !c.ApproveRepave(requested.Add(time.Minute)) {
		t.Fatal("ApproveRepave = false")
	}
	if got := c.CertificatesIssuedAfter(); !got.Equal(requested) {
		t.Errorf("CertificatesIssuedAfter once approved = %v, want %v", got, requested)
	}

	n := 0
	newUID := func() string { n++; return fmt.Sprint("new", n) }
	now := requested.Add(2 * time.Minute)
	add, remove := clusters.PlanMachines(c, now, newUID)
	if len(add) != 1 || !add[0].ControlPlane || add[0].Pool != "cp" || len(remove) != 0 {
		t.Fatalf("first step adds %+v and removes %+v; want one new control-plane machine", add, remove)
	}
	c.Status.Machines = append(c.Status.Machines, add...)
	if got := c.ReplacementReasons(add[0]); got != "" {
		t.Errorf("the new control-plane machine is outdated: %q", got)
	}
	if _, remove = clusters.PlanMachines(c, now, newUID); len(remove) != 0 {
		t.Fatalf("an old machine goes before the new one is Ready: %+v", remove)
	}
	c.Status.Machines[3].Ready = true
	if _, remove = clusters.PlanMachines(c, now, newUID); len(remove) != 1 || remove[0].UID != "m1" {
		t.Fatalf("once the new machine is Ready, removes %+v; want the old control-plane machine", remove)
	}
	c.Status.Machines = slices.Delete(c.Status.Machines, 0, 1)
	if got := c.RepaveReasons(); len(got) != 0 {
		t.Fatalf("reasons once replaced = %v", got)
	}
}
