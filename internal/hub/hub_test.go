package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/secret"
	"github.com/easelhq/easel/internal/store"
)

func TestAuthentication(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		anon := client{h: h}
		anon.fails(401, "Unauthorized", "GET", "/v1/users/info", nil, "no credentials")
		client{h: h, key: "wrong"}.fails(401, "Unauthorized", "GET", "/v1/users/info", nil, "invalid credentials")

		anon.fails(401, "Unauthorized", "POST", "/v1/auth/authenticate",
			map[string]string{"emailId": "admin@easel.local", "password": "not-it"}, "wrong email or password")
		var tok struct {
			Authorization string `json:"Authorization"`
		}
		anon.must(200, "POST", "/v1/auth/authenticate",
			map[string]string{"emailId": "ADMIN@easel.local", "password": h.adminPass}, &tok)
		var info struct {
			UserUID string `json:"userUid"`
		}
		anon.must(200, "GET", "/v1/users/info", nil, &info, "Authorization", tok.Authorization)
		if info.UserUID == "" {
			t.Fatal("token login: no user uid")
		}
		// A session token is not an API key.
		client{h: h, key: tok.Authorization}.fails(401, "Unauthorized", "GET", "/v1/users/info", nil, "invalid credentials")

		// A deleted API key stops working at once.
		var key struct{ APIKey, UID string }
		h.admin().must(201, "POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": "ci"}}, &key)
		client{h: h, key: key.APIKey}.must(200, "GET", "/v1/users/info", nil, nil)
		h.admin().must(204, "DELETE", "/v1/apiKeys/"+key.UID, nil, nil)
		client{h: h, key: key.APIKey}.fails(401, "Unauthorized", "GET", "/v1/users/info", nil)

		// Only hashes are stored.
		creds, _ := h.store.ListCredentials(context.Background(), mustTenant(t, h), store.CredentialAPIKey)
		for _, c := range creds {
			if c.Hash == adminKey || strings.Contains(c.Hash, "easel-") {
				t.Fatalf("credential %s stores its secret", c.UID)
			}
		}
	})
}

func mustTenant(t *testing.T, h *testHub) string {
	v, err := h.store.GetSetting(context.Background(), "tenant.uid")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestProjectIsolation(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		a, b := h.createProject("team-a"), h.createProject("team-b")
		alice := h.userWith("alice@example.com", a, "cluster-admin")
		bob := h.userWith("bob@example.com", b, "viewer")

		profA := h.admin().in(a).publishedProfile("base")
		profB := h.admin().in(b).publishedProfile("base")
		clusterA := alice.in(a).createCluster("web", profA)
		clusterB := h.admin().in(b).createCluster("db", profB)

		// Alice sees her project's cluster, not project B's: 404, not 403.
		alice.must(200, "GET", "/v1/spectroclusters/"+clusterA, nil, nil)
		alice.fails(404, "ResourceNotFound", "GET", "/v1/spectroclusters/"+clusterB, nil)
		alice.in(a).fails(404, "ResourceNotFound", "GET", "/v1/spectroclusters/"+clusterB, nil)
		alice.in(b).fails(404, "ResourceNotFound", "GET", "/v1/spectroclusters/"+clusterA, nil, "project")
		alice.fails(404, "ResourceNotFound", "GET", "/v1/events/components/spectrocluster/"+clusterB, nil)
		alice.fails(404, "ResourceNotFound", "GET", "/v1/clusterprofiles/"+profB, nil)
		// …and cannot use project B's profile for a cluster of hers.
		alice.in(a).fails(400, "InvalidArgument", "POST", "/v1/spectroclusters/cloudTypes/local",
			clusterEntity("sneaky", profB), "profile "+profB+" not found")

		names := func(c client) string {
			var out struct {
				Items []struct {
					Metadata struct{ Name string }
				}
			}
			c.must(200, "POST", "/v1/dashboard/spectroclusters/search", map[string]any{}, &out)
			var n []string
			for _, it := range out.Items {
				n = append(n, it.Metadata.Name)
			}
			return strings.Join(n, ",")
		}
		if got := names(alice); got != "web" {
			t.Errorf("alice's search = %q, want web", got)
		}
		if got := names(bob); got != "db" {
			t.Errorf("bob's search = %q, want db", got)
		}
		if got := names(h.admin()); got != "db,web" {
			t.Errorf("tenant admin's search = %q, want db,web (all projects)", got)
		}
		if got := names(h.admin().in(a)); got != "web" {
			t.Errorf("tenant admin's search in project a = %q, want web", got)
		}

		// A viewer reads but does not write; the failed write stores nothing.
		bob.in(b).fails(403, "Forbidden", "POST", "/v1/spectroclusters/cloudTypes/local", clusterEntity("nope", profB))
		bob.in(b).fails(403, "Forbidden", "DELETE", "/v1/spectroclusters/"+clusterB, nil)
		// A cluster admin does not write profiles, nor anything in the tenant scope.
		alice.in(a).fails(403, "Forbidden", "POST", "/v1/clusterprofiles", profile("mine", "1.0.0"))
		alice.fails(403, "Forbidden", "POST", "/v1/clusterprofiles", profile("mine", "1.0.0"), "tenant admin")
		alice.fails(403, "Forbidden", "POST", "/v1/projects", map[string]any{"metadata": map[string]any{"name": "x"}})
		var projects struct {
			Items []struct{ Metadata struct{ Name string } }
		}
		alice.must(200, "GET", "/v1/dashboard/projects/metadata", nil, &projects)
		if len(projects.Items) != 1 || projects.Items[0].Metadata.Name != "team-a" {
			t.Errorf("alice's projects = %+v, want only team-a", projects.Items)
		}

		// Every write is audited, with its actor; alice reads no audits (not a project admin).
		var audits struct {
			Items []struct {
				Spec struct {
					ActionType string
					Actor      struct{ User struct{ Name string } }
					Resource   struct{ Kind, Name string }
				}
			}
		}
		h.admin().must(200, "GET", "/v1/audits?limit=100", nil, &audits)
		var log []string
		for _, a := range audits.Items {
			log = append(log, a.Spec.ActionType+" "+a.Spec.Resource.Kind+" "+a.Spec.Resource.Name+" by "+a.Spec.Actor.User.Name)
		}
		for _, want := range []string{"create spectrocluster web by alice@example.com", "create spectrocluster db by admin@easel.local",
			"publish clusterprofile base by admin@easel.local", "create project team-b by admin@easel.local"} {
			if !strings.Contains(strings.Join(log, "\n"), want) {
				t.Errorf("audit trail lacks %q:\n%s", want, strings.Join(log, "\n"))
			}
		}
		var none struct{ Items []any }
		alice.must(200, "GET", "/v1/audits", nil, &none)
		if len(none.Items) != 0 {
			t.Errorf("a cluster admin reads %d audit entries, want 0", len(none.Items))
		}
	})
}

func TestProfileValidation(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		withPacks := func(typ string, packs ...map[string]any) map[string]any {
			p := profile("bad", "1.0.0")
			tmpl := p["spec"].(map[string]any)["template"].(map[string]any)
			tmpl["type"], tmpl["packs"] = typ, packs
			return p
		}
		os := map[string]any{"name": "ubuntu", "tag": "24.04"}
		k8s := map[string]any{"name": "kubernetes", "tag": "1.34.4"}
		tests := []struct {
			name string
			body any
			want []string
		}{
			{"unknown pack", withPacks("cluster", os, k8s, map[string]any{"name": "cni-nope", "tag": "1.0"}), []string{`unknown pack "cni-nope"`}},
			{"unknown version", withPacks("cluster", os, map[string]any{"name": "kubernetes", "tag": "9.9.9"}), []string{`no version "9.9.9"`, "1.34.4"}},
			{"two CNIs", withPacks("cluster", os, k8s, map[string]any{"name": "cni-calico", "tag": "3.30.3"}, map[string]any{"name": "cni-cilium", "tag": latest("cni-cilium")}), []string{"layer cni holds cni-calico and cni-cilium"}},
			{"infra without OS", withPacks("infra", k8s), []string{"needs a os layer"}},
			{"add-on with infra layer", withPacks("add-on", k8s), []string{"only add-on packs"}},
			{"values with bad YAML", withPacks("cluster", os, map[string]any{"name": "kubernetes", "tag": "1.34.4", "values": "a: 1\nb: [\n"}), []string{"spec.template.packs[1] (kubernetes).values", "line 2"}},
			{"bad name", profile("Bad_Name", "1.0.0"), []string{"metadata.name"}},
			{"bad version", profile("ok", "one"), []string{"spec.version"}},
			{"no packs", withPacks("cluster"), []string{"at least one pack"}},
			{"manifest pack with bad YAML", withPacks("add-on", map[string]any{"name": "mine", "type": "manifest",
				"manifests": []map[string]any{{"name": "cm", "content": "kind: ConfigMap\n  bad: [\n"}}}), []string{"manifests[0]", "line"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c.fails(400, "InvalidArgument", "POST", "/v1/clusterprofiles", tt.body, tt.want...)
			})
		}
		var list struct{ Items []any }
		c.must(200, "GET", "/v1/dashboard/clusterprofiles/metadata", nil, &list)
		if len(list.Items) != 0 {
			t.Fatalf("%d profiles stored after only bad requests", len(list.Items))
		}
	})
}

func TestProfileLifecycle(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		var created uidBody
		c.must(201, "POST", "/v1/clusterprofiles", profile("base", "1.0.0"), &created)
		uid := created.UID

		type packRef struct{ Name, Layer, Tag, Values string }
		type tmpl struct{ Packs []packRef }
		var got struct {
			Spec struct {
				Draft, Published *tmpl
				Versions         []struct{ Version string }
			}
			Status struct{ IsPublished bool }
		}
		_, _, hdr := c.do("GET", "/v1/clusterprofiles/"+uid, nil)
		c.must(200, "GET", "/v1/clusterprofiles/"+uid, nil, &got)
		if got.Status.IsPublished || got.Spec.Draft == nil || got.Spec.Published != nil {
			t.Fatalf("new profile: %+v, want a draft", got)
		}
		var layers []string
		for _, p := range got.Spec.Draft.Packs {
			layers = append(layers, p.Layer+":"+p.Name)
		}
		if strings.Join(layers, " ") != "os:ubuntu k8s:kubernetes cni:cni-calico addon:prometheus-operator" {
			t.Fatalf("packs in layer order = %v", layers)
		}
		if got.Spec.Draft.Packs[0].Values == "" {
			t.Fatal("a pack without values did not get the pack's defaults")
		}

		// Drafts change; a stale If-Match does not.
		changed := profile("base", "1.0.0")
		changed["spec"].(map[string]any)["template"].(map[string]any)["packs"] = []map[string]any{
			{"name": "ubuntu", "tag": "24.04"}, {"name": "kubernetes", "tag": "1.34.4", "values": "podCIDR: 10.244.0.0/16\n"}}
		c.must(204, "PUT", "/v1/clusterprofiles/"+uid, changed, nil, "If-Match", hdr.Get("ETag"))
		status, data, _ := c.do("PUT", "/v1/clusterprofiles/"+uid, changed, "If-Match", hdr.Get("ETag"))
		if status != 409 || !strings.Contains(string(data), "changed since you read it") {
			t.Fatalf("update with a stale If-Match: %d %s, want 409", status, data)
		}

		c.must(204, "PATCH", "/v1/clusterprofiles/"+uid+"/publish", nil, nil)
		c.must(200, "GET", "/v1/clusterprofiles/"+uid, nil, &got)
		if !got.Status.IsPublished || got.Spec.Published == nil || len(got.Spec.Published.Packs) != 2 {
			t.Fatalf("published profile: %+v", got)
		}
		c.fails(409, "Conflict", "PUT", "/v1/clusterprofiles/"+uid, changed, "published", "new version")
		c.fails(409, "Conflict", "POST", "/v1/clusterprofiles", profile("base", "1.0.0"), "already exists")
		var v2 uidBody
		c.must(201, "POST", "/v1/clusterprofiles", profile("base", "1.1.0"), &v2)
		c.must(200, "GET", "/v1/clusterprofiles/"+v2.UID, nil, &got)
		if len(got.Spec.Versions) != 2 || got.Spec.Versions[0].Version != "1.0.0" || got.Spec.Versions[1].Version != "1.1.0" {
			t.Fatalf("versions = %+v, want 1.0.0 and 1.1.0", got.Spec.Versions)
		}

		// Export, then import as a new version.
		status, exported, hdr := c.do("GET", "/v1/clusterprofiles/"+uid+"/export?format=yaml", nil)
		if status != 200 || hdr.Get("Content-Type") != "application/octet-stream" || !strings.Contains(string(exported), "name: base") {
			t.Fatalf("export: %d %s %s", status, hdr.Get("Content-Type"), exported)
		}
		imported := strings.Replace(string(exported), "version: 1.0.0", "version: 2.0.0", 1)
		uidImported := importFile(t, c, imported)
		c.must(200, "GET", "/v1/clusterprofiles/"+uidImported, nil, &got)
		if !got.Status.IsPublished || got.Spec.Published.Packs[1].Values != "podCIDR: 10.244.0.0/16\n" {
			t.Fatalf("imported profile: %+v", got.Spec.Published)
		}

		// A profile in use cannot be deleted; an unused one can.
		cluster := c.createCluster("web", uid)
		c.fails(409, "Conflict", "DELETE", "/v1/clusterprofiles/"+uid, nil, "used by 1 cluster", cluster)
		c.must(204, "DELETE", "/v1/clusterprofiles/"+v2.UID, nil, nil)
		c.fails(404, "ResourceNotFound", "GET", "/v1/clusterprofiles/"+v2.UID, nil)
	})
}

func TestManifestPack(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		body := map[string]any{"metadata": map[string]any{"name": "extras"}, "spec": map[string]any{"template": map[string]any{
			"type": "add-on", "packs": []map[string]any{{"name": "team-config", "type": "manifest",
				"manifests": []map[string]any{{"name": "settings", "content": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n"}}}}}}}
		var out uidBody
		c.must(201, "POST", "/v1/clusterprofiles", body, &out)
		var manifests struct {
			Items []struct {
				Metadata struct{ UID, Name string }
				Spec     struct{ Published struct{ Content string } }
			}
		}
		c.must(200, "GET", "/v1/clusterprofiles/"+out.UID+"/packs/team-config/manifests", nil, &manifests)
		if len(manifests.Items) != 1 || manifests.Items[0].Metadata.UID == "" || !strings.Contains(manifests.Items[0].Spec.Published.Content, "kind: ConfigMap") {
			t.Fatalf("manifests = %+v", manifests.Items)
		}
		c.fails(404, "ResourceNotFound", "GET", "/v1/clusterprofiles/"+out.UID+"/packs/nope/manifests", nil)
	})
}

func TestClusterLifecycle(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		uid := c.createCluster("web", c.publishedProfile("base"))

		var cl struct {
			Metadata struct{ Name string }
			Spec     struct {
				CloudType               string
				CloudConfigRef          struct{ UID string }
				ClusterProfileTemplates []struct {
					Name  string
					Packs []struct{ Name string }
				}
			}
			Status struct {
				State      string
				Conditions []struct{ Type, Status, Reason, Message string }
			}
		}
		c.must(200, "GET", "/v1/spectroclusters/"+uid, nil, &cl)
		if cl.Status.State != "Pending" || len(cl.Status.Conditions) != 1 ||
			cl.Status.Conditions[0].Type != "InfrastructureReady" || cl.Status.Conditions[0].Status != "False" ||
			cl.Status.Conditions[0].Reason != "WaitingForProvisioning" {
			t.Fatalf("new cluster status = %+v, want Pending and waiting for provisioning", cl.Status)
		}
		if cl.Spec.CloudType != "local" || len(cl.Spec.ClusterProfileTemplates) != 1 || len(cl.Spec.ClusterProfileTemplates[0].Packs) != 4 {
			t.Fatalf("spec = %+v", cl.Spec)
		}
		cfg := "/v1/cloudconfigs/cloudTypes/local/" + cl.Spec.CloudConfigRef.UID
		var cc struct {
			Spec struct {
				MachinePoolConfig []struct {
					Name           string
					Size           int
					IsControlPlane bool
					InstanceType   string
					Azs            []string
				}
			}
		}
		c.must(200, "GET", cfg, nil, &cc)
		if got := fmt.Sprint(cc.Spec.MachinePoolConfig); got != "[{cp 1 true small [local-a]} {workers 2 false medium [local-a local-b]}]" {
			t.Fatalf("pools = %s", got)
		}
		c.fails(404, "ResourceNotFound", "GET", "/v1/cloudconfigs/cloudTypes/aws/"+cl.Spec.CloudConfigRef.UID, nil)

		// A PUT replaces the whole pool: one without cloudConfig would give workers the default zone
		// and repave them, so it is refused and the spec keeps its generation and its pools.
		var gen struct{ Status struct{ Generation int64 } }
		c.must(200, "GET", "/v1/spectroclusters/"+uid, nil, &gen)
		before := gen.Status.Generation
		c.fails(400, "InvalidArgument", "PUT", cfg+"/machinePools/workers", map[string]any{"poolConfig": map[string]any{"name": "workers", "size": 3}},
			"cloudConfig is required", "pool workers would lose its zones")
		c.fails(400, "InvalidArgument", "PUT", cfg+"/machinePools/workers", map[string]any{"poolConfig": map[string]any{"size": 3}, "cloudConfig": nil}, "cloudConfig is required")
		c.must(200, "GET", "/v1/spectroclusters/"+uid, nil, &gen)
		c.must(200, "GET", cfg, nil, &cc)
		if got := fmt.Sprint(cc.Spec.MachinePoolConfig); gen.Status.Generation != before || got != "[{cp 1 true small [local-a]} {workers 2 false medium [local-a local-b]}]" {
			t.Fatalf("after refused PUTs: generation %d (was %d), pools %s; want both unchanged", gen.Status.Generation, before, got)
		}

		// Pools: add, resize, refuse to drop the control plane or add a second one.
		c.must(201, "POST", cfg+"/machinePools", map[string]any{"poolConfig": map[string]any{"name": "gpu", "size": 0}}, nil)
		c.fails(409, "Conflict", "POST", cfg+"/machinePools", map[string]any{"poolConfig": map[string]any{"name": "gpu"}}, "already has a pool")
		c.fails(400, "InvalidArgument", "POST", cfg+"/machinePools", map[string]any{"poolConfig": map[string]any{"name": "cp2", "isControlPlane": true}}, "only one pool may be the control plane")
		c.must(204, "PUT", cfg+"/machinePools/workers", map[string]any{"poolConfig": map[string]any{"size": 4}, "cloudConfig": map[string]any{"instanceType": "large"}}, nil)
		c.fails(400, "InvalidArgument", "DELETE", cfg+"/machinePools/cp", nil, "control plane")
		c.must(204, "DELETE", cfg+"/machinePools/gpu", nil, nil)
		c.must(200, "GET", cfg, nil, &cc)
		if got := fmt.Sprint(cc.Spec.MachinePoolConfig); got != "[{cp 1 true small [local-a]} {workers 4 false large [local-a]}]" {
			t.Fatalf("pools after changes = %s", got)
		}
		var machines struct{ Items []any }
		c.must(200, "GET", cfg+"/machinePools/workers/machines", nil, &machines)
		if len(machines.Items) != 0 {
			t.Fatalf("machines before any provider acted: %d", len(machines.Items))
		}

		// Summary, overview, status, search by name, the event stream.
		var sum struct {
			Spec struct {
				CloudConfig struct{ MachinePools []struct{ Name string } }
			}
			Status struct{ State string }
		}
		c.must(200, "GET", "/v1/dashboard/spectroclusters/"+uid+"/overview", nil, &sum)
		if sum.Status.State != "Pending" || len(sum.Spec.CloudConfig.MachinePools) != 2 {
			t.Fatalf("overview = %+v", sum)
		}
		c.must(200, "GET", "/v1/spectroclusters/"+uid+"/status", nil, nil)
		c.createCluster("web-2", c.publishedProfile("other"))
		var found struct {
			Items    []struct{ Metadata struct{ UID string } }
			Listmeta struct{ Count int }
		}
		c.must(200, "POST", "/v1/dashboard/spectroclusters/search", map[string]any{"filter": map[string]any{"conjunction": "and",
			"filterGroups": []map[string]any{{"conjunction": "and", "filters": []map[string]any{
				{"property": "clusterName", "type": "string", "condition": map[string]any{"string": map[string]any{"operator": "eq", "match": map[string]any{"conjunction": "or", "values": []string{"web"}}}}},
				{"property": "isDeleted", "type": "bool", "condition": map[string]any{"bool": map[string]any{"value": false}}},
			}}}}}, &found)
		if len(found.Items) != 1 || found.Items[0].Metadata.UID != uid || found.Listmeta.Count != 1 {
			t.Fatalf("search by name = %+v", found)
		}
		c.fails(400, "InvalidArgument", "POST", "/v1/dashboard/spectroclusters/search", map[string]any{"filter": map[string]any{
			"filterGroups": []map[string]any{{"filters": []map[string]any{{"property": "tags", "condition": map[string]any{}}}}}}}, `property "tags"`)

		var events struct {
			Items []struct{ Reason, Message, Severity string }
		}
		c.must(200, "GET", "/v1/events/components/spectrocluster/"+uid, nil, &events)
		var reasons []string
		for _, e := range events.Items {
			reasons = append(reasons, e.Reason)
		}
		if strings.Join(reasons, ",") != "MachinePoolChanged,MachinePoolChanged,MachinePoolChanged,Created" {
			t.Fatalf("events newest first = %v", reasons)
		}

		// Deleting is asynchronous: the engine tears the cluster down, then removes it. This hub runs
		// no engine, so the cluster stays Deleting and no longer accepts changes.
		c.must(204, "DELETE", "/v1/spectroclusters/"+uid, nil, nil)
		c.must(200, "GET", "/v1/spectroclusters/"+uid, nil, &cl)
		if cl.Status.State != "Deleting" {
			t.Fatalf("state after delete = %s, want Deleting", cl.Status.State)
		}
		c.must(204, "DELETE", "/v1/spectroclusters/"+uid, nil, nil)
		c.fails(409, "Conflict", "PUT", cfg+"/machinePools/workers", map[string]any{"poolConfig": map[string]any{"size": 1}, "cloudConfig": map[string]any{}}, "being deleted")
		c.fails(409, "Conflict", "GET", "/v1/spectroclusters/"+uid+"/assets/kubeconfig", nil, "no provider")
	})
}

func TestClusterBadInput(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		prof := c.publishedProfile("base")
		var draft, addon uidBody
		c.must(201, "POST", "/v1/clusterprofiles", profile("draft", "1.0.0"), &draft)
		c.must(201, "POST", "/v1/clusterprofiles", map[string]any{"metadata": map[string]any{"name": "mon"}, "spec": map[string]any{"template": map[string]any{
			"type": "add-on", "packs": []map[string]any{{"name": "prometheus-operator", "tag": latest("prometheus-operator")}}}}}, &addon)
		c.must(204, "PATCH", "/v1/clusterprofiles/"+addon.UID+"/publish", nil, nil)
		var aws uidBody
		awsProfile := profile("aws-only", "1.0.0")
		awsProfile["spec"].(map[string]any)["template"].(map[string]any)["cloudType"] = "aws"
		c.must(201, "POST", "/v1/clusterprofiles", awsProfile, &aws)
		c.must(204, "PATCH", "/v1/clusterprofiles/"+aws.UID+"/publish", nil, nil)

		pools := func(p ...map[string]any) map[string]any {
			e := clusterEntity("bad", prof)
			e["spec"].(map[string]any)["machinepoolconfig"] = p
			return e
		}
		profs := func(uids ...string) map[string]any {
			e := clusterEntity("bad", prof)
			var refs []map[string]any
			for _, u := range uids {
				refs = append(refs, map[string]any{"uid": u})
			}
			e["spec"].(map[string]any)["profiles"] = refs
			return e
		}
		cp := map[string]any{"poolConfig": map[string]any{"name": "cp", "size": 1, "isControlPlane": true}}
		tests := []struct {
			name string
			body any
			want string
		}{
			{"no control plane", pools(map[string]any{"poolConfig": map[string]any{"name": "w", "size": 2}}), "needs a control-plane pool"},
			{"control plane of size 0", pools(map[string]any{"poolConfig": map[string]any{"name": "cp", "size": 0, "isControlPlane": true}}), "size >= 1"},
			{"negative workers", pools(cp, map[string]any{"poolConfig": map[string]any{"name": "w", "size": -1}}), "size must be >= 0"},
			{"unknown instance type", pools(cp, map[string]any{"poolConfig": map[string]any{"name": "w"}, "cloudConfig": map[string]any{"instanceType": "huge"}}), `unknown instance type "huge"`},
			{"unknown zone", pools(cp, map[string]any{"poolConfig": map[string]any{"name": "w"}, "cloudConfig": map[string]any{"azs": []string{"mars-1"}}}), `unknown zone "mars-1"`},
			{"duplicate pool", pools(cp, cp), `pool name "cp" is used twice`},
			{"draft profile", profs(draft.UID), "is a draft"},
			{"add-on profile only", profs(addon.UID), "exactly one infra or cluster profile"},
			{"two infra profiles", profs(prof, c.publishedProfile("base2")), "exactly one infra"},
			{"profile for another cloud", profs(aws.UID), `is for cloud type "aws"`},
			{"bad pool YAML", pools(map[string]any{"poolConfig": map[string]any{"isControlPlane": true}, "cloudConfig": map[string]any{"values": "kind: KubeadmControlPlane\nmetadata: [\n"}}), "line"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c.fails(400, "InvalidArgument", "POST", "/v1/spectroclusters/cloudTypes/local", tt.body, tt.want)
			})
		}
		c.fails(400, "InvalidArgument", "POST", "/v1/spectroclusters/cloudTypes/vsphere", clusterEntity("x", prof), `cloud type "vsphere" is not supported`)
		h.admin().fails(400, "InvalidArgument", "POST", "/v1/spectroclusters/cloudTypes/local", clusterEntity("x", prof), "ProjectUid")

		// Pools described the Palette way: YAML in cloudConfig.values.
		yamlPools := pools(
			map[string]any{"poolConfig": map[string]any{}, "cloudConfig": map[string]any{"values": "apiVersion: controlplane.cluster.x-k8s.io/v1beta1\nkind: KubeadmControlPlane\nmetadata:\n  name: control-plane\nspec:\n  replicas: 3\n"}},
			map[string]any{"poolConfig": map[string]any{}, "cloudConfig": map[string]any{"values": "kind: MachineDeployment\nmetadata:\n  name: worker-pool\nspec:\n  replicas: 5\n  template:\n    spec:\n      failureDomain: local-c\n---\nkind: LocalMachineTemplate\nspec:\n  template:\n    spec:\n      instanceType: large\n      diskGiB: 120\n"}})
		yamlPools["metadata"] = map[string]any{"name": "from-yaml"}
		var out uidBody
		c.must(201, "POST", "/v1/spectroclusters/cloudTypes/local", yamlPools, &out)
		var sum struct {
			Spec struct {
				CloudConfig struct {
					MachinePools []struct {
						Name           string
						Size           int
						IsControlPlane bool
					}
				}
			}
		}
		c.must(200, "GET", "/v1/dashboard/spectroclusters/"+out.UID, nil, &sum)
		if got := fmt.Sprint(sum.Spec.CloudConfig.MachinePools); got != "[{control-plane 3 true} {worker-pool 5 false}]" {
			t.Fatalf("pools from YAML = %s", got)
		}

		var found struct{ Items []any }
		c.must(200, "POST", "/v1/dashboard/spectroclusters/search", nil, &found)
		if len(found.Items) != 1 {
			t.Fatalf("%d clusters stored, want only the valid one", len(found.Items))
		}
	})
}

func TestRequestLimits(t *testing.T) {
	h := newTestHub(t, t.TempDir()+"/easel.db")
	c := h.admin().in(h.defaultPrj)
	big := `{"metadata":{"name":"big"},"pad":"` + strings.Repeat("x", 5<<20) + `"}`
	c.fails(413, "RequestEntityTooLarge", "POST", "/v1/clusterprofiles", big, "over the limit")
	c.fails(400, "InvalidArgument", "POST", "/v1/clusterprofiles", "{\n  \"metadata\": {\"name\": \"x\",}\n}", "line 2")
	c.fails(400, "InvalidArgument", "POST", "/v1/clusterprofiles", `{"metadata": {"name": 7}}`, `"metadata.name"`, "expected string")
	c.fails(400, "InvalidArgument", "POST", "/v1/clusterprofiles", "", "empty")
	// Unknown fields are accepted and ignored.
	p := profile("extra", "1.0.0")
	p["spec"].(map[string]any)["somethingNew"] = map[string]any{"x": 1}
	c.must(201, "POST", "/v1/clusterprofiles", p, nil)
	c.fails(404, "ResourceNotFound", "GET", "/v1/nothing-here", nil)
	c.fails(400, "InvalidArgument", "GET", "/v1/audits?limit=-1", nil, "limit")
}

func TestEventsArePagedNewestFirst(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		uid := c.createCluster("web", c.publishedProfile("base"))
		ctx := context.Background()
		rec, err := h.store.GetObject(ctx, "spectrocluster", uid)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 119 {
			h.store.AddEvent(ctx, &store.Event{UID: fmt.Sprint("e", i), TenantUID: rec.TenantUID, ProjectUID: rec.ProjectUID,
				ObjectKind: rec.Kind, ObjectUID: uid, Reason: "Step", Message: fmt.Sprint("step ", i), Severity: "Info"})
		}
		var page struct {
			Items    []struct{ Message string }
			Listmeta struct {
				Continue string
				Count    int
			}
		}
		var all []string
		path := "/v1/events/components/spectrocluster/" + uid + "?limit=50"
		for pages := 0; ; pages++ {
			if pages > 3 {
				t.Fatal("paging does not end")
			}
			c.must(200, "GET", path, nil, &page)
			for _, it := range page.Items {
				all = append(all, it.Message)
			}
			if page.Listmeta.Continue == "" {
				break
			}
			path = "/v1/events/components/spectrocluster/" + uid + "?limit=50&continue=" + page.Listmeta.Continue
		}
		if len(all) != 120 || page.Listmeta.Count != 120 || all[0] != "step 118" || !strings.HasPrefix(all[119], "Cluster created") {
			t.Fatalf("%d events (count %d), first %q, last %q", len(all), page.Listmeta.Count, all[0], all[len(all)-1])
		}
	})
}

func TestMetricsAndHealth(t *testing.T) {
	h := newTestHub(t, t.TempDir()+"/easel.db")
	h.admin().must(200, "GET", "/v1/users/info", nil, nil)
	anon := client{h: h}
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, body, _ := anon.do("GET", path, nil); status != 200 || string(body) != "ok\n" {
			t.Fatalf("%s: %d %q", path, status, body)
		}
	}
	_, body, _ := anon.do("GET", "/metrics", nil)
	if !strings.Contains(string(body), `easel_http_requests_total{code="200",method="GET",route="GET /v1/users/info"} 1`) {
		t.Fatalf("metrics lack the request counter:\n%s", body)
	}
}

func TestNotYetImplementedIsSaid(t *testing.T) {
	h := newTestHub(t, t.TempDir()+"/easel.db")
	c := h.admin().in(h.defaultPrj)
	uid := c.createCluster("web", c.publishedProfile("base"))
	c.fails(403, "Forbidden", "PUT", "/v1/spectroclusters/"+uid+"/status/upgrades", map[string]any{}, "agent's token")
	token, err := secret.IssueAgentToken(context.Background(), h.store, mustTenant(t, h), uid)
	if err != nil {
		t.Fatal(err)
	}
	status, body, _ := client{h: h}.do("PUT", "/v1/spectroclusters/"+uid+"/status/upgrades", map[string]any{}, "Authorization", "Bearer "+token)
	if status != 501 || !strings.Contains(string(body), "reporting upgrades from the agent is not implemented") {
		t.Fatalf("the agent reporting upgrades: %d %s, want 501 naming it", status, body)
	}
}

func TestAgentEndpoints(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		ctx := context.Background()
		c := h.admin().in(h.defaultPrj)
		prof := c.publishedProfile("base")
		mine, other := c.createCluster("mine", prof), c.createCluster("other", prof)
		tenant := mustTenant(t, h)
		token, err := secret.IssueAgentToken(ctx, h.store, tenant, mine)
		if err != nil {
			t.Fatal(err)
		}
		agent := client{h: h}
		bearer := []string{"Authorization", "Bearer " + token}
		do := func(method, path string, body any) (int, string) {
			status, data, _ := agent.do(method, path, body, bearer...)
			return status, string(data)
		}

		// Its own cluster: heartbeat recorded with the hub's time; the desired packs rendered.
		if status, body := do("PUT", "/v1/spectroclusters/"+mine+"/heartbeat", map[string]string{"agentVersion": "0.1.0"}); status != 204 {
			t.Fatalf("heartbeat: %d %s", status, body)
		}
		var sum struct {
			Status struct {
				Health struct {
					AgentVersion           string
					LastHeartBeatTimestamp time.Time
				}
			}
		}
		c.must(200, "GET", "/v1/dashboard/spectroclusters/"+mine, nil, &sum)
		if sum.Status.Health.AgentVersion != "0.1.0" || time.Since(sum.Status.Health.LastHeartBeatTimestamp) > time.Minute {
			t.Fatalf("health after a heartbeat = %+v", sum.Status.Health)
		}
		status, body := do("GET", "/v1/spectroclusters/"+mine+"/agent/desired?generation=0", nil)
		var d struct {
			Generation int64
			Packs      []struct {
				Name, Layer string
				Manifests   []struct{ Name, Content string }
			}
		}
		json.Unmarshal([]byte(body), &d)
		var order []string
		for _, p := range d.Packs {
			order = append(order, p.Layer+":"+p.Name)
		}
		if status != 200 || d.Generation != 1 || strings.Join(order, " ") != "os:ubuntu k8s:kubernetes cni:cni-calico addon:prometheus-operator" ||
			!strings.Contains(d.Packs[2].Manifests[0].Content, "kind: DaemonSet") {
			t.Fatalf("desired = %d %v %s", status, order, body[:min(len(body), 300)])
		}
		// Nothing changed since the generation the agent has: 304 after the (short) wait.
		if status, _ := do("GET", "/v1/spectroclusters/"+mine+"/agent/desired?generation=1&wait=50ms", nil); status != 304 {
			t.Fatalf("long-poll of an unchanged cluster: %d, want 304", status)
		}
		// A pack report; bad ones change nothing.
		if status, body := do("PUT", "/v1/spectroclusters/"+mine+"/agent/packs", map[string]any{"generation": 1,
			"packs": []map[string]any{{"name": "cni-calico", "version": "3.30.3", "state": "Applied", "objects": 5}}}); status != 204 {
			t.Fatalf("pack report: %d %s", status, body)
		}
		if status, _ := do("PUT", "/v1/spectroclusters/"+mine+"/agent/packs", map[string]any{"generation": 1,
			"packs": []map[string]any{{"name": "x", "state": "Exploded"}}}); status != 400 {
			t.Fatalf("bad pack state: %d, want 400", status)
		}
		if status, _ := do("PUT", "/v1/spectroclusters/"+mine+"/heartbeat", "{not json"); status != 400 {
			t.Fatalf("malformed heartbeat: %d, want 400", status)
		}
		var cl struct {
			Status struct {
				Packs []struct{ Name, State string }
			}
		}
		c.must(200, "GET", "/v1/spectroclusters/"+mine, nil, &cl)
		if len(cl.Status.Packs) != 1 || cl.Status.Packs[0].State != "Applied" {
			t.Fatalf("packs after the report = %+v", cl.Status.Packs)
		}

		// Conditions the agent observes; the hub's own ones it cannot set.
		if status, body := do("PATCH", "/v1/spectroclusters/"+mine+"/status/conditions", []map[string]string{
			{"type": "APIServerReachable", "status": "True", "reason": "Reachable", "message": "Kubernetes v1.34.4"}}); status != 204 {
			t.Fatalf("conditions: %d %s", status, body)
		}
		if status, body := do("PATCH", "/v1/spectroclusters/"+mine+"/status/conditions", []map[string]string{
			{"type": "PacksApplied", "status": "True"}}); status != 400 || !strings.Contains(body, "hub's own") {
			t.Fatalf("agent setting PacksApplied: %d %s, want 400", status, body)
		}
		var withConds struct {
			Status struct {
				Conditions []struct{ Type, Status, Reason string }
			}
		}
		c.must(200, "GET", "/v1/spectroclusters/"+mine, nil, &withConds)
		if got := fmt.Sprint(withConds.Status.Conditions); !strings.Contains(got, "{APIServerReachable True Reachable}") {
			t.Fatalf("conditions after the agent's patch = %s", got)
		}

		// Another cluster with this token: 403, and the attempt is audited.
		if status, body := do("PUT", "/v1/spectroclusters/"+other+"/heartbeat", map[string]string{"agentVersion": "0.1.0"}); status != 403 ||
			!strings.Contains(body, "another cluster") {
			t.Fatalf("heartbeat for another cluster: %d %s, want 403", status, body)
		}
		var audits struct {
			Items []struct {
				Spec struct{ ActionType, ActionMsg string }
			}
		}
		h.admin().must(200, "GET", "/v1/audits", nil, &audits)
		if audits.Items[0].Spec.ActionType != "denied" || !strings.Contains(audits.Items[0].Spec.ActionMsg, other) {
			t.Fatalf("newest audit entry = %+v, want the denied agent call", audits.Items[0])
		}
		// The agent token opens no user endpoint, and a user's key opens no agent endpoint.
		if status, _ := do("GET", "/v1/spectroclusters/"+mine, nil); status != 403 {
			t.Fatalf("agent token on a user endpoint: %d, want 403", status)
		}
		c.fails(403, "Forbidden", "PUT", "/v1/spectroclusters/"+mine+"/heartbeat", map[string]string{})
		// A new token revokes the old one.
		if _, err := secret.IssueAgentToken(ctx, h.store, tenant, mine); err != nil {
			t.Fatal(err)
		}
		if status, _ := do("PUT", "/v1/spectroclusters/"+mine+"/heartbeat", map[string]string{}); status != 401 {
			t.Fatalf("revoked agent token: %d, want 401", status)
		}
	})
}
