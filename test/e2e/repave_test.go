package e2e_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/easelhq/easel/internal/hub"
	"github.com/easelhq/easel/internal/k8sbin"
)

// An instance-type change on a cluster that requires approval: the repave waits, with its reason;
// once approved every worker is replaced once, one at a time — the new machine Ready before the
// old one is drained (a PodDisruptionBudget respected) and deleted — and status.upgrades says why.
func TestRepaveInstanceTypeWithApproval(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	addr := startHub(t, "", func(c *hub.Config) { c.AgentHeartbeat = time.Second })
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
		Spec     struct{ InstanceType string }
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
	waitFor(t, 30*time.Second, "the repave to wait for approval", func() bool {
		rp := repaveStatus()
		return rp.Status.State == "Pending" && len(rp.Spec.Reasons) == 1 && rp.Spec.Reasons[0].Message == reason &&
			rp.Spec.Reasons[0].Code == "MachinePoolInstanceTypeChanged"
	})
	time.Sleep(3 * time.Second)
	if got := machines(); len(got) != 2 || !original[got[0].Metadata.Name] || !original[got[1].Metadata.Name] {
		t.Fatalf("machines changed before the approval: %+v", got)
	}
	if code := api(t, addr, project, "PATCH", "/v1/spectroclusters/"+uid+"/repave/approve", "", nil); code != 204 {
		t.Fatalf("approving: %d", code)
	}
	if code := api(t, addr, project, "PATCH", "/v1/spectroclusters/"+uid+"/repave/approve", "", nil); code != 409 {
		t.Fatalf("approving again: %d; want 409 (nothing waits)", code)
	}

	// Every worker replaced once, by a medium one.
	waitFor(t, 3*time.Minute, "two new medium workers and no old one", func() bool {
		got := machines()
		if len(got) != 2 {
			return false
		}
		for _, m := range got {
			if original[m.Metadata.Name] || m.Spec.InstanceType != "medium" || m.Status.InstanceState != "Running" {
				return false
			}
		}
		return true
	})
	waitFor(t, 30*time.Second, "the repave to end", func() bool { return repaveStatus().Status.State == "" })
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
	waitFor(t, time.Minute, "4 web pods running on the new workers", func() bool {
		pods := runningPods(t, kc, "default", "")
		return len(pods) == 4 && !slices.ContainsFunc(pods, func(p corev1.Pod) bool { return original[p.Spec.NodeName] })
	})
}
