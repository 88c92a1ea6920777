package reports

import (
	"context"
	"encoding/json"
	"errors"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// Workloads receives a page of the agent's workload report (v1.AgentWorkloadReport): a full report replaces the
// cluster's workloads, a delta patches those of the report it builds on (409 when the hub does not
// hold that one), and a report with disabled set says the agent turned the report off.
func (s *Service) Workloads(ctx context.Context, rec store.Record, body []byte) (applied bool, err error) {
	in, err := decodeWorkloadPage(body)
	if err != nil {
		return false, err
	}
	// A stale delta is refused at its first page rather than after holding all of them.
	checkBase := func() error {
		if in.Base == "" {
			return nil
		}
		st, err := s.store.WorkloadState(ctx, rec.UID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if st.ReportID != in.Base {
			return errStaleBase(reportWorkloads, in.Base)
		}
		return nil
	}
	now := s.clock.Now()
	return receivePage(ctx, s, rec.UID, reportWorkloads, in.ReportPage, in, body, checkBase, func(q store.Queries, each eachPage[v1.AgentWorkloadReport]) error {
		st, err := q.WorkloadState(ctx, rec.UID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if in.Base == "" {
			err = q.DeleteAllWorkloads(ctx, rec.UID)
		} else if st.ReportID != in.Base {
			return errStaleBase(reportWorkloads, in.Base)
		}
		if err != nil {
			return err
		}
		// Pages are written one at a time, in order, so that a large report is never all in memory;
		// the transaction still makes the report appear whole or not at all.
		err = each(func(pg v1.AgentWorkloadReport) error {
			if pg.Base != in.Base {
				return service.Invalid("the pages of report %s disagree on the report they build on", in.ReportID)
			}
			return writeWorkloadPage(ctx, q, rec.UID, pg.Items)
		})
		if err != nil {
			return err
		}
		return q.PutWorkloadState(ctx, store.WorkloadState{ClusterUID: rec.UID, ReportID: in.ReportID,
			Disabled: in.Disabled, ReportedAt: now})
	})
}

// writeWorkloadPage writes one page of a workload report: its upserts and, in a delta, its
// deletions. Within a page the last word on a workload wins, as it would across pages.
func writeWorkloadPage(ctx context.Context, q store.Queries, clusterUID string, items []v1.WorkloadItem) error {
	byKey := make(map[[3]string]store.Workload, len(items))
	for _, it := range items {
		wl := store.Workload{Kind: it.Kind, Namespace: it.Namespace, Name: it.Name}
		if !it.Deleted {
			doc, err := json.Marshal(it)
			if err != nil {
				return err
			}
			wl.Doc = doc
		}
		byKey[[3]string{it.Kind, it.Namespace, it.Name}] = wl
	}
	var upserts, deleted []store.Workload
	for _, wl := range byKey {
		if wl.Doc == nil {
			deleted = append(deleted, wl)
		} else {
			upserts = append(upserts, wl)
		}
	}
	if err := q.DeleteWorkloads(ctx, clusterUID, deleted); err != nil {
		return err
	}
	return q.UpsertWorkloads(ctx, clusterUID, upserts)
}
