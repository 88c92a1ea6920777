package projects_test

import (
	"context"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	projectsvc "github.com/easelhq/easel/internal/service/projects"
	"github.com/easelhq/easel/internal/service/servicetest"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testenv/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is a project service on a real store.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	store store.Store
	svc   *projectsvc.Service
}

const tenant = "tenant-1"

func eachStore(t *testing.T, fn func(t *testing.T, f *fixture)) {
	servicetest.EachStore(t, func(t *testing.T, st store.Store) {
		fn(t, &fixture{t: t, ctx: context.Background(), store: st, svc: projectsvc.New(st, clocktesting.NewFakeClock(time.Unix(1_800_000_000, 0)))})
	})
}

var tenantAdmin = &service.Call{Caller: service.UserCaller(tenant, "user-admin", "admin@example.com", []string{v1.RoleTenantAdmin}, nil)}

// in is a caller with role in project.
func in(project, role string) *service.Call {
	return &service.Call{Caller: service.UserCaller(tenant, "user-"+role, role+"@example.com", nil,
		[]v1.ProjectRole{{ProjectUID: project, Role: role}})}
}

var jsonInput = servicetest.JSONInput

func (f *fixture) create(name string) string {
	f.t.Helper()
	var read bool
	uid, err := f.svc.Create(f.ctx, tenantAdmin, jsonInput(`{"metadata":{"name":"`+name+`"}}`, &read))
	if err != nil {
		f.t.Fatalf("Create: %v", err)
	}
	return uid
}

func (f *fixture) audits() []string { return servicetest.Audits(f.t, f.store, tenant) }

func kindOf(err error) service.Kind { return service.KindOf(err) }

// Only a tenant admin creates, renames and deletes projects, and anyone else is refused before
// their input is read; each write is audited; a project is seen by those with a role in it.
func TestProjectWritesAreTenantAdmins(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		var read bool
		if _, err := f.svc.Create(f.ctx, in("p", v1.RoleProjectAdmin), jsonInput(`not json`, &read)); kindOf(err) != service.KindForbidden || read {
			t.Fatalf("project admin's create = %v (input read %v); want Forbidden before the input", err, read)
		}
		if _, err := f.svc.Create(f.ctx, tenantAdmin, jsonInput(`{"metadata":{"name":"Not A Name"}}`, &read)); kindOf(err) != service.KindInvalid {
			t.Fatalf("create with an invalid name = %v, want Invalid", err)
		}
		p := f.create("team-p")
		q := f.create("team-q")
		if got := f.audits(); len(got) != 2 || got[1] != "create by admin@example.com: Created project team-p" {
			t.Fatalf("audits %q, want the two creates", got)
		}

		read = false
		if err := f.svc.Rename(f.ctx, in(p, v1.RoleProjectAdmin), p, jsonInput(`not json`, &read)); kindOf(err) != service.KindForbidden || read {
			t.Fatalf("project admin renames their project: %v (input read %v); want Forbidden before the input", err, read)
		}
		if err := f.svc.Rename(f.ctx, tenantAdmin, p, jsonInput(`{"metadata":{"name":"team-p2"}}`, &read)); err != nil {
			t.Fatalf("Rename: %v", err)
		}
		if rec, err := f.svc.Get(f.ctx, in(p, v1.RoleViewer), p); err != nil || rec.Name != "team-p2" {
			t.Fatalf("Get = %s, %v; want team-p2", rec.Name, err)
		}
		if _, err := f.svc.Get(f.ctx, in(p, v1.RoleProjectAdmin), q); kindOf(err) != service.KindNotFound {
			t.Fatalf("P's admin reads Q: %v, want NotFound", err)
		}
		if list, err := f.svc.List(f.ctx, in(p, v1.RoleViewer)); err != nil || len(list) != 1 || list[0].UID != p {
			t.Fatalf("P's viewer lists %d projects, %v; want P only", len(list), err)
		}
		if got := f.audits(); got[0] != "update by admin@example.com: Renamed project team-p to team-p2" {
			t.Fatalf("audits %q, want the rename on top", got)
		}
		if err := f.svc.Delete(f.ctx, in(q, v1.RoleProjectAdmin), q); kindOf(err) != service.KindForbidden {
			t.Fatalf("Q's admin deletes Q: %v, want Forbidden", err)
		}
	})
}

// A project that holds a cluster or a profile is not deleted; an empty one is, with its audit entry.
func TestDeleteRefusesAProjectThatHoldsObjects(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		for _, kind := range []string{"spectrocluster", "clusterprofile"} {
			p := f.create("p-" + kind[:7])
			obj := &store.Record{Kind: kind, UID: "obj-" + p, TenantUID: tenant, ProjectUID: p, Name: "web", Doc: []byte(`{}`)}
			if err := f.store.CreateObject(f.ctx, obj); err != nil {
				t.Fatal(err)
			}
			err := f.svc.Delete(f.ctx, tenantAdmin, p)
			if kindOf(err) != service.KindConflict || !strings.Contains(err.Error(), "still holds 1 "+kind) {
				t.Fatalf("deleting a project with a %s = %v, want Conflict naming it", kind, err)
			}
			if _, err := f.svc.Get(f.ctx, tenantAdmin, p); err != nil {
				t.Fatalf("the refused project is gone: %v", err)
			}
			if err := f.store.DeleteObject(f.ctx, kind, obj.UID); err != nil {
				t.Fatal(err)
			}
			if err := f.svc.Delete(f.ctx, tenantAdmin, p); err != nil {
				t.Fatalf("deleting the emptied project: %v", err)
			}
			if _, err := f.svc.Get(f.ctx, tenantAdmin, p); kindOf(err) != service.KindNotFound {
				t.Fatalf("Get after delete = %v, want NotFound", err)
			}
			if got := f.audits(); got[0] != "delete by admin@example.com: Deleted project p-"+kind[:7] {
				t.Fatalf("audits %q, want the delete on top", got)
			}
		}
	})
}

// A project's cluster settings are changed by its admins only (anyone else is refused before
// their input is read); invalid thresholds change nothing; each change is audited.
func TestClusterSettings(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		p := f.create("team-p")
		ps, err := f.svc.ClusterSettings(f.ctx, in(p, v1.RoleViewer), p)
		if err != nil || !ps.Remediates() || ps.Thresholds().CPUPercent == 0 {
			t.Fatalf("default settings %+v, %v; want remediation on and the default thresholds", ps, err)
		}
		for _, role := range []string{v1.RoleViewer, v1.RoleClusterAdmin} {
			var read bool
			if err := f.svc.SetUsageThresholds(f.ctx, in(p, role), p, jsonInput(`not json`, &read)); kindOf(err) != service.KindForbidden || read {
				t.Fatalf("%s sets thresholds: %v (input read %v); want Forbidden before the input", role, err, read)
			}
			if err := f.svc.SetAutoRemediation(f.ctx, in(p, role), p, jsonInput(`not json`, &read)); kindOf(err) != service.KindForbidden || read {
				t.Fatalf("%s sets auto-remediation: %v (input read %v); want Forbidden before the input", role, err, read)
			}
		}
		var read bool
		admin := in(p, v1.RoleProjectAdmin)
		if err := f.svc.SetUsageThresholds(f.ctx, admin, p, jsonInput(`{"cpuPercent":150,"periodSeconds":60}`, &read)); kindOf(err) != service.KindInvalid {
			t.Fatalf("cpuPercent 150 = %v, want Invalid", err)
		}
		if err := f.svc.SetUsageThresholds(f.ctx, admin, p, jsonInput(`{"cpuPercent":90,"memoryPercent":80,"periodSeconds":600}`, &read)); err != nil {
			t.Fatalf("SetUsageThresholds: %v", err)
		}
		if err := f.svc.SetAutoRemediation(f.ctx, admin, p, jsonInput(`{"isEnabled":false}`, &read)); err != nil {
			t.Fatalf("SetAutoRemediation: %v", err)
		}
		ps, err = f.svc.ClusterSettings(f.ctx, in(p, v1.RoleViewer), p)
		if th := ps.Thresholds(); err != nil || ps.Remediates() || th.CPUPercent != 90 || th.MemoryPercent != 80 || th.PeriodSeconds != 600 {
			t.Fatalf("settings %+v, %v; want cpu 90%%, memory 80%% for 600s and remediation off", ps, err)
		}
		got := f.audits()
		want := []string{
			"update by project-admin@example.com: Set node auto-remediation (isEnabled false, disableNodesAutoRemediation false) of project team-p",
			"update by project-admin@example.com: Set usage thresholds (cpu 90%, memory 80%, disk 0% for 600s) of project team-p",
		}
		if len(got) != 3 || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("audits %q, want %q on top of the create", got, want)
		}
	})
}
