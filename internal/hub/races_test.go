package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/store"
)

// raceRounds bounds the races below: enough rounds that the old read-outside-the-transaction code
// lost at least one of them on both stores every time it was tried.
const raceRounds = 25

// answer is one request's outcome.
type answer struct {
	status int
	body   string
}

// race sends the requests at once and returns their answers in order.
func race(reqs ...func() answer) []answer {
	out := make([]answer, len(reqs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = req()
		}()
	}
	close(start)
	wg.Wait()
	return out
}

func (c client) send(method, path string, body any) func() answer {
	return func() answer {
		status, data, _ := c.do(method, path, body)
		return answer{status, string(data)}
	}
}

// A profile deleted while clusters are created from it: each create either lands and makes the
// delete refuse (409, naming the cluster), or finds the profile gone (400 naming it); never a
// cluster whose profile no longer exists.
func TestCreateFromProfileRacesProfileDelete(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		for round := range raceRounds {
			prof := c.publishedProfile(fmt.Sprintf("racy-%d", round))
			got := race(
				c.send("POST", "/v1/spectroclusters/cloudTypes/local", clusterEntity(fmt.Sprintf("racer-%d-a", round), prof)),
				c.send("POST", "/v1/spectroclusters/cloudTypes/local", clusterEntity(fmt.Sprintf("racer-%d-b", round), prof)),
				c.send("DELETE", "/v1/clusterprofiles/"+prof, nil),
			)
			created := 0
			for _, a := range got[:2] {
				switch {
				case a.status == 201:
					created++
				case a.status == 400 && strings.Contains(a.body, "profile "+prof+" not found"):
				default:
					t.Fatalf("round %d: create: %d %s; want 201, or 400 naming the deleted profile", round, a.status, a.body)
				}
			}
			del := got[2]
			switch {
			case created == 0 && del.status == 204:
			case created > 0 && del.status == 409 && strings.Contains(del.body, "is used by"):
			default:
				t.Fatalf("round %d: %d cluster(s) created and the profile's delete answered %d %s", round, created, del.status, del.body)
			}
		}
		checkNoDanglingProfiles(t, h)
	})
}

// The same race for a profile attached to a running cluster (PATCH …/profiles) while it is deleted.
func TestAttachProfileRacesProfileDelete(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		uid := c.createCluster("running", c.publishedProfile("base"))
		h.recordStatus(uid, func(cl *clusters.Cluster) { cl.Status.State = "Running" }) // profiles change only on a running cluster
		for round := range raceRounds {
			addOn := c.addOnProfile(fmt.Sprintf("addon-%d", round), "1.0.0", "x")
			got := race(
				c.send("PATCH", "/v1/spectroclusters/"+uid+"/profiles", map[string]any{"profiles": []map[string]any{{"uid": addOn}}}),
				c.send("DELETE", "/v1/clusterprofiles/"+addOn, nil),
			)
			attach, del := got[0], got[1]
			switch {
			case attach.status == 204 && del.status == 409 && strings.Contains(del.body, "is used by 1 cluster(s) ("+uid+")"):
			case attach.status == 400 && strings.Contains(attach.body, "profile "+addOn+" not found") && del.status == 204:
			default:
				t.Fatalf("round %d: attach: %d %s; delete: %d %s; want one to succeed and the other to refuse", round, attach.status, attach.body, del.status, del.body)
			}
		}
		checkNoDanglingProfiles(t, h)
	})
}

// checkNoDanglingProfiles fails the test if a stored cluster names a profile that is not stored.
func checkNoDanglingProfiles(t *testing.T, h *testHub) {
	t.Helper()
	ctx := context.Background()
	recs, _, err := h.store.ListObjects(ctx, store.ListOptions{Kind: "spectrocluster", TenantUID: mustTenant(t, h)})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		cl, err := clusters.Decode(rec.Doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range cl.Profiles {
			if _, err := h.store.GetObject(ctx, "clusterprofile", ref.UID); err != nil {
				t.Fatalf("cluster %s names profile %s %s, which is gone (%v)", rec.Name, ref.Name, ref.UID, err)
			}
		}
	}
}

// A project deleted while a cluster is created (or imported) in it: either the cluster lands and
// the delete refuses (409), or the create finds the project gone (404); never a cluster in a
// project that no longer exists.
func TestCreateInProjectRacesProjectDelete(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		ctx := context.Background()
		prof := h.admin().publishedProfile("tenant-wide") // a tenant-scope profile, usable in every project
		for round := range raceRounds {
			project := h.createProject(fmt.Sprintf("fleeting-%d", round))
			c := h.admin().in(project)
			got := race(
				c.send("POST", "/v1/spectroclusters/cloudTypes/local", clusterEntity("created", prof)),
				c.send("POST", "/v1/spectroclusters/generic/import", map[string]any{"metadata": map[string]any{"name": "imported"}}),
				h.admin().send("DELETE", "/v1/projects/"+project, nil),
			)
			created := 0
			for _, a := range got[:2] {
				var e apiErr
				json.Unmarshal([]byte(a.body), &e)
				switch {
				case a.status == 201:
					created++
				case a.status == 404 && e.Code == "ResourceNotFound" && strings.Contains(e.Message, project):
				default:
					t.Fatalf("round %d: create: %d %s; want 201, or 404 naming the deleted project", round, a.status, a.body)
				}
			}
			del := got[2]
			switch {
			case created == 0 && del.status == 204:
			case created > 0 && del.status == 409 && strings.Contains(del.body, "still holds"):
			default:
				t.Fatalf("round %d: %d cluster(s) created and the project's delete answered %d %s", round, created, del.status, del.body)
			}
		}
		recs, _, err := h.store.ListObjects(ctx, store.ListOptions{Kind: "spectrocluster", TenantUID: mustTenant(t, h)})
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if _, err := h.store.GetObject(ctx, "project", rec.ProjectUID); err != nil {
				t.Fatalf("cluster %s is in project %s, which is gone (%v)", rec.Name, rec.ProjectUID, err)
			}
		}
	})
}
