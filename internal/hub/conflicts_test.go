package hub_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/clusters"
)

// The engine and the agents write a cluster's record all the time: a user's change made meanwhile
// (without If-Match) is applied on the fresh record, never refused with 409; with a stale If-Match
// it is refused.
func TestUserChangesSurviveStatusWrites(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		ctx := context.Background()
		c := h.admin().in(h.defaultPrj)
		uid := c.createCluster("busy", c.publishedProfile("base"))
		var cl struct {
			Spec struct{ CloudConfigRef struct{ UID string } }
		}
		c.must(200, "GET", "/v1/spectroclusters/"+uid, nil, &cl)
		pool := "/v1/cloudconfigs/cloudTypes/local/" + cl.Spec.CloudConfigRef.UID + "/machinePools/workers"

		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // a status writer, as the engine is
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				rec, err := h.store.GetObject(ctx, "spectrocluster", uid)
				if err != nil {
					continue
				}
				doc, _ := clusters.Decode(rec.Doc)
				doc.Status.Health.AgentVersion = fmt.Sprint(i)
				rec.Doc = doc.Encode()
				h.store.UpdateObject(ctx, &rec)  // a conflict with the API is fine: the next write wins
				time.Sleep(5 * time.Millisecond) // far more often than the engine and the agent write
			}
		}()
		for size := 1; size <= 10; size++ {
			c.must(204, "PUT", pool, map[string]any{"poolConfig": map[string]any{"name": "workers", "size": size},
				"cloudConfig": map[string]any{"instanceType": "medium"}}, nil)
		}
		close(stop)
		wg.Wait()
		var out struct {
			Spec struct {
				MachinePoolConfig []struct {
					Name string
					Size int
				}
			}
		}
		c.must(200, "GET", "/v1/cloudconfigs/cloudTypes/local/"+cl.Spec.CloudConfigRef.UID, nil, &out)
		for _, p := range out.Spec.MachinePoolConfig {
			if p.Name == "workers" && p.Size != 10 {
				t.Fatalf("workers pool size = %d; want the last change, 10", p.Size)
			}
		}
		status, body, _ := c.do("PUT", pool, map[string]any{"poolConfig": map[string]any{"name": "workers", "size": 3},
			"cloudConfig": map[string]any{"instanceType": "medium"}}, "If-Match", `"1"`)
		if status != 409 || !strings.Contains(string(body), "changed since you read it") {
			t.Fatalf("a change with a stale If-Match: %d %s; want 409", status, body)
		}
	})
}
