package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/desired"
	"github.com/easelhq/easel/internal/profiles"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// Long-poll bounds for GET …/agent/desired.
const (
	defaultDesiredWait = 30 * time.Second
	maxDesiredWait     = 60 * time.Second
	// desiredRecheck is how often a waiting long-poll re-reads the store, for changes made through
	// another hub replica (this replica's own changes wake it at once).
	desiredRecheck = 2 * time.Second
)

// clusterChanged tells the engine and the cluster's waiting agent that its spec changed.
func (s *Server) clusterChanged(uid string) {
	s.notify(uid)
	s.waiting.Wake(uid)
}

// updateStatus applies fn to the stored cluster, retrying when the engine or an API write
// changed it meanwhile.
func (s *Server) updateStatus(ctx context.Context, uid string, fn func(cl *clusters.Cluster) error) error {
	return s.records.TxRetrying(ctx, func(q store.Queries) error { return updateClusterStatus(ctx, q, uid, fn) })
}

// updateClusterStatus is one read-modify-write of the stored cluster; store.ErrConflict when it
// changed since it was read.
func updateClusterStatus(ctx context.Context, q store.Queries, uid string, fn func(cl *clusters.Cluster) error) error {
	rec, err := q.GetObject(ctx, kindCluster, uid)
	if err != nil {
		return err
	}
	cl, err := clusters.Decode(rec.Doc)
	if err != nil {
		return err
	}
	if err := fn(&cl); err != nil {
		return err
	}
	rec.Doc = cl.Encode()
	return q.UpdateObject(ctx, &rec)
}

// heartbeat records that the agent is alive; the hub's receive time counts, not the agent's clock.
func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request, p service.Caller, rec store.Record) error {
	var in v1.Heartbeat
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.AgentVersion) > 64 {
		return service.Invalid("agentVersion is longer than 64 characters")
	}
	now := s.clock.Now()
	wake := false
	err := s.updateStatus(r.Context(), rec.UID, func(cl *clusters.Cluster) error {
		// The engine waits for the first sign of life, and judges health again when it is back.
		wake = cl.Status.Health.State != clusters.HealthHealthy
		cl.Status.Health.LastHeartbeat, cl.Status.Health.AgentVersion = now, in.AgentVersion
		return nil
	})
	if err != nil {
		return err
	}
	if wake {
		s.notify(rec.UID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// agentDesired answers the agent's long-poll: the desired packs and node operations as soon as the
// cluster's spec generation or nodes revision differs from the agent's, else 304 after the wait.
func (s *Server) agentDesired(w http.ResponseWriter, r *http.Request, p service.Caller, rec store.Record) error {
	q := r.URL.Query()
	var have [2]int64
	for i, name := range []string{"generation", "nodes"} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return service.Invalid("%s %q must be a non-negative number", name, v)
			}
			have[i] = n
		}
	}
	wait := defaultDesiredWait
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return service.Invalid("wait %q must be a duration such as 30s", v)
		}
		wait = min(d, maxDesiredWait)
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		cl, err := clusters.Decode(rec.Doc)
		if err != nil {
			return err
		}
		if rec.Generation != have[0] || cl.Status.NodesRevision != have[1] {
			return s.writeDesired(w, r, rec, cl)
		}
		changed := s.waiting.Wait(rec.UID)
		select {
		case <-r.Context().Done():
			return r.Context().Err() // the agent hung up (it stopped, or the cluster is being deleted)
		case <-deadline.C:
			w.WriteHeader(http.StatusNotModified)
			return nil
		case <-s.stopping:
			return &apiError{http.StatusServiceUnavailable, "ServiceUnavailable", "the hub is shutting down; ask again"}
		case <-changed:
		case <-time.After(desiredRecheck):
		}
		if rec, err = s.store.GetObject(r.Context(), kindCluster, rec.UID); err != nil {
			return err
		}
	}
}

// writeDesired renders the cluster's desired packs and node operations for its agent.
func (s *Server) writeDesired(w http.ResponseWriter, r *http.Request, rec store.Record, cl clusters.Cluster) error {
	out, err := desired.Render(cl, rec.Generation, func(uid string) (profiles.Profile, error) {
		prec, err := s.store.GetObject(r.Context(), kindProfile, uid)
		if err != nil {
			return profiles.Profile{}, err
		}
		return profiles.Decode(prec.Doc)
	}, s.catalog)
	if err != nil {
		return fmt.Errorf("rendering the desired packs of %s: %w", rec.Name, err)
	}
	out.NodesRevision = cl.Status.NodesRevision
	out.Nodes = cl.NodeOperations(s.drainTimeout, func(m *clusters.Machine) string { return maintenanceStatusPath(rec, cl, m) })
	writeJSON(w, http.StatusOK, out)
	return nil
}

// agentPacks records the agent's per-pack report for the generation it applied.
func (s *Server) agentPacks(w http.ResponseWriter, r *http.Request, p service.Caller, rec store.Record) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	in, err := decodePackReport(body)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	err = s.updateStatus(r.Context(), rec.UID, func(cl *clusters.Cluster) error {
		if in.Generation < cl.Status.PacksGeneration {
			return nil // a late report of an older generation changes nothing
		}
		cl.Status.PacksGeneration = in.Generation
		cl.Status.Packs = in.Packs
		for i := range cl.Status.Packs {
			cl.Status.Packs[i].UpdatedAt = now
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.notify(rec.UID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// engineConditions are the conditions the engine owns; an agent may not set them.
var engineConditions = []string{clusters.ConditionInfrastructureReady, "ControlPlaneNodesReady", "WorkerNodesReady",
	"AgentDeployed", "PacksApplied"}

// agentConditions sets conditions the agent observes inside the cluster (Palette's PATCH of
// status/conditions); each change is an event.
func (s *Server) agentConditions(w http.ResponseWriter, r *http.Request, p service.Caller, rec store.Record) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	in, err := decodeConditions(body)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	var changed []v1.ClusterCondition
	err = s.updateStatus(r.Context(), rec.UID, func(cl *clusters.Cluster) error {
		if err := checkAgentConditions(cl.Status.Conditions, in); err != nil {
			return err
		}
		changed = changed[:0]
		for _, c := range in {
			if cl.Status.SetCondition(c.Type, c.Status, c.Reason, c.Message, now) {
				changed = append(changed, c)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(changed) > 0 {
		err = s.store.Tx(r.Context(), func(q store.Queries) error {
			for _, c := range changed {
				severity := v1.SeverityInfo
				if c.Status != "True" {
					severity = v1.SeverityWarning
				}
				if err := s.records.Event(r.Context(), q, &rec, severity, c.Reason, c.Type+": "+c.Message); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// agentServices records the cluster's application services as the agent sees them.
func (s *Server) agentServices(w http.ResponseWriter, r *http.Request, p service.Caller, rec store.Record) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	in, err := decodeServices(body)
	if err != nil {
		return err
	}
	err = s.updateStatus(r.Context(), rec.UID, func(cl *clusters.Cluster) error {
		cl.Status.Services = in
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// agentNodes records the agent's report of every node, which may come in pages; the engine judges
// health from it.
func (s *Server) agentNodes(w http.ResponseWriter, r *http.Request, p service.Caller, rec store.Record) error {
	body, err := s.readPage(r, reportNodes)
	if err != nil {
		return err
	}
	in, err := decodeNodePage(body)
	if err != nil {
		return err
	}
	changed := false
	applied, err := s.receivePage(r.Context(), rec.UID, reportNodes, in.ReportPage, body, nil, func(q store.Queries, each eachPage) error {
		nodes := []v1.NodeReport{}
		err := each(func(b []byte) error {
			var pg v1.AgentNodeReport
			if err := json.Unmarshal(b, &pg); err != nil {
				return fmt.Errorf("decoding a held page of a node report: %w", err)
			}
			if err := checkNodes(pg.Nodes, len(nodes)); err != nil { // the pages together: the bound
				return err
			}
			nodes = append(nodes, pg.Nodes...)
			return nil
		})
		if err != nil {
			return err
		}
		return updateClusterStatus(r.Context(), q, rec.UID, func(cl *clusters.Cluster) error {
			changed = !slices.Equal(clusters.NodeProblems(cl.Status.Nodes), clusters.NodeProblems(nodes))
			cl.Status.Nodes = nodes
			return nil
		})
	})
	if err != nil {
		return err
	}
	if changed {
		s.notify(rec.UID) // the health verdict may change; reports that change nothing else wake no one
	}
	pageAnswer(w, applied)
	return nil
}
