package troubleshooting

import (
	"encoding/json"
	"strings"
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
)

// A log request the hub accepts is within every limit, and what it passes on to the agent names
// only files under /var/log.
func FuzzLogRequest(f *testing.F) {
	for _, seed := range []string{`{}`, `{"noOfLines": 100, "duration": 60, "mode": "app"}`,
		`{"k8s": {"namespaces": ["web"], "labelSelector": ["app in (a,b)"]}, "node": {"logs": ["syslog", "pods/x.log"]}}`,
		`{"node": {"logs": ["../etc/shadow"]}}`, `{"noOfLines": -1}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in v1.LogFetcherRequest
		if json.Unmarshal(body, &in) != nil {
			return
		}
		out, err := normalizeLogRequest(in)
		if err != nil {
			return
		}
		switch {
		case out.NoOfLines < 1 || out.NoOfLines > v1.MaxLogLines:
			t.Fatalf("noOfLines %d accepted", out.NoOfLines)
		case out.Duration < 1 || out.Duration*1e9 > int64(v1.MaxLogDuration):
			t.Fatalf("duration %d accepted", out.Duration)
		case out.Mode != "cluster" && out.Mode != "app":
			t.Fatalf("mode %q accepted", out.Mode)
		case len(out.Node.Logs) == 0 || len(out.Node.Logs) > v1.MaxLogRequestItems ||
			len(out.K8s.Namespaces) > v1.MaxLogRequestItems || len(out.K8s.LabelSelector) > v1.MaxLogRequestItems:
			t.Fatalf("item counts accepted: %+v", out)
		}
		for _, f := range out.Node.Logs {
			if strings.HasPrefix(f, "/") || strings.Contains(f, "..") {
				t.Fatalf("node log %q accepted", f)
			}
		}
	})
}
