package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	v1 "github.com/easelhq/easel/api/v1"
)

// The agent never sends a message over v1.MaxAgentMessageBytes: a report's items are split into
// pages, each a message the hub holds until the whole report has arrived. Pages are filled to half
// the limit, so that an ordinary page never comes near it; a message passes half the limit only
// when one item alone is that large, which is worth a warning. An item over the limit is dropped
// (with an error in the log) rather than sent: a report that can never be delivered must not stop
// every other one, nor make the agent crash or retry forever.

// pageTarget is how full a page is filled.
func pageTarget(limit int) int { return limit / 2 }

// pagedReport is a report split into pages. Pages are encoded one at a time as they are sent, so
// the agent holds the report's items once, not twice.
type pagedReport struct {
	log      *slog.Logger
	report   string
	id       string
	field    string // the JSON field of the items
	limit    int
	envelope func(pg v1.ReportPage) any
	groups   [][]json.RawMessage
}

// paginate splits the encoded items of report id into pages whose messages stay under limit: each
// message is envelope's JSON (the page header and the report's own fields) with the page's items
// in field. A report with no items is one page.
func paginate(log *slog.Logger, report, id, field string, limit int, items []json.RawMessage, envelope func(pg v1.ReportPage) any) (*pagedReport, error) {
	r := &pagedReport{log: log, report: report, id: id, field: field, limit: limit, envelope: envelope}
	// The envelope with the largest page numbers bounds every page's overhead.
	empty, err := r.encode(v1.ReportPage{ReportID: id, Page: 1 << 30, Pages: 1 << 30}, nil)
	if err != nil {
		return nil, err
	}
	overhead, target := len(empty), pageTarget(limit)
	var cur []json.RawMessage
	size := overhead
	for _, it := range items {
		n := len(it) + 1 // the comma
		if overhead+n > limit {
			log.Error("Dropping a report item over the message size limit", "report", report, "bytes", len(it), "limit", limit)
			continue
		}
		if len(cur) > 0 && size+n > target {
			r.groups, cur, size = append(r.groups, cur), nil, overhead
		}
		cur, size = append(cur, it), size+n
	}
	if len(cur) > 0 || len(r.groups) == 0 {
		r.groups = append(r.groups, cur)
	}
	return r, nil
}

// encodeItems encodes a report's items, each once, for paginate.
func encodeItems[T any](items []T) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(items))
	for i, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			return nil, fmt.Errorf("encoding report item %d: %w", i, err)
		}
		out[i] = b
	}
	return out, nil
}

// pages is how many messages the report takes.
func (r *pagedReport) pages() int { return len(r.groups) }

// page encodes message i, warning when it passes half the limit.
func (r *pagedReport) page(i int) ([]byte, error) {
	body, err := r.encode(v1.ReportPage{ReportID: r.id, Page: i, Pages: len(r.groups)}, r.groups[i])
	if err != nil {
		return nil, err
	}
	if len(body) > r.limit { // the overhead bound makes this impossible; never send it anyway
		return nil, fmt.Errorf("page %d of the %s report is %d bytes, over the limit of %d", i, r.report, len(body), r.limit)
	}
	if len(body) > r.limit/2 {
		r.log.Warn("Report message passes half the size limit", "report", r.report, "bytes", len(body), "limit", r.limit)
	}
	return body, nil
}

// encode splices the items, encoded already, into the envelope's JSON object.
func (r *pagedReport) encode(pg v1.ReportPage, items []json.RawMessage) ([]byte, error) {
	env, err := json.Marshal(r.envelope(pg))
	if err != nil {
		return nil, fmt.Errorf("encoding the %s report: %w", r.report, err)
	}
	if len(env) < 2 || env[len(env)-1] != '}' {
		return nil, fmt.Errorf("encoding the %s report: its envelope %s is not a JSON object", r.report, env)
	}
	n := len(env) + len(r.field) + 8
	for _, it := range items {
		n += len(it) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, env[:len(env)-1]...)
	if len(env) > 2 {
		b = append(b, ',')
	}
	b = append(b, `"`+r.field+`":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	return append(b, "]}"...), nil
}

// sendPages sends a report's pages in order; the report counts as delivered when every page was
// accepted. The HTTP status of a refused page is returned with the error.
func (a *Agent) sendPages(ctx context.Context, path string, r *pagedReport) (int, error) {
	for i := range r.pages() {
		body, err := r.page(i)
		if err != nil {
			return 0, err
		}
		if status, err := a.do(ctx, "PUT", path, json.RawMessage(body), nil); err != nil {
			return status, fmt.Errorf("page %d of %d: %w", i, r.pages(), err)
		}
	}
	return 0, nil
}
