package reports

import (
	"cmp"
	"context"
	"slices"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/projects"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/usage"
)

// Usage records one page of a usage sample (v1.AgentUsageReport): the cluster's current figures
// and which nodes are over a threshold, in the cluster's current usage row (not its document), and
// its series. A sample is applied once: a retried, repeated or late one changes nothing. The engine
// is woken only when a resource went over its threshold or came back.
func (s *Service) Usage(ctx context.Context, rec store.Record, body []byte) (applied bool, err error) {
	in, err := decodeUsagePage(body)
	if err != nil {
		return false, err
	}
	ps, err := projects.Load(ctx, s.store, rec.ProjectUID)
	if err != nil {
		return false, err
	}
	th := ps.Thresholds()
	now := s.clock.Now()
	wake := false
	applied, err = receivePage(ctx, s, rec.UID, reportUsage, in.ReportPage, in, body, nil, func(q store.Queries, each eachPage[v1.AgentUsageReport]) error {
		sample := in
		sample.Nodes = nil
		err := each(func(pg v1.AgentUsageReport) error {
			if n := len(sample.Nodes) + len(pg.Nodes); n > v1.MaxReportedNodes { // stop before holding more
				return service.Invalid("a usage report of %d nodes is over the limit of %d nodes (MaxReportedNodes)", n, v1.MaxReportedNodes)
			}
			sample.Nodes = append(sample.Nodes, pg.Nodes...)
			return nil
		})
		if err != nil {
			return err
		}
		if err := validateUsage(sample); err != nil { // the pages together: the bound, unique names
			return err
		}
		// Two samples of one cluster (an agent that moved to another hub replica while one was on
		// its way) read and write its current usage one after the other: neither's is lost.
		if err := q.Serialize(ctx, "usage of cluster "+rec.UID); err != nil {
			return err
		}
		live, err := q.Live(ctx, rec.UID)
		if err != nil {
			return err
		}
		current := cmp.Or(live.Usage, new(usage.State))
		if current.Applied(sample) {
			return nil // a late sample: newer figures are already there
		}
		before, previous := overKeys(current.Over), current.ReceivedAt
		current.Record(sample, th, now)
		wake = !slices.Equal(before, overKeys(current.Over))
		if err := q.PutCurrentUsage(ctx, rec.UID, *current); err != nil {
			return err
		}
		return q.RecordUsage(ctx, rec.UID, now, previous, usage.Samples(sample.Nodes))
	})
	if err == nil && wake {
		s.notify(rec.UID) // a resource went over or came back: the health verdict may change
	}
	return applied, err
}

func overKeys(over []usage.Over) []string {
	out := make([]string, len(over))
	for i, o := range over {
		out[i] = o.Node + "/" + o.Resource
	}
	return out
}
