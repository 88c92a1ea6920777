package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strings"
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
)

// testLog collects the agent's log as JSON lines.
func testLog() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewJSONHandler(&buf, nil)), &buf
}

// logLines are the records of one message.
func logLines(t *testing.T, buf *bytes.Buffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

type testPage struct {
	v1.ReportPage
	Items []string `json:"items"`
}

func stringItems(sizes ...int) []json.RawMessage {
	var out []json.RawMessage
	for i, n := range sizes {
		b, _ := json.Marshal(fmt.Sprintf("%d:%s", i, strings.Repeat("x", n)))
		out = append(out, b)
	}
	return out
}

// encodeAll encodes every page of a report, as sending it does.
func encodeAll(t testing.TB, r *pagedReport) [][]byte {
	t.Helper()
	out := make([][]byte, r.pages())
	for i := range out {
		var err error
		if out[i], err = r.page(i); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func decodePages(t *testing.T, pages [][]byte) []testPage {
	t.Helper()
	out := make([]testPage, len(pages))
	for i, p := range pages {
		if err := json.Unmarshal(p, &out[i]); err != nil {
			t.Fatalf("page %d is not JSON: %v", i, err)
		}
	}
	return out
}

func TestPaginate(t *testing.T) {
	const limit = 10_000
	tests := []struct {
		name      string
		sizes     []int
		wantPages int
		wantItems int
		warnings  int // "passes half the size limit"
		dropped   int // "over the message size limit"
	}{
		{"empty report is one page", nil, 1, 0, 0, 0},
		{"small report is one page", []int{10, 10, 10}, 1, 3, 0, 0},
		{"large report is filled to half the limit per page", repeat(100, 400), 9, 400, 0, 0},
		{"an item past half the limit goes alone, with a warning", []int{10, 6_000, 10}, 3, 3, 1, 0},
		{"an item over the limit is dropped, not sent", []int{10, 20_000, 10}, 1, 2, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, buf := testLog()
			r, err := paginate(log, "test", "r-1", "items", limit, stringItems(tt.sizes...), func(pg v1.ReportPage) any { return pg })
			if err != nil {
				t.Fatal(err)
			}
			pages := encodeAll(t, r)
			decoded := decodePages(t, pages)
			items := 0
			for i, p := range decoded {
				if len(pages[i]) > limit {
					t.Errorf("page %d is %d bytes, over the limit %d", i, len(pages[i]), limit)
				}
				if p.ReportID != "r-1" || p.Page != i || p.Pages != len(pages) {
					t.Errorf("page %d header = %+v", i, p.ReportPage)
				}
				for _, it := range p.Items {
					if !strings.HasPrefix(it, fmt.Sprint(items)+":") && tt.dropped == 0 {
						t.Errorf("item %q out of order, want item %d", it[:min(len(it), 8)], items)
					}
					items++
				}
			}
			if len(pages) != tt.wantPages || items != tt.wantItems {
				t.Errorf("%d pages with %d items, want %d pages with %d items", len(pages), items, tt.wantPages, tt.wantItems)
			}
			warns := logLines(t, buf, "Report message passes half the size limit")
			if len(warns) != tt.warnings {
				t.Errorf("%d half-limit warnings, want %d; log:\n%s", len(warns), tt.warnings, buf)
			}
			for _, w := range warns {
				if w["level"] != "WARN" || w["report"] != "test" || w["bytes"].(float64) <= limit/2 {
					t.Errorf("warning = %v", w)
				}
			}
			drops := logLines(t, buf, "Dropping a report item over the message size limit")
			if len(drops) != tt.dropped {
				t.Errorf("%d dropped items logged, want %d", len(drops), tt.dropped)
			}
			for _, d := range drops {
				if d["level"] != "ERROR" || d["bytes"].(float64) < 20_000 {
					t.Errorf("drop = %v", d)
				}
			}
		})
	}
}

func repeat(n, times int) []int {
	out := make([]int, times)
	for i := range out {
		out[i] = n
	}
	return out
}

// A 5,000-node report does not fit in one message: it is paged, every page under 1 MiB.
func TestNodePages(t *testing.T) {
	var nodes []v1.NodeReport
	for i := range 5000 {
		nodes = append(nodes, v1.NodeReport{Name: fmt.Sprintf("worker-%05d", i), Role: "worker", Ready: true,
			Conditions: []v1.NodeCondition{{Type: "Ready", Status: "True", Reason: "KubeletReady", Message: "kubelet is posting ready status"},
				{Type: "MemoryPressure", Status: "False", Reason: "KubeletHasSufficientMemory"}},
			Capacity: map[string]string{"cpu": "16", "memory": "64Gi", "pods": "110"}, KubeletVersion: "v1.34.4"})
	}
	whole, _ := json.Marshal(v1.AgentNodeReport{Nodes: nodes})
	if len(whole) <= v1.MaxAgentMessageBytes {
		t.Fatalf("the test report is %d bytes; it must exceed the limit to test paging", len(whole))
	}
	log, buf := testLog()
	r, err := nodePages(log, "n-1", nodes)
	if err != nil {
		t.Fatal(err)
	}
	pages := encodeAll(t, r)
	var got []string
	for i, p := range pages {
		if len(p) > v1.MaxAgentMessageBytes {
			t.Errorf("page %d is %d bytes", i, len(p))
		}
		var r v1.AgentNodeReport
		if err := json.Unmarshal(p, &r); err != nil {
			t.Fatal(err)
		}
		if r.ReportID != "n-1" || r.Page != i || r.Pages != len(pages) {
			t.Errorf("page %d header = %+v", i, r.ReportPage)
		}
		for _, n := range r.Nodes {
			got = append(got, n.Name)
		}
	}
	if len(pages) < 2 || len(got) != 5000 || got[0] != "worker-00000" || got[4999] != "worker-04999" {
		t.Fatalf("%d pages, %d nodes (%v … %v)", len(pages), len(got), got[:1], got[len(got)-1:])
	}
	if strings.Contains(buf.String(), "WARN") {
		t.Errorf("ordinary pages logged a warning:\n%s", buf)
	}
}

// reportOf decodes a workload report's pages into its base and items.
func reportOf(t *testing.T, pages [][]byte) (string, []v1.WorkloadItem) {
	t.Helper()
	var items []v1.WorkloadItem
	base := ""
	for i, p := range pages {
		var r v1.AgentWorkloadReport
		if err := json.Unmarshal(p, &r); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			base = r.Base
		} else if r.Base != base {
			t.Fatalf("page %d base %q, page 0 %q", i, r.Base, base)
		}
		items = append(items, r.Items...)
	}
	return base, items
}

func summary(items []v1.WorkloadItem) string {
	var s []string
	for _, it := range items {
		e := it.Kind + " " + it.Namespace + "/" + it.Name
		if it.Deleted {
			e += " deleted"
		} else if it.Pod != nil {
			e += " " + it.Pod.Phase
		}
		s = append(s, e)
	}
	return strings.Join(s, ", ")
}

func TestWorkloadDeltas(t *testing.T) {
	seed := maphash.MakeSeed()
	log, _ := testLog()
	podIn := func(ns, name, phase string) v1.WorkloadItem {
		return v1.WorkloadItem{Kind: v1.WorkloadPod, Namespace: ns, Name: name, Pod: &v1.PodItem{Phase: phase, Containers: []v1.ContainerItem{}}}
	}
	build := func(base map[string]uint64, baseID, id string, items ...v1.WorkloadItem) (*workloadBuilder, string, []v1.WorkloadItem) {
		b := newWorkloadBuilder(seed, base, baseID)
		for _, it := range items {
			if err := b.add(it); err != nil {
				t.Fatal(err)
			}
		}
		r, err := b.pages(log, id)
		if err != nil {
			t.Fatal(err)
		}
		gotBase, got := reportOf(t, encodeAll(t, r))
		return b, gotBase, got
	}

	// No acknowledged report: a full report of everything, with no base.
	full, base, items := build(nil, "", "r1", podIn("a", "p1", "Running"), podIn("a", "p2", "Pending"), podIn("b", "p3", "Running"))
	if base != "" || summary(items) != "pod a/p1 Running, pod a/p2 Pending, pod b/p3 Running" {
		t.Fatalf("full report: base %q, items %s", base, summary(items))
	}
	// After it was acknowledged: only what changed, what is new and what is gone.
	delta, base, items := build(full.cur, full.id, "r2", podIn("a", "p1", "Running"), podIn("a", "p2", "Running"), podIn("c", "p4", "Pending"))
	if base != "r1" || summary(items) != "pod a/p2 Running, pod c/p4 Pending, pod b/p3 deleted" {
		t.Fatalf("delta: base %q, items %s", base, summary(items))
	}
	// Nothing changed: an empty delta on the previous report.
	_, base, items = build(delta.cur, delta.id, "r3", podIn("a", "p1", "Running"), podIn("a", "p2", "Running"), podIn("c", "p4", "Pending"))
	if base != "r2" || len(items) != 0 {
		t.Fatalf("unchanged: base %q, items %s", base, summary(items))
	}
}
