package reports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// Paged agent reports: no message an agent sends is over v1.MaxAgentMessageBytes, so a large
// cluster's report comes in pages. The hub holds each page until all of its report's pages have
// arrived, then applies them together in one transaction, reading them back one at a time so that
// it never holds a whole report's bodies at once. Retried, duplicated and out-of-order pages are
// harmless; a late page of an applied report is acknowledged and ignored. A report has at most
// v1.MaxReportPages pages and a cluster at most v1.MaxReportsInFlight reports partly sent.
const (
	reportNodes     = "nodes"
	reportUsage     = "usage"
	reportWorkloads = "workloads"
	// stalePagesAfter is how long the pages of a report whose other pages never came are kept.
	stalePagesAfter = 10 * time.Minute
	// abandonedAfter is how long a report may go without a page before another report may take its
	// place among the v1.MaxReportsInFlight: an agent sends a report's pages back to back.
	abandonedAfter = time.Minute
)

func checkPage(pg v1.ReportPage) error {
	switch {
	case len(pg.ReportID) > 64:
		return service.Invalid("reportId is longer than 64 characters")
	case pg.ReportID == "" && (pg.Page != 0 || pg.Pages > 1):
		return service.Invalid("a report of several pages needs a reportId")
	case pg.Pages > v1.MaxReportPages:
		return service.Invalid("a report of %d pages is over the limit of %d pages (MaxReportPages)", pg.Pages, v1.MaxReportPages)
	case pg.Pages < 0 || pg.Page < 0 || pg.Page >= max(pg.Pages, 1):
		return service.Invalid("page %d of %d: page must be 0 to pages-1", pg.Page, pg.Pages)
	}
	return nil
}

// errApplied ends an assembly whose report another request applied meanwhile.
var errApplied = errors.New("report applied already")

// eachPage calls fn with every page of a whole report, decoded, in page order, one at a time; an
// error from fn ends it.
type eachPage[P any] func(fn func(page P) error) error

// receivePage holds one page of a cluster's report (page, decoded from body); when it completes
// the report, apply reads all of its pages in page order through each, inside one transaction: a
// report of one page is the page already decoded, the pages held are decoded as each reads them. applied says
// whether the report is applied (now or before); false means the page is held until the others
// arrive. check (may be nil) can refuse a page of a report not applied yet before it is held. An
// error from check or apply drops the report's pages: the agent sends the report anew.
func receivePage[P any](ctx context.Context, s *Service, clusterUID, report string, pg v1.ReportPage, page P, body []byte,
	check func() error, apply func(q store.Queries, each eachPage[P]) error) (applied bool, err error) {
	if err := checkPage(pg); err != nil {
		return false, err
	}
	s.reportPageBytes.WithLabelValues(report).Observe(float64(len(body)))
	now := s.clock.Now()
	one := func(fn func(P) error) error { return fn(page) }
	// One report of a kind is applied at a time per cluster: two at once (an agent's retry while the
	// hub still applies its first try, two agents during a rollout) would write the same rows in
	// different orders, and PostgreSQL breaks such a deadlock only after a second, failing one.
	alone := func(fn func(q store.Queries) error) error {
		return s.records.TxRetrying(ctx, func(q store.Queries) error {
			if err := q.Serialize(ctx, "report "+report+" "+clusterUID); err != nil {
				return err
			}
			return fn(q)
		})
	}
	if pg.ReportID == "" { // a whole report in one message, from an agent that does not name reports
		return true, alone(func(q store.Queries) error { return apply(q, one) })
	}
	if pg.Pages > 1 {
		if done, err := s.store.ReportApplied(ctx, clusterUID, report, pg.ReportID); err != nil || done {
			return done, err
		}
		if check != nil {
			if err := check(); err != nil {
				return false, errors.Join(err, s.store.DeleteReportPages(ctx, clusterUID, report, pg.ReportID))
			}
		}
		if err := s.store.DropStaleReportPages(ctx, clusterUID, now.Add(-stalePagesAfter)); err != nil {
			return false, err
		}
		if err := s.makeRoom(ctx, clusterUID, report, pg.ReportID, now); err != nil {
			return false, err
		}
		held, err := s.store.PutReportPage(ctx, store.ReportPage{ClusterUID: clusterUID, Report: report,
			ReportID: pg.ReportID, Page: pg.Page, Pages: pg.Pages, Body: body, ReceivedAt: now})
		if err != nil || held < pg.Pages {
			return false, err
		}
	}
	err = alone(func(q store.Queries) error {
		fresh, err := q.MarkReportApplied(ctx, clusterUID, report, pg.ReportID, now)
		if err != nil {
			return err
		}
		if !fresh {
			return errApplied
		}
		if pg.Pages <= 1 {
			return apply(q, one)
		}
		each := func(fn func(P) error) error {
			for i := range pg.Pages {
				held, err := q.ReportPage(ctx, clusterUID, report, pg.ReportID, i)
				if errors.Is(err, store.ErrNotFound) || err == nil && held.Pages != pg.Pages {
					return service.Invalid("the pages of report %s disagree on how many pages it has", pg.ReportID)
				}
				if err != nil {
					return err
				}
				var p P // checked when it arrived
				if err := json.Unmarshal(held.Body, &p); err != nil {
					return fmt.Errorf("decoding a held page of a %s report: %w", report, err)
				}
				if err := fn(p); err != nil {
					return err
				}
			}
			return nil
		}
		if err := apply(q, each); err != nil {
			return err
		}
		return q.DeleteReportPages(ctx, clusterUID, report, pg.ReportID)
	})
	switch {
	case errors.Is(err, errApplied):
		return true, nil
	case err != nil && pg.Pages > 1:
		if derr := s.store.DeleteReportPages(ctx, clusterUID, report, pg.ReportID); derr != nil {
			err = errors.Join(err, derr)
		}
		return false, err
	}
	if err == nil {
		s.reportPages.WithLabelValues(report).Observe(float64(max(pg.Pages, 1)))
	}
	return err == nil, err
}

// makeRoom lets a page start a new report only while the cluster has fewer than
// v1.MaxReportsInFlight reports partly sent. At the limit, reports abandoned for abandonedAfter
// make room (least recently sent first); if none was, the page is refused with 429 and the agent
// sends it again later. Two pages starting reports at the same moment may both pass: the bound
// is loose by the requests in flight, never by what a client can pile up.
func (s *Service) makeRoom(ctx context.Context, clusterUID, report, reportID string, now time.Time) error {
	held, err := s.store.HeldReports(ctx, clusterUID)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(held, func(h store.HeldReport) bool { return h.Report == report && h.ReportID == reportID }) {
		return nil
	}
	// held comes least recently sent first.
	for len(held) >= v1.MaxReportsInFlight && !held[0].LastReceived.After(now.Add(-abandonedAfter)) {
		h := held[0]
		s.log.Warn("Dropping an abandoned report to make room for a new one", "cluster", clusterUID, "report", h.Report,
			"reportId", h.ReportID, "pages", h.Held, "lastReceived", h.LastReceived)
		if err := s.store.DeleteReportPages(ctx, clusterUID, h.Report, h.ReportID); err != nil {
			return err
		}
		held = held[1:]
	}
	if len(held) >= v1.MaxReportsInFlight {
		return service.TooManyRequests(abandonedAfter, "the cluster has %d reports partly sent; at most %d at once (MaxReportsInFlight): send the rest of one of them first",
			len(held), v1.MaxReportsInFlight)
	}
	return nil
}

// errStaleBase is the 409 of a delta whose base report the hub does not hold.
func errStaleBase(report, base string) error {
	return service.Conflict("the %s report %s this delta builds on is not the one the hub holds; send a full report", report, base)
}
