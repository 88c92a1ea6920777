package hub

import (
	"net/http"
	"strconv"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// etag is the version of a stored object as the ETag and If-Match headers carry it.
func etag(rec store.Record) string { return `"` + strconv.FormatInt(rec.ResourceVersion, 10) + `"` }

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, c *call) error {
	kind := r.PathValue("objectKind")
	if kind != kindCluster && kind != kindProfile {
		return service.Invalid("events are kept for objects of kind %s and %s, not %q", kindCluster, kindProfile, kind)
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	events, total, err := s.records.Events(r.Context(), &c.Call, kind, r.PathValue("objectUid"), pg.limit, pg.offset)
	if err != nil {
		return err
	}
	out := v1.Events{Items: []v1.Event{}, Listmeta: pg.listMeta(len(events), total)}
	for _, e := range events {
		out.Items = append(out.Items, v1.Event{
			Metadata:       v1.ObjectMeta{UID: e.UID, CreationTimestamp: e.CreatedAt, LastModifiedTimestamp: e.CreatedAt},
			InvolvedObject: v1.ObjectReference{Kind: e.ObjectKind, Name: e.ObjectName, UID: e.ObjectUID},
			Reason:         e.Reason, Message: e.Message, Severity: e.Severity,
			Source: v1.EventSource{Component: e.Component},
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
