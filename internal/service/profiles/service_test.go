package profiles_test

import (
	"context"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/service"
	clustersvc "github.com/easelhq/easel/internal/service/clusters"
	profilesvc "github.com/easelhq/easel/internal/service/profiles"
	"github.com/easelhq/easel/internal/service/servicetest"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testenv/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is a profile service (and a cluster service, to use profiles) on a real store, with a
// tenant's project P.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	store    store.Store
	svc      *profilesvc.Service
	clusters *clustersvc.Service
}

const tenant, project = "tenant-1", "project-p"

func eachStore(t *testing.T, fn func(t *testing.T, f *fixture)) {
	servicetest.EachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		clk := clocktesting.NewFakeClock(time.Unix(1_800_000_000, 0))
		catalog := packs.MustBuiltin()
		f := &fixture{t: t, ctx: ctx, store: st, svc: profilesvc.New(st, catalog, clk),
			clusters: clustersvc.New(st, catalog, clustersvc.Options{Clock: clk})}
		if err := st.CreateObject(ctx, &store.Record{Kind: "project", UID: project, TenantUID: tenant, Name: "p", Doc: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		fn(t, f)
	})
}

func call(role string) *service.Call {
	return &service.Call{Caller: service.UserCaller(tenant, "user-"+role, role+"@example.com", nil,
		[]v1.ProjectRole{{ProjectUID: project, Role: role}}), Project: project}
}

var jsonInput = servicetest.JSONInput

// entity is a cluster profile's JSON, of the packs a local cluster needs.
func entity(name, version string) string {
	return `{"metadata":{"name":"` + name + `"},"spec":{"version":"` + version + `","template":{"type":"cluster","cloudType":"local",
		"packs":[{"name":"kubernetes","tag":"1.34.4"},{"name":"ubuntu","tag":"24.04"},{"name":"cni-calico","tag":"3.30.3"}]}}}`
}

func (f *fixture) create(name, version string) string {
	f.t.Helper()
	var read bool
	uid, err := f.svc.Create(f.ctx, call(v1.RoleProjectAdmin), jsonInput(entity(name, version), &read))
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
		out = append(out, e.Reason+": "+e.Message)
	}
	return out
}

func (f *fixture) audits() []string { return servicetest.Audits(f.t, f.store, tenant) }

func kindOf(err error) service.Kind { return service.KindOf(err) }

// A caller who may not write profiles is refused before their input is read, whether they send an
// entity or a file; a project admin's profile is stored as a draft with its Created event and audit
// entry, and an imported file may be published at once.
func TestCreateChecksThePermissionBeforeTheInput(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		for _, role := range []string{v1.RoleViewer, v1.RoleClusterAdmin} {
			var read bool
			if _, err := f.svc.Create(f.ctx, call(role), jsonInput(`not json`, &read)); kindOf(err) != service.KindForbidden || read {
				t.Fatalf("%s's create = %v (input read: %v); want Forbidden before reading the input", role, err, read)
			}
			_, err := f.svc.Import(f.ctx, call(role), false, func() ([]byte, error) { read = true; return nil, nil })
			if kindOf(err) != service.KindForbidden || read {
				t.Fatalf("%s's import = %v (file read: %v); want Forbidden before reading the file", role, err, read)
			}
		}
		tenantScope := call(v1.RoleProjectAdmin)
		tenantScope.Project = ""
		var read bool
		if _, err := f.svc.Create(f.ctx, tenantScope, jsonInput(entity("base", "1.0.0"), &read)); kindOf(err) != service.KindForbidden || read {
			t.Fatalf("project admin's create in the tenant scope = %v (input read %v); want Forbidden before the input", err, read)
		}

		uid := f.create("base", "1.0.0")
		rec, p, err := f.svc.Get(f.ctx, call(v1.RoleViewer), uid)
		if err != nil || p.Published || rec.State != "draft" || rec.ProjectUID != project {
			t.Fatalf("Get = %+v, published %v, %v; want a draft in project P", rec, p.Published, err)
		}
		if got := f.events(uid); len(got) != 1 || got[0] != "Created: Profile base 1.0.0 created as draft" {
			t.Fatalf("events %q, want the Created event", got)
		}
		if got := f.audits(); len(got) != 1 || got[0] != "create by project-admin@example.com: Created cluster profile base 1.0.0" {
			t.Fatalf("audits %q, want the project admin's create", got)
		}
		if _, err := f.svc.Create(f.ctx, call(v1.RoleProjectAdmin), jsonInput(entity("base", "1.0.0"), &read)); kindOf(err) != service.KindConflict {
			t.Fatalf("the same name and version again = %v, want Conflict", err)
		}
		if _, err := f.svc.Create(f.ctx, call(v1.RoleProjectAdmin), jsonInput(entity("base", "one"), &read)); kindOf(err) != service.KindInvalid {
			t.Fatalf("a version that is no semantic version = %v, want Invalid", err)
		}

		yamlFile := "metadata:\n  name: imported\nspec:\n  version: 2.0.0\n  template:\n    type: cluster\n    cloudType: local\n    packs:\n" +
			"    - {name: kubernetes, tag: 1.34.4}\n    - {name: ubuntu, tag: \"24.04\"}\n    - {name: cni-calico, tag: 3.30.3}\n"
		imported, err := f.svc.Import(f.ctx, call(v1.RoleProjectAdmin), true, func() ([]byte, error) { return []byte(yamlFile), nil })
		if err != nil {
			t.Fatalf("Import: %v", err)
		}
		if rec, p, _ := f.svc.Get(f.ctx, call(v1.RoleViewer), imported); !p.Published || rec.State != "published" || p.Version != "2.0.0" {
			t.Fatalf("imported profile %s %s published %v, want 2.0.0 published", rec.Name, p.Version, p.Published)
		}
		if _, err := f.svc.Import(f.ctx, call(v1.RoleProjectAdmin), false, func() ([]byte, error) { return []byte("- [unclosed"), nil }); kindOf(err) != service.KindInvalid ||
			!strings.Contains(err.Error(), "neither JSON nor YAML") {
			t.Fatalf("importing a file that is no YAML = %v, want Invalid saying so", err)
		}
	})
}

// An update against a version the caller did not read is a Conflict and changes nothing; one
// against the current version is a new generation with its event and audit entry; a published
// profile does not change.
func TestUpdateRefusesAStaleVersion(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		uid := f.create("base", "1.0.0")
		read0, _, _ := f.svc.Get(f.ctx, call(v1.RoleViewer), uid)
		var read bool
		if err := f.svc.Update(f.ctx, call(v1.RoleClusterAdmin), uid, "", jsonInput(`not json`, &read)); kindOf(err) != service.KindForbidden || read {
			t.Fatalf("cluster admin's update = %v (input read %v); want Forbidden before the input", err, read)
		}
		if err := f.svc.Update(f.ctx, call(v1.RoleProjectAdmin), uid, service.Version(read0), jsonInput(entity("", "1.0.1"), &read)); err != nil {
			t.Fatalf("Update at the version read: %v", err)
		}
		read = false
		err := f.svc.Update(f.ctx, call(v1.RoleProjectAdmin), uid, service.Version(read0), jsonInput(entity("", "1.0.2"), &read))
		if kindOf(err) != service.KindConflict || !strings.Contains(err.Error(), "changed since you read it") || read {
			t.Fatalf("Update at a stale version = %v (input read %v); want Conflict before the input", err, read)
		}
		rec, p, _ := f.svc.Get(f.ctx, call(v1.RoleViewer), uid)
		if p.Version != "1.0.1" || rec.Name != "base" || rec.Generation != read0.Generation+1 {
			t.Fatalf("after one update and a stale one: %s %s generation %d; want base 1.0.1 at generation %d",
				rec.Name, p.Version, rec.Generation, read0.Generation+1)
		}
		if got := f.events(uid); len(got) != 2 || got[0] != "Updated: Profile draft updated" {
			t.Fatalf("events %q, want one Updated after Created", got)
		}
		if got := f.audits(); len(got) != 2 || got[0] != "update by project-admin@example.com: Updated cluster profile base 1.0.1" {
			t.Fatalf("audits %q, want the update on top", got)
		}

		if err := f.svc.Publish(f.ctx, call(v1.RoleViewer), uid); kindOf(err) != service.KindForbidden {
			t.Fatalf("viewer publishes: %v, want Forbidden", err)
		}
		for range 2 {
			if err := f.svc.Publish(f.ctx, call(v1.RoleProjectAdmin), uid); err != nil {
				t.Fatalf("Publish: %v", err)
			}
		}
		if got := f.events(uid); len(got) != 3 || !strings.HasPrefix(got[0], "Published: ") {
			t.Fatalf("events %q, want one Published on top (publishing twice writes once)", got)
		}
		err = f.svc.Update(f.ctx, call(v1.RoleProjectAdmin), uid, "", jsonInput(entity("", "1.0.1"), &read))
		if kindOf(err) != service.KindConflict || !strings.Contains(err.Error(), "is published") {
			t.Fatalf("updating a published profile = %v, want Conflict", err)
		}
	})
}

// A profile a cluster uses is not deleted; an unused one is, with its audit entry.
func TestDeleteRefusesAProfileInUse(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		used, unused := f.create("base", "1.0.0"), f.create("base", "1.1.0")
		if err := f.svc.Publish(f.ctx, call(v1.RoleProjectAdmin), used); err != nil {
			t.Fatal(err)
		}
		var read bool
		clusterUID, err := f.clusters.Create(f.ctx, call(v1.RoleClusterAdmin), "local", jsonInput(`{"metadata":{"name":"web"},"spec":{
			"profiles":[{"uid":"`+used+`"}],
			"machinepoolconfig":[{"poolConfig":{"name":"cp","size":1,"isControlPlane":true},"cloudConfig":{"instanceType":"small"}}]}}`, &read))
		if err != nil {
			t.Fatalf("creating a cluster that uses the profile: %v", err)
		}
		d, err := f.svc.Describe(f.ctx, call(v1.RoleViewer), used)
		if err != nil || len(d.UsedBy) != 1 || d.UsedBy[0] != clusterUID || len(d.Versions) != 2 ||
			d.Versions[0].Version != "1.0.0" || d.Versions[1].Version != "1.1.0" {
			t.Fatalf("Describe = %+v, %v; want used by %s, versions 1.0.0 and 1.1.0", d, err, clusterUID)
		}

		if err := f.svc.Delete(f.ctx, call(v1.RoleClusterAdmin), unused); kindOf(err) != service.KindForbidden {
			t.Fatalf("cluster admin deletes a profile: %v, want Forbidden", err)
		}
		err = f.svc.Delete(f.ctx, call(v1.RoleProjectAdmin), used)
		if kindOf(err) != service.KindConflict || !strings.Contains(err.Error(), clusterUID) {
			t.Fatalf("deleting a profile in use = %v, want Conflict naming cluster %s", err, clusterUID)
		}
		if _, _, err := f.svc.Get(f.ctx, call(v1.RoleViewer), used); err != nil {
			t.Fatalf("the profile in use is gone: %v", err)
		}
		if err := f.svc.Delete(f.ctx, call(v1.RoleProjectAdmin), unused); err != nil {
			t.Fatalf("deleting an unused profile: %v", err)
		}
		if _, _, err := f.svc.Get(f.ctx, call(v1.RoleViewer), unused); kindOf(err) != service.KindNotFound {
			t.Fatalf("Get after delete = %v, want NotFound", err)
		}
		if got := f.audits(); got[0] != "delete by project-admin@example.com: Deleted cluster profile base 1.1.0" {
			t.Fatalf("audits %q, want the delete on top", got)
		}
	})
}

// Reads show a profile only to those who see its project; a list covers the call's project and
// the tenant's profiles; the export is a file that creates the same profile.
func TestReads(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		uid := f.create("base", "1.0.0")
		other := &service.Call{Caller: service.UserCaller(tenant, "u", "q@example.com", nil,
			[]v1.ProjectRole{{ProjectUID: "project-q", Role: v1.RoleProjectAdmin}})}
		if _, _, err := f.svc.Get(f.ctx, other, uid); kindOf(err) != service.KindNotFound {
			t.Fatalf("another project's admin reads the profile: %v, want NotFound", err)
		}
		if list, err := f.svc.List(f.ctx, other); err != nil || len(list) != 0 {
			t.Fatalf("another project's admin lists %d profiles, %v; want none", len(list), err)
		}
		if list, err := f.svc.List(f.ctx, call(v1.RoleViewer)); err != nil || len(list) != 1 || list[0].Profile.CloudType != "local" {
			t.Fatalf("List = %+v, %v; want the one local profile", list, err)
		}
		if pk, err := f.svc.Pack(f.ctx, call(v1.RoleViewer), uid, "cni-calico"); err != nil || pk.Version != "3.30.3" {
			t.Fatalf("Pack = %+v, %v; want cni-calico 3.30.3", pk, err)
		}
		if _, err := f.svc.Pack(f.ctx, call(v1.RoleViewer), uid, "cilium"); kindOf(err) != service.KindNotFound {
			t.Fatalf("a pack the profile lacks = %v, want NotFound", err)
		}
		if _, _, err := f.svc.Export(f.ctx, call(v1.RoleViewer), uid, "xml"); kindOf(err) != service.KindInvalid {
			t.Fatalf("export as xml = %v, want Invalid", err)
		}
		data, name, err := f.svc.Export(f.ctx, call(v1.RoleViewer), uid, "yaml")
		if err != nil || name != "base-1.0.0.yaml" {
			t.Fatalf("Export = %q, %v; want base-1.0.0.yaml", name, err)
		}
		data = []byte(strings.Replace(string(data), "version: 1.0.0", "version: 1.0.1", 1))
		again, err := f.svc.Import(f.ctx, call(v1.RoleProjectAdmin), false, func() ([]byte, error) { return data, nil })
		if err != nil {
			t.Fatalf("importing the export as a new version: %v", err)
		}
		if _, p, _ := f.svc.Get(f.ctx, call(v1.RoleViewer), again); len(p.Packs) != 3 || p.Version != "1.0.1" {
			t.Fatalf("the imported export has %d packs at %s; want the 3 packs at 1.0.1", len(p.Packs), p.Version)
		}
	})
}
