package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/testenv/easelbin"
	"github.com/easelhq/easel/internal/testenv/localcp"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// Killing the hub with SIGKILL while it provisions, again and again, and restarting it on the same
// data dir ends in one Running cluster with exactly its three machines — no duplicates, nothing lost.
func TestHubSIGKILLResumesProvisioning(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	bin := easelbin.Path(t)
	dataDir := t.TempDir()
	t.Cleanup(func() { localcp.StopAll(filepath.Join(dataDir, "clusters")) })
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
	// plane starts, while nodes register. These sleeps are not waits for a state nor checks that
	// nothing happened: they choose the instants of the kills, letting provisioning run on for a
	// while; what the test asserts is the outcome after the last restart.
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
	poll.Eventually(t, 3*time.Minute, "the cluster to be Running after the last restart", func() error {
		api(t, hub.addr, project, "GET", "/v1/spectroclusters/"+created.UID, "", &cl)
		return poll.Unless(cl.Status.State == "Running", "status %+v", cl.Status)
	})
	// A hub outage: the agent keeps running, retries, and reports again once the hub is back.
	clusterDir := filepath.Join(dataDir, "clusters", created.UID)
	agentPIDs := processIDs(t, "easel", clusterDir)
	agentLog := filepath.Join(clusterDir, "logs", "easel-agent.log")
	heartbeatsFailed := func() int {
		b, _ := os.ReadFile(agentLog)
		return strings.Count(string(b), "Heartbeat failed")
	}
	failedBefore := heartbeatsFailed()
	hub.kill()
	// The outage lasts until the agent has seen it: two heartbeats failed.
	poll.Eventually(t, 30*time.Second, "the agent to log two failed heartbeats while the hub is down", func() error {
		n := heartbeatsFailed() - failedBefore
		return poll.Unless(n >= 2, "%d failed heartbeats in %s", n, agentLog)
	})
	restarted := time.Now()
	hub = startHubProcess(t, bin, dataDir, port)
	if after := processIDs(t, "easel", clusterDir); len(agentPIDs) != 1 || !slices.Equal(after, agentPIDs) {
		t.Fatalf("agent processes before/after the outage: %v/%v, want the one agent to live through it", agentPIDs, after)
	}
	var sum struct {
		Status struct {
			Health struct{ LastHeartBeatTimestamp time.Time }
		}
	}
	poll.Eventually(t, time.Minute, "a heartbeat after the hub came back", func() error {
		api(t, hub.addr, project, "GET", "/v1/dashboard/spectroclusters/"+created.UID, "", &sum)
		return poll.Unless(sum.Status.Health.LastHeartBeatTimestamp.After(restarted), "last heartbeat at %s", sum.Status.Health.LastHeartBeatTimestamp)
	})

	// The agent dies: the engine, which supervises it, starts it again.
	agentPID := processIDs(t, "easel", clusterDir)
	if len(agentPID) != 1 {
		t.Fatalf("agent processes: %v", agentPID)
	}
	syscall.Kill(agentPID[0], syscall.SIGKILL)
	poll.Eventually(t, time.Minute, "the agent to be restarted", func() error {
		pids := processIDs(t, "easel", clusterDir)
		return poll.Unless(len(pids) == 1 && pids[0] != agentPID[0], "agent processes %v (the killed one was %d)", pids, agentPID[0])
	})

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
	var kubeconfig []byte
	api(t, hub.addr, project, "GET", "/v1/spectroclusters/"+created.UID+"/assets/kubeconfig", "", &kubeconfig)
	restCfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
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
	poll.Eventually(t, 2*time.Minute, "the cluster to be gone after its deletion", func() error {
		status := api(t, hub.addr, project, "GET", "/v1/spectroclusters/"+created.UID, "", nil)
		return poll.Unless(status == 404, "GET answers %d", status)
	})
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "easel"} {
		if n := countProcesses(t, name, filepath.Join(dataDir, "clusters")); n != 0 {
			t.Errorf("%d %s processes left after delete", n, name)
		}
	}
}
