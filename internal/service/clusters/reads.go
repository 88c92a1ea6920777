package clusters

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// List lists the clusters opts selects among those the call shows: the call's project, or every
// project the caller sees (all of them, for a tenant admin).
func (s *Service) List(ctx context.Context, c *service.Call, opts store.ListOptions) ([]store.Record, int, error) {
	return s.store.ListObjects(ctx, listScope(c, opts))
}

// listScope limits opts to the clusters the call shows.
func listScope(c *service.Call, opts store.ListOptions) store.ListOptions {
	opts.Kind, opts.TenantUID, opts.ProjectUIDs = Kind, c.TenantUID, c.Projects()
	if c.Project != "" {
		opts.ProjectUIDs = []string{c.Project}
	}
	return opts
}

// Summaries lists, a page at a time, what the lists of clusters show of those opts selects among
// the clusters the call shows (as List), each with its agent's newest heartbeat: the summaries the
// store keeps beside the documents, so that a page decodes no document.
func (s *Service) Summaries(ctx context.Context, c *service.Call, opts store.ListOptions) ([]store.ClusterSummary, int, error) {
	return s.store.ListClusterSummaries(ctx, listScope(c, opts))
}

// UsageSeries adds the cluster's usage series point by point (the workers and the control plane)
// between from and to, at step's resolution, if the call may see the cluster.
func (s *Service) UsageSeries(ctx context.Context, c *service.Call, t Target, series []string, step time.Duration, from, to time.Time) ([]store.UsagePoint, error) {
	rec, _, err := s.Get(ctx, c, t)
	if err != nil {
		return nil, err
	}
	clusterUID := rec.UID
	var out []store.UsagePoint
	at := map[int64]int{}
	for _, name := range series {
		pts, err := s.store.UsagePoints(ctx, clusterUID, name, step, from, to)
		if err != nil {
			return nil, err
		}
		for _, p := range pts {
			i, ok := at[p.At.Unix()]
			if !ok {
				at[p.At.Unix()] = len(out)
				out = append(out, p)
				continue
			}
			out[i].Values.Add(p.Values)
			out[i].Samples = max(out[i].Samples, p.Samples)
		}
	}
	slices.SortFunc(out, func(a, b store.UsagePoint) int { return a.At.Compare(b.At) })
	return out, nil
}

// Workloads lists one page of a cluster's workloads of a kind as its agent last reported them, with
// the state of the report, if the call may see the cluster (f names it by its uid).
func (s *Service) Workloads(ctx context.Context, c *service.Call, f store.WorkloadFilter) (store.WorkloadState, []store.Workload, int, error) {
	if _, _, err := s.Get(ctx, c, ByUID(f.ClusterUID)); err != nil {
		return store.WorkloadState{}, nil, 0, err
	}
	st, err := s.store.WorkloadState(ctx, f.ClusterUID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return st, nil, 0, err
	}
	rows, total, err := s.store.ListWorkloads(ctx, f)
	return st, rows, total, err
}

// Events lists a cluster's events, newest first, a page at a time, if the call may see it.
func (s *Service) Events(ctx context.Context, c *service.Call, uid string, limit, offset int) ([]store.Event, int, error) {
	return s.records.Events(ctx, c, Kind, uid, limit, offset)
}
