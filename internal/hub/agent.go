package hub

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/service/reports"
	"github.com/easelhq/easel/internal/store"
)

// The agent-facing operations: the transport reads the body (within its limit) and the query,
// and the agent service does the rest.

// agentReport answers an agent report that report (the service's method) stores whole, in its
// turn (turns.go): 204.
func (s *Server) agentReport(report func(context.Context, store.Record, []byte) error) agentHandler {
	return func(w http.ResponseWriter, r *http.Request, _ service.Caller, rec store.Record) error {
		body, release, err := s.reportTurns.read(w, r, MaxBodyBytes)
		if err != nil {
			return err
		}
		defer release()
		return noContent(w, report(r.Context(), rec, body))
	}
}

// agentPage answers a page of an agent report that report (the service's method) holds until the
// report is whole: 204 once the report is applied, 202 while it waits for its other pages. A page
// over v1.MaxAgentMessageBytes is refused with 413 (toAPIError names the limit), below the hub's
// global limit. Pages, too, are applied in their turn.
func (s *Server) agentPage(report func(context.Context, store.Record, []byte) (bool, error)) agentHandler {
	return func(w http.ResponseWriter, r *http.Request, _ service.Caller, rec store.Record) error {
		body, release, err := s.reportTurns.read(w, r, v1.MaxAgentMessageBytes)
		if err != nil {
			return err
		}
		defer release()
		applied, err := report(r.Context(), rec, body)
		if err != nil {
			return err
		}
		if applied {
			w.WriteHeader(http.StatusNoContent)
		} else {
			w.WriteHeader(http.StatusAccepted)
		}
		return nil
	}
}

// agentDesired answers the agent's long-poll: the desired packs, node operations and requests as
// soon as the cluster's spec generation, nodes revision or requests revision differs from the
// agent's, else 304 after the wait.
func (s *Server) agentDesired(w http.ResponseWriter, r *http.Request, _ service.Caller, rec store.Record) error {
	q := r.URL.Query()
	var have [3]int64
	for i, name := range []string{"generation", "nodes", "requests"} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return service.Invalid("%s %q must be a non-negative number", name, v)
			}
			have[i] = n
		}
	}
	wait := reports.DefaultDesiredWait
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return service.Invalid("wait %q must be a duration such as 30s", v)
		}
		wait = d
	}
	out, err := s.reports.Desired(r.Context(), rec, reports.Have{Generation: have[0], Nodes: have[1], Requests: have[2]}, wait, s.stopping)
	switch {
	case errors.Is(err, reports.ErrShuttingDown):
		return &apiError{http.StatusServiceUnavailable, "ServiceUnavailable", err.Error()}
	case err != nil:
		return err
	case out == nil:
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// agentMaintenanceStatus records the agent's progress on a machine's node operation (Palette's
// agent-facing PUT …/machines/{machineUid}/maintenance/status).
func (s *Server) agentMaintenanceStatus(w http.ResponseWriter, r *http.Request, _ service.Caller, rec store.Record) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	return noContent(w, s.reports.MaintenanceStatus(r.Context(), rec, r.PathValue("cloudType"), r.PathValue("poolName"),
		r.PathValue("machineUid"), body))
}
