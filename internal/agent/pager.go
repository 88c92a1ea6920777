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

// buildPage encodes one page of a report: the report's own fields, the page header and the items.
type buildPage func(pg v1.ReportPage, items []json.RawMessage) ([]byte, error)

// paginate splits the encoded items of report id into messages of at most limit bytes. A report
// with no items is one message.
func paginate(log *slog.Logger, report, id string, limit int, items []json.RawMessage, build buildPage) ([][]byte, error) {
	// The envelope's size with the largest page numbers bounds every page's overhead.
	empty, err := build(v1.ReportPage{ReportID: id, Page: 1 << 30, Pages: 1 << 30}, nil)
	if err != nil {
		return nil, fmt.Errorf("encoding the %s report: %w", report, err)
	}
	overhead, target := len(empty), pageTarget(limit)
	var groups [][]json.RawMessage
	var cur []json.RawMessage
	size := overhead
	for _, it := range items {
		n := len(it) + 1 // the comma
		if overhead+n > limit {
			log.Error("Dropping a report item over the message size limit", "report", report, "bytes", len(it), "limit", limit)
			continue
		}
		if len(cur) > 0 && size+n > target {
			groups, cur, size = append(groups, cur), nil, overhead
		}
		cur, size = append(cur, it), size+n
	}
	if len(cur) > 0 || len(groups) == 0 {
		groups = append(groups, cur)
	}
	out := make([][]byte, len(groups))
	for i, g := range groups {
		body, err := build(v1.ReportPage{ReportID: id, Page: i, Pages: len(groups)}, g)
		if err != nil {
			return nil, fmt.Errorf("encoding page %d of the %s report: %w", i, report, err)
		}
		if len(body) > limit { // the overhead bound makes this impossible; never send it anyway
			return nil, fmt.Errorf("page %d of the %s report is %d bytes, over the limit of %d", i, report, len(body), limit)
		}
		if len(body) > limit/2 {
			log.Warn("Report message passes half the size limit", "report", report, "bytes", len(body), "limit", limit)
		}
		out[i] = body
	}
	return out, nil
}

// sendPages sends a report's pages in order; the report counts as delivered when every page was
// accepted. The HTTP status of a refused page is returned with the error.
func (a *Agent) sendPages(ctx context.Context, path string, pages [][]byte) (int, error) {
	for i, body := range pages {
		if status, err := a.do(ctx, "PUT", path, json.RawMessage(body), nil); err != nil {
			return status, fmt.Errorf("page %d of %d: %w", i, len(pages), err)
		}
	}
	return 0, nil
}
