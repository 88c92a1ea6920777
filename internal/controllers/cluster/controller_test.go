package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/controllers/cluster"
	"github.com/easelhq/easel/internal/engine"
	"github.com/easelhq/easel/internal/logctx"
	"github.com/easelhq/easel/internal/provider"
	"github.com/easelhq/easel/internal/provider/generic"
	"github.com/easelhq/easel/internal/secret"
	"github.com/easelhq/easel/internal/store"
)

// fakeProvider records what the controller asks of it; machines become Ready when told.
type fakeProvider struct {
	mu          sync.Mutex
	cpErr       error
	machines    map[string]provider.MachineState
	created     []string // machine names, in creation order
	seenInStore func(name string) bool
	missedStore []string // machines created before the store knew them
	ensuring    func()   // called by EnsureMachine, without the lock
	deleted     bool
	agentToken  string
	agentRuns   int         // EnsureAgent calls
	renewals    []time.Time // the certificate renewal each EnsureControlPlane was told of
	vcpuLimit   int         // the capacity Reserve allows, like the local provider's (0: any)
	machinesErr error       // what Machines fails with
}

func (f *fakeProvider) Reserve(_ context.Context, c provider.Cluster) error {
	if need := c.Spec.VCPUs(); f.vcpuLimit > 0 && need > f.vcpuLimit {
		return fmt.Errorf("%w: the cluster needs %d vCPUs but the host has %d", provider.ErrQuota, need, f.vcpuLimit)
	}
	return nil
}

func (f *fakeProvider) EnsureControlPlane(ctx context.Context, c provider.Cluster) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	logctx.From(ctx, slog.Default()).Info("Ensuring the control plane")
	f.renewals = append(f.renewals, c.Spec.CertificatesIssuedAfter())
	return f.cpErr
}

// EnsureMachine creates the machine, or gives an existing one its pool's labels and taints.
func (f *fakeProvider) EnsureMachine(_ context.Context, c provider.Cluster, m clusters.Machine) error {
	if f.ensuring != nil {
		f.ensuring()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st, exists := f.machines[m.Name]
	if !exists {
		if f.seenInStore != nil && !f.seenInStore(m.Name) {
			f.missedStore = append(f.missedStore, m.Name)
		}
		f.created = append(f.created, m.Name)
	}
	st.Exists = true
	if pool, ok := c.Spec.Pool(m.Pool); ok {
		st.Labels, st.Taints = maps.Clone(pool.Labels), slices.Clone(pool.Taints)
	}
	f.machines[m.Name] = st
	return nil
}

func (f *fakeProvider) DeleteMachine(_ context.Context, _ provider.Cluster, m clusters.Machine) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.machines, m.Name)
	return nil
}

func (f *fakeProvider) Machines(context.Context, provider.Cluster) (map[string]provider.MachineState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.machinesErr != nil {
		return nil, f.machinesErr
	}
	out := map[string]provider.MachineState{}
	for k, v := range f.machines {
		out[k] = v
	}
	return out, nil
}

func (f *fakeProvider) readyAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, st := range f.machines {
		st.Ready = true
		f.machines[k] = st
	}
}

func (f *fakeProvider) Kubeconfig(context.Context, provider.Cluster) ([]byte, error) { return nil, nil }

func (f *fakeProvider) EnsureAgent(_ context.Context, _ provider.Cluster, token func() (string, error)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.agentRuns++
	if f.agentToken == "" {
		t, err := token()
		if err != nil {
			return err
		}
		f.agentToken = t
	}
	return nil
}

func (f *fakeProvider) Delete(context.Context, provider.Cluster) error {
	f.deleted = true
	return nil
}

type suite struct {
	t     *testing.T
	st    store.Store
	prov  *fakeProvider
	c     *cluster.Controller
	clock *clocktesting.FakeClock
}

func newSuite(t *testing.T) *suite {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "easel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	prov := &fakeProvider{machines: map[string]provider.MachineState{}}
	clock := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := &cluster.Controller{Store: st, Providers: map[string]provider.Provider{"local": prov, "generic": generic.Provider{}},
		Clock: clock, Log: testLogger(t)}
	s := &suite{t: t, st: st, prov: prov, c: c, clock: clock}
	prov.seenInStore = func(name string) bool {
		for _, m := range s.cluster().Status.Machines {
			if m.Name == name {
				return true
			}
		}
		return false
	}
	return s
}

func (s *suite) create(workers int) {
	cl := clusters.Cluster{CloudType: "local", Pools: []clusters.Pool{
		{Name: "cp", ControlPlane: true, Size: 1, InstanceType: "small", Zones: []string{"local-a"}, DiskGiB: 60},
		{Name: "workers", Size: workers, InstanceType: "small", Zones: []string{"local-a"}, DiskGiB: 60},
	}, Status: clusters.Status{State: v1.ClusterStatePending}}
	if err := s.st.CreateObject(context.Background(), &store.Record{Kind: clusters.Kind, UID: "c1", TenantUID: "t",
		ProjectUID: "p", Name: "web", State: "Pending", Doc: cl.Encode()}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *suite) cluster() clusters.Cluster {
	rec, err := s.st.GetObject(context.Background(), clusters.Kind, "c1")
	if err != nil {
		s.t.Fatal(err)
	}
	cl, _ := clusters.Decode(rec.Doc)
	return cl
}

// settle reconciles until the controller asks for nothing more soon (bounded).
func (s *suite) settle() {
	for range 20 {
		res, err := s.c.Reconcile(context.Background(), "c1")
		if err != nil {
			s.t.Fatal(err)
		}
		if res.RequeueAfter == 0 || res.RequeueAfter >= cluster.Poll {
			return
		}
	}
	s.t.Fatal("reconcile did not settle")
}

func (s *suite) conditions() string {
	var out string
	for _, c := range s.cluster().Status.Conditions {
		out += fmt.Sprintf("%s=%s/%s ", c.Type, c.Status, c.Reason)
	}
	return out
}

func TestProvisioningMilestones(t *testing.T) {
	s := newSuite(t)
	s.create(2)
	s.settle()
	cl := s.cluster()
	if cl.Status.State != v1.ClusterStateProvisioning || len(cl.Status.Machines) != 3 || len(s.prov.created) != 3 {
		t.Fatalf("after first reconciles: state %s, %d machines recorded, %d created", cl.Status.State, len(cl.Status.Machines), len(s.prov.created))
	}
	if len(s.prov.missedStore) != 0 {
		t.Fatalf("machines created before they were recorded: %v", s.prov.missedStore)
	}
	if got := s.conditions(); got != "InfrastructureReady=True/ControlPlaneReady ControlPlaneNodesReady=False/WaitingForNodes WorkerNodesReady=False/WaitingForNodes " {
		t.Fatalf("conditions = %s", got)
	}
	s.prov.readyAll()
	s.settle()
	if got := s.conditions(); got != "InfrastructureReady=True/ControlPlaneReady ControlPlaneNodesReady=True/NodesReady WorkerNodesReady=True/NodesReady AgentDeployed=False/WaitingForAgent " {
		t.Fatalf("conditions = %s", got)
	}
	// The agent got a token that works only for this cluster.
	cred, err := s.st.GetCredentialByHash(context.Background(), secret.Hash(s.prov.agentToken))
	if err != nil || cred.Kind != store.CredentialAgent || cred.UserUID != "c1" {
		t.Fatalf("agent token credential = %+v, %v", cred, err)
	}
	// Its first heartbeat, then its pack report for the current generation.
	s.patch(func(cl *clusters.Cluster) {
		cl.Status.Health = clusters.Health{LastHeartbeat: time.Now(), AgentVersion: "0.1.0"}
	})
	s.settle()
	if got := s.conditions(); !strings.HasSuffix(got, "AgentDeployed=True/AgentConnected PacksApplied=False/Applying ") {
		t.Fatalf("conditions = %s", got)
	}
	s.patch(func(cl *clusters.Cluster) {
		cl.Status.PacksGeneration = 1
		cl.Status.Packs = []v1.PackStatus{{Name: "cni-calico", State: v1.PackStateFailed, Message: "no route"}}
	})
	s.settle()
	if got := s.conditions(); !strings.HasSuffix(got, "PacksApplied=False/PackFailed ") || s.cluster().Status.State != v1.ClusterStateProvisioning {
		t.Fatalf("conditions = %s, state %s", got, s.cluster().Status.State)
	}
	s.patch(func(cl *clusters.Cluster) {
		cl.Status.Packs = []v1.PackStatus{{Name: "cni-calico", State: v1.PackStateApplied}}
	})
	s.settle()
	if cl := s.cluster(); cl.Status.State != v1.ClusterStateRunning || !strings.HasSuffix(s.conditions(), "PacksApplied=True/Applied ") {
		t.Fatalf("state %s, conditions %s; want Running", cl.Status.State, s.conditions())
	}
	// Reconciling a settled cluster creates nothing and writes nothing.
	rec, _ := s.st.GetObject(context.Background(), clusters.Kind, "c1")
	s.settle()
	again, _ := s.st.GetObject(context.Background(), clusters.Kind, "c1")
	if again.ResourceVersion != rec.ResourceVersion || len(s.prov.created) != 3 {
		t.Fatalf("a settled cluster was rewritten (rv %d → %d) or got machines (%d)", rec.ResourceVersion, again.ResourceVersion, len(s.prov.created))
	}
	events, _, _ := s.st.ListEvents(context.Background(), "c1", 100, 0)
	var reasons []string
	for _, e := range events {
		reasons = append(reasons, e.Reason)
	}
	if reasons[0] != "Running" || reasons[len(reasons)-1] != "MachineCreating" || !slices.Contains(reasons, "AgentConnected") ||
		!slices.Contains(reasons, "PackFailed") || !slices.Contains(reasons, "ControlPlaneReady") {
		t.Fatalf("events newest first = %v", reasons)
	}
}

// patch changes the stored cluster as an API write or the agent would.
func (s *suite) patch(fn func(cl *clusters.Cluster)) { s.write(fn, false) }

// changeSpec changes the stored cluster's spec as the API does: a new generation.
func (s *suite) changeSpec(fn func(cl *clusters.Cluster)) { s.write(fn, true) }

func (s *suite) write(fn func(cl *clusters.Cluster), newGeneration bool) {
	rec, err := s.st.GetObject(context.Background(), clusters.Kind, "c1")
	if err != nil {
		s.t.Fatal(err)
	}
	cl, _ := clusters.Decode(rec.Doc)
	fn(&cl)
	rec.Doc = cl.Encode()
	if newGeneration {
		rec.Generation++
	}
	if err := s.st.UpdateObject(context.Background(), &rec); err != nil {
		s.t.Fatal(err)
	}
}

func TestScaleDownDeletesTheNewestMachines(t *testing.T) {
	s := newSuite(t)
	s.create(3)
	s.settle()
	s.prov.readyAll()
	s.settle()
	rec, _ := s.st.GetObject(context.Background(), clusters.Kind, "c1")
	cl, _ := clusters.Decode(rec.Doc)
	cl.Pools[1].Size = 1
	rec.Doc = cl.Encode()
	if err := s.st.UpdateObject(context.Background(), &rec); err != nil {
		t.Fatal(err)
	}
	s.settle()
	if got := len(s.cluster().Status.Machines); got != 2 || len(s.prov.machines) != 2 {
		t.Fatalf("after scale-down: %d recorded, %d exist; want 2 and 2", got, len(s.prov.machines))
	}
}

func TestQuotaIsReportedAndRetried(t *testing.T) {
	s := newSuite(t)
	s.prov.cpErr = fmt.Errorf("%w: the cluster needs 6 vCPUs but 10 of the host's 12 are in use", provider.ErrQuota)
	s.create(2)
	s.settle()
	res, err := s.c.Reconcile(context.Background(), "c1")
	if err != nil || res.RequeueAfter != cluster.QuotaRetry {
		t.Fatalf("reconcile under quota = %+v, %v; want a retry in %s", res, err, cluster.QuotaRetry)
	}
	cl := s.cluster()
	if c := cl.Status.Conditions[0]; c.Type != "InfrastructureReady" || c.Status != "False" || c.Reason != "QuotaExceeded" ||
		c.Message != s.prov.cpErr.Error() {
		t.Fatalf("condition = %+v", c)
	}
	events, _, _ := s.st.ListEvents(context.Background(), "c1", 1, 0)
	if events[0].Severity != v1.SeverityError || events[0].Reason != "QuotaExceeded" {
		t.Fatalf("newest event = %+v, want an Error QuotaExceeded", events[0])
	}
	// Capacity freed: the same cluster goes on by itself.
	s.prov.cpErr = nil
	s.settle()
	if cl := s.cluster(); !cl.Status.HasCondition("InfrastructureReady", "True") {
		t.Fatalf("conditions after capacity freed: %s", s.conditions())
	}
}

// The capacity is taken before machines are recorded: scaling a pool far beyond it records no
// machine, shows QuotaExceeded, and the cluster goes on once its pools fit again.
func TestQuotaIsCheckedBeforeMachinesAreRecorded(t *testing.T) {
	s := newSuite(t)
	s.prov.vcpuLimit = 16 // small machines have 2 vCPUs: room for 8
	s.create(2)
	s.settle()
	s.prov.readyAll()
	s.settle()
	s.patch(func(cl *clusters.Cluster) { cl.Pools[1].Size = 1000 })
	res, err := s.c.Reconcile(context.Background(), "c1")
	if err != nil || res.RequeueAfter != cluster.QuotaRetry {
		t.Fatalf("reconcile beyond the quota = %+v, %v; want a retry in %s", res, err, cluster.QuotaRetry)
	}
	s.settle()
	cl := s.cluster()
	if len(cl.Status.Machines) != 3 || len(s.prov.created) != 3 {
		t.Fatalf("after scaling to 1000 workers beyond the quota: %d machines recorded, %d created; want the 3 there were", len(cl.Status.Machines), len(s.prov.created))
	}
	want := "quota exceeded: the cluster needs 2002 vCPUs but the host has 16"
	if c := cl.Status.Conditions[0]; c.Type != "InfrastructureReady" || c.Status != "False" || c.Reason != "QuotaExceeded" || c.Message != want {
		t.Fatalf("condition = %+v, want InfrastructureReady False QuotaExceeded %q", c, want)
	}
	events, _, _ := s.st.ListEvents(context.Background(), "c1", 1, 0)
	if events[0].Severity != v1.SeverityError || events[0].Reason != "QuotaExceeded" {
		t.Fatalf("newest event = %+v, want an Error QuotaExceeded", events[0])
	}
	// Back within the quota: the machines are recorded, then made.
	s.patch(func(cl *clusters.Cluster) { cl.Pools[1].Size = 7 })
	s.settle()
	if cl := s.cluster(); len(cl.Status.Machines) != 8 || len(s.prov.created) != 8 || len(s.prov.missedStore) != 0 {
		t.Fatalf("after scaling to 7 workers: %d machines recorded, %d created (%d before they were recorded); want 8, 8, 0",
			len(cl.Status.Machines), len(s.prov.created), len(s.prov.missedStore))
	}
	if cl := s.cluster(); !cl.Status.HasCondition("InfrastructureReady", "True") {
		t.Fatalf("conditions once the pools fit: %s", s.conditions())
	}
}

func TestDeleteTearsDownThenRemoves(t *testing.T) {
	s := newSuite(t)
	s.create(1)
	s.settle()
	rec, _ := s.st.GetObject(context.Background(), clusters.Kind, "c1")
	cl, _ := clusters.Decode(rec.Doc)
	cl.Status.State = v1.ClusterStateDeleting
	rec.Doc = cl.Encode()
	s.st.UpdateObject(context.Background(), &rec)
	if _, err := s.c.Reconcile(context.Background(), "c1"); err != nil {
		t.Fatal(err)
	}
	if !s.prov.deleted {
		t.Fatal("provider.Delete was not called")
	}
	if _, err := s.st.GetObject(context.Background(), clusters.Kind, "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("record after delete: %v", err)
	}
	if _, n, _ := s.st.ListEvents(context.Background(), "c1", 1, 0); n != 0 {
		t.Fatalf("%d events left", n)
	}
	// A key whose record is gone is done.
	if res, err := s.c.Reconcile(context.Background(), "c1"); err != nil || res.RequeueAfter != 0 {
		t.Fatalf("reconcile of a gone cluster = %+v, %v", res, err)
	}
}

// Health follows the heartbeats by the hub's clock: none for longer than the timeout is
// unhealthy with the reason; the next one makes it healthy again; each change is an event.
func TestHealthFollowsHeartbeats(t *testing.T) {
	s := newSuite(t)
	clock := s.clock
	s.create(1)
	s.settle()
	if h := s.cluster().Status.Health; h.State != clusters.HealthUnknown {
		t.Fatalf("health before any heartbeat = %+v, want Unknown", h)
	}
	beat := func() {
		s.patch(func(cl *clusters.Cluster) { cl.Status.Health.LastHeartbeat = clock.Now() })
	}
	beat()
	s.settle()
	if h := s.cluster().Status.Health; h.State != clusters.HealthHealthy {
		t.Fatalf("health after a heartbeat = %+v, want Healthy", h)
	}
	// The controller asks to look again when the heartbeat would expire.
	res, err := s.c.Reconcile(context.Background(), "c1")
	if err != nil || res.RequeueAfter <= 0 || res.RequeueAfter > cluster.DefaultHeartbeatTimeout+time.Second {
		t.Fatalf("reconcile of a healthy cluster = %+v, %v; want a look again before the heartbeat expires", res, err)
	}
	clock.SetTime(clock.Now().Add(11 * time.Minute))
	s.settle()
	h := s.cluster().Status.Health
	if h.State != clusters.HealthUnhealthy || len(h.Reasons) != 1 || !strings.HasPrefix(h.Reasons[0], "NoHeartbeat: no heartbeat from the agent since 2026-01-01T00:00:00Z (the limit is 10m0s)") {
		t.Fatalf("health 11m after the last heartbeat = %+v", h)
	}
	beat()
	s.settle()
	if h := s.cluster().Status.Health; h.State != clusters.HealthHealthy || len(h.Reasons) != 0 {
		t.Fatalf("health after the agent came back = %+v", h)
	}
	events, _, _ := s.st.ListEvents(context.Background(), "c1", 3, 0)
	if events[0].Reason != "Healthy" || events[1].Reason != "Unhealthy" || events[1].Severity != v1.SeverityWarning ||
		!strings.Contains(events[1].Message, "NoHeartbeat") {
		t.Fatalf("newest events = %+v", events[:2])
	}
}

// The agent is first run once every node is Ready; once it has run, it is kept running while a
// node is not Ready — it is what reports the node and runs the doctor on it.
func TestAgentKeptRunningThroughNodeTrouble(t *testing.T) {
	s := newSuite(t)
	s.create(2)
	s.settle()
	runs := func() int { s.prov.mu.Lock(); defer s.prov.mu.Unlock(); return s.prov.agentRuns }
	if n := runs(); n != 0 {
		t.Fatalf("the agent was run %d times before the nodes were Ready", n)
	}
	s.prov.readyAll()
	s.settle()
	s.patch(func(cl *clusters.Cluster) { cl.Status.Health.LastHeartbeat = s.clock.Now() })
	s.settle()
	if runs() == 0 {
		t.Fatal("the agent was not run once every node was Ready")
	}
	s.prov.mu.Lock()
	for name := range s.prov.machines {
		s.prov.machines[name] = provider.MachineState{Exists: true, Ready: false}
		break
	}
	s.prov.mu.Unlock()
	before := runs()
	s.settle()
	if runs() == before {
		t.Fatal("with a node not Ready, the agent that ran before was not kept running")
	}
}

// A node reporting trouble makes the cluster unhealthy, naming the node and the condition.
func TestHealthFollowsNodeConditions(t *testing.T) {
	s := newSuite(t)
	clock := s.clock
	s.create(1)
	s.settle()
	report := func(disk string) {
		s.patch(func(cl *clusters.Cluster) {
			cl.Status.Health.LastHeartbeat = clock.Now()
			cl.Status.Nodes = []v1.NodeReport{{Name: "workers-abcde", Conditions: []v1.NodeCondition{
				{Type: "Ready", Status: "True", Reason: "KubeletReady"},
				{Type: "DiskPressure", Status: disk, Reason: "KubeletHasDiskPressure"}}}}
		})
		s.settle()
	}
	report("True")
	h := s.cluster().Status.Health
	if h.State != clusters.HealthUnhealthy || len(h.Reasons) != 1 ||
		h.Reasons[0] != "NodeCondition: node workers-abcde reports DiskPressure (KubeletHasDiskPressure); easel doctor CLUSTER workers-abcde says why" {
		t.Fatalf("health with a node under disk pressure = %+v", h)
	}
	report("False")
	if h := s.cluster().Status.Health; h.State != clusters.HealthHealthy {
		t.Fatalf("health once the pressure is gone = %+v", h)
	}
	events, _, _ := s.st.ListEvents(context.Background(), "c1", 2, 0)
	if events[0].Reason != "Healthy" || events[1].Reason != "Unhealthy" || !strings.Contains(events[1].Message, "DiskPressure") {
		t.Fatalf("newest events = %+v", events)
	}
}

// Usage over a threshold makes the cluster unhealthy only once it has lasted the period; the
// controller looks again exactly when the period ends.
func TestHealthFollowsUsageOverThePeriod(t *testing.T) {
	s := newSuite(t)
	clock := s.clock
	s.create(1)
	s.settle()
	th := v1.UsageThresholds{CPUPercent: 90, MemoryPercent: 90, PeriodSeconds: 300}
	sample := func(cpu float64) {
		s.patch(func(cl *clusters.Cluster) {
			cl.Status.Health.LastHeartbeat = clock.Now()
			cl.Status.Usage.Record(v1.AgentUsageReport{Run: "r", Seq: cl.Status.Usage.Seq + 1, Nodes: []v1.NodeUsage{
				{Name: "workers-abcde", Role: "worker", CPUUsage: cpu, CPUAllocatable: 2, MemoryAllocatable: 1}}}, th, clock.Now())
		})
		s.settle()
	}
	sample(1.9)
	if h := s.cluster().Status.Health; h.State != clusters.HealthHealthy {
		t.Fatalf("health just after going over = %+v; want Healthy until the period ends", h)
	}
	res, err := s.c.Reconcile(context.Background(), "c1")
	if err != nil || res.RequeueAfter <= 0 || res.RequeueAfter > 5*time.Minute {
		t.Fatalf("reconcile while over = %+v, %v; want a look again within 5m", res, err)
	}
	clock.SetTime(clock.Now().Add(5 * time.Minute))
	s.settle()
	h := s.cluster().Status.Health
	if h.State != clusters.HealthUnhealthy || len(h.Reasons) != 1 ||
		h.Reasons[0] != "UsageOverThreshold: node workers-abcde cpu at 95.0% (threshold 90%) since 2026-01-01T00:00:00Z" {
		t.Fatalf("health after 5m over = %+v", h)
	}
	sample(0.5)
	if h := s.cluster().Status.Health; h.State != clusters.HealthHealthy {
		t.Fatalf("health back under = %+v", h)
	}
}

// A certificate renewal on a cluster that requires repave approval: the control-plane machine is
// not replaced, and the provider not told to renew, until the repave is approved; then the
// provider renews, the control-plane machine is replaced (the workers are not) and the reason is
// in status.upgrades.
func TestCertificateRenewalWaitsForApproval(t *testing.T) {
	s := newSuite(t)
	s.create(1)
	s.patch(func(cl *clusters.Cluster) { cl.RepaveApproval = true })
	s.settle()
	s.prov.readyAll()
	s.settle()
	before := s.cluster().Status.Machines
	requested := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // the machines were created a moment before (the fake clock)
	s.clock.SetTime(requested.Add(time.Minute))
	s.patch(func(cl *clusters.Cluster) { cl.CertificatesRenewal = requested.Add(time.Second) })
	s.prov.renewals = nil
	s.settle()
	const reason = "certificates: renewal requested at 2026-01-01T00:00:01Z"
	cl := s.cluster()
	if cl.Status.Repave.State != clusters.RepavePending || !slices.Equal(cl.Status.Repave.Reasons, []string{reason}) {
		t.Fatalf("repave = %+v; want Pending with %q", cl.Status.Repave, reason)
	}
	if len(cl.Status.Machines) != 2 || slices.ContainsFunc(s.prov.renewals, func(r time.Time) bool { return !r.IsZero() }) {
		t.Fatalf("before approval: %d machines, provider told of renewals %v; want nothing done", len(cl.Status.Machines), s.prov.renewals)
	}

	s.patch(func(cl *clusters.Cluster) { cl.ApproveRepave(requested.Add(time.Minute)) })
	s.settle()
	if len(s.prov.renewals) == 0 || !s.prov.renewals[len(s.prov.renewals)-1].Equal(requested.Add(time.Second)) {
		t.Fatalf("once approved the provider was told of renewals %v; want %v", s.prov.renewals, requested.Add(time.Second))
	}
	s.prov.readyAll()
	for range 3 { // the new machine seen Ready, the old one deleted, the repave ended
		s.settle()
	}
	cl = s.cluster()
	if cl.Status.Repave.State != "" || len(cl.Status.Machines) != 2 {
		t.Fatalf("after the repave: %+v, %d machines", cl.Status.Repave, len(cl.Status.Machines))
	}
	for _, m := range cl.Status.Machines {
		old := slices.ContainsFunc(before, func(b clusters.Machine) bool { return b.UID == m.UID })
		if m.ControlPlane == old {
			t.Errorf("machine %s (control plane %v) replaced: %v; want only the control-plane machine replaced", m.Name, m.ControlPlane, !old)
		}
	}
	if u := cl.Status.Upgrades; len(u) != 1 || !slices.Equal(u[0].Reason, []string{reason}) {
		t.Fatalf("status.upgrades = %+v", u)
	}
}

// running brings the suite's cluster to Running: machines Ready, the agent's first heartbeat (now,
// by the suite's clock) and its pack report for generation 1.
func (s *suite) running() {
	s.create(1)
	s.settle()
	s.prov.readyAll()
	s.settle()
	s.patch(func(cl *clusters.Cluster) {
		cl.Status.Health = clusters.Health{LastHeartbeat: s.clock.Now(), AgentVersion: "0.1.0"}
	})
	s.settle()
	s.patch(func(cl *clusters.Cluster) {
		cl.Status.PacksGeneration = 1
		cl.Status.Packs = []v1.PackStatus{{Name: "cni-calico", State: v1.PackStateApplied}}
	})
	s.settle()
	if st := s.cluster().Status.State; st != v1.ClusterStateRunning {
		s.t.Fatalf("state %s, conditions %s; want Running", st, s.conditions())
	}
}

// counting counts the finished reconciles of each key.
type counting struct {
	r  engine.Reconciler
	mu sync.Mutex
	n  map[string]int
}

func (c *counting) Reconcile(ctx context.Context, key string) (engine.Result, error) {
	res, err := c.r.Reconcile(ctx, key)
	c.mu.Lock()
	c.n[key]++
	c.mu.Unlock()
	return res, err
}

func (c *counting) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// A settled cluster — Running, or imported and waiting for its agent's first heartbeat — is not
// rewritten by reconciles: over several resyncs of the engine, by a stepping clock, its stored
// resource version stays and it gets no event. Neither asks to be looked at again soon: the one
// waits for its heartbeat to expire, the other for the hub to say the agent has called.
func TestSettledClustersAreNotRewritten(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	s.running()
	imported := clusters.Cluster{CloudType: "generic", Profiles: []clusters.ProfileRef{}, Pools: []clusters.Pool{},
		Status: clusters.Status{State: v1.ClusterStatePending, Conditions: []v1.ClusterCondition{}, Upgrades: []v1.Upgrade{}}}
	imported.Status.SetCondition("AgentDeployed", "False", "WaitingForImport", "Apply the import manifest", s.clock.Now())
	if err := s.st.CreateObject(ctx, &store.Record{Kind: clusters.Kind, UID: "c2", TenantUID: "t", ProjectUID: "p",
		Name: "imported", State: "Pending", Doc: imported.Encode()}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.c.Reconcile(ctx, "c2"); err != nil {
			t.Fatal(err)
		}
	}
	rec, _ := s.st.GetObject(ctx, clusters.Kind, "c2")
	if cl, _ := clusters.Decode(rec.Doc); cl.Status.State != v1.ClusterStateProvisioning ||
		!cl.Status.HasCondition("AgentDeployed", "False") || cl.Status.Conditions[0].Reason != "WaitingForAgent" {
		t.Fatalf("imported cluster: state %s, conditions %+v; want Provisioning, waiting for its agent", cl.Status.State, cl.Status.Conditions)
	}
	if res, err := s.c.Reconcile(ctx, "c2"); err != nil || res.RequeueAfter != 0 {
		t.Fatalf("reconcile of the imported cluster waiting for its agent = %+v, %v; want no look again (the hub wakes it)", res, err)
	}
	if res, err := s.c.Reconcile(ctx, "c1"); err != nil || res.RequeueAfter < cluster.DefaultHeartbeatTimeout-time.Minute {
		t.Fatalf("reconcile of the Running cluster = %+v, %v; want a look again only when its heartbeat would expire", res, err)
	}

	versions := func() map[string]int64 {
		out := map[string]int64{}
		for _, key := range []string{"c1", "c2"} {
			rec, err := s.st.GetObject(ctx, clusters.Kind, key)
			if err != nil {
				t.Fatal(err)
			}
			_, events, err := s.st.ListEvents(ctx, key, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			out[key], out[key+" events"] = rec.ResourceVersion, int64(events)
		}
		return out
	}
	before := versions()
	counted := &counting{r: s.c, n: map[string]int{}}
	eng := engine.New(counted, engine.Options{Name: "cluster", Resync: time.Minute, Clock: s.clock, Logger: testLogger(t),
		List: func(ctx context.Context) ([]string, error) { return s.st.ListUIDs(ctx, clusters.Kind) }})
	engineCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { eng.Run(engineCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	for n := 1; n <= 5; n++ {
		waitFor(t, fmt.Sprintf("resync %d of both clusters", n), func() bool { return counted.count("c1") >= n && counted.count("c2") >= n })
		s.clock.Step(time.Minute)
	}
	if after := versions(); !maps.Equal(after, before) {
		t.Fatalf("resource versions and event counts over 5 resyncs: %v → %v; want no change", before, after)
	}
}

// A pass that fails does not record the spec's generation as acted on; the next one that succeeds
// does.
func TestObservedGenerationOnlyAfterASuccessfulPass(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	s.create(1)
	s.settle()
	s.prov.readyAll()
	s.settle()
	if g := s.cluster().Status.ObservedGeneration; g != 1 {
		t.Fatalf("observed generation = %d, want 1", g)
	}
	// The workers get a label (changed in place), while the provider cannot list its machines.
	s.setWorkerLabels(map[string]string{"tier": "web"})
	s.prov.machinesErr = errors.New("the API server does not answer")
	if _, err := s.c.Reconcile(ctx, "c1"); err == nil || !strings.Contains(err.Error(), "the API server does not answer") {
		t.Fatalf("reconcile while the provider fails = %v; want its error", err)
	}
	if g := s.cluster().Status.ObservedGeneration; g != 1 {
		t.Fatalf("observed generation after a failed pass = %d, want still 1", g)
	}
	s.prov.machinesErr = nil
	s.settle()
	if g := s.cluster().Status.ObservedGeneration; g != 2 || s.workerLabels()["tier"] != "web" {
		t.Fatalf("after a successful pass: observed generation %d, worker labels %v; want 2 and the label applied", g, s.workerLabels())
	}
}

// workerLabels returns the labels the provider gave the (single) worker of the suite's cluster.
func (s *suite) workerLabels() map[string]string {
	s.prov.mu.Lock()
	defer s.prov.mu.Unlock()
	for _, m := range s.cluster().Status.Machines {
		if m.Pool == "workers" {
			return s.prov.machines[m.Name].Labels
		}
	}
	s.t.Fatal("no worker recorded")
	return nil
}

// setWorkerLabels changes the workers' labels, as the API does.
func (s *suite) setWorkerLabels(labels map[string]string) {
	s.changeSpec(func(cl *clusters.Cluster) { cl.Pools[1].Labels = labels })
}

// A label removed while the pass that gave it is still running is removed too: the pass's status
// write is refused (the spec changed), and the next pass does not rely on what it would have
// recorded. (Before, the machine's record kept the old labels and the label stayed on the node.)
func TestLabelRemovedDuringThePassThatGaveIt(t *testing.T) {
	s := newSuite(t)
	s.create(1)
	s.settle()
	s.prov.readyAll()
	s.settle()
	s.setWorkerLabels(map[string]string{"tier": "web"})
	s.prov.ensuring = func() {
		s.prov.ensuring = nil
		s.setWorkerLabels(nil)
	}
	s.settle()
	if s.prov.ensuring != nil {
		t.Fatal("the labels were never applied")
	}
	if labels := s.workerLabels(); len(labels) != 0 {
		t.Fatalf("worker labels after the label was removed = %v; want none", labels)
	}
	if g := s.cluster().Status.ObservedGeneration; g != 3 {
		t.Fatalf("observed generation = %d, want 3", g)
	}
}

// The provider's log lines carry the cluster's name and uid, as the controller's do.
func TestProviderLinesCarryTheCluster(t *testing.T) {
	s := newSuite(t)
	var buf bytes.Buffer
	s.c.Log = slog.New(slog.NewTextHandler(&buf, nil))
	s.prov.cpErr = errors.New("the API server is starting")
	s.create(1)
	s.settle()
	for _, want := range []string{`msg="Ensuring the control plane" cluster=web clusterUID=c1`,
		`msg="Waiting for the infrastructure" cluster=web clusterUID=c1 reason=ControlPlaneNotReady`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, buf.String())
		}
	}
}

// A relaunch is carried out by the passes the controller asks for itself, at once: the broken
// node is Ready (only its network is down), so nothing else — no poll for nodes, no heartbeat of
// a healthy cluster, no resync — wakes the engine between the pass that marks the machine and the
// ones that delete and replace it.
func TestRelaunchNeedsNoOtherWakeUp(t *testing.T) {
	s := newSuite(t)
	s.create(2)
	s.settle()
	s.prov.readyAll()
	s.settle()
	broken := ""
	for _, m := range s.cluster().Status.Machines {
		if !m.ControlPlane {
			broken = m.Name
		}
	}
	s.patch(func(cl *clusters.Cluster) {
		cl.Status.Health.LastHeartbeat = s.clock.Now()
		cl.Status.Nodes = []v1.NodeReport{{Name: broken, Conditions: []v1.NodeCondition{
			{Type: "Ready", Status: "True", Reason: "KubeletReady"},
			{Type: "NetworkUnavailable", Status: "True", Reason: "NoRouteCreated"}}}}
	})
	s.settle()
	s.clock.Step(clusters.DefaultNetworkReadyTimeout)
	s.patch(func(cl *clusters.Cluster) { cl.Status.Health.LastHeartbeat = s.clock.Now() })
	s.settle() // the relaunch, and what follows it soon; a later wake-up is not there to count on
	var names []string
	for _, m := range s.cluster().Status.Machines {
		names = append(names, m.Name)
		if m.Name == broken {
			t.Fatalf("machine %s is still recorded (%+v) after its relaunch", broken, m)
		}
	}
	if _, ok := s.prov.machines[broken]; ok || len(names) != 3 {
		t.Fatalf("after the relaunch of %s: machines %v recorded, provider has %v", broken, names, s.prov.machines)
	}
}
