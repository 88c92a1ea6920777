package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ReportsKept is how many applied reports per cluster and report kind are remembered, so a late
// page of one of them is recognised.
const ReportsKept = 16

// ReportPage is one page of an agent report waiting for the rest of its report.
type ReportPage struct {
	ClusterUID string
	Report     string // which report: "nodes", "workloads"
	ReportID   string
	Page       int
	Pages      int
	Body       []byte
	ReceivedAt time.Time
}

// HeldReport is a report of which some pages are held: how many, and when the newest came.
type HeldReport struct {
	Report       string
	ReportID     string
	Held         int
	LastReceived time.Time
}

// ReportQueries hold the pages of agent reports until each report is whole.
type ReportQueries interface {
	// PutReportPage stores a page unless it is already held (a retried page changes nothing) and
	// returns how many distinct pages of its report are held.
	PutReportPage(ctx context.Context, p ReportPage) (held int, err error)
	// ReportPage returns one held page of a report, ErrNotFound if it is not held. A whole report
	// is read a page at a time, so that applying it never holds every page's body at once.
	ReportPage(ctx context.Context, clusterUID, report, reportID string, page int) (ReportPage, error)
	// HeldReports lists a cluster's reports of which some pages are held, the one whose newest
	// page is oldest first.
	HeldReports(ctx context.Context, clusterUID string) ([]HeldReport, error)
	DeleteReportPages(ctx context.Context, clusterUID, report, reportID string) error
	// DropStaleReportPages drops a cluster's pages received before the given time: reports whose
	// other pages never came.
	DropStaleReportPages(ctx context.Context, clusterUID string, before time.Time) error
	// MarkReportApplied records that a report was applied and says whether it was new: false if it
	// was applied already (so two hub replicas never apply one report twice). It forgets all but
	// the newest ReportsKept.
	MarkReportApplied(ctx context.Context, clusterUID, report, reportID string, at time.Time) (bool, error)
	ReportApplied(ctx context.Context, clusterUID, report, reportID string) (bool, error)
	// DeleteClusterReports drops everything held for a cluster: pages, applied reports, workloads,
	// its heartbeat.
	DeleteClusterReports(ctx context.Context, clusterUID string) error
}

func (q queries) PutReportPage(ctx context.Context, p ReportPage) (int, error) {
	_, err := q.exec(ctx, `INSERT INTO report_pages (cluster_uid, report, report_id, page, pages, body, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		p.ClusterUID, p.Report, p.ReportID, p.Page, p.Pages, string(p.Body), micros(p.ReceivedAt))
	if err != nil {
		return 0, fmt.Errorf("storing page %d of %s report %s: %w", p.Page, p.Report, p.ReportID, err)
	}
	var held int
	err = q.queryRow(ctx, `SELECT COUNT(*) FROM report_pages WHERE cluster_uid = ? AND report = ? AND report_id = ?`,
		p.ClusterUID, p.Report, p.ReportID).Scan(&held)
	if err != nil {
		return 0, fmt.Errorf("counting the pages of %s report %s: %w", p.Report, p.ReportID, err)
	}
	return held, nil
}

func (q queries) ReportPage(ctx context.Context, clusterUID, report, reportID string, page int) (ReportPage, error) {
	p := ReportPage{ClusterUID: clusterUID, Report: report, ReportID: reportID, Page: page}
	var (
		body string
		at   int64
	)
	err := q.queryRow(ctx, `SELECT pages, body, received_at FROM report_pages
		WHERE cluster_uid = ? AND report = ? AND report_id = ? AND page = ?`, clusterUID, report, reportID, page).Scan(&p.Pages, &body, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("reading page %d of %s report %s: %w", page, report, reportID, err)
	}
	p.Body, p.ReceivedAt = []byte(body), fromMicros(at)
	return p, nil
}

func (q queries) HeldReports(ctx context.Context, clusterUID string) ([]HeldReport, error) {
	rows, err := q.query(ctx, `SELECT report, report_id, COUNT(*), MAX(received_at) FROM report_pages
		WHERE cluster_uid = ? GROUP BY report, report_id ORDER BY MAX(received_at), report, report_id`, clusterUID)
	if err != nil {
		return nil, fmt.Errorf("listing the held reports of %s: %w", clusterUID, err)
	}
	defer rows.Close()
	var out []HeldReport
	for rows.Next() {
		var (
			h  HeldReport
			at int64
		)
		if err := rows.Scan(&h.Report, &h.ReportID, &h.Held, &at); err != nil {
			return nil, fmt.Errorf("listing the held reports of %s: %w", clusterUID, err)
		}
		h.LastReceived = fromMicros(at)
		out = append(out, h)
	}
	return out, rows.Err()
}

func (q queries) DeleteReportPages(ctx context.Context, clusterUID, report, reportID string) error {
	_, err := q.exec(ctx, `DELETE FROM report_pages WHERE cluster_uid = ? AND report = ? AND report_id = ?`,
		clusterUID, report, reportID)
	if err != nil {
		return fmt.Errorf("deleting the pages of %s report %s: %w", report, reportID, err)
	}
	return nil
}

func (q queries) DropStaleReportPages(ctx context.Context, clusterUID string, before time.Time) error {
	_, err := q.exec(ctx, `DELETE FROM report_pages WHERE cluster_uid = ? AND received_at < ?`, clusterUID, micros(before))
	if err != nil {
		return fmt.Errorf("dropping stale report pages of %s: %w", clusterUID, err)
	}
	return nil
}

func (q queries) MarkReportApplied(ctx context.Context, clusterUID, report, reportID string, at time.Time) (bool, error) {
	res, err := q.exec(ctx, `INSERT INTO reports_applied (cluster_uid, report, report_id, applied_at) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, clusterUID, report, reportID, micros(at))
	if err != nil {
		return false, fmt.Errorf("recording %s report %s as applied: %w", report, reportID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	_, err = q.exec(ctx, fmt.Sprintf(`DELETE FROM reports_applied WHERE cluster_uid = ? AND report = ? AND report_id NOT IN (
		SELECT report_id FROM reports_applied WHERE cluster_uid = ? AND report = ? ORDER BY applied_at DESC LIMIT %d)`, ReportsKept),
		clusterUID, report, clusterUID, report)
	if err != nil {
		return false, fmt.Errorf("forgetting old %s reports: %w", report, err)
	}
	return true, nil
}

func (q queries) ReportApplied(ctx context.Context, clusterUID, report, reportID string) (bool, error) {
	var n int
	err := q.queryRow(ctx, `SELECT COUNT(*) FROM reports_applied WHERE cluster_uid = ? AND report = ? AND report_id = ?`,
		clusterUID, report, reportID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("looking up %s report %s: %w", report, reportID, err)
	}
	return n > 0, nil
}

func (q queries) DeleteClusterReports(ctx context.Context, clusterUID string) error {
	for _, table := range []string{"report_pages", "reports_applied", "workloads", "workload_reports", "heartbeats"} {
		if _, err := q.exec(ctx, `DELETE FROM `+table+` WHERE cluster_uid = ?`, clusterUID); err != nil {
			return fmt.Errorf("deleting the %s of cluster %s: %w", strings.ReplaceAll(table, "_", " "), clusterUID, err)
		}
	}
	return nil
}
