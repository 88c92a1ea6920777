package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/cli"
	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/testenv/easelbin"
	"github.com/easelhq/easel/internal/testenv/localcp"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// testHub is a real hub on SQLite, served in-process on a free port.
type testHub struct {
	url, apiKey, adminPassword string
	// dataDir is the hub's --data-dir; welcome is what its first start printed.
	dataDir, welcome string
}

// startHub starts a hub; tune changes its configuration (e.g. to serve TLS).
func startHub(t *testing.T, tune ...func(*server.Config)) testHub {
	t.Helper()
	const key = "easel-test-admin-key"
	dataDir := t.TempDir()
	agentBinary := easelbin.Path(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var welcome bytes.Buffer // written before Ready is called, so reading it after is safe
	cfg := server.Config{Listen: "127.0.0.1:0", DataDir: dataDir, AdminAPIKey: key, AgentBinary: agentBinary,
		Out: &welcome, Logger: slog.New(slog.DiscardHandler), Ready: func(addr string) { ready <- addr }}
	for _, f := range tune {
		f(&cfg)
	}
	go func() { done <- server.Run(ctx, cfg) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("hub exited before serving: %v", err)
	case <-time.After(time.Minute):
		cancel()
		t.Fatal("hub did not start within a minute")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hub shut down with %v", err)
		}
		// Control planes outlive the hub by design; a failed test must not leave them running.
		if err := localcp.StopAll(filepath.Join(dataDir, "clusters")); err != nil {
			t.Errorf("stopping leftover control planes: %v", err)
		}
	})
	password, err := os.ReadFile(filepath.Join(dataDir, server.InitialPasswordFile))
	if err != nil {
		t.Fatalf("the hub's first start wrote no admin password: %v\n%s", err, welcome.String())
	}
	scheme := "http://"
	if strings.Contains(welcome.String(), "https://"+addr) {
		scheme = "https://"
	}
	return testHub{url: scheme + addr, apiKey: key, adminPassword: strings.TrimSpace(string(password)),
		dataDir: dataDir, welcome: welcome.String()}
}

// useConfig points the CLI at a fresh config file and keeps the caller's environment out.
func useConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "easel", "config.yaml")
	t.Setenv(cli.EnvConfig, path)
	for _, env := range []string{cli.EnvHub, cli.EnvAPIKey, cli.EnvProject, cli.EnvCAFile, cli.EnvHubFingerprint} {
		t.Setenv(env, "")
	}
	return path
}

type result struct {
	stdout, stderr string
	err            error
}

// easel runs the CLI as a user would, with stdin, and captures what it prints. A command gets 2
// minutes: the longest, a certificate renewal, waits for a repave of the control plane.
func easel(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	root := rootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return result{out.String(), errOut.String(), err}
}

// mustEasel runs the CLI and fails the test if the command fails.
func mustEasel(t *testing.T, args ...string) result {
	t.Helper()
	r := easel(t, "", args...)
	if r.err != nil {
		t.Fatalf("easel %s: %v\nstderr: %s", strings.Join(args, " "), r.err, r.stderr)
	}
	return r
}

// rows splits a table into the whitespace-separated fields of each line.
func rows(table string) [][]string {
	var out [][]string
	for _, line := range strings.Split(strings.TrimRight(table, "\n"), "\n") {
		out = append(out, strings.Fields(line))
	}
	return out
}

// section returns the lines of a get view after the line "title:" up to the next blank line.
func section(t *testing.T, view, title string) string {
	t.Helper()
	_, rest, ok := strings.Cut(view, "\n"+title+":\n")
	if !ok {
		t.Fatalf("no %s section in:\n%s", title, view)
	}
	body, _, _ := strings.Cut(rest, "\n\n")
	return body
}

var (
	uidPattern     = regexp.MustCompile(`^[0-9a-f]{24}$`)
	secondsPattern = regexp.MustCompile(`^[0-9]+s$`)
)

func TestCLIWalkthrough(t *testing.T) {
	h := startHub(t)
	cfgPath := useConfig(t)

	// Login verifies the key, picks the default project and saves the config for the owner only.
	r := mustEasel(t, "login", "--hub", h.url, "--api-key", h.apiKey)
	login := regexp.MustCompile(`^Logged in to ` + regexp.QuoteMeta(h.url) + ` as user [0-9a-f]{24} \(tenant [0-9a-f]{24}\)
Project: default \(([0-9a-f]{24})\)
Saved to ` + regexp.QuoteMeta(cfgPath) + "\n$").FindStringSubmatch(r.stdout)
	if login == nil {
		t.Fatalf("login printed:\n%s", r.stdout)
	}
	projectUID := login[1]
	fi, err := os.Stat(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("config file mode = %v, want 0600", fi.Mode().Perm())
	}
	saved, err := cli.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if want := (cli.Config{Hub: h.url, APIKey: h.apiKey, Project: projectUID, ProjectName: "default"}); saved != want {
		t.Errorf("saved config = %+v, want %+v", saved, want)
	}

	// Apply creates a draft; applying the same file again updates that draft.
	r = mustEasel(t, "profile", "apply", "-f", "../../examples/profile.yaml")
	profileUID := strings.TrimSpace(r.stdout)
	if !uidPattern.MatchString(profileUID) {
		t.Fatalf("profile apply printed %q, want a uid", r.stdout)
	}
	if r.stderr != "Created profile local-cluster 1.0.0 (draft)\n" {
		t.Errorf("first apply said %q", r.stderr)
	}
	r = mustEasel(t, "profile", "apply", "-f", "../../examples/profile.yaml")
	if got := strings.TrimSpace(r.stdout); got != profileUID {
		t.Errorf("second apply printed uid %q, want the draft's %q", got, profileUID)
	}
	if r.stderr != "Updated the draft of profile local-cluster 1.0.0 (draft)\n" {
		t.Errorf("second apply said %q", r.stderr)
	}

	r = mustEasel(t, "profile", "list")
	wantList := [][]string{
		{"NAME", "VERSION", "TYPE", "CLOUD", "STATE", "UID"},
		{"local-cluster", "1.0.0", "cluster", "local", "draft", profileUID},
	}
	if got := rows(r.stdout); !slices.EqualFunc(got, wantList, slices.Equal) {
		t.Errorf("profile list =\n%s\nwant rows %q", r.stdout, wantList)
	}

	r = mustEasel(t, "profile", "publish", "local-cluster@1.0.0")
	if want := "Published profile local-cluster 1.0.0 (" + profileUID + ")\n"; r.stdout != want {
		t.Errorf("publish printed %q, want %q", r.stdout, want)
	}

	// A published profile is immutable: applying the file again must say so, and how to move on.
	r = easel(t, "", "profile", "apply", "-f", "../../examples/profile.yaml")
	if !errors.Is(r.err, cli.ErrProfilePublished) {
		t.Fatalf("apply of a published profile: err = %v, want ErrProfilePublished", r.err)
	}
	if want := "Error: profile local-cluster 1.0.0 is published, and published profiles are immutable; bump spec.version to apply your changes as a new version\n"; r.stderr != want {
		t.Errorf("apply of a published profile printed %q, want %q", r.stderr, want)
	}

	r = mustEasel(t, "profile", "get", "local-cluster")
	if got := rows(section(t, r.stdout, "Packs")); !slices.EqualFunc(got, [][]string{
		{"LAYER", "NAME", "VERSION", "TYPE", "UID"},
		{"os", "ubuntu", "24.04", "spectro", got[1][4]},
		{"k8s", "kubernetes", "1.34.4", "spectro", got[2][4]},
		{"cni", "cni-calico", "3.30.3", "spectro", got[3][4]},
		{"csi", "csi-local-path", "0.0.32", "spectro", got[4][4]},
		{"addon", "easel-agent", "0.1.0", "spectro", got[5][4]},
	}, slices.Equal) {
		t.Errorf("profile get packs =\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "State:     published\n") {
		t.Errorf("profile get does not show it published:\n%s", r.stdout)
	}

	// The cluster file names its profile by name and version; the CLI sends the uid.
	r = mustEasel(t, "cluster", "create", "-f", "../../examples/cluster.yaml")
	clusterUID := strings.TrimSpace(r.stdout)
	if !uidPattern.MatchString(clusterUID) {
		t.Fatalf("cluster create printed %q, want a uid", r.stdout)
	}

	// The engine provisions it: a real control plane, KWOK nodes for the three machines, the agent,
	// which applies the packs; then it is Running.
	waitForCluster(t, "demo", func(cl v1.SpectroCluster) bool {
		return cl.Status.State == v1.ClusterStateRunning && hasCondition(cl, "APIServerReachable", "True")
	})

	r = mustEasel(t, "cluster", "list")
	got := rows(r.stdout)
	if len(got) != 2 || !slices.Equal(got[0], []string{"NAME", "STATE", "CLOUD", "POOLS", "PROJECT", "AGE"}) ||
		!slices.Equal(got[1][:5], []string{"demo", "Running", "local", "control-plane:1,workers:2", "default"}) ||
		!secondsPattern.MatchString(got[1][5]) {
		t.Errorf("cluster list =\n%s", r.stdout)
	}

	r = mustEasel(t, "cluster", "get", "demo")
	for _, line := range []string{"Name:     demo\n", "UID:      " + clusterUID + "\n", "Cloud:    local\n", "State:    Running\n", "Health:   Healthy (last heartbeat "} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("cluster get lacks %q:\n%s", line, r.stdout)
		}
	}
	conds := rows(section(t, r.stdout, "Conditions"))
	var condSummary []string
	for _, c := range conds[1:] {
		condSummary = append(condSummary, strings.Join(c[:3], " "))
	}
	slices.Sort(condSummary) // the agent's own condition lands whenever its first heartbeat does
	if !slices.Equal(conds[0], []string{"TYPE", "STATUS", "REASON", "AGE", "MESSAGE"}) || !slices.Equal(condSummary, []string{
		"APIServerReachable True Reachable",
		"AgentDeployed True AgentConnected",
		"ControlPlaneNodesReady True NodesReady",
		"InfrastructureReady True ControlPlaneReady",
		"PacksApplied True Applied",
		"WorkerNodesReady True NodesReady",
	}) {
		t.Errorf("cluster get conditions =\n%s", r.stdout)
	}
	if got := rows(section(t, r.stdout, "Pools")); !slices.EqualFunc(got, [][]string{
		{"NAME", "ROLE", "SIZE", "HEALTHY"},
		{"control-plane", "control-plane", "1", "1"},
		{"workers", "worker", "2", "2"},
	}, slices.Equal) {
		t.Errorf("cluster get pools =\n%s", r.stdout)
	}
	if got := rows(section(t, r.stdout, "Profiles")); !slices.EqualFunc(got, [][]string{
		{"NAME", "VERSION", "TYPE", "UID"},
		{"local-cluster", "1.0.0", "cluster", profileUID},
	}, slices.Equal) {
		t.Errorf("cluster get profiles =\n%s", r.stdout)
	}

	// The nodes and their usage, as the agent reports them.
	poll.Eventually(t, time.Minute, "cluster nodes to list 3 nodes with their usage", func() error {
		r = mustEasel(t, "cluster", "nodes", "demo")
		got := rows(r.stdout)
		return poll.Unless(len(got) == 4 && !slices.ContainsFunc(got[1:], func(row []string) bool { return row[6] == "-" }),
			"cluster nodes =\n%s", r.stdout)
	})
	nodeRows := rows(r.stdout)
	if !slices.Equal(nodeRows[0], []string{"NAME", "ROLE", "POOL", "READY", "SCHEDULING", "PROBLEMS", "CPU", "CPU%", "MEMORY", "MEMORY%", "KUBELET"}) {
		t.Errorf("cluster nodes header = %v", nodeRows[0])
	}
	var roles []string
	usagePattern := regexp.MustCompile(`^\d+\.\d\d/(2|4) \d+% \d+\.\d\d/(4|8)Gi \d+%$`)
	for _, row := range nodeRows[1:] {
		if u := strings.Join(row[6:10], " "); !usagePattern.MatchString(u) {
			t.Errorf("usage of node %s = %q; want used/allocatable and percentages", row[0], u)
		}
		roles = append(roles, strings.Join(append(row[1:6:6], row[10]), " "))
	}
	slices.Sort(roles)
	if !slices.Equal(roles, []string{
		"control-plane control-plane True Schedulable - v1.34.4",
		"worker workers True Schedulable - v1.34.4",
		"worker workers True Schedulable - v1.34.4",
	}) {
		t.Errorf("cluster nodes =\n%s", r.stdout)
	}

	// The pods on the workers (Calico's, the add-ons') use a share of their requests, as KWOK
	// simulates them: the workers' usage is more than zero.
	poll.Eventually(t, time.Minute, "cluster usage to show the workers' pods using CPU and memory", func() error {
		r = mustEasel(t, "cluster", "usage", "demo", "--since", "1h")
		m := regexp.MustCompile(`CPU: +(\d+\.\d\d) of 4\.00 cores used .*\nMemory: +(\d+\.\d\d) of 8\.00 GiB used`).FindStringSubmatch(r.stdout)
		return poll.Unless(m != nil && m[1] != "0.00" && m[2] != "0.00", "cluster usage =\n%s", r.stdout)
	})
	for _, want := range []string{"CPU:", "of 4.00 cores used", "Memory:", "of 8.00 GiB used", "Over the last 1h0m0s (worker nodes, 1m0s points)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("cluster usage lacks %q:\n%s", want, r.stdout)
		}
	}
	if got := rows(section(t, r.stdout, "Nodes")); len(got) != 4 || !slices.Equal(got[0], []string{"NAME", "ROLE", "CPU", "CPU%",
		"CPU-REQUESTED", "MEMORY", "MEMORY%", "MEMORY-REQUESTED"}) {
		t.Errorf("cluster usage nodes =\n%s", r.stdout)
	}
	if !regexp.MustCompile(`cpuUsage \(cores\) +[▁▂▃▄▅▆▇█]+ `).MatchString(r.stdout) {
		t.Errorf("cluster usage has no CPU sparkline:\n%s", r.stdout)
	}
	if r := easel(t, "", "cluster", "usage", "demo", "--since", "1s"); r.err == nil || !strings.Contains(r.stderr, "--since 1s must be between 1m and 720h") {
		t.Errorf("cluster usage --since 1s: %v %s", r.err, r.stderr)
	}
	r = mustEasel(t, "cluster", "get", "demo")
	if !regexp.MustCompile(`Usage: +CPU (0\.0[1-9]|0\.[1-9]\d|[1-9]\d*\.\d\d) of 4\.00 cores`).MatchString(r.stdout) {
		t.Errorf("cluster get has no usage line with the workers' CPU in use:\n%s", r.stdout)
	}
	if got := rows(section(t, r.stdout, "Nodes")); len(got) != 4 || got[0][0] != "NAME" || got[1][3] != "True" {
		t.Errorf("cluster get nodes =\n%s", r.stdout)
	}

	// A log bundle: the command shows the states and writes the zip, which has the cluster's
	// manifest; a healthy cluster's nodes have no problem the doctor finds.
	bundle := filepath.Join(t.TempDir(), "demo.zip")
	r = mustEasel(t, "logs", "demo", "--lines", "100", "-O", bundle)
	for _, want := range []string{"Log bundle ", " requested for cluster demo\n", "  Completed", "Wrote " + bundle + " (", "\nEvery item was collected\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("logs lacks %q:\n%s", want, r.stdout)
		}
	}
	if zr, err := zip.OpenReader(bundle); err != nil {
		t.Errorf("logs wrote no zip: %v", err)
	} else {
		if _, err := zr.Open("Manifest.yaml"); err != nil {
			t.Errorf("the bundle has no Manifest.yaml: %v", err)
		}
		zr.Close()
	}
	if r := easel(t, "", "logs", "demo", "--lines", "20000"); r.err == nil || !strings.Contains(r.stderr, "MaxLogLines") {
		t.Errorf("logs --lines 20000: %v %s", r.err, r.stderr)
	}
	poll.Eventually(t, time.Minute, "the doctor to find no problem on a healthy cluster", func() error {
		r = mustEasel(t, "doctor", "demo")
		return poll.Unless(strings.HasSuffix(r.stdout, "\nNo problems found.\n"), "doctor =\n%s", r.stdout)
	})
	if got := rows(r.stdout); len(got) < 2 || !slices.Equal(got[0], []string{"NODE", "CHECK", "STATUS", "EVIDENCE"}) {
		t.Errorf("doctor table =\n%s", r.stdout)
	}
	var findings []v1.Finding
	r = mustEasel(t, "doctor", "demo", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &findings); err != nil || len(findings) == 0 {
		t.Errorf("doctor -o json = %v\n%s", err, r.stdout)
	}
	nodes := map[string]bool{}
	for _, f := range findings {
		nodes[f.Node] = true
	}
	if len(nodes) != 3 {
		t.Errorf("doctor -o json covers nodes %v; want the cluster's 3", nodes)
	}

	// The workloads, as the agent reports them: the namespaces of a fresh cluster.
	poll.Eventually(t, time.Minute, "cluster workloads to list kube-system", func() error {
		r = mustEasel(t, "cluster", "workloads", "demo", "--kind", "namespace")
		return poll.Unless(strings.Contains(r.stdout, "kube-system"), "cluster workloads --kind namespace =\n%s%s", r.stdout, r.stderr)
	})
	var namespaces []string
	for _, row := range rows(r.stdout)[1:] {
		namespaces = append(namespaces, row[0]+" "+row[1])
	}
	if got := rows(r.stdout)[0]; !slices.Equal(got, []string{"NAME", "STATUS", "AGE"}) ||
		!slices.Contains(namespaces, "kube-system Active") || !slices.Contains(namespaces, "default Active") {
		t.Errorf("cluster workloads --kind namespace =\n%s", r.stdout)
	}
	r = mustEasel(t, "cluster", "workloads", "demo", "--kind", "pod", "-n", "no-such-namespace")
	if got := rows(r.stdout); len(got) != 1 || !slices.Equal(got[0], []string{"NAMESPACE", "NAME", "STATUS", "NODE", "READY", "RESTARTS", "AGE"}) {
		t.Errorf("cluster workloads of an empty namespace =\n%s", r.stdout)
	}

	// Maintenance of a worker: on (waits for the drain, showing progress), shown in the node list,
	// refused for the last schedulable worker, then off.
	worker := ""
	for _, row := range rows(mustEasel(t, "cluster", "nodes", "demo").stdout)[1:] {
		if row[1] == "worker" {
			worker = row[0]
		}
	}
	r = mustEasel(t, "node", "maintenance", "on", "demo", worker)
	if !strings.Contains(r.stdout, "Maintenance on requested for node "+worker) || !strings.Contains(r.stdout, "Completed: cordoned;") {
		t.Errorf("node maintenance on =\n%s", r.stdout)
	}
	poll.Eventually(t, time.Minute, "cluster nodes to show the maintenance", func() error {
		out := mustEasel(t, "cluster", "nodes", "demo").stdout
		return poll.Unless(strings.Contains(out, "Maintenance:Completed"), "cluster nodes =\n%s", out)
	})
	for _, row := range rows(mustEasel(t, "cluster", "nodes", "demo").stdout)[1:] {
		if row[1] == "worker" && row[0] != worker {
			if r := easel(t, "", "node", "maintenance", "on", "demo", row[0]); r.err == nil || !strings.Contains(r.stderr, "last schedulable worker") {
				t.Errorf("maintenance of the last schedulable worker: %v\n%s", r.err, r.stderr)
			}
		}
	}
	if r := easel(t, "", "node", "maintenance", "on", "demo", "no-such-node"); r.err == nil || !strings.Contains(r.stderr, `has no node "no-such-node"`) {
		t.Errorf("maintenance of an unknown node: %v\n%s", r.err, r.stderr)
	}
	r = mustEasel(t, "node", "maintenance", "off", "demo", worker)
	if !strings.Contains(r.stdout, "Completed: node "+worker+" is schedulable again") {
		t.Errorf("node maintenance off =\n%s", r.stdout)
	}

	r = mustEasel(t, "cluster", "repave", "demo")
	if !strings.Contains(r.stdout, "Repave:  None — No repave is needed: every machine matches its pool") ||
		!slices.Equal(rows(section(t, r.stdout, "Upgrades"))[0], []string{"WHEN", "REASONS"}) {
		t.Errorf("cluster repave =\n%s", r.stdout)
	}
	if r := easel(t, "", "cluster", "repave", "demo", "--approve"); r.err == nil || !strings.Contains(r.stderr, "has no repave waiting for approval") {
		t.Errorf("cluster repave --approve with nothing pending: %v\n%s", r.err, r.stderr)
	}

	r = mustEasel(t, "events", "demo")
	events := rows(r.stdout)
	last := events[len(events)-1]
	if !slices.Equal(events[0], []string{"AGE", "SEVERITY", "REASON", "MESSAGE"}) ||
		!slices.Equal(last[1:3], []string{"Info", "Created"}) ||
		strings.Join(last[3:], " ") != "Cluster created (cloud type local, pools control-plane×1, workers×2); waiting for provisioning" ||
		!strings.Contains(r.stdout, "WorkerNodesReady: 2 of 2 worker nodes Ready") {
		t.Errorf("events =\n%s", r.stdout)
	}

	// -o json and -o yaml print the API objects.
	r = mustEasel(t, "cluster", "get", clusterUID, "-o", "json")
	var cl v1.SpectroCluster
	if err := json.Unmarshal([]byte(r.stdout), &cl); err != nil {
		t.Fatalf("cluster get -o json is not a SpectroCluster: %v\n%s", err, r.stdout)
	}
	if cl.Metadata.UID != clusterUID || cl.Status.State != v1.ClusterStateRunning || len(cl.Status.Conditions) != 6 ||
		len(cl.Status.Packs) != 5 || cl.Status.Packs[2].Name != "cni-calico" || cl.Status.Packs[2].State != v1.PackStateApplied ||
		cl.Metadata.Labels["env"] != "dev" {
		t.Errorf("cluster get -o json = %+v", cl)
	}
	r = mustEasel(t, "events", "demo", "-o", "yaml")
	var ev v1.Events
	if err := yaml.Unmarshal([]byte(r.stdout), &ev); err != nil {
		t.Fatalf("events -o yaml: %v\n%s", err, r.stdout)
	}
	if len(ev.Items) < 5 || ev.Items[len(ev.Items)-1].Reason != "Created" || ev.Items[0].InvolvedObject.UID != clusterUID {
		t.Errorf("events -o yaml = %+v", ev)
	}

	// An add-on profile attached to the running cluster, listed, then detached: the agent applies
	// and later deletes its pack, and the commands show it.
	mustEasel(t, "profile", "apply", "-f", "../../examples/addon-profile.yaml", "--publish")
	r = mustEasel(t, "cluster", "attach", "demo", "monitoring@1.0.0")
	if !strings.Contains(r.stdout, "Attaching monitoring@1.0.0 to demo: the hub has the change") ||
		!strings.Contains(r.stdout, "pack prometheus-operator 0.85.0: Applied") || !strings.Contains(r.stdout, "Applied generation 2") {
		t.Errorf("cluster attach =\n%s", r.stdout)
	}
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte("prometheusOperator:\n  logLevel: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = mustEasel(t, "cluster", "attach", "demo", "monitoring", "--values", "prometheus-operator="+values)
	if !strings.Contains(r.stdout, "Applied generation 3") {
		t.Errorf("cluster attach --values =\n%s", r.stdout)
	}
	if r := easel(t, "", "cluster", "attach", "demo", "monitoring", "--values", "nope"); r.err == nil || !strings.Contains(r.stderr, `--values "nope": want PACK=FILE`) {
		t.Errorf("attach with a malformed --values: %v\n%s", r.err, r.stderr)
	}
	r = mustEasel(t, "cluster", "profiles", "demo")
	if got := rows(r.stdout); len(got) != 7 || !slices.Equal(got[6][:6], []string{"monitoring@1.0.0", "add-on", "prometheus-operator", "addon", "0.85.0", "Applied"}) {
		t.Errorf("cluster profiles =\n%s", r.stdout)
	}
	if r := easel(t, "", "cluster", "detach", "demo", "local-cluster"); r.err == nil || !strings.Contains(r.stderr, "is the cluster's infra profile") {
		t.Errorf("detaching the infra profile: %v\n%s", r.err, r.stderr)
	}
	r = mustEasel(t, "cluster", "detach", "demo", "monitoring")
	if !strings.Contains(r.stdout, "pack prometheus-operator 0.85.0: Removed detached from the cluster (profile monitoring):") {
		t.Errorf("cluster detach =\n%s", r.stdout)
	}

	// Certificate renewal: the command waits, showing the repave of the control-plane node, and the
	// repave is in the cluster's upgrades.
	r = mustEasel(t, "cluster", "certs", "renew", "demo")
	for _, want := range []string{"Certificate renewal requested for cluster demo", "RepaveStarted: Repaving, one machine at a time: certificates: renewal requested at ",
		"MachineDraining: Draining node control-plane-", "(replaced: certificates: renewal requested at ", "MachineDeleted: Deleted machine control-plane-", "RepaveCompleted:", "Certificates of cluster demo renewed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("cluster certs renew lacks %q:\n%s", want, r.stdout)
		}
	}
	if got := rows(section(t, mustEasel(t, "cluster", "repave", "demo").stdout, "Upgrades")); len(got) != 2 || !strings.HasPrefix(strings.Join(got[1][1:], " "), "certificates: renewal requested at ") {
		t.Errorf("cluster repave upgrades after the renewal = %v", got)
	}

	checkPoolCommands(t)

	// A profile a cluster uses cannot go; the hub's reason reaches the user.
	r = easel(t, "", "profile", "delete", "local-cluster")
	if want := "Error: deleting profile local-cluster 1.0.0: profile local-cluster 1.0.0 is used by 1 cluster(s) (" + clusterUID + "); detach it first\n"; r.stderr != want {
		t.Errorf("profile delete of a used profile printed %q, want %q", r.stderr, want)
	}

	r = mustEasel(t, "cluster", "delete", "demo")
	if want := "Deleting cluster demo (" + clusterUID + "): its machines and control plane are torn down in the background\n"; r.stdout != want {
		t.Errorf("cluster delete printed %q, want %q", r.stdout, want)
	}
	waitForClusterGone(t, "demo")
	r = mustEasel(t, "cluster", "list")
	if got := rows(r.stdout); !slices.EqualFunc(got, [][]string{{"NAME", "STATE", "CLOUD", "POOLS", "PROJECT", "AGE"}}, slices.Equal) {
		t.Errorf("cluster list after delete =\n%s", r.stdout)
	}
	r = easel(t, "", "cluster", "get", "demo")
	if want := "Error: cluster \"demo\" not found: no cluster in scope has that name or uid\n"; r.stderr != want {
		t.Errorf("cluster get of a deleted cluster printed %q, want %q", r.stderr, want)
	}
}

func TestLogin(t *testing.T) {
	h := startHub(t)
	tests := []struct {
		name      string
		stdin     string
		args      []string
		wantErr   string // the whole message cobra prints
		wantSaved bool
	}{
		{
			name:    "wrong API key",
			args:    []string{"login", "--hub", h.url, "--api-key", "easel-not-a-key"},
			wantErr: "Error: logging in to " + h.url + ": invalid credentials\n",
		},
		{
			name:    "wrong password",
			stdin:   "not-the-password\n",
			args:    []string{"login", "--hub", h.url, "--email", "admin@easel.local", "--password-stdin"},
			wantErr: "Error: logging in to " + h.url + " as admin@easel.local: wrong email or password\n",
		},
		{
			name:    "email without password-stdin",
			args:    []string{"login", "--hub", h.url, "--email", "admin@easel.local"},
			wantErr: "Error: --email needs --password-stdin: pipe the password in, so that it stays out of the shell history\n",
		},
		{
			name:    "unknown project",
			args:    []string{"login", "--hub", h.url, "--api-key", h.apiKey, "--project", "nosuch"},
			wantErr: "Error: project \"nosuch\" not found (projects: default)\n",
		},
		{
			name:    "no hub",
			args:    []string{"login", "--api-key", h.apiKey},
			wantErr: "Error: --hub is required (or EASEL_HUB), e.g. --hub http://127.0.0.1:8080\n",
		},
		{
			name:      "email and password",
			stdin:     h.adminPassword + "\n",
			args:      []string{"login", "--hub", h.url, "--email", "admin@easel.local", "--password-stdin", "--project", "default"},
			wantSaved: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfgPath := useConfig(t)
			r := easel(t, tt.stdin, tt.args...)
			if tt.wantErr != "" {
				if r.err == nil || r.stderr != tt.wantErr {
					t.Errorf("stderr = %q (err %v), want %q", r.stderr, r.err, tt.wantErr)
				}
			} else if r.err != nil {
				t.Fatalf("login failed: %v", r.err)
			}
			_, statErr := os.Stat(cfgPath)
			if saved := statErr == nil; saved != tt.wantSaved {
				t.Fatalf("config saved = %v, want %v", saved, tt.wantSaved)
			}
			if !tt.wantSaved {
				return
			}
			// A session token works for the other commands.
			c, err := cli.LoadConfig(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			if c.APIKey != "" || c.Token == "" || c.ProjectName != "default" {
				t.Errorf("saved config = %+v, want a token and the default project", c)
			}
			r = mustEasel(t, "profile", "list")
			if r.stdout != "NAME   VERSION   TYPE   CLOUD   STATE   UID\n" {
				t.Errorf("profile list with a session token = %q", r.stdout)
			}
		})
	}
}

// A hub on its self-signed certificate: the CLI logs in with the printed pin (or the certificate
// as its CA file), saves it, and later commands verify the hub with it; a wrong pin is refused
// before any credential is sent, and the pin of one hub is not applied to another.
func TestLoginPinsTheHubsCertificate(t *testing.T) {
	h := startHub(t, func(c *server.Config) { c.TLS = server.TLSOn })
	m := regexp.MustCompile(`--hub-fingerprint (sha256:[0-9a-f]{64})`).FindStringSubmatch(h.welcome)
	if m == nil || !strings.HasPrefix(h.url, "https://") {
		t.Fatalf("the hub (%s) printed no pin to log in with:\n%s", h.url, h.welcome)
	}
	pin := m[1]
	wrong := "sha256:" + strings.Repeat("0", 64)

	cfgPath := useConfig(t)
	r := easel(t, "", "login", "--hub", h.url, "--api-key", h.apiKey)
	if r.err == nil || !strings.Contains(r.stderr, "certificate signed by unknown authority") {
		t.Fatalf("login without a pin = %q, %v; want the certificate refused", r.stderr, r.err)
	}
	r = easel(t, "", "login", "--hub", h.url, "--api-key", h.apiKey, "--hub-fingerprint", wrong)
	if want := "the hub's certificate has fingerprint " + pin + ", not the pinned " + wrong; r.err == nil || !strings.Contains(r.stderr, want) {
		t.Fatalf("login with a wrong pin = %q, %v; want %q", r.stderr, r.err, want)
	}
	if _, err := os.Stat(cfgPath); err == nil {
		t.Fatal("a refused login saved a config")
	}

	// The pin as OpenSSL prints it works too, and is saved in easel's form.
	openssl := strings.ToUpper(regexp.MustCompile(`(..)`).ReplaceAllString(strings.TrimPrefix(pin, "sha256:"), "$1:"))
	mustEasel(t, "login", "--hub", h.url, "--api-key", h.apiKey, "--hub-fingerprint", "SHA256:"+strings.TrimSuffix(openssl, ":"))
	saved, err := cli.LoadConfig(cfgPath)
	if err != nil || saved.HubFingerprint != pin || saved.Hub != h.url {
		t.Fatalf("saved config = %+v, %v; want the hub and its pin", saved, err)
	}
	if r := mustEasel(t, "profile", "list"); r.stdout != "NAME   VERSION   TYPE   CLOUD   STATE   UID\n" {
		t.Errorf("profile list with the saved pin = %q", r.stdout)
	}
	// A pin given later wins over the saved one.
	t.Setenv(cli.EnvHubFingerprint, wrong)
	if r := easel(t, "", "profile", "list"); r.err == nil || !strings.Contains(r.stderr, "not the pinned "+wrong) {
		t.Errorf("profile list with %s=%s = %q, %v; want the pin refused", cli.EnvHubFingerprint, wrong, r.stderr, r.err)
	}
	t.Setenv(cli.EnvHubFingerprint, "")
	// Another hub named on the command line is not held to the saved hub's pin.
	other := startHub(t)
	if r := mustEasel(t, "profile", "list", "--hub", other.url, "--api-key", other.apiKey, "--project", "default"); r.stdout == "" {
		t.Error("profile list on another hub printed nothing")
	}

	// A local cluster's agent, which the hub starts with the pin, connects and applies the packs.
	mustEasel(t, "profile", "apply", "-f", "../../examples/profile.yaml", "--publish")
	mustEasel(t, "cluster", "create", "-f", "../../examples/cluster.yaml")
	waitForCluster(t, "demo", func(cl v1.SpectroCluster) bool {
		return hasCondition(cl, "AgentDeployed", "True") && hasCondition(cl, "PacksApplied", "True")
	})
	agentLog, _ := filepath.Glob(filepath.Join(h.dataDir, "clusters", "*", "logs", "easel-agent.log"))
	if len(agentLog) != 1 {
		t.Fatalf("agent logs = %v, want one", agentLog)
	}
	if data, _ := os.ReadFile(agentLog[0]); !strings.Contains(string(data), "hubs=[https://") {
		t.Errorf("the local agent does not talk to the hub over https:\n%s", data)
	}

	// The self-signed certificate as a CA file: verified normally (it names 127.0.0.1).
	cfgPath = useConfig(t)
	mustEasel(t, "login", "--hub", h.url, "--api-key", h.apiKey, "--ca-file", filepath.Join(h.dataDir, "tls", "hub.crt"))
	if saved, err := cli.LoadConfig(cfgPath); err != nil || saved.CAFile != filepath.Join(h.dataDir, "tls", "hub.crt") || saved.HubFingerprint != "" {
		t.Fatalf("saved config = %+v, %v; want the CA file", saved, err)
	}
	mustEasel(t, "cluster", "list")
}

func TestGlobalFlagsAndEnvironment(t *testing.T) {
	h := startHub(t)
	useConfig(t)
	mustEasel(t, "login", "--hub", h.url, "--api-key", h.apiKey)
	tenantScope := filepath.Join(t.TempDir(), "config.yaml")
	if err := cli.SaveConfig(tenantScope, cli.Config{Hub: h.url, APIKey: h.apiKey}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantOut string
		wantErr string
	}{
		{
			name:    "project by name",
			args:    []string{"cluster", "list", "--project", "default"},
			wantOut: "NAME   STATE   CLOUD   POOLS   PROJECT   AGE\n",
		},
		{
			name:    "unknown project from the environment",
			env:     map[string]string{cli.EnvProject: "nosuch"},
			args:    []string{"cluster", "list"},
			wantErr: "Error: project \"nosuch\" not found (projects: default)\n",
		},
		{
			name:    "API key from the environment overrides the file",
			env:     map[string]string{cli.EnvAPIKey: "easel-not-a-key"},
			args:    []string{"profile", "list"},
			wantErr: "Error: listing profiles: invalid credentials\n",
		},
		{
			name:    "hub flag overrides the file",
			args:    []string{"profile", "list", "--hub", "ftp://example.com"},
			wantErr: "Error: hub URL \"ftp://example.com\" must be http:// or https:// and name a host, e.g. http://127.0.0.1:8080\n",
		},
		{
			name:    "unknown output format",
			args:    []string{"profile", "list", "-o", "xml"},
			wantErr: "Error: output format \"xml\" must be table, json or yaml\n",
		},
		{
			name:    "json list",
			args:    []string{"cluster", "list", "-o", "json"},
			wantOut: "{\n  \"items\": []\n}\n",
		},
		{
			name:    "profile that does not exist",
			args:    []string{"profile", "get", "nosuch@1.0.0"},
			wantErr: "Error: profile \"nosuch\" not found; `easel profile list` shows the profiles in scope\n",
		},
		{
			name:    "cluster outside a project",
			env:     map[string]string{cli.EnvConfig: tenantScope},
			args:    []string{"cluster", "create", "-f", "../../examples/cluster.yaml"},
			wantErr: "Error: clusters belong to a project: pass --project NAME, or log in with one\n",
		},
		{
			name:    "cluster file with an unknown profile",
			args:    []string{"cluster", "create", "-f", "../../examples/cluster.yaml"},
			wantErr: "Error: spec.profiles[0]: profile \"local-cluster\" not found; `easel profile list` shows the profiles in scope\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := easel(t, "", tt.args...)
			if r.stdout != tt.wantOut || r.stderr != tt.wantErr || (r.err != nil) != (tt.wantErr != "") {
				t.Errorf("stdout = %q, stderr = %q, err = %v; want stdout %q, stderr %q", r.stdout, r.stderr, r.err, tt.wantOut, tt.wantErr)
			}
		})
	}
}

func TestExamplesAreAccepted(t *testing.T) {
	h := startHub(t)
	useConfig(t)
	mustEasel(t, "login", "--hub", h.url, "--api-key", h.apiKey)
	r := mustEasel(t, "profile", "apply", "-f", "../../examples/addon-profile.yaml", "--publish", "-o", "json")
	var uid v1.UID
	if err := json.Unmarshal([]byte(r.stdout), &uid); err != nil || !uidPattern.MatchString(uid.UID) {
		t.Fatalf("profile apply -o json printed %q (%v)", r.stdout, err)
	}
	if r.stderr != "Created profile monitoring 1.0.0 (published)\n" {
		t.Errorf("apply --publish said %q", r.stderr)
	}
	r = mustEasel(t, "profile", "get", uid.UID, "-o", "yaml")
	var p v1.ClusterProfile
	if err := yaml.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatal(err)
	}
	tmpl := cli.ProfileTemplate(&p)
	if !p.Status.IsPublished || tmpl.Type != v1.ProfileTypeAddOn || len(tmpl.Packs) != 1 || tmpl.Packs[0].Name != "prometheus-operator" {
		t.Errorf("add-on profile = %+v", p)
	}
	r = mustEasel(t, "profile", "delete", "monitoring")
	if want := "Deleted profile monitoring 1.0.0 (" + uid.UID + ")\n"; r.stdout != want {
		t.Errorf("profile delete printed %q, want %q", r.stdout, want)
	}
	if r := mustEasel(t, "profile", "list"); r.stdout != "NAME   VERSION   TYPE   CLOUD   STATE   UID\n" {
		t.Errorf("profile list after delete = %q", r.stdout)
	}
}

func hasCondition(cl v1.SpectroCluster, condType, status string) bool {
	for _, c := range cl.Status.Conditions {
		if c.Type == condType {
			return c.Status == status
		}
	}
	return false
}

// waitForCluster polls `easel cluster get NAME -o json` until ok holds.
func waitForCluster(t *testing.T, name string, ok func(v1.SpectroCluster) bool) {
	t.Helper()
	poll.Eventually(t, 3*time.Minute, "cluster "+name+" to get there", func() error {
		r := mustEasel(t, "cluster", "get", name, "-o", "json")
		var cl v1.SpectroCluster
		if err := json.Unmarshal([]byte(r.stdout), &cl); err != nil {
			t.Fatalf("cluster get -o json: %v\n%s", err, r.stdout)
		}
		return poll.Unless(ok(cl), "status %+v", cl.Status)
	})
}

// waitForClusterGone polls `easel cluster list` until the cluster is no longer listed.
func waitForClusterGone(t *testing.T, name string) {
	t.Helper()
	poll.Eventually(t, 2*time.Minute, "cluster "+name+" to be gone after delete", func() error {
		out := mustEasel(t, "cluster", "list").stdout
		return poll.Unless(!strings.Contains(out, name+" "), "cluster list =\n%s", out)
	})
}

// checkPoolCommands scales demo's workers up and down — the pool keeps its two zones, so nothing is
// repaved — then adds a pool with a label and a taint and deletes it; each command waits until the
// machines are there (or gone), and the nodes follow.
func checkPoolCommands(t *testing.T) {
	t.Helper()
	workerNodes := func(pool string, n int) []v1.NodeReport {
		t.Helper()
		var nodes []v1.NodeReport
		poll.Eventually(t, time.Minute, fmt.Sprintf("cluster nodes to show %d nodes of pool %s", n, pool), func() error {
			r := mustEasel(t, "cluster", "nodes", "demo", "-o", "json")
			var all []v1.NodeReport
			if err := json.Unmarshal([]byte(r.stdout), &all); err != nil {
				return err
			}
			nodes = slices.DeleteFunc(all, func(n v1.NodeReport) bool { return n.Pool != pool })
			ready := !slices.ContainsFunc(nodes, func(n v1.NodeReport) bool { return !n.Ready })
			return poll.Unless(len(nodes) == n && ready, "pool %s has %d nodes (all Ready: %v)", pool, len(nodes), ready)
		})
		return nodes
	}
	upgrades := len(rows(section(t, mustEasel(t, "cluster", "repave", "demo").stdout, "Upgrades")))

	r := mustEasel(t, "cluster", "scale", "demo", "workers", "3")
	for _, want := range []string{"Scaling pool workers of cluster demo from 2 machines to 3 machines\n", " workers: 3 Running (want 3 Running)\n", "Pool workers of cluster demo has 3 machines Running\n"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("cluster scale demo workers 3 said no %q:\n%s", want, r.stderr)
		}
	}
	machines := rows(r.stdout)
	zones := map[string]int{}
	for _, m := range machines[1:] {
		if len(m) < 4 || m[2] != "small" || m[3] != "Running" {
			t.Errorf("machine after scaling up = %v; want a small machine Running", m)
		}
		zones[m[1]]++
	}
	if !slices.Equal(machines[0], []string{"NAME", "ZONE", "INSTANCE-TYPE", "STATE", "AGE"}) || len(machines) != 4 || zones["local-a"] == 0 || zones["local-b"] == 0 {
		t.Errorf("cluster scale listed\n%s\nwant 3 machines over local-a and local-b", r.stdout)
	}
	workerNodes("workers", 3)
	r = mustEasel(t, "cluster", "repave", "demo")
	if !strings.Contains(r.stdout, "Repave:  None") || len(rows(section(t, r.stdout, "Upgrades"))) != upgrades {
		t.Errorf("scaling repaved the pool:\n%s", r.stdout)
	}

	r = mustEasel(t, "cluster", "scale", "demo", "workers", "1", "-o", "json")
	var left v1.Machines
	if err := json.Unmarshal([]byte(r.stdout), &left); err != nil || len(left.Items) != 1 || left.Items[0].Status.InstanceState != "Running" {
		t.Errorf("cluster scale demo workers 1 -o json = %v\n%s", err, r.stdout)
	}
	if !strings.Contains(r.stderr, "from 3 machines to 1 machine\n") || !strings.Contains(r.stderr, " workers: 1 Running (want 1 Running)\n") {
		t.Errorf("cluster scale down said:\n%s", r.stderr)
	}
	workerNodes("workers", 1)
	if r := mustEasel(t, "cluster", "scale", "demo", "workers", "1"); !strings.Contains(r.stderr, "Pool workers of cluster demo already has size 1") {
		t.Errorf("scaling to the size there is:\n%s", r.stderr)
	}

	for _, tc := range []struct{ args, want string }{
		{"cluster scale demo gpus 2", `cluster demo has no pool "gpus" (its pools: control-plane, workers)`},
		{"cluster scale demo workers 1001", "is over the limit of 1000 machines a cluster may have (MaxMachinesPerCluster)"},
		{"cluster scale demo workers two", `SIZE "two" must be a whole number, 0 or more`},
		{"cluster scale demo control-plane 0", "a control-plane pool needs size >= 1"},
		{"cluster pool delete demo control-plane", "pool control-plane is the control plane; a cluster cannot lose it"},
		{"cluster pool delete demo gpus", `cluster demo has no pool "gpus" (its pools: control-plane, workers)`},
		{"cluster pool add demo gpu --size 1 --taint gpu", `--taint "gpu": want KEY[=VALUE]:EFFECT`},
		{"cluster pool add demo gpu --size 1 --label tier", `--label "tier": want KEY=VALUE`},
		{"cluster pool add demo gpu --size 1 --zones mars-1", `unknown zone "mars-1"`},
		{"cluster pool add demo workers --size 1", "already has a pool named workers"},
	} {
		if r := easel(t, "", strings.Fields(tc.args)...); r.err == nil || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("easel %s: %v\n%s\nwant an error saying %q", tc.args, r.err, r.stderr, tc.want)
		}
	}

	r = mustEasel(t, "cluster", "pool", "add", "demo", "gpu", "--size", "1", "--instance-type", "medium", "--zones", "local-b",
		"--label", "tier=gpu", "--taint", "nvidia.com/gpu=true:NoSchedule")
	if got := rows(r.stdout); len(got) != 2 || !strings.HasPrefix(got[1][0], "gpu-") || !slices.Equal(got[1][1:4], []string{"local-b", "medium", "Running"}) {
		t.Errorf("cluster pool add listed\n%s\nwant one medium machine in local-b Running", r.stdout)
	}
	if !strings.Contains(r.stderr, "Added pool gpu to cluster demo with 1 machine\n") {
		t.Errorf("cluster pool add said:\n%s", r.stderr)
	}
	gpu := workerNodes("gpu", 1)[0]
	if !slices.Contains(gpu.Taints, v1.Taint{Key: "nvidia.com/gpu", Value: "true", Effect: "NoSchedule"}) {
		t.Errorf("node %s of pool gpu has taints %v; want nvidia.com/gpu=true:NoSchedule", gpu.Name, gpu.Taints)
	}
	kubeconfig, err := clientcmd.RESTConfigFromKubeConfig([]byte(mustEasel(t, "cluster", "kubeconfig", "demo").stdout))
	if err != nil {
		t.Fatal(err)
	}
	node, err := kubernetes.NewForConfigOrDie(kubeconfig).CoreV1().Nodes().Get(context.Background(), gpu.Name, metav1.GetOptions{})
	if err != nil || node.Labels["tier"] != "gpu" {
		t.Errorf("node %s of pool gpu: %v, labels %v; want tier=gpu", gpu.Name, err, node.Labels)
	}

	r = mustEasel(t, "cluster", "pool", "delete", "demo", "gpu")
	for _, want := range []string{"Deleting pool gpu of cluster demo: its nodes are drained, then its machines deleted\n", "Deleted pool gpu of cluster demo\n"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("cluster pool delete said no %q:\n%s", want, r.stderr)
		}
	}
	workerNodes("gpu", 0)
	if got := rows(section(t, mustEasel(t, "cluster", "get", "demo").stdout, "Pools")); len(got) != 3 || got[2][0] != "workers" || got[2][2] != "1" {
		t.Errorf("cluster get pools after the pool commands = %v; want control-plane and workers of 1", got)
	}
}
