package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// Node auto-remediation on a local cluster, with the pool's timeouts shortened: a node whose
// kubelet is down, one whose network is unavailable and one that never gets Ready are each
// relaunched; when half the pool fails at once the cap holds (an event, nothing relaunched) until
// one recovers; with remediation off for the project nothing is relaunched until it is on again.
// Faults are the local provider's: the node label easel.dev/fault.
func TestNodeAutoRemediation(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	addr := startHub(t, func(c *server.Config) { c.AgentHeartbeat = time.Second })
	project, uid := createLocalCluster(t, addr, "healer", 4, "")
	kc := clusterClient(t, addr, project, uid)
	var cl struct {
		Spec struct{ CloudConfigRef struct{ UID string } }
	}
	api(t, addr, project, "GET", "/v1/spectroclusters/"+uid, "", &cl)
	pool := "/v1/cloudconfigs/cloudTypes/local/" + cl.Spec.CloudConfigRef.UID + "/machinePools/workers"
	setPool := func(size int, labels, nodeReady string) {
		t.Helper()
		body := fmt.Sprintf(`{"poolConfig":{"name":"workers","size":%d,"additionalLabels":{%s},"machineHealthCheck":{
			"nodeReadyHealthCheckDuration":%q,"networkReadyHealthCheckDuration":"3s","nodeStartupTimeout":"5s"}},"cloudConfig":{}}`, size, labels, nodeReady)
		if code := api(t, addr, project, "PUT", pool, body, nil); code != 204 {
			t.Fatalf("changing the pool: %d", code)
		}
	}
	setPool(4, "", "3s")
	machines := func() map[string]string {
		var out struct {
			Items []struct {
				Metadata struct{ Name string }
				Status   struct{ InstanceState string }
			}
		}
		api(t, addr, project, "GET", pool+"/machines", "", &out)
		m := map[string]string{}
		for _, it := range out.Items {
			m[it.Metadata.Name] = it.Status.InstanceState
		}
		return m
	}
	// whole: the pool's four machines Running, none of them gone (the one relaunched, if any).
	whole := func(gone string) func() error {
		return func() error {
			m := machines()
			running := 0
			for _, state := range m {
				if state == "Running" {
					running++
				}
			}
			_, still := m[gone]
			return poll.Unless(len(m) == 4 && running == 4 && !still, "machines %v", m)
		}
	}
	fault := func(node, kind string) {
		t.Helper()
		value := `"` + kind + `"`
		if kind == "" {
			value = "null"
		}
		patch := []byte(`{"metadata":{"labels":{"easel.dev/fault":` + value + `}}}`)
		if _, err := kc.CoreV1().Nodes().Patch(context.Background(), node, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	workers := func() []string {
		names := workerNodes(t, kc)
		slices.Sort(names)
		return names
	}

	// Kubelet down, then network unavailable: each relaunched after its (3 s) timeout.
	for _, f := range []struct{ kind, reason string }{{"kubelet-down", "NodeNotReady"}, {"network-unavailable", "NetworkUnavailable"}} {
		node := workers()[0]
		faulted := time.Now()
		fault(node, f.kind)
		waitForEventAmong(t, addr, project, uid, "MachineRemediating", node+" relaunched", f.reason)
		t.Logf("Node %s (%s) relaunched %s after the fault", node, f.kind, time.Since(faulted).Round(100*time.Millisecond))
		poll.Eventually(t, 2*time.Minute, "the pool to be whole again without "+node, whole(node))
	}
	relaunches := upgradesMentioning(t, addr, project, uid, "relaunched")
	if relaunches != 2 {
		t.Fatalf("status.upgrades has %d relaunch entries; want 2", relaunches)
	}

	// Half the pool at once: above the 40% cap nothing is relaunched; once one recovers, the other is.
	pair := workers()[:2]
	setPool(4, "", "20s") // time enough for both faults to show before either would be relaunched
	fault(pair[0], "kubelet-down")
	fault(pair[1], "kubelet-down")
	waitForEventAmong(t, addr, project, uid, "RemediationPaused", "2 of 4 machines of pool workers are unhealthy, more than its cap of 40% (1 at once)")
	if m := machines(); m[pair[0]] == "" || m[pair[1]] == "" || m[pair[0]] == "Deleting" || m[pair[1]] == "Deleting" {
		t.Fatalf("machines while the cap holds = %v; want %v kept", m, pair)
	}
	fault(pair[1], "")
	waitForEventAmong(t, addr, project, uid, "MachineRemediating", pair[0]+" relaunched", "NodeNotReady")
	poll.Eventually(t, 2*time.Minute, "the pool to be whole again without "+pair[0], whole(pair[0]))

	// Off for the project: a broken node stays; on again: it is relaunched.
	setPool(4, "", "3s")
	settings := "/v1/projects/" + project + "/preferences/clusterSettings"
	if code := api(t, addr, project, "PUT", settings+"/nodesAutoRemediationSetting", `{"isEnabled":false}`, nil); code != 204 {
		t.Fatalf("turning remediation off: %d", code)
	}
	node := workers()[0]
	fault(node, "kubelet-down")
	poll.Eventually(t, time.Minute, "the hub to see node "+node+" not Ready", func() error {
		state := machines()[node]
		return poll.Unless(state == "Pending", "machine %s is %q", node, state)
	})
	// The 3 s timeout counts from here. Were remediation on, the reconcile due at its end would
	// relaunch the machine at once (the steps above relaunch within a second of their timeout);
	// 10 s is three times the timeout, so a relaunch that should not happen would show.
	poll.Consistently(t, 10*time.Second, "machine "+node+" kept while remediation is off", func() error {
		if state := machines()[node]; state != "Pending" {
			return fmt.Errorf("machine %s is %q; want it kept (Pending: its node is not Ready)", node, state)
		}
		relaunched, _ := eventsAmong(t, addr, project, uid, "MachineRemediating", node+" relaunched")
		return poll.Unless(len(relaunched) == 0, "events %+v", relaunched)
	})
	if code := api(t, addr, project, "PUT", settings+"/nodesAutoRemediationSetting", `{"isEnabled":true}`, nil); code != 204 {
		t.Fatalf("turning remediation on: %d", code)
	}
	waitForEventAmong(t, addr, project, uid, "MachineRemediating", node+" relaunched", "NodeNotReady")
	poll.Eventually(t, 2*time.Minute, "the pool to be whole again without "+node, whole(node))

	// A new node that never gets Ready is relaunched after the startup timeout.
	setPool(5, `"easel.dev/fault":"never-ready"`, "3s")
	waitForEventAmong(t, addr, project, uid, "MachineRemediating", "relaunched", "NodeStartupTimeout")
	setPool(4, "", "3s")
	poll.Eventually(t, 2*time.Minute, "the pool to be whole again", whole(""))
}
