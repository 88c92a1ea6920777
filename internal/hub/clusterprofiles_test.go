package hub_test

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
)

// addOnProfile is a published add-on profile with one manifest pack.
func (c client) addOnProfile(name, version, data string) string {
	var out uidBody
	c.must(201, "POST", "/v1/clusterprofiles", map[string]any{
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{"version": version, "template": map[string]any{"type": "add-on", "cloudType": "local",
			"packs": []map[string]any{{"name": "settings", "type": "manifest", "layer": "addon", "manifests": []map[string]any{{"name": "settings",
				"content": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {v: \"" + data + "\"}\n"}}}}}},
	}, &out)
	c.must(204, "PATCH", "/v1/clusterprofiles/"+out.UID+"/publish", nil, nil)
	return out.UID
}

func TestClusterProfileChanges(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		ctx := context.Background()
		c := h.admin().in(h.defaultPrj)
		base := c.publishedProfile("base")
		uid := c.createCluster("shop", base)
		path := "/v1/spectroclusters/" + uid + "/profiles"
		a1, a2 := c.addOnProfile("team", "1.0.0", "one"), c.addOnProfile("team", "1.1.0", "two")
		other := c.addOnProfile("other", "1.0.0", "x")

		// Not while the cluster is being provisioned.
		c.fails(409, "Conflict", "PATCH", path, map[string]any{"profiles": []map[string]any{{"uid": a1}}}, "once it is Running")
		h.recordStatus(uid, func(cl *clusters.Cluster) {
			cl.Status.State = v1.ClusterStateRunning
			cl.Status.Machines = []clusters.Machine{{UID: "m1", Name: "workers-1", Pool: "workers", InstanceType: "medium", Zone: "local-a", DiskGiB: 60, CreatedAt: time.Now(), Ready: true}}
		})
		generation := func() int64 {
			r, _ := h.store.GetObject(ctx, "spectrocluster", uid)
			return r.Generation
		}
		g0 := generation()

		// Attach, then read back (profile order kept, cluster values shown).
		c.must(204, "PATCH", path, map[string]any{"profiles": []map[string]any{{"uid": a1,
			"packValues": []map[string]any{{"name": "settings", "values": "a: 1"}}}}}, nil)
		var list v1.SpectroClusterProfileList
		c.must(200, "GET", path, nil, &list)
		if len(list.Profiles) != 2 || list.Profiles[1].Metadata.UID != a1 || list.Profiles[1].Spec.Packs[0].Spec.Values != "a: 1" ||
			list.Profiles[0].Spec.Type != "cluster" || len(list.Profiles[0].Spec.Packs) != 4 {
			t.Fatalf("profiles after the attach: %+v", list)
		}
		if g := generation(); g != g0+1 {
			t.Fatalf("generation %d after the attach; want %d", g, g0+1)
		}
		// The same again changes nothing.
		c.must(204, "PATCH", path, map[string]any{"profiles": []map[string]any{{"uid": a1,
			"packValues": []map[string]any{{"name": "settings", "values": "a: 1"}}}}}, nil)
		if g := generation(); g != g0+1 {
			t.Fatalf("a PATCH that changes nothing made generation %d", g)
		}

		// Bad changes: 400 naming the problem, nothing changes.
		for _, bad := range []struct {
			method string
			body   any
			msg    string
		}{
			{"PATCH", `{"profiles":`, "JSON"},
			{"PATCH", map[string]any{"profiles": []map[string]any{}}, "at least one"},
			{"PATCH", map[string]any{"profiles": []map[string]any{{"uid": ""}}}, "uid is required"},
			{"PATCH", map[string]any{"profiles": []map[string]any{{"uid": "nope"}}}, "profile nope not found"},
			{"PATCH", map[string]any{"profiles": []map[string]any{{"uid": a2}}}, "profile team is attached twice"},
			{"PATCH", map[string]any{"profiles": []map[string]any{{"uid": a2, "replaceWithProfile": other}}}, "is not attached"},
			{"PATCH", map[string]any{"profiles": []map[string]any{{"uid": a1, "packValues": []map[string]any{{"name": "nope", "values": "a: 1"}}}}}, `has no pack "nope"`},
			{"PATCH", map[string]any{"profiles": []map[string]any{{"uid": a1, "packValues": []map[string]any{{"name": "settings", "values": "a: [1"}}}}}, "values"},
			{"PUT", map[string]any{"profiles": []map[string]any{{"uid": a1}}}, "exactly one infra"},
			{"PUT", map[string]any{"profiles": []map[string]any{{"uid": base}, {"uid": a1, "replaceWithProfile": base}}}, "is for PATCH"},
			{"DELETE", map[string]any{"profileUids": []string{base}}, "infra profile"},
			{"DELETE", map[string]any{"profileUids": []string{other}}, "is not attached"},
			{"DELETE", map[string]any{"profileUids": []string{}}, "at least one"},
		} {
			c.fails(400, "InvalidArgument", bad.method, path, bad.body, bad.msg)
		}
		if g := generation(); g != g0+1 {
			t.Fatalf("refused changes made generation %d", g)
		}

		// Replace by a new version: the values given with the old one do not carry over.
		c.must(204, "PATCH", path, map[string]any{"profiles": []map[string]any{{"uid": a2, "replaceWithProfile": a1}}}, nil)
		list = v1.SpectroClusterProfileList{}
		c.must(200, "GET", path, nil, &list)
		if len(list.Profiles) != 2 || list.Profiles[1].Metadata.UID != a2 || list.Profiles[1].Spec.Packs[0].Spec.Values != "" {
			t.Fatalf("profiles after the replace: %+v", list)
		}
		var events struct {
			Items []struct{ Reason, Message string }
		}
		c.must(200, "GET", "/v1/events/components/spectrocluster/"+uid, nil, &events)
		if e := events.Items[0]; e.Reason != "ProfilesChanged" || !strings.Contains(e.Message, "profile team changed from 1.0.0 to 1.1.0") {
			t.Fatalf("newest event = %+v", e)
		}
		// An add-on change repaves nothing.
		rec, _ := h.store.GetObject(ctx, "spectrocluster", uid)
		cl, _ := clusters.Decode(rec.Doc)
		if r := cl.RepaveReasons(); len(r) != 0 {
			t.Fatalf("repave reasons after an add-on change: %v", r)
		}

		// A viewer may read but not change; another project does not see the cluster.
		viewer := h.userWith("viewer@example.com", h.defaultPrj, "viewer").in(h.defaultPrj)
		viewer.must(200, "GET", path, nil, nil)
		viewer.fails(403, "Forbidden", "DELETE", path, map[string]any{"profileUids": []string{a2}})
		elsewhere := h.admin().in(h.createProject("elsewhere"))
		elsewhere.fails(404, "ResourceNotFound", "GET", path, nil)

		// Detach.
		c.must(204, "DELETE", path, map[string]any{"profileUids": []string{a2}}, nil)
		list = v1.SpectroClusterProfileList{}
		c.must(200, "GET", path, nil, &list)
		if len(list.Profiles) != 1 || list.Profiles[0].Metadata.UID != base {
			t.Fatalf("profiles after the detach: %+v", list)
		}
	})
}
