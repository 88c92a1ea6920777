package e2e_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spectrocloud/palette-sdk-go/api/models"
	"github.com/spectrocloud/palette-sdk-go/client"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/provider/local"
	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/testenv/easelbin"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// An existing cluster, made outside the hub, is imported the Palette way: register it, download
// its import manifest, apply it with kubectl; the agent it describes joins and the cluster becomes
// Running in the hub.
func TestGenericImport(t *testing.T) {
	bins, err := k8sbin.Find()
	if err != nil {
		t.Fatalf("this test runs a control plane: %v", err)
	}
	ctx := context.Background()

	// The "existing" cluster: a control plane the hub knows nothing of.
	outside := &local.ControlPlane{Name: "existing", Dir: filepath.Join(t.TempDir(), "existing"), Bins: bins}
	t.Cleanup(func() { outside.Destroy() })
	poll.Eventually(t, 2*time.Minute, "the outside control plane to come up", func() error {
		if err := outside.Ensure(ctx); err != nil {
			return err
		}
		if err := outside.Ready(ctx); err != nil {
			return err
		}
		return poll.Unless(len(outside.Running()) == 5, "running %v", outside.Running())
	})

	addr := startHub(t, func(c *server.Config) { c.HeartbeatTimeout = 4 * time.Second })
	tc := tenantClient(addr, adminKey)
	projects, err := tc.GetProjects()
	if err != nil || len(projects.Items) == 0 {
		t.Fatalf("GetProjects: %v", err)
	}
	pc := client.New(client.WithPaletteURI(addr), client.WithAPIKey(adminKey), client.WithSchemes([]string{"http"}),
		client.WithScopeProject(projects.Items[0].Metadata.UID))
	uid, err := pc.ImportClusterGeneric(&models.V1ObjectMetaInputEntity{Name: "existing", Labels: map[string]string{"origin": "import"}})
	if err != nil {
		t.Fatalf("ImportClusterGeneric: %v", err)
	}
	manifest, err := pc.GetClusterImportManifest(uid)
	if err != nil || !strings.Contains(manifest, "kind: Deployment") || !strings.Contains(manifest, "easel-system") {
		t.Fatalf("GetClusterImportManifest = %q, %v", manifest, err)
	}

	kubectl := exec.Command(bins.Kubectl, "--kubeconfig", outside.AdminKubeconfigPath(), "apply", "-f", "-")
	kubectl.Stdin = strings.NewReader(manifest)
	if out, err := kubectl.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply of the import manifest: %v\n%s", err, out)
	}
	kc, err := outside.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kc.AppsV1().Deployments("easel-system").Get(ctx, "easel-agent", metav1.GetOptions{}); err != nil {
		t.Fatalf("the agent's Deployment after applying the manifest: %v", err)
	}
	// The nodes of this cluster are simulated, so its Deployment's pod does not really run: run the
	// agent as that pod would, with the Secret the manifest created.
	sec, err := kc.CoreV1().Secrets("easel-system").Get(ctx, "easel-agent", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the agent's Secret: %v", err)
	}
	agent := exec.Command(easelbin.Path(t), "agent", "--kubeconfig", outside.AdminKubeconfigPath(), "--heartbeat-interval", "2s")
	agent.Env = append(os.Environ(), "EASEL_HUB_URL="+string(sec.Data["hubURL"]), "EASEL_CLUSTER_UID="+string(sec.Data["clusterUID"]),
		"EASEL_AGENT_TOKEN="+string(sec.Data["token"]))
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() }) // whichever agent runs last

	cl := waitForCondition(t, pc, uid, "PacksApplied", "True")
	if cl.Status.State != "Running" || cl.Spec.CloudType != "generic" || cl.Metadata.Labels["origin"] != "import" {
		t.Fatalf("imported cluster = %s", dump(cl))
	}

	// The agent stops (its owner runs it): once the heartbeat timeout passes the cluster is
	// unhealthy, saying why; it is healthy again when the agent comes back.
	project := projects.Items[0].Metadata.UID
	agent.Process.Kill()
	agent.Wait()
	waitForEvent(t, addr, project, uid, "Unhealthy", "NoHeartbeat: no heartbeat from the agent since")
	overview, err := pc.GetClusterOverview(uid)
	if err != nil || overview.Status.Health == nil || overview.Status.Health.State != "Unhealthy" {
		t.Fatalf("overview health while the agent is down = %s, %v", dump(overview.Status.Health), err)
	}
	agent = exec.Command(agent.Path, agent.Args[1:]...)
	agent.Env = append(os.Environ(), "EASEL_HUB_URL="+string(sec.Data["hubURL"]), "EASEL_CLUSTER_UID="+string(sec.Data["clusterUID"]),
		"EASEL_AGENT_TOKEN="+string(sec.Data["token"]))
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	waitForEvent(t, addr, project, uid, "Healthy", "heartbeats arrive")
	// The agent has connected: fetching the manifest again would revoke its token, so it is
	// refused; only an explicit rotation issues a new token, and then the running agent's stops working.
	_, err = pc.GetClusterImportManifest(uid)
	if status, code := apiError(err); status != 409 || code != "Conflict" || !strings.Contains(err.Error(), "rotateToken=true") {
		t.Fatalf("a second import manifest once the agent has connected: %d %q (%v); want 409 Conflict naming rotateToken=true", status, code, err)
	}
	heartbeat := func() int {
		t.Helper()
		req, _ := http.NewRequest("PUT", "http://"+addr+"/v1/spectroclusters/"+uid+"/heartbeat", strings.NewReader(`{"agentVersion":"x"}`))
		req.Header.Set("Authorization", "Bearer "+string(sec.Data["token"]))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if status := heartbeat(); status != 204 {
		t.Fatalf("the agent's token after the refused manifest: %d; want 204", status)
	}
	if status := api(t, addr, project, "GET", "/v1/spectroclusters/"+uid+"/import/manifest?rotateToken=true", "", nil); status != 200 {
		t.Fatalf("rotating the agent token: %d; want 200", status)
	}
	if status := heartbeat(); status != 401 {
		t.Fatalf("the first manifest's token after the rotation: %d; want 401", status)
	}
	waitForEvent(t, addr, project, uid, "AgentTokenRotated", "the running agent's token no longer works")
	if err := pc.DeleteCluster(uid); err != nil {
		t.Fatalf("DeleteCluster: %v", err)
	}
}
