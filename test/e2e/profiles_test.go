package e2e_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	clientv1 "github.com/spectrocloud/palette-sdk-go/api/client/version1"
	"github.com/spectrocloud/palette-sdk-go/api/models"
	"github.com/spectrocloud/palette-sdk-go/client"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// agentsManifest is an add-on pack's manifest: a namespace, settings, an object a later version
// drops, and a DaemonSet on every worker.
func agentsManifest(level, image string, legacy bool) string {
	m := `apiVersion: v1
kind: Namespace
metadata: {name: agents}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: agents}
data: {level: "` + level + `"}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: probe, namespace: agents}
spec:
  selector: {matchLabels: {app: probe}}
  template:
    metadata: {labels: {app: probe}}
    spec:
      containers: [{name: probe, image: "` + image + `"}]
`
	if legacy {
		m += "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: legacy, namespace: agents}\ndata: {old: \"yes\"}\n"
	}
	return m
}

// createAddOnProfile creates and publishes an add-on profile with one manifest pack.
func createAddOnProfile(t *testing.T, addr, project, name, version, pack, manifest string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{"version": version, "template": map[string]any{"type": "add-on", "cloudType": "local",
			"packs": []any{map[string]any{"name": pack, "type": "manifest", "layer": "addon",
				"manifests": []any{map[string]any{"name": pack, "content": manifest}}}}}},
	})
	var prof struct{ UID string }
	if code := api(t, addr, project, "POST", "/v1/clusterprofiles", string(body), &prof); code != 201 {
		t.Fatalf("creating profile %s %s: %d", name, version, code)
	}
	api(t, addr, project, "PATCH", "/v1/clusterprofiles/"+prof.UID+"/publish", "", nil)
	return prof.UID
}

type packState struct{ Name, State, Message string }

func packStates(t *testing.T, addr, project, uid string) []packState {
	t.Helper()
	var cl struct {
		Status struct{ Packs []packState }
	}
	api(t, addr, project, "GET", "/v1/spectroclusters/"+uid, "", &cl)
	return cl.Status.Packs
}

func hasPack(packs []packState, name, state, text string) bool {
	return slices.ContainsFunc(packs, func(p packState) bool {
		return p.Name == name && p.State == state && strings.Contains(p.Message, text)
	})
}

// probePods maps each node to its probe pod's name and image.
func probePods(t *testing.T, kc kubernetes.Interface) map[string][2]string {
	t.Helper()
	out := map[string][2]string{}
	for _, p := range runningPods(t, kc, "agents", "") {
		out[p.Spec.NodeName] = [2]string{p.Name, p.Spec.Containers[0].Image}
	}
	return out
}

// Add-on profile changes on a running cluster, through the Palette SDK: attaching applies the packs
// in place; a new version applied while a worker is in maintenance leaves that node's DaemonSet pod
// alone (the pack says so) and prunes the object the version dropped; leaving maintenance rolls
// the pod; detaching deletes what the pack applied. Bad changes are refused and change nothing.
func TestAddOnProfileChanges(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	addr := startHub(t, func(c *server.Config) { c.AgentHeartbeat = time.Second })
	project, uid := createLocalCluster(t, addr, "addons", 2, "")
	kc := clusterClient(t, addr, project, uid)
	ctx := context.Background()
	pc := client.New(client.WithPaletteURI(addr), client.WithAPIKey(adminKey), client.WithSchemes([]string{"http"}), client.WithScopeProject(project))

	v1UID := createAddOnProfile(t, addr, project, "node-agents", "1.0.0", "probe", agentsManifest("1", "busybox:1.36", true))
	v2UID := createAddOnProfile(t, addr, project, "node-agents", "1.1.0", "probe", agentsManifest("2", "busybox:1.37", false))

	// Attach (the SDK's CreateAddonDeployment: PATCH …/profiles).
	cluster, err := pc.GetCluster(uid)
	if err != nil || cluster == nil {
		t.Fatalf("GetCluster: %v", err)
	}
	if err := pc.CreateAddonDeployment(cluster, &models.V1SpectroClusterProfiles{Profiles: []*models.V1SpectroClusterProfileEntity{{UID: v1UID}}}); err != nil {
		t.Fatalf("attaching node-agents 1.0.0: %v", err)
	}
	workers := workerNodes(t, kc)
	poll.Eventually(t, time.Minute, "a probe pod on each worker and the pack Applied", func() error {
		probes, packs := probePods(t, kc), packStates(t, addr, project, uid)
		return poll.Unless(len(probes) == len(workers) && hasPack(packs, "probe", "Applied", ""), "probe pods %v, packs %+v", probes, packs)
	})
	if _, err := kc.CoreV1().ConfigMaps("agents").Get(ctx, "legacy", metav1.GetOptions{}); err != nil {
		t.Fatalf("the pack's ConfigMap legacy: %v", err)
	}
	cluster, _ = pc.GetCluster(uid)
	if n := len(cluster.Spec.ClusterProfileTemplates); n != 2 {
		t.Fatalf("the cluster shows %d profiles after the attach; want 2", n)
	}

	// Bad changes are refused and change nothing.
	for _, bad := range []struct{ method, body, want string }{
		{"PATCH", `{"profiles":[{"uid":"no-such-profile"}]}`, "not found"},
		{"PATCH", `{"profiles":[{"uid":"` + v2UID + `","replaceWithProfile":"not-attached"}]}`, "is not attached"},
		{"PATCH", `{"profiles":[{"uid":"` + v2UID + `"}]}`, "attached twice"},
		{"PUT", `{"profiles":[{"uid":"` + v1UID + `"}]}`, "exactly one infra"},
		{"DELETE", `{"profileUids":["` + cluster.Spec.ClusterProfileTemplates[0].UID + `"]}`, "infra profile"},
	} {
		var e struct{ Code, Message string }
		if code := api(t, addr, project, bad.method, "/v1/spectroclusters/"+uid+"/profiles", bad.body, &e); code != 400 || !strings.Contains(e.Message, bad.want) {
			t.Errorf("%s %s = %d %q; want 400 with %q", bad.method, bad.body, code, e.Message, bad.want)
		}
	}

	// A worker goes into maintenance; then node-agents 1.1.0 replaces 1.0.0 (the SDK's
	// UpdateAddonDeployment: PATCH with replaceWithProfile).
	node, other := workers[0], workers[1]
	before := probePods(t, kc)
	maintenance := workerMachinePath(t, addr, project, uid, node) + "/maintenance"
	if code := api(t, addr, project, "PUT", maintenance, `{"action":"cordon"}`, nil); code != 204 {
		t.Fatalf("maintenance on: %d", code)
	}
	waitForEvent(t, addr, project, uid, "MaintenanceCompleted", node)
	cluster, _ = pc.GetCluster(uid)
	newVersion, err := pc.GetClusterProfile(v2UID)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.UpdateAddonDeployment(cluster, &models.V1SpectroClusterProfiles{Profiles: []*models.V1SpectroClusterProfileEntity{{UID: v2UID}}}, newVersion); err != nil {
		t.Fatalf("replacing node-agents 1.0.0 by 1.1.0: %v", err)
	}
	poll.Eventually(t, time.Minute, "the pack Pending for the node in maintenance", func() error {
		packs := packStates(t, addr, project, uid)
		return poll.Unless(hasPack(packs, "probe", "Pending", "node "+node+" keeps the previous version until the node leaves maintenance"), "packs %+v", packs)
	})
	now := probePods(t, kc)
	if now[node] != before[node] {
		t.Fatalf("the probe pod on %s (in maintenance) changed: %v, before %v", node, now[node], before[node])
	}
	if now[other][1] != "busybox:1.37" {
		t.Fatalf("the probe pod on %s runs %s; want the new version's busybox:1.37", other, now[other][1])
	}
	if _, err := kc.CoreV1().ConfigMaps("agents").Get(ctx, "legacy", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the ConfigMap the new version dropped is still there (err %v)", err)
	}
	if s, _ := kc.CoreV1().ConfigMaps("agents").Get(ctx, "settings", metav1.GetOptions{}); s == nil || s.Data["level"] != "2" {
		t.Fatalf("settings = %+v; want level 2", s)
	}
	waitForEventAmong(t, addr, project, uid, "ProfilesChanged", "profile node-agents changed from 1.0.0 to 1.1.0")

	// Leaving maintenance rolls the pod that waited; the pack is Applied.
	if code := api(t, addr, project, "PUT", maintenance, `{"action":"uncordon"}`, nil); code != 204 {
		t.Fatalf("maintenance off: %d", code)
	}
	poll.Eventually(t, time.Minute, "the probe pod on the node back from maintenance to run the new version", func() error {
		p, packs := probePods(t, kc)[node], packStates(t, addr, project, uid)
		return poll.Unless(p[1] == "busybox:1.37" && hasPack(packs, "probe", "Applied", ""), "probe pod %v, packs %+v", p, packs)
	})
	ds, err := kc.AppsV1().DaemonSets("agents").Get(ctx, "probe", metav1.GetOptions{})
	if err != nil || ds.Spec.UpdateStrategy.Type != "RollingUpdate" {
		t.Fatalf("the DaemonSet's update strategy after maintenance: %v (err %v); want RollingUpdate", ds.Spec.UpdateStrategy.Type, err)
	}

	// The cluster's profiles as the SDK reads them.
	list, err := pc.Client.V1SpectroClustersGetProfiles(clientv1.NewV1SpectroClustersGetProfilesParamsWithContext(
		client.ContextForScope("project", project)).WithUID(uid))
	if err != nil || len(list.Payload.Profiles) != 2 || list.Payload.Profiles[1].Metadata.UID != v2UID {
		t.Fatalf("V1SpectroClustersGetProfiles: %v %s", err, dump(list))
	}

	// Detach (the SDK's DeleteAddonDeployment): what the pack applied is deleted.
	if err := pc.DeleteAddonDeployment(uid, &models.V1SpectroClusterProfilesDeleteEntity{ProfileUids: []string{v2UID}}); err != nil {
		t.Fatalf("detaching node-agents: %v", err)
	}
	poll.Eventually(t, time.Minute, "the namespace agents to go and the pack Removed", func() error {
		ns, err := kc.CoreV1().Namespaces().Get(ctx, "agents", metav1.GetOptions{})
		gone := apierrors.IsNotFound(err) || err == nil && ns.DeletionTimestamp != nil
		packs := packStates(t, addr, project, uid)
		return poll.Unless(gone && hasPack(packs, "probe", "Removed", "objects deleted"), "namespace gone %v (%v), packs %+v", gone, err, packs)
	})
	cm, _ := kc.CoreV1().ConfigMaps("easel-system").Get(ctx, "easel-inventory", metav1.GetOptions{})
	if cm == nil || strings.Contains(cm.Data["inventory.json"], "probe") {
		t.Fatalf("the agent's inventory after the detach: %+v", cm)
	}
}
