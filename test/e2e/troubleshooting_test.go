package e2e_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// logBundle asks for a bundle of the cluster, waits for it to be Completed and returns its files.
func logBundle(t *testing.T, addr, project, uid, request string) (files map[string]string, message string) {
	t.Helper()
	var created struct{ UID string }
	if code := api(t, addr, project, "POST", "/v1/spectroclusters/"+uid+"/features/logFetcher", request, &created); code != 201 {
		t.Fatalf("requesting a log bundle: %d", code)
	}
	poll.Eventually(t, 2*time.Minute, "the log bundle to be Completed", func() error {
		var lf struct {
			Status struct{ State, Message string }
		}
		api(t, addr, project, "GET", "/v1/spectroclusters/"+uid+"/features/logFetcher?requestId="+created.UID, "", &lf)
		message = lf.Status.Message
		return poll.Unless(lf.Status.State == "Completed", "state %s: %s", lf.Status.State, lf.Status.Message)
	})
	var zipped []byte
	if code := api(t, addr, project, "GET", "/v1/spectroclusters/features/logFetcher/"+created.UID+"/download", "", &zipped); code != 200 {
		t.Fatalf("downloading the bundle: %d %s", code, zipped)
	}
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatalf("the bundle is not a zip: %v", err)
	}
	files = map[string]string{}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(r)
		r.Close()
		files[f.Name] = string(data)
	}
	return files, message
}

// withPrefix counts the bundle's files under prefix whose content is not empty.
func withPrefix(files map[string]string, prefix string) (n int) {
	for name, content := range files {
		if strings.HasPrefix(name, prefix) && content != "" {
			n++
		}
	}
	return n
}

// A log bundle of a local cluster holds every section — Manifest.yaml without Secrets, kube-system's
// and the agent's logs, the asked namespace's pods, the control plane's processes, each node's system
// and cloud-init logs (the provider's), the hub's part — and errors.txt names what could not be
// collected (a node file no node has) without failing the rest. With the cluster's API server
// stopped, the bundle still comes, of the hub's and the provider's parts.
func TestLogBundle(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	addr := startHub(t, func(c *server.Config) { c.AgentHeartbeat = time.Second })
	project, uid := createLocalCluster(t, addr, "logs", 2, `,{"name":"cni-calico","tag":"3.30.3"},{"name":"prometheus-operator","tag":"0.85.0"}`)
	kc := clusterClient(t, addr, project, uid)
	deployWeb(t, kc, "default", 2)
	workers := workerNodes(t, kc)
	// A pod has logs once it runs: the bundle is asked for once kube-system has running pods, as an
	// operator would ask for one of a cluster that is up (right after Running, none may run yet).
	poll.Eventually(t, 2*time.Minute, "kube-system pods running", func() error {
		return poll.Unless(len(runningPods(t, kc, "kube-system", "")) > 0, "no kube-system pod running")
	})

	files, _ := logBundle(t, addr, project, uid, `{"noOfLines": 100, "k8s": {"namespaces": ["default"]},
		"node": {"logs": ["syslog", "cloud-init-output.log", "kern.log"]}}`)
	manifest := files["Manifest.yaml"]
	for _, want := range []string{"kind: Node", "kind: Pod", "kind: ConfigMap", "kind: Deployment", "kind: CustomResourceDefinition"} {
		if !strings.Contains(manifest, want) {
			t.Errorf("Manifest.yaml has no %q", want)
		}
	}
	if strings.Contains(manifest, "kind: Secret") {
		t.Error("Manifest.yaml holds a Secret")
	}
	for prefix, what := range map[string]string{
		"kube-system/":                  "kube-system's pods' logs",
		"easel-system/easel-agent.log":  "the agent's log",
		"control-plane/etcd.log":        "etcd's log",
		"control-plane/kube-apiserver.": "the API server's log",
		"control-plane/kwok.log":        "KWOK's log",
		"hub/cluster.yaml":              "the hub's view of the cluster",
		"hub/events.yaml":               "the cluster's events",
		"hub/machines.yaml":             "the cluster's machines",
	} {
		if withPrefix(files, prefix) == 0 {
			t.Errorf("the bundle has no %s (%s…)", what, prefix)
		}
	}
	for _, pod := range runningPods(t, kc, "default", "") {
		if withPrefix(files, "default/"+pod.Name+"/") == 0 {
			t.Errorf("the bundle has no log of default/%s, in the namespace asked for", pod.Name)
		}
	}
	errs := files["errors.txt"]
	for _, node := range workers {
		for _, f := range []string{"syslog", "cloud-init-output.log"} {
			if files["nodes/"+node+"/"+f] == "" {
				t.Errorf("the bundle has no nodes/%s/%s", node, f)
			}
			if strings.Contains(errs, "nodes/"+node+"/"+f+":") {
				t.Errorf("errors.txt lists nodes/%s/%s, which the provider gave:\n%s", node, f, errs)
			}
		}
		if !strings.Contains(errs, "nodes/"+node+"/kern.log: ") {
			t.Errorf("errors.txt does not say why nodes/%s/kern.log is missing:\n%s", node, errs)
		}
	}

	// The API server stopped (paused: its process stays, so nothing restarts it meanwhile).
	pids := processIDs(t, "kube-apiserver", uid)
	if len(pids) != 1 {
		t.Fatalf("kube-apiserver processes of the cluster: %v; want one", pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pids[0], syscall.SIGCONT) })
	files, _ = logBundle(t, addr, project, uid, `{}`)
	if !strings.Contains(files["errors.txt"], "the API server did not answer") {
		t.Errorf("errors.txt does not say the API server is down:\n%s", files["errors.txt"])
	}
	for _, name := range []string{"hub/cluster.yaml", "hub/conditions.yaml", "control-plane/etcd.log", "nodes/" + workers[0] + "/syslog"} {
		if files[name] == "" {
			t.Errorf("with the API server down, the bundle has no %s", name)
		}
	}
	syscall.Kill(pids[0], syscall.SIGCONT)
}

// doctorFindings runs the doctor on the cluster through the API and returns its findings by
// "node/check".
func doctorFindings(t *testing.T, addr, project, uid string) (map[string]doctorFinding, error) {
	t.Helper()
	var run struct {
		Metadata struct{ UID string }
		Status   struct {
			State, Message string
			Findings       []doctorFinding
		}
	}
	if code := api(t, addr, project, "POST", "/v1/spectroclusters/"+uid+"/features/doctor", `{}`, &run); code != 201 {
		return nil, fmt.Errorf("requesting a doctor run: %d", code)
	}
	for deadline := time.Now().Add(30 * time.Second); run.Status.State != "Completed" && run.Status.State != "Failed"; {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("doctor run %s is still %s after 30s", run.Metadata.UID, run.Status.State)
		}
		time.Sleep(100 * time.Millisecond) // the next look at a run in progress
		run.Status.Message = ""
		api(t, addr, project, "GET", "/v1/spectroclusters/"+uid+"/features/doctor?requestId="+run.Metadata.UID, "", &run)
	}
	if run.Status.State != "Completed" {
		return nil, fmt.Errorf("doctor run failed: %s", run.Status.Message)
	}
	out := map[string]doctorFinding{}
	for _, f := range run.Status.Findings {
		out[f.Node+"/"+f.Check] = f
	}
	return out, nil
}

type doctorFinding struct{ Node, Check, Status, Evidence, Cause, Fix string }

// The doctor through the hub and the agent: faults put on three workers of a local cluster by hand
// (the provider's easel.dev/fault label) are each named — node, check, cause and fix — and once
// the labels are gone the same checks are ok.
func TestDoctor(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	addr := startHub(t, func(c *server.Config) { c.AgentHeartbeat = time.Second })
	project, uid := createLocalCluster(t, addr, "doctor", 3, `,{"name":"cni-calico","tag":"3.30.3"}`)
	kc := clusterClient(t, addr, project, uid)
	workers := workerNodes(t, kc)
	faults := []struct{ fault, check string }{
		{"cni-not-ready", "cni"}, {"missing-os-labels", "os-arch-labels"}, {"no-lease", "node-lease"},
	}
	label := func(node, value string) {
		t.Helper()
		patch := `{"metadata":{"labels":{"easel.dev/fault":` + value + `}}}`
		if _, err := kc.CoreV1().Nodes().Patch(context.Background(), node, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(what string, problem bool) {
		t.Helper()
		poll.Eventually(t, 2*time.Minute, what, func() error {
			findings, err := doctorFindings(t, addr, project, uid)
			if err != nil {
				return err
			}
			for i, f := range faults {
				got := findings[workers[i]+"/"+f.check]
				switch {
				case problem && (got.Status != "problem" || got.Cause == "" || got.Fix == "" || got.Evidence == ""):
					return fmt.Errorf("%s on %s: %s is %+v; want a problem with evidence, cause and fix", f.fault, workers[i], f.check, got)
				case !problem && got.Status != "ok":
					return fmt.Errorf("%s taken off %s: %s is %+v; want ok", f.fault, workers[i], f.check, got)
				}
			}
			return nil
		})
	}
	expect("a healthy cluster's checks to be ok", false)
	for i, f := range faults {
		label(workers[i], `"`+f.fault+`"`)
	}
	expect("the doctor to name each fault", true)
	for i := range faults {
		label(workers[i], "null")
	}
	expect("each check to be ok once its fault is gone", false)
}
