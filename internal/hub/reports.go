package hub

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/store"
)

// Paged agent reports: no message an agent sends is over v1.MaxAgentMessageBytes, so a large
// cluster's report comes in pages. The hub holds each page until all of its report's pages have
// arrived, then applies them together in one transaction. Retried, duplicated and out-of-order
// pages are harmless; a late page of an applied report is acknowledged and ignored.
const (
	reportNodes     = "nodes"
	reportUsage     = "usage"
	reportWorkloads = "workloads"
	// maxReportPages bounds one report (10,000 pages of 1 MiB: far beyond any cluster).
	maxReportPages = 10000
	// stalePagesAfter is how long the pages of a report whose other pages never came are kept.
	stalePagesAfter = 10 * time.Minute
)

// limitBody refuses a route's bodies over n bytes with 413, below the hub's global limit.
func limitBody(n int64, h agentHandler) agentHandler {
	return func(w http.ResponseWriter, r *http.Request, p principal, rec store.Record) error {
		r.Body = http.MaxBytesReader(w, r.Body, n)
		return h(w, r, p, rec)
	}
}

// readPage reads and decodes one page of a report, recording its size.
func (s *Server) readPage(r *http.Request, report string, v any) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err // a MaxBytesError becomes 413
	}
	s.reportPageBytes.WithLabelValues(report).Observe(float64(len(body)))
	return body, decodeBody(body, v)
}

func checkPage(pg v1.ReportPage) error {
	switch {
	case len(pg.ReportID) > 64:
		return errBadRequest("reportId is longer than 64 characters")
	case pg.ReportID == "" && (pg.Page != 0 || pg.Pages > 1):
		return errBadRequest("a report of several pages needs a reportId")
	case pg.Pages < 0 || pg.Pages > maxReportPages || pg.Page < 0 || pg.Page >= max(pg.Pages, 1):
		return errBadRequest("page %d of %d: page must be 0 to pages-1 and pages at most %d", pg.Page, pg.Pages, maxReportPages)
	}
	return nil
}

// errApplied ends an assembly whose report another request applied meanwhile.
var errApplied = errors.New("report applied already")

// receivePage holds one page of a cluster's report; when it completes the report, apply gets the
// bodies of all of its pages in page order inside one transaction. applied says whether the report
// is applied (now or before); false means the page is held until the others arrive. check (may be
// nil) can refuse a page of a report not applied yet before it is held. An error from check or
// apply drops the report's pages: the agent sends the report anew.
func (s *Server) receivePage(ctx context.Context, clusterUID, report string, pg v1.ReportPage, body []byte,
	check func() error, apply func(q store.Queries, bodies [][]byte) error) (applied bool, err error) {
	if err := checkPage(pg); err != nil {
		return false, err
	}
	now := s.clock.Now()
	if pg.ReportID == "" { // a whole report in one message, from an agent that does not name reports
		return true, s.txRetrying(ctx, func(q store.Queries) error { return apply(q, [][]byte{body}) })
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
		held, err := s.store.PutReportPage(ctx, store.ReportPage{ClusterUID: clusterUID, Report: report,
			ReportID: pg.ReportID, Page: pg.Page, Pages: pg.Pages, Body: body, ReceivedAt: now})
		if err != nil || held < pg.Pages {
			return false, err
		}
	}
	err = s.txRetrying(ctx, func(q store.Queries) error {
		fresh, err := q.MarkReportApplied(ctx, clusterUID, report, pg.ReportID, now)
		if err != nil {
			return err
		}
		if !fresh {
			return errApplied
		}
		if pg.Pages <= 1 {
			return apply(q, [][]byte{body})
		}
		pages, err := q.ReportPages(ctx, clusterUID, report, pg.ReportID)
		if err != nil {
			return err
		}
		bodies := make([][]byte, len(pages))
		for i, p := range pages {
			if p.Page != i || p.Pages != len(pages) {
				return errBadRequest("the pages of report %s disagree on how many pages it has", pg.ReportID)
			}
			bodies[i] = p.Body
		}
		if err := apply(q, bodies); err != nil {
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

// pageAnswer answers a report page: 204 once the report is applied, 202 while it waits for its
// other pages.
func pageAnswer(w http.ResponseWriter, applied bool) {
	if applied {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// errStaleBase is the 409 of a delta whose base report the hub does not hold.
func errStaleBase(report, base string) error {
	return errConflict("the %s report %s this delta builds on is not the one the hub holds; send a full report", report, base)
}
