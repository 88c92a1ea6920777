// Package e2e_test drives a whole easel hub from the outside, the way users and their tools do.
//
// This file is the suite's framework: it starts a hub (in-process, or as a process that can be
// killed), calls its API, waits with Eventually and checks that nothing happens with Consistently,
// and creates the clusters the tests share. No other file polls.
package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spectrocloud/palette-sdk-go/api/models"
	"github.com/spectrocloud/palette-sdk-go/client"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/testenv/easelbin"
	"github.com/easelhq/easel/internal/testenv/localcp"
	"github.com/easelhq/easel/internal/testenv/pgtest"
	"github.com/easelhq/easel/internal/testenv/poll"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const adminKey = "easel-e2e-admin-key-0123456789abcdef"

// ---- The hub ----

// syncBuffer collects the hub's log, shown only when a test fails.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startHub runs a hub in-process and returns its address; it stops when the test ends. The hub
// has a SQLite store under a temporary directory and the production defaults, except what the
// options change (the store with c.DB, heartbeat and drain timings, …).
func startHub(t *testing.T, options ...func(*server.Config)) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	dataDir := t.TempDir()
	cfg := server.Config{
		Listen:      "127.0.0.1:0",
		DataDir:     dataDir,
		AdminAPIKey: adminKey,
		AgentBinary: easelbin.Path(t),
		Out:         io.Discard,
		Logger:      slog.New(slog.NewTextHandler(logs, nil)),
		Ready:       func(addr string) { ready <- addr },
	}
	for _, f := range options {
		f(&cfg)
	}
	go func() { done <- server.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server.Run: %v", err)
		}
		// Control planes outlive the hub by design; a failed test must not leave them running.
		if err := localcp.StopAll(filepath.Join(dataDir, "clusters")); err != nil {
			t.Errorf("stopping leftover control planes: %v", err)
		}
		// Every request of the flow must be answered without an internal error.
		if strings.Contains(logs.String(), "level=ERROR") {
			t.Error("the hub logged an error")
		}
		if t.Failed() {
			t.Logf("hub log:\n%s", logs.String())
			// The agents' own logs say what they did inside the clusters.
			agentLogs, _ := filepath.Glob(filepath.Join(dataDir, "clusters", "*", "logs", "easel-agent.log"))
			for _, f := range agentLogs {
				b, _ := os.ReadFile(f)
				t.Logf("%s (last 8 KiB):\n%s", f, b[max(0, len(b)-8<<10):])
			}
		}
	})
	select {
	case addr := <-ready:
		return addr
	case err := <-done:
		done <- err
		t.Fatalf("hub did not start: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("hub did not start within a minute")
	}
	return ""
}

// hubProcess is `easel server` as a separate process, so that it can be killed with SIGKILL.
type hubProcess struct {
	cmd  *exec.Cmd
	addr string
}

// startHubProcess runs `easel server` on the data dir and port, reconciling every 5 s and with
// agents' heartbeats every second.
func startHubProcess(t *testing.T, bin, dataDir, port string) *hubProcess {
	t.Helper()
	cmd := exec.Command(bin, "server", "--listen", "127.0.0.1:"+port, "--data-dir", dataDir, "--resync", "5s", "--agent-heartbeat", "1s")
	cmd.Env = append(os.Environ(), "EASEL_ADMIN_API_KEY="+adminKey)
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	serving := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`address=http://(\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				serving <- m[1]
			}
		}
	}()
	select {
	case addr := <-serving:
		return &hubProcess{cmd: cmd, addr: addr}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("easel server did not start within 30s")
		return nil
	}
}

func (h *hubProcess) kill() {
	h.cmd.Process.Signal(syscall.SIGKILL)
	h.cmd.Wait()
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// processIDs lists the running processes whose executable is named name and whose command line
// mentions marker.
func processIDs(t *testing.T, name, marker string) []int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if filepath.Base(args[0]) != name || !strings.Contains(string(cmdline), marker) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// countProcesses counts running processes whose executable is named name and whose command line
// mentions marker.
func countProcesses(t *testing.T, name, marker string) int {
	t.Helper()
	return len(processIDs(t, name, marker))
}

// ---- The API ----

// api calls the hub's API as the admin, in the project when one is given, and returns the HTTP
// status; the answer goes into out: as it is into a *[]byte, decoded from JSON into anything else.
func api(t *testing.T, addr, project, method, path string, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	req.Header.Set("ApiKey", adminKey)
	if project != "" {
		req.Header.Set("ProjectUid", project)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	switch out := out.(type) {
	case nil:
	case *[]byte:
		*out, _ = io.ReadAll(resp.Body)
	default:
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// tenantClient is the Palette SDK's client with an API key, in the tenant's scope.
func tenantClient(addr, key string) *client.V1Client {
	return client.New(client.WithPaletteURI(addr), client.WithAPIKey(key), client.WithSchemes([]string{"http"}))
}

// clusterClient is a client of the cluster's API server through its admin kubeconfig, with a rate
// limit high enough to create thousands of objects quickly.
func clusterClient(t *testing.T, addr, project, uid string) kubernetes.Interface {
	t.Helper()
	var kubeconfig []byte
	status := api(t, addr, project, "GET", "/v1/spectroclusters/"+uid+"/assets/adminKubeconfig", "", &kubeconfig)
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatalf("the cluster's kubeconfig (%d): %v", status, err)
	}
	cfg.QPS, cfg.Burst = 2000, 4000
	return kubernetes.NewForConfigOrDie(cfg)
}

func ptr[T any](v T) *T { return &v }

func dump(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// ---- Waiting ----

// waitForEvent waits up to a minute for the cluster's newest event to have the reason and carry
// the text.
func waitForEvent(t *testing.T, addr, project, uid, reason, text string) {
	t.Helper()
	poll.Eventually(t, time.Minute, fmt.Sprintf("the newest event to be %s %q", reason, text), func() error {
		var events struct {
			Items []struct{ Reason, Message string }
		}
		api(t, addr, project, "GET", "/v1/events/components/spectrocluster/"+uid+"?limit=20", "", &events)
		return poll.Unless(len(events.Items) > 0 && events.Items[0].Reason == reason && strings.Contains(events.Items[0].Message, text),
			"newest events %+v", events.Items)
	})
}

// clusterEvent is an event of a cluster as the tests read it.
type clusterEvent struct{ Reason, Message string }

// eventsAmong returns the cluster's newest 100 events with that reason whose message has every text.
func eventsAmong(t *testing.T, addr, project, uid, reason string, texts ...string) (matching, newest []clusterEvent) {
	t.Helper()
	var events struct{ Items []clusterEvent }
	api(t, addr, project, "GET", "/v1/events/components/spectrocluster/"+uid+"?limit=100", "", &events)
	for _, e := range events.Items {
		if e.Reason == reason && !slices.ContainsFunc(texts, func(s string) bool { return !strings.Contains(e.Message, s) }) {
			matching = append(matching, e)
		}
	}
	return matching, events.Items[:min(len(events.Items), 12)]
}

// waitForEventAmong waits up to a minute for an event of the cluster with that reason whose
// message has every text, among the newest 100.
func waitForEventAmong(t *testing.T, addr, project, uid, reason string, texts ...string) {
	t.Helper()
	poll.Eventually(t, time.Minute, fmt.Sprintf("a %s event with %q", reason, texts), func() error {
		matching, newest := eventsAmong(t, addr, project, uid, reason, texts...)
		return poll.Unless(len(matching) > 0, "newest events %+v", newest)
	})
}

func hasCondition(c *models.V1SpectroCluster, condType, status string) bool {
	for _, cond := range c.Status.Conditions {
		if cond.Type != nil && *cond.Type == condType {
			return cond.Status != nil && *cond.Status == status
		}
	}
	return false
}

// waitForCondition polls the cluster through the SDK until the condition has the status.
func waitForCondition(t *testing.T, pc *client.V1Client, uid, condType, status string) *models.V1SpectroCluster {
	t.Helper()
	var c *models.V1SpectroCluster
	poll.Eventually(t, 3*time.Minute, fmt.Sprintf("cluster %s: %s to be %s", uid, condType, status), func() error {
		var err error
		if c, err = pc.GetCluster(uid); err != nil || c == nil {
			t.Fatalf("GetCluster(%s) = %v, %v", uid, c, err)
		}
		return poll.Unless(hasCondition(c, condType, status), "conditions %s", dump(c.Status.Conditions))
	})
	return c
}

// ---- Clusters ----

// createLocalCluster creates a published profile (Ubuntu, Kubernetes and the packs named, e.g.
// `,{"name":"cni-calico","tag":"3.30.3"}`) and a local cluster of one control-plane node and
// workers from it in the default project, and waits for it to be Running. spec adds fields to the
// cluster's spec (e.g. `"clusterConfig":{…},`).
func createLocalCluster(t *testing.T, addr, name string, workers int, packs string, spec ...string) (project, uid string) {
	t.Helper()
	var projects struct {
		Items []struct{ Metadata struct{ UID string } }
	}
	api(t, addr, "", "GET", "/v1/dashboard/projects/metadata", "", &projects)
	project = projects.Items[0].Metadata.UID
	profile := createClusterProfile(t, addr, project, name, "1.0.0", `{"name":"ubuntu","tag":"24.04"},{"name":"kubernetes","tag":"1.34.4"}`+packs)
	return project, createClusterFrom(t, addr, project, name, profile, workers, spec...)
}

// createClusterProfile creates and publishes a profile of type cluster with the packs given as
// JSON objects, and returns its uid.
func createClusterProfile(t *testing.T, addr, project, name, version, packs string) string {
	t.Helper()
	var prof struct{ UID string }
	if code := api(t, addr, project, "POST", "/v1/clusterprofiles", `{"metadata":{"name":"`+name+`"},"spec":{"version":"`+version+`",
		"template":{"type":"cluster","cloudType":"local","packs":[`+packs+`]}}}`, &prof); code != 201 {
		t.Fatalf("creating profile %s %s: %d", name, version, code)
	}
	api(t, addr, project, "PATCH", "/v1/clusterprofiles/"+prof.UID+"/publish", "", nil)
	return prof.UID
}

// createClusterFrom creates a local cluster of one control-plane node and workers from a profile
// and waits for it to be Running.
func createClusterFrom(t *testing.T, addr, project, name, profile string, workers int, spec ...string) string {
	t.Helper()
	var created struct{ UID string }
	if status := api(t, addr, project, "POST", "/v1/spectroclusters/cloudTypes/local", fmt.Sprintf(`{"metadata":{"name":%q},
		"spec":{%s"profiles":[{"uid":%q}],"machinepoolconfig":[{"poolConfig":{"name":"cp","size":1,"isControlPlane":true}},
		{"poolConfig":{"name":"workers","size":%d}}]}}`, name, strings.Join(spec, ""), profile, workers), &created); status != 201 {
		t.Fatalf("creating cluster %s: %d", name, status)
	}
	poll.Eventually(t, 3*time.Minute, "cluster "+name+" to be Running", func() error {
		var cl struct{ Status struct{ State string } }
		api(t, addr, project, "GET", "/v1/spectroclusters/"+created.UID, "", &cl)
		return poll.Unless(cl.Status.State == "Running", "state %q", cl.Status.State)
	})
	return created.UID
}

// workerMachinePath is where the operations of the workers pool's machine of that node live
// (…/machinePools/workers/machines/{machineUid}).
func workerMachinePath(t *testing.T, addr, project, uid, node string) string {
	t.Helper()
	var cl struct {
		Spec struct{ CloudConfigRef struct{ UID string } }
	}
	api(t, addr, project, "GET", "/v1/spectroclusters/"+uid, "", &cl)
	var machines struct {
		Items []struct{ Metadata struct{ UID, Name string } }
	}
	api(t, addr, project, "GET", "/v1/cloudconfigs/cloudTypes/local/"+cl.Spec.CloudConfigRef.UID+"/machinePools/workers/machines", "", &machines)
	for _, m := range machines.Items {
		if m.Metadata.Name == node {
			return "/v1/cloudconfigs/local/" + cl.Spec.CloudConfigRef.UID + "/machinePools/workers/machines/" + m.Metadata.UID
		}
	}
	t.Fatalf("no machine named %s", node)
	return ""
}

// upgradesMentioning counts the cluster's status.upgrades entries with a reason containing text.
func upgradesMentioning(t *testing.T, addr, project, uid, text string) int {
	t.Helper()
	var cl struct {
		Status struct{ Upgrades []struct{ Reason []string } }
	}
	api(t, addr, project, "GET", "/v1/spectroclusters/"+uid, "", &cl)
	n := 0
	for _, u := range cl.Status.Upgrades {
		if slices.ContainsFunc(u.Reason, func(r string) bool { return strings.Contains(r, text) }) {
			n++
		}
	}
	return n
}

// runningPods lists a namespace's running pods, on one node if node is set.
func runningPods(t *testing.T, kc kubernetes.Interface, namespace, node string) []corev1.Pod {
	t.Helper()
	opts := metav1.ListOptions{FieldSelector: "status.phase=Running"}
	if node != "" {
		opts.FieldSelector += ",spec.nodeName=" + node
	}
	pods, err := kc.CoreV1().Pods(namespace).List(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(pods.Items, func(p corev1.Pod) bool { return p.DeletionTimestamp != nil })
}

// podsByUID maps each pod's uid to its node.
func podsByUID(pods []corev1.Pod) map[string]string {
	out := map[string]string{}
	for _, p := range pods {
		out[string(p.UID)] = p.Spec.NodeName
	}
	return out
}

// daemonPods names the DaemonSet pods on a node.
func daemonPods(t *testing.T, kc kubernetes.Interface, node string) []string {
	t.Helper()
	var out []string
	for _, p := range runningPods(t, kc, "", node) {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.Kind == "DaemonSet" {
			out = append(out, p.Namespace+"/"+p.Name)
		}
	}
	slices.Sort(out)
	return out
}

func workerNodes(t *testing.T, kc kubernetes.Interface) []string {
	t.Helper()
	nodes, err := kc.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: "easel.dev/pool=workers"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range nodes.Items {
		out = append(out, n.Name)
	}
	return out
}

// deployWeb runs a Deployment "web" of replicas pods in namespace and waits for them; it returns
// the pods' labels.
func deployWeb(t *testing.T, kc kubernetes.Interface, namespace string, replicas int32) map[string]string {
	t.Helper()
	labels := map[string]string{"app": "web"}
	web := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: namespace}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr(replicas), Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "web", Image: "nginx"}}}}}}
	if _, err := kc.AppsV1().Deployments(namespace).Create(context.Background(), web, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 2*time.Minute, fmt.Sprintf("%d web pods running", replicas), func() error {
		n := len(runningPods(t, kc, namespace, ""))
		return poll.Unless(n == int(replicas), "%d running", n)
	})
	return labels
}
