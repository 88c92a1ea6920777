package local

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/provider"
)

// A local cluster's bundle gets its control plane's and agent's logs, and each machine's system
// and cloud-init logs, which the provider writes as it registers and changes the machine's node.
func TestLogs(t *testing.T) {
	p := &Provider{Root: t.TempDir()}
	c := provider.Cluster{UID: "c1", Name: "demo", Spec: clusters.Cluster{Pools: []clusters.Pool{{Name: "workers", Size: 2}}}}
	m := clusters.Machine{UID: "m1", Name: "demo-workers-a", Pool: "workers", InstanceType: "small", Zone: "local-a", CreatedAt: time.Now()}
	old := clusters.Machine{UID: "m0", Name: "demo-workers-old", Pool: "workers", CreatedAt: time.Now()}
	c.Spec.Status.Machines = []clusters.Machine{m, old}
	if err := os.MkdirAll(filepath.Join(p.dir("c1"), "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("an old etcd line\n", logTailBytes/17+100) + "the newest etcd line\n"
	for name, content := range map[string]string{"etcd.log": big, compAgent + ".log": "Starting the easel agent\n"} {
		if err := os.WriteFile(filepath.Join(p.dir("c1"), "logs", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.logMachine(c, m, machine(c, m), true); err != nil {
		t.Fatal(err)
	}
	c.Spec.Pools[0].Labels = map[string]string{"tier": "web"}
	if err := p.logMachine(c, m, machine(c, m), true); err != nil {
		t.Fatal(err)
	}

	collect := func(req v1.LogFetcherRequest) map[string]string {
		t.Helper()
		got := map[string]string{}
		err := p.Logs(context.Background(), c, req, func(name string, r io.Reader) error {
			b, err := io.ReadAll(r)
			got[name] = string(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := collect(v1.LogFetcherRequest{Node: &v1.LogFetcherNodeLogs{Logs: []string{"syslog", "cloud-init-output.log", "kern.log"}}})
	for name, want := range map[string]string{
		"control-plane/etcd.log":                       "the newest etcd line",
		"easel-system/easel-agent.log":                 "Starting the easel agent",
		"nodes/demo-workers-a/cloud-init-output.log":   "Registering node demo-workers-a",
		"nodes/demo-workers-a/syslog":                  "given its pool's labels map[tier:web]",
		"nodes/demo-workers-old/syslog":                "created before easel kept machine logs",
		"nodes/demo-workers-old/cloud-init-output.log": "created before easel kept machine logs",
	} {
		if !strings.Contains(got[name], want) {
			t.Errorf("%s = %.200q; want it to hold %q", name, got[name], want)
		}
	}
	if _, ok := got["nodes/demo-workers-a/kern.log"]; ok {
		t.Error("the provider gave a kern.log it does not keep")
	}
	if n := len(got["control-plane/etcd.log"]); n > logTailBytes || !strings.HasPrefix(got["control-plane/etcd.log"], "an old etcd line\n") {
		t.Errorf("etcd.log: %d bytes starting %.40q; want at most %d from the start of a line", n, got["control-plane/etcd.log"], logTailBytes)
	}

	// The request's lines and node files are honoured.
	got = collect(v1.LogFetcherRequest{NoOfLines: 2, Node: &v1.LogFetcherNodeLogs{Logs: []string{"syslog"}}})
	if want := "an old etcd line\nthe newest etcd line\n"; got["control-plane/etcd.log"] != want {
		t.Errorf("etcd.log with noOfLines 2 = %q, want %q", got["control-plane/etcd.log"], want)
	}
	if lines := strings.Count(got["nodes/demo-workers-a/syslog"], "\n"); lines != 2 {
		t.Errorf("syslog with noOfLines 2 has %d lines:\n%s", lines, got["nodes/demo-workers-a/syslog"])
	}
	if _, ok := got["nodes/demo-workers-a/cloud-init-output.log"]; ok {
		t.Error("the provider gave cloud-init-output.log, which the request does not name")
	}
}
