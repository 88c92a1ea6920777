package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/provider/local"
	"github.com/easelhq/easel/internal/testenv/easelbin"
)

// hubProcess is `easel server` as a separate process, so that it can be killed with SIGKILL.
type hubProcess struct {
	cmd  *exec.Cmd
	addr string
}

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
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// Killing the hub with SIGKILL while it provisions, again and again, and restarting it on the same
// data dir ends in one Running cluster with exactly its three machines — no duplicates, nothing lost.
func TestHubSIGKILLResumesProvisioning(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	bin := easelbin.Path(t)
	dataDir := t.TempDir()
	t.Cleanup(func() { local.StopAll(filepath.Join(dataDir, "clusters")) })
	port := freePort(t)

	hub := startHubProcess(t, bin, dataDir, port)
	var projects struct {
		Items []struct{ Metadata struct{ UID string } }
	}
	api(t, hub.addr, "", "GET", "/v1/dashboard/projects/metadata", "", &projects)
	project := projects.Items[0].Metadata.UID
	var prof struct{ UID string }
	api(t, hub.addr, project, "POST", "/v1/clusterprofiles", `{"metadata":{"name":"base"},"spec":{"template":{"type":"cluster","cloudType":"local",
		"packs":[{"name":"ubuntu","tag":"24.04"},{"name":"kubernetes","tag":"1.34.4"},{"name":"cni-calico","tag":"3.30.3"}]}}}`, &prof)
	api(t, hub.addr, project, "PATCH", "/v1/clusterprofiles/"+prof.UID+"/publish", "", nil)
	var created struct{ UID string }
	if status := api(t, hub.addr, project, "POST", "/v1/spectroclusters/cloudTypes/local", fmt.Sprintf(`{"metadata":{"name":"crashy"},
		"spec":{"profiles":[{"uid":%q}],"machinepoolconfig":[{"poolConfig":{"name":"cp","size":1,"isControlPlane":true}},
		{"poolConfig":{"name":"workers","size":2}}]}}`, prof.UID), &created); status != 201 {
		t.Fatalf("create: %d", status)
	}

	// Kill it at different points of provisioning: while planning machines, while the control
	// plane starts, while nodes register.
	for _, after := range []time.Duration{150 * time.Millisecond, 1500 * time.Millisecond, 4 * time.Second} {
		time.Sleep(after)
		hub.kill()
		hub = startHubProcess(t, bin, dataDir, port)
	}
	defer func() { hub.kill() }() // whichever hub runs last

	var cl struct {
		Status struct {
			State    string
			Machines []any
		}
		Spec struct{ CloudConfigRef struct{ UID string } }
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		api(t, hub.addr, project, "GET", "/v1/spectroclusters/"+created.UID, "", &cl)
		if cl.Status.State == "Running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not Running 3m after the last restart: %+v", cl.Status)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// A hub outage: the agent keeps running, retries, and reports again once the hub is back.
	agentPIDs := countProcesses(t, "easel", filepath.Join(dataDir, "clusters", created.UID))
	hub.kill()
	time.Sleep(3 * time.Second) // the agent's heartbeats fail meanwhile
	restarted := time.Now()
	hub = startHubProcess(t, bin, dataDir, port)
	if n := countProcesses(t, "easel", filepath.Join(dataDir, "clusters", created.UID)); n != 1 || agentPIDs != 1 {
		t.Fatalf("agent processes before/after the outage: %d/%d, want the one agent to live through it", agentPIDs, n)
	}
	var sum struct {
		Status struct {
			Health struct{ LastHeartBeatTimestamp time.Time }
		}
	}
	deadline = time.Now().Add(time.Minute)
	for {
		api(t, hub.addr, project, "GET", "/v1/dashboard/spectroclusters/"+created.UID, "", &sum)
		if sum.Status.Health.LastHeartBeatTimestamp.After(restarted) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no heartbeat after the hub came back (last %s)", sum.Status.Health.LastHeartBeatTimestamp)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// The agent dies: the engine, which supervises it, starts it again.
	agentPID := processIDs(t, "easel", filepath.Join(dataDir, "clusters", created.UID))
	if len(agentPID) != 1 {
		t.Fatalf("agent processes: %v", agentPID)
	}
	syscall.Kill(agentPID[0], syscall.SIGKILL)
	deadline = time.Now().Add(time.Minute)
	for {
		pids := processIDs(t, "easel", filepath.Join(dataDir, "clusters", created.UID))
		if len(pids) == 1 && pids[0] != agentPID[0] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent was not restarted within a minute (processes %v)", pids)
		}
		time.Sleep(250 * time.Millisecond)
	}

	var machines struct {
		Items []struct{ Metadata struct{ Name string } }
	}
	cfg := "/v1/cloudconfigs/cloudTypes/local/" + cl.Spec.CloudConfigRef.UID
	api(t, hub.addr, project, "GET", cfg+"/machinePools/workers/machines", "", &machines)
	var cpMachines struct{ Items []any }
	api(t, hub.addr, project, "GET", cfg+"/machinePools/cp/machines", "", &cpMachines)
	if len(machines.Items) != 2 || len(cpMachines.Items) != 1 {
		t.Fatalf("recorded machines: %d workers, %d control plane; want 2 and 1", len(machines.Items), len(cpMachines.Items))
	}
	req, _ := http.NewRequest("GET", "http://"+hub.addr+"/v1/spectroclusters/"+created.UID+"/assets/kubeconfig", nil)
	req.Header.Set("ApiKey", adminKey)
	req.Header.Set("ProjectUid", project)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var kubeconfig strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&kubeconfig)
	resp.Body.Close()
	restCfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(kubeconfig.String()))
	if err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	kc := kubernetes.NewForConfigOrDie(restCfg)
	nodes, err := kc.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 3 {
		t.Fatalf("nodes in the cluster: %d (%v); want exactly 3", len(nodes.Items), err)
	}
	// One control plane: the restarts adopted it instead of starting another.
	if n := countProcesses(t, "kube-apiserver", dataDir); n != 1 {
		t.Fatalf("%d kube-apiserver processes for this data dir, want 1", n)
	}

	// Deleting it stops every process of the cluster.
	api(t, hub.addr, project, "DELETE", "/v1/spectroclusters/"+created.UID, "", nil)
	deadline = time.Now().Add(2 * time.Minute)
	for api(t, hub.addr, project, "GET", "/v1/spectroclusters/"+created.UID, "", nil) != 404 {
		if time.Now().After(deadline) {
			t.Fatal("cluster not gone 2m after delete")
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "easel"} {
		if n := countProcesses(t, name, filepath.Join(dataDir, "clusters")); n != 0 {
			t.Errorf("%d %s processes left after delete", n, name)
		}
	}
}

// waitForEvent polls the cluster's event stream until its newest event with the reason carries
// the text.
func waitForEvent(t *testing.T, addr, project, uid, reason, text string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var events struct {
			Items []struct{ Reason, Message string }
		}
		api(t, addr, project, "GET", "/v1/events/components/spectrocluster/"+uid+"?limit=20", "", &events)
		if len(events.Items) > 0 && events.Items[0].Reason == reason && strings.Contains(events.Items[0].Message, text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event %q within a minute; newest events: %+v", reason, text, events.Items)
		}
		time.Sleep(250 * time.Millisecond)
	}
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

func freePort(t *testing.T) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}
