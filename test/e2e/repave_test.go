package e2e_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// An instance-type change on a cluster that requires approval: the repave waits, with its reason;
// once approved every worker is replaced once, one at a time — the new machine Ready before the
// old one is drained (a PodDisruptionBudget respected) and deleted — and status.upgrades says why.
func TestRepaveInstanceTypeWithApproval(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	// Every cluster is reconciled again every 2 s, so that the wait for approval below spans
	// reconciles that would start the repave were approval not required.
	addr := startHub(t, func(c *server.Config) { c.AgentHeartbeat, c.Resync = time.Second, 2*time.Second })
	project, uid := createLocalCluster(t, addr, "repaved", 2, "", `"clusterConfig":{"repaveApprovalRequired":true},`)
	kc := clusterClient(t, addr, project, uid)
	ctx := context.Background()
	labels := deployWeb(t, kc, "default", 4)
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: policyv1.PodDisruptionBudgetSpec{
		MaxUnavailable: ptr(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels}}}
	if _, err := kc.PolicyV1().PodDisruptionBudgets("default").Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var cl struct {
		Spec struct{ CloudConfigRef struct{ UID string } }
	}
	api(t, addr, project, "GET", "/v1/spectroclusters/"+uid, "", &cl)
	pool := "/v1/cloudconfigs/cloudTypes/local/" + cl.Spec.CloudConfigRef.UID + "/machinePools/workers"
	type machine struct {
		Metadata struct{ Name string }
		Spec     struct{ InstanceType struct{ Name string } }
		Status   struct{ InstanceState string }
	}
	machines := func() []machine {
		var out struct{ Items []machine }
		api(t, addr, project, "GET", pool+"/machines", "", &out)
		return out.Items
	}
	original := map[string]bool{}
	for _, m := range machines() {
		original[m.Metadata.Name] = true
	}
	type repave struct {
		Spec struct {
			Reasons []struct{ Code, Message string }
		}
		Status struct{ State string }
	}
	repaveStatus := func() repave {
		var out repave
		api(t, addr, project, "GET", "/v1/spectroclusters/"+uid+"/repave/status", "", &out)
		return out
	}
	const reason = "machinePool workers: instanceType changed from small to medium"

	if code := api(t, addr, project, "PUT", pool, `{"poolConfig":{"name":"workers","size":2},"cloudConfig":{"instanceType":"medium"}}`, nil); code != 204 {
		t.Fatalf("changing the instance type: %d", code)
	}
	// Approval required: it waits, saying why, and no machine is touched.
	pending := func() error {
		rp := repaveStatus()
		return poll.Unless(rp.Status.State == "Pending" && len(rp.Spec.Reasons) == 1 && rp.Spec.Reasons[0].Message == reason &&
			rp.Spec.Reasons[0].Code == "MachinePoolInstanceTypeChanged", "repave %+v", rp)
	}
	poll.Eventually(t, 30*time.Second, "the repave to wait for approval", pending)
	// 5 s spans two resyncs: a repave going ahead without approval would add a machine to the
	// pool meanwhile (the new one comes before the old one goes).
	poll.Consistently(t, 5*time.Second, "the repave waiting and no machine touched before the approval", func() error {
		if got := machines(); len(got) != 2 || !original[got[0].Metadata.Name] || !original[got[1].Metadata.Name] {
			return fmt.Errorf("machines changed: %+v", got)
		}
		return pending()
	})
	if code := api(t, addr, project, "PATCH", "/v1/spectroclusters/"+uid+"/repave/approve", "", nil); code != 204 {
		t.Fatalf("approving: %d", code)
	}
	if code := api(t, addr, project, "PATCH", "/v1/spectroclusters/"+uid+"/repave/approve", "", nil); code != 409 {
		t.Fatalf("approving again: %d; want 409 (nothing waits)", code)
	}

	// Every worker replaced once, by a medium one.
	poll.Eventually(t, 3*time.Minute, "two new medium workers and no old one", func() error {
		got := machines()
		return poll.Unless(len(got) == 2 && !slices.ContainsFunc(got, func(m machine) bool {
			return original[m.Metadata.Name] || m.Spec.InstanceType.Name != "medium" || m.Status.InstanceState != "Running"
		}), "machines %+v", got)
	})
	poll.Eventually(t, 30*time.Second, "the repave to end", func() error {
		rp := repaveStatus()
		return poll.Unless(rp.Status.State == "", "repave %+v", rp)
	})
	var status struct {
		Status struct {
			Upgrades []struct {
				Reason    []string
				Timestamp time.Time
			}
		}
	}
	api(t, addr, project, "GET", "/v1/spectroclusters/"+uid, "", &status)
	if u := status.Status.Upgrades; len(u) != 1 || !slices.Equal(u[0].Reason, []string{reason}) || u[0].Timestamp.IsZero() {
		t.Fatalf("status.upgrades = %+v; want one entry with the reason", u)
	}

	// One at a time: a new machine was Ready before each old one was drained, and each old one
	// was drained before it was deleted.
	var events struct {
		Items []struct {
			Reason, Message string
			Metadata        struct{ CreationTimestamp time.Time }
		}
	}
	api(t, addr, project, "GET", "/v1/events/components/spectrocluster/"+uid+"?limit=300", "", &events)
	slices.Reverse(events.Items)
	var steps []string
	for _, e := range events.Items {
		t.Logf("%s %s: %s", e.Metadata.CreationTimestamp.Format("15:04:05.000"), e.Reason, e.Message)
		switch e.Reason {
		case "MachineReady", "MachineDraining", "NodeDrained", "MachineDeleted", "RepavePending", "RepaveApproved", "RepaveCompleted":
			old := false
			for name := range original {
				old = old || strings.Contains(e.Message, name+" ")
			}
			who := "new"
			if old {
				who = "old"
			}
			if strings.HasPrefix(e.Reason, "Repave") {
				who = "cluster"
			}
			steps = append(steps, e.Reason+":"+who)
		}
	}
	// The provisioning's MachineReady events of the original machines come first.
	steps = steps[slices.Index(steps, "RepavePending:cluster"):]
	want := []string{"RepavePending:cluster", "RepaveApproved:cluster",
		"MachineReady:new", "MachineDraining:old", "NodeDrained:old", "MachineDeleted:old",
		"MachineReady:new", "MachineDraining:old", "NodeDrained:old", "MachineDeleted:old", "RepaveCompleted:cluster"}
	if !slices.Equal(steps, want) {
		t.Fatalf("repave steps = %v\nwant %v", steps, want)
	}
	poll.Eventually(t, time.Minute, "4 web pods running on the new workers", func() error {
		pods := podsByUID(runningPods(t, kc, "default", ""))
		return poll.Unless(len(pods) == 4 && !slices.ContainsFunc(slices.Collect(maps.Values(pods)), func(node string) bool { return original[node] }),
			"web pods (uid → node) %v", pods)
	})
}

// nodeImages maps each node to its kubelet version and OS image.
func nodeImages(t *testing.T, kc kubernetes.Interface) map[string]string {
	t.Helper()
	nodes, err := kc.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range nodes.Items {
		if n.DeletionTimestamp == nil {
			out[n.Name] = n.Status.NodeInfo.KubeletVersion + " on " + n.Status.NodeInfo.OSImage
		}
	}
	return out
}

// A new version of the infra profile with other OS and Kubernetes layers replaces every machine,
// the control plane's too, once, with the layers' changes as the reasons; a change of the
// Kubernetes layer's values alone does it again; a CNI change does not.
func TestInfraLayerRepave(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	addr := startHub(t, func(c *server.Config) { c.AgentHeartbeat = time.Second })
	var projects struct {
		Items []struct{ Metadata struct{ UID string } }
	}
	api(t, addr, "", "GET", "/v1/dashboard/projects/metadata", "", &projects)
	project := projects.Items[0].Metadata.UID
	old := createClusterProfile(t, addr, project, "base", "1.0.0", `{"name":"ubuntu","tag":"22.04"},{"name":"kubernetes","tag":"1.33.8"}`)
	uid := createClusterFrom(t, addr, project, "layers", old, 1)
	kc := clusterClient(t, addr, project, uid)
	before := nodeImages(t, kc)
	for n, img := range before {
		if img != "v1.33.8 on Ubuntu 22.04 LTS" {
			t.Fatalf("node %s runs %s; want the profile's v1.33.8 on Ubuntu 22.04 LTS", n, img)
		}
	}

	replace := func(body string) {
		t.Helper()
		if code := api(t, addr, project, "PATCH", "/v1/spectroclusters/"+uid+"/profiles", body, nil); code != 204 {
			t.Fatalf("PATCH profiles %s: %d", body, code)
		}
	}
	// repaved waits for every node to be replaced (none of previous left) and to run want.
	repaved := func(want string, previous map[string]string) map[string]string {
		t.Helper()
		var now map[string]string
		poll.Eventually(t, 2*time.Minute, "every node to be replaced and run "+want, func() error {
			now = nodeImages(t, kc)
			replaced := len(now) == 2
			for n, img := range now {
				if _, kept := previous[n]; kept || img != want {
					replaced = false
				}
			}
			return poll.Unless(replaced, "nodes %v; before %v", now, previous)
		})
		poll.Eventually(t, time.Minute, "the repave to end", func() error {
			var st struct{ Status struct{ State string } }
			api(t, addr, project, "GET", "/v1/spectroclusters/"+uid+"/repave/status", "", &st)
			return poll.Unless(st.Status.State != "Approved", "repave state %q", st.Status.State)
		})
		return now
	}
	newer := createClusterProfile(t, addr, project, "base", "1.1.0", `{"name":"ubuntu","tag":"24.04"},{"name":"kubernetes","tag":"1.34.4"}`)
	replace(`{"profiles":[{"uid":"` + newer + `","replaceWithProfile":"` + old + `"}]}`)
	after := repaved("v1.34.4 on Ubuntu 24.04 LTS", before)
	for _, reason := range []string{"OS layer changed from ubuntu 22.04 to ubuntu 24.04", "Kubernetes layer changed from kubernetes 1.33.8 to kubernetes 1.34.4"} {
		if n := upgradesMentioning(t, addr, project, uid, reason); n != 1 {
			t.Fatalf("%d status.upgrades entries say %q; want 1", n, reason)
		}
	}

	// The Kubernetes layer's values (the kubeadm configuration) alone.
	replace(`{"profiles":[{"uid":"` + newer + `","packValues":[{"name":"kubernetes","values":"pack:\n  podCIDR: 10.245.0.0/16\n"}]}]}`)
	poll.Eventually(t, time.Minute, "the values repave to be recorded", func() error {
		n := upgradesMentioning(t, addr, project, uid, "Kubernetes layer kubernetes 1.34.4: values changed")
		return poll.Unless(n == 1, "%d status.upgrades entries say so", n)
	})
	again := repaved("v1.34.4 on Ubuntu 24.04 LTS", after)

	// A CNI added in place is applied by the agent: no machine is replaced.
	cni := createClusterProfile(t, addr, project, "base", "1.2.0", `{"name":"ubuntu","tag":"24.04"},{"name":"kubernetes","tag":"1.34.4","values":"pack:\n  podCIDR: 10.245.0.0/16\n"},{"name":"cni-calico","tag":"3.30.3"}`)
	replace(`{"profiles":[{"uid":"` + cni + `","replaceWithProfile":"` + newer + `"}]}`)
	poll.Eventually(t, time.Minute, "calico to run on every node", func() error {
		pods := daemonPods(t, kc, "")
		return poll.Unless(len(pods) >= 2, "DaemonSet pods %v", pods)
	})
	if now := nodeImages(t, kc); !maps.Equal(now, again) {
		t.Fatalf("nodes after adding a CNI: %v; before %v (no repave expected)", now, again)
	}
}
