package clusters_test

import (
	"context"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/profiles"
	"github.com/easelhq/easel/internal/service"
	clustersvc "github.com/easelhq/easel/internal/service/clusters"
	"github.com/easelhq/easel/internal/service/servicetest"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testenv/pgtest"
	"github.com/easelhq/easel/internal/wakeup"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is a cluster service on a real store, with a tenant's project P and a published profile.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	store    store.Store
	svc      *clustersvc.Service
	notified []string
	profile  string
}

const tenant, project = "tenant-1", "project-p"

func eachStore(t *testing.T, fn func(t *testing.T, f *fixture)) {
	servicetest.EachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		f := &fixture{t: t, ctx: ctx, store: st}
		catalog := packs.MustBuiltin()
		f.svc = clustersvc.New(st, catalog, clustersvc.Options{Clock: clocktesting.NewFakeClock(time.Unix(1_800_000_000, 0)),
			Notify: func(uid string) { f.notified = append(f.notified, uid) }, Waiters: &wakeup.Waiters{}})
		f.put(&store.Record{Kind: "project", UID: project, TenantUID: tenant, Name: "p", Doc: []byte(`{}`)})
		var entity v1.ClusterProfileEntity
		entity.Metadata.Name = "base"
		entity.Spec.Version = "1.0.0"
		entity.Spec.Template = v1.ClusterProfileTemplateDraft{Type: "cluster", CloudType: "local", Packs: []v1.PackManifestEntity{
			{Name: "kubernetes", Tag: "1.34.4"}, {Name: "ubuntu", Tag: "24.04"}, {Name: "cni-calico", Tag: "3.30.3"}}}
		p, err := profiles.FromEntity(entity, catalog)
		if err != nil {
			t.Fatal(err)
		}
		p.Published = true
		f.profile = "profile-base"
		f.put(&store.Record{Kind: "clusterprofile", UID: f.profile, TenantUID: tenant, ProjectUID: project, Name: "base", Doc: p.Encode()})
		fn(t, f)
	})
}

func (f *fixture) put(rec *store.Record) {
	f.t.Helper()
	if err := f.store.CreateObject(f.ctx, rec); err != nil {
		f.t.Fatal(err)
	}
}

func call(role string) *service.Call {
	return &service.Call{Caller: service.UserCaller(tenant, "user-"+role, role+"@example.com", nil,
		[]v1.ProjectRole{{ProjectUID: project, Role: role}}), Project: project}
}

var jsonInput = servicetest.JSONInput

func (f *fixture) create(name string) string {
	f.t.Helper()
	var read bool
	uid, err := f.svc.Create(f.ctx, call(v1.RoleClusterAdmin), "local", jsonInput(`{"metadata":{"name":"`+name+`"},"spec":{
		"profiles":[{"uid":"`+f.profile+`"}],
		"machinepoolconfig":[{"poolConfig":{"name":"cp","size":1,"isControlPlane":true},"cloudConfig":{"instanceType":"small"}},
		                     {"poolConfig":{"name":"workers","size":2},"cloudConfig":{"instanceType":"medium"}}]}}`, &read))
	if err != nil {
		f.t.Fatalf("Create: %v", err)
	}
	return uid
}

func (f *fixture) events(uid string) []string {
	f.t.Helper()
	events, _, err := f.store.ListEvents(f.ctx, uid, 100, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		out = append(out, e.Reason)
	}
	return out
}

func kindOf(err error) service.Kind { return service.KindOf(err) }

// A caller who may not write is refused before their input is read; one who may gets the cluster
// stored Pending with its Created event and audit entry, and the engine woken.
func TestCreateChecksThePermissionBeforeTheInput(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		var read bool
		_, err := f.svc.Create(f.ctx, call(v1.RoleViewer), "local", jsonInput(`not json`, &read))
		if kindOf(err) != service.KindForbidden || read {
			t.Fatalf("viewer's create = %v (input read: %v); want Forbidden before reading the input", err, read)
		}
		uid := f.create("web")
		rec, cl, err := f.svc.Get(f.ctx, call(v1.RoleViewer), clustersvc.ByUID(uid))
		if err != nil || cl.Status.State != v1.ClusterStatePending || rec.Generation != 1 {
			t.Fatalf("Get = %v, state %s, generation %d; want Pending, generation 1", err, cl.Status.State, rec.Generation)
		}
		if got := f.events(uid); len(got) != 1 || got[0] != "Created" {
			t.Fatalf("events %v, want [Created]", got)
		}
		audits, _, err := f.store.ListAudits(f.ctx, store.AuditFilter{TenantUID: tenant, Limit: 10})
		if err != nil || len(audits) != 1 || audits[0].Message != "Created cluster web" || audits[0].ActorName != "cluster-admin@example.com" {
			t.Fatalf("audits %+v, %v; want one 'Created cluster web' by the cluster admin", audits, err)
		}
		if len(f.notified) != 1 || f.notified[0] != uid {
			t.Fatalf("engine woken for %v, want [%s]", f.notified, uid)
		}
		if _, err := f.svc.Create(f.ctx, call(v1.RoleClusterAdmin), "local", jsonInput(`{"metadata":{"name":"web"}}`, &read)); kindOf(err) != service.KindInvalid {
			t.Fatalf("create without pools = %v, want Invalid", err)
		}
		if _, _, err := f.svc.Get(f.ctx, &service.Call{Caller: service.UserCaller(tenant, "u", "q@x", nil,
			[]v1.ProjectRole{{ProjectUID: "project-q", Role: v1.RoleProjectAdmin}})}, clustersvc.ByUID(uid)); kindOf(err) != service.KindNotFound {
			t.Fatalf("another project's admin reads the cluster: %v, want NotFound", err)
		}
	})
}

// A pool change is one new generation with its event; a stale version is refused and changes
// nothing; a change that changes nothing writes nothing.
func TestPoolChangesAreGenerations(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		uid := f.create("web")
		rec, cl, _ := f.svc.Get(f.ctx, call(v1.RoleViewer), clustersvc.ByUID(uid))
		byConfig := clustersvc.ByCloudConfig("local", cl.CloudConfigUID)
		stale := byConfig
		stale.IfMatch = service.Version(rec)
		var read bool
		pool := `{"poolConfig":{"name":"gpu","size":1},"cloudConfig":{"instanceType":"large"}}`
		if _, err := f.svc.AddPool(f.ctx, call(v1.RoleViewer), byConfig, jsonInput(pool, &read)); kindOf(err) != service.KindForbidden || read {
			t.Fatalf("viewer adds a pool: %v (input read %v); want Forbidden before reading it", err, read)
		}
		if name, err := f.svc.AddPool(f.ctx, call(v1.RoleClusterAdmin), byConfig, jsonInput(pool, &read)); err != nil || name != "gpu" {
			t.Fatalf("AddPool = %q, %v", name, err)
		}
		if err := f.svc.DeletePool(f.ctx, call(v1.RoleClusterAdmin), stale, "gpu"); kindOf(err) != service.KindConflict ||
			!strings.Contains(err.Error(), "changed since you read it") {
			t.Fatalf("delete against a stale version = %v, want Conflict", err)
		}
		if err := f.svc.DeletePool(f.ctx, call(v1.RoleClusterAdmin), byConfig, "cp"); kindOf(err) != service.KindInvalid {
			t.Fatalf("deleting the control-plane pool = %v, want Invalid", err)
		}
		rec, cl, _ = f.svc.Get(f.ctx, call(v1.RoleViewer), byConfig)
		if rec.Generation != 2 || len(cl.Pools) != 3 {
			t.Fatalf("after one pool added: generation %d, %d pools; want 2 and 3", rec.Generation, len(cl.Pools))
		}
		if got := f.events(uid); len(got) != 2 || got[0] != "MachinePoolChanged" {
			t.Fatalf("events %v, want MachinePoolChanged then Created", got)
		}

		// An update without cloudConfig would reset the pool's zones and instance type: refused,
		// after the permission check, and nothing written.
		if err := f.svc.UpdatePool(f.ctx, call(v1.RoleViewer), byConfig, "gpu", jsonInput(`{"poolConfig":{"size":2}}`, &read)); kindOf(err) != service.KindForbidden {
			t.Fatalf("viewer updates a pool without cloudConfig: %v; want Forbidden", err)
		}
		err := f.svc.UpdatePool(f.ctx, call(v1.RoleClusterAdmin), byConfig, "gpu", jsonInput(`{"poolConfig":{"size":2}}`, &read))
		if kindOf(err) != service.KindInvalid || !strings.Contains(err.Error(), "cloudConfig is required") {
			t.Fatalf("UpdatePool without cloudConfig = %v; want Invalid naming cloudConfig", err)
		}
		rec, cl, _ = f.svc.Get(f.ctx, call(v1.RoleViewer), byConfig)
		if gpu, _ := cl.Pool("gpu"); rec.Generation != 2 || gpu.Size != 1 || gpu.InstanceType != "large" {
			t.Fatalf("after a refused update: generation %d, pool gpu %+v; want generation 2, size 1, large", rec.Generation, gpu)
		}
		if err := f.svc.UpdatePool(f.ctx, call(v1.RoleClusterAdmin), byConfig, "gpu", jsonInput(`{"poolConfig":{"size":2},"cloudConfig":{"instanceType":"large"}}`, &read)); err != nil {
			t.Fatalf("UpdatePool with cloudConfig: %v", err)
		}
		if rec, cl, _ = f.svc.Get(f.ctx, call(v1.RoleViewer), byConfig); rec.Generation != 3 {
			t.Fatalf("after an update: generation %d; want 3", rec.Generation)
		}
		if gpu, _ := cl.Pool("gpu"); gpu.Size != 2 || gpu.InstanceType != "large" {
			t.Fatalf("pool gpu after the update = %+v; want size 2, large", gpu)
		}
	})
}

// Deleting marks the cluster Deleting once, with one event; doing it again changes nothing.
func TestDeleteMarksOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		uid := f.create("web")
		if err := f.svc.Delete(f.ctx, call(v1.RoleViewer), clustersvc.ByUID(uid)); kindOf(err) != service.KindForbidden {
			t.Fatalf("viewer deletes: %v, want Forbidden", err)
		}
		for range 2 {
			if err := f.svc.Delete(f.ctx, call(v1.RoleClusterAdmin), clustersvc.ByUID(uid)); err != nil {
				t.Fatal(err)
			}
		}
		_, cl, _ := f.svc.Get(f.ctx, call(v1.RoleViewer), clustersvc.ByUID(uid))
		if cl.Status.State != v1.ClusterStateDeleting {
			t.Fatalf("state %s, want Deleting", cl.Status.State)
		}
		if got := f.events(uid); len(got) != 2 || got[0] != "Deleting" {
			t.Fatalf("events %v, want one Deleting after Created", got)
		}
		var read bool
		err := f.svc.PutProfiles(f.ctx, call(v1.RoleClusterAdmin), clustersvc.ByUID(uid), jsonInput(`{"profiles":[]}`, &read))
		if kindOf(err) != service.KindConflict || !strings.Contains(err.Error(), "is being deleted") {
			t.Fatalf("changing a cluster being deleted = %v, want Conflict", err)
		}
	})
}

// A kubeconfig needs cluster credentials and a control plane, and each download is audited.
func TestKubeconfigNeedsCredentialsAndIsAudited(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		uid := f.create("web")
		if _, _, err := f.svc.Kubeconfig(f.ctx, call(v1.RoleViewer), clustersvc.ByUID(uid), "kubeconfig"); kindOf(err) != service.KindForbidden {
			t.Fatalf("viewer's kubeconfig = %v, want Forbidden", err)
		}
		if _, _, err := f.svc.Kubeconfig(f.ctx, call(v1.RoleClusterAdmin), clustersvc.ByUID(uid), "kubeconfig"); kindOf(err) != service.KindConflict ||
			!strings.Contains(err.Error(), "no provider") {
			t.Fatalf("kubeconfig from a hub without providers = %v, want Conflict naming it", err)
		}
	})
}

// The import manifest is only for imported clusters: a local cluster's agent token is easel's own.
func TestImportManifestOnlyForImportedClusters(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		uid := f.create("web")
		if _, _, err := f.svc.ImportManifest(f.ctx, call(v1.RoleClusterAdmin), clustersvc.ByUID(uid), false); kindOf(err) != service.KindConflict {
			t.Fatalf("import manifest of a local cluster = %v, want Conflict", err)
		}
		var read bool
		imported, err := f.svc.Import(f.ctx, call(v1.RoleClusterAdmin), jsonInput(`{"metadata":{"name":"edge"}}`, &read))
		if err != nil {
			t.Fatal(err)
		}
		_, cl, _ := f.svc.Get(f.ctx, call(v1.RoleViewer), clustersvc.ByUID(imported))
		if cl.CloudType != v1.CloudTypeGeneric || !cl.Status.HasCondition("AgentDeployed", "False") {
			t.Fatalf("imported cluster %+v, want generic and waiting for its agent", cl.Status.Conditions)
		}
		// This service was built without a public URL: it cannot tell an agent where the hub is.
		if _, _, err := f.svc.ImportManifest(f.ctx, call(v1.RoleClusterAdmin), clustersvc.ByUID(imported), false); kindOf(err) != service.KindConflict ||
			!strings.Contains(err.Error(), "--public-url") {
			t.Fatalf("manifest without a public URL = %v, want Conflict naming --public-url", err)
		}
	})
}
