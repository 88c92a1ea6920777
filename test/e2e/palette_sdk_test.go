package e2e_test

import (
	"archive/zip"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spectrocloud/palette-sdk-go/api/apiutil/transport"
	clientv1 "github.com/spectrocloud/palette-sdk-go/api/client/version1"
	"github.com/spectrocloud/palette-sdk-go/api/models"
	"github.com/spectrocloud/palette-sdk-go/client"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/provider/local"
	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/testenv/pgtest"
	"github.com/easelhq/easel/internal/testenv/poll"
)

func TestPaletteSDK(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("the SDK flow provisions a local cluster: %v", err)
	}
	stores := []struct {
		name string
		db   func(t *testing.T) string
	}{
		{"sqlite", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			db := st.db(t)
			addr := startHub(t, func(c *server.Config) { c.DB, c.AgentHeartbeat = db, time.Second })
			paletteFlow(t, addr)
		})
	}
}

// httpStatus is the HTTP status of an SDK error, 0 if it carries none.
func httpStatus(err error) int {
	var te *transport.TransportError
	if errors.As(err, &te) {
		return te.HttpCode
	}
	return 0
}

// apiError is the HTTP status and Palette error code of an SDK error ("" if it has no body).
func apiError(err error) (int, string) {
	var te *transport.TransportError
	if errors.As(err, &te) && te.Payload != nil {
		return te.HttpCode, te.Payload.Code
	}
	return httpStatus(err), ""
}

const controlPlaneValues = `apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: KubeadmControlPlane
metadata:
  name: control-plane
spec:
  replicas: 1
`

const workerValues = `apiVersion: cluster.x-k8s.io/v1beta1
kind: MachineDeployment
metadata:
  name: worker-pool
spec:
  replicas: 2
  template:
    spec:
      failureDomain: local-b
`

func paletteFlow(t *testing.T, addr string) {
	tenant := tenantClient(addr, adminKey)

	// Identity and tenancy.
	info, err := tenant.GetUsersInfo()
	if err != nil {
		t.Fatalf("GetUsersInfo: %v", err)
	}
	if info.TenantUID == "" || info.UserUID == "" || info.OrgName != "easel" {
		t.Fatalf("GetUsersInfo = %+v; want tenant and user uids and org easel", info)
	}
	tenantUID, err := tenant.GetTenantUID()
	if err != nil || tenantUID != info.TenantUID {
		t.Fatalf("GetTenantUID = %q, %v; want %q", tenantUID, err, info.TenantUID)
	}

	projectUID, err := tenant.CreateProject(&models.V1ProjectEntity{
		Metadata: &models.V1ObjectMeta{Name: "sdk-e2e"},
		Spec:     &models.V1ProjectEntitySpec{},
	})
	if err != nil {
		t.Fatalf("CreateProject: %v", err)
	}
	if len(projectUID) != 24 {
		t.Fatalf("CreateProject uid = %q; want 24 hex digits", projectUID)
	}
	project, err := tenant.GetProject(projectUID)
	if err != nil {
		t.Fatalf("GetProject: %v", err)
	}
	if project.Metadata.UID != projectUID || project.Metadata.Name != "sdk-e2e" {
		t.Fatalf("GetProject metadata = %+v; want uid %s name sdk-e2e", project.Metadata, projectUID)
	}
	projects, err := tenant.GetProjects()
	if err != nil {
		t.Fatalf("GetProjects: %v", err)
	}
	var names []string
	for _, p := range projects.Items {
		names = append(names, p.Metadata.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"default", "sdk-e2e"}) {
		t.Fatalf("GetProjects names = %v; want [default sdk-e2e]", names)
	}
	if uid, err := tenant.GetProjectUID("sdk-e2e"); err != nil || uid != projectUID {
		t.Fatalf("GetProjectUID(sdk-e2e) = %q, %v; want %q", uid, err, projectUID)
	}

	// A new API key works as a credential of its own.
	newKey, err := tenant.CreateAPIKey("sdk-e2e-key", map[string]string{"purpose": "e2e"}, time.Hour)
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	if newKey == "" || newKey == adminKey {
		t.Fatalf("CreateAPIKey = %q; want a new key", newKey)
	}
	if uid, err := tenantClient(addr, newKey).GetTenantUID(); err != nil || uid != tenantUID {
		t.Fatalf("GetTenantUID with the new key = %q, %v; want %q", uid, err, tenantUID)
	}
	keys, err := tenant.GetAPIKeys()
	if err != nil {
		t.Fatalf("GetAPIKeys: %v", err)
	}
	var keyNames []string
	for _, k := range keys.Items {
		keyNames = append(keyNames, k.Metadata.Name)
	}
	slices.Sort(keyNames)
	if !slices.Equal(keyNames, []string{"bootstrap", "sdk-e2e-key"}) {
		t.Fatalf("GetAPIKeys names = %v; want [bootstrap sdk-e2e-key]", keyNames)
	}
	_, err = tenantClient(addr, "not-a-key").GetUsersInfo()
	if status, code := apiError(err); status != 401 || code != "Unauthorized" {
		t.Fatalf("GetUsersInfo with a wrong key: %d %q (%v); want 401 Unauthorized", status, code, err)
	}

	pc := client.New(client.WithPaletteURI(addr), client.WithAPIKey(adminKey), client.WithSchemes([]string{"http"}),
		client.WithScopeProject(projectUID))

	// Packs.
	found, err := pc.SearchPacks(&models.V1PackFilterSpec{
		Name:  &models.V1FilterString{Eq: ptr("kubernetes")},
		Layer: []models.V1PackLayer{models.V1PackLayerK8s},
	}, nil)
	if err != nil {
		t.Fatalf("SearchPacks: %v", err)
	}
	if len(found) != 1 || found[0].Spec.Name != "kubernetes" || found[0].Spec.Layer != models.V1PackLayerK8s ||
		len(found[0].Spec.Registries) != 1 || found[0].Spec.Registries[0].LatestVersion != "1.34.4" {
		t.Fatalf("SearchPacks(kubernetes, k8s) = %s; want one kubernetes item, latest 1.34.4", dump(found))
	}
	k8s, err := pc.GetPack(found[0].Spec.Registries[0].LatestPackUID)
	if err != nil {
		t.Fatalf("GetPack: %v", err)
	}
	var k8sTags []string
	for _, tag := range k8s.Tags {
		k8sTags = append(k8sTags, tag.Version)
	}
	if k8s.Name != "kubernetes" || !slices.Equal(k8sTags, []string{"1.33.8", "1.34.4"}) {
		t.Fatalf("GetPack(kubernetes) name %q versions %v; want kubernetes [1.33.8 1.34.4]", k8s.Name, k8sTags)
	}
	all, err := pc.GetPacks(nil, "")
	if err != nil {
		t.Fatalf("GetPacks: %v", err)
	}
	packUID := map[string]string{} // name/version → uid
	for _, p := range all {
		packUID[p.Spec.Name+"/"+p.Spec.Version] = p.Metadata.UID
	}
	for _, nv := range []string{"ubuntu/24.04", "kubernetes/1.33.8", "kubernetes/1.34.4", "cni-calico/3.30.3",
		"csi-local-path/0.0.32", "prometheus-operator/0.85.0"} {
		if packUID[nv] == "" {
			t.Fatalf("GetPacks lists no %s (it lists %d packs)", nv, len(all))
		}
	}
	if packUID["kubernetes/1.34.4"] != found[0].Spec.Registries[0].LatestPackUID {
		t.Fatalf("GetPacks uid of kubernetes 1.34.4 = %s; SearchPacks said %s", packUID["kubernetes/1.34.4"],
			found[0].Spec.Registries[0].LatestPackUID)
	}
	registryUID := k8s.RegistryUID
	if registryUID == "" {
		t.Fatal("GetPack: registryUid is empty")
	}
	k8sPacks, err := pc.GetPacks([]string{"spec.name=kubernetes", "spec.layer=k8s"}, registryUID)
	if err != nil {
		t.Fatalf("GetPacks(spec.name=kubernetes AND spec.layer=k8s): %v", err)
	}
	var k8sVersions []string
	for _, p := range k8sPacks {
		k8sVersions = append(k8sVersions, p.Spec.Version)
	}
	slices.Sort(k8sVersions)
	if !slices.Equal(k8sVersions, []string{"1.33.8", "1.34.4"}) {
		t.Fatalf("GetPacks(spec.name=kubernetes AND spec.layer=k8s) versions = %v; want [1.33.8 1.34.4]", k8sVersions)
	}

	// A cluster profile, from draft to published.
	pack := func(name, tag string, layer models.V1PackLayer) *models.V1PackManifestEntity {
		return &models.V1PackManifestEntity{Name: ptr(name), Tag: tag, Layer: string(layer), UID: packUID[name+"/"+tag],
			RegistryUID: registryUID, Type: ptr(models.V1PackTypeSpectro)}
	}
	profileUID, err := pc.CreateClusterProfile(&models.V1ClusterProfileEntity{
		Metadata: &models.V1ObjectMeta{Name: "sdk-profile", Labels: map[string]string{"team": "e2e"}},
		Spec: &models.V1ClusterProfileEntitySpec{
			Version: "1.0.0",
			Template: &models.V1ClusterProfileTemplateDraft{
				CloudType: "local",
				Type:      ptr(models.V1ProfileTypeCluster),
				// Out of layer order on purpose: the hub stacks them.
				Packs: []*models.V1PackManifestEntity{
					pack("prometheus-operator", "0.85.0", models.V1PackLayerAddon),
					pack("kubernetes", "1.34.4", models.V1PackLayerK8s),
					pack("ubuntu", "24.04", models.V1PackLayerOs),
					pack("csi-local-path", "0.0.32", models.V1PackLayerCsi),
					pack("cni-calico", "3.30.3", models.V1PackLayerCni),
				},
			},
		},
	})
	if err != nil {
		t.Fatalf("CreateClusterProfile: %v", err)
	}
	wantLayers := []string{"ubuntu/os", "kubernetes/k8s", "cni-calico/cni", "csi-local-path/csi", "prometheus-operator/addon"}
	profile, err := pc.GetClusterProfile(profileUID)
	if err != nil || profile == nil {
		t.Fatalf("GetClusterProfile = %v, %v", profile, err)
	}
	if profile.Metadata.Name != "sdk-profile" || profile.Spec.Version != "1.0.0" || profile.Status.IsPublished ||
		profile.Spec.Draft == nil || profile.Spec.Published != nil {
		t.Fatalf("GetClusterProfile before publish = %s; want a draft sdk-profile 1.0.0", dump(profile))
	}
	if got := templateLayers(profile.Spec.Draft); !slices.Equal(got, wantLayers) {
		t.Fatalf("draft packs = %v; want %v", got, wantLayers)
	}
	if err := pc.PublishClusterProfile(profileUID); err != nil {
		t.Fatalf("PublishClusterProfile: %v", err)
	}
	profile, err = pc.GetClusterProfile(profileUID)
	if err != nil || profile == nil {
		t.Fatalf("GetClusterProfile after publish = %v, %v", profile, err)
	}
	if !profile.Status.IsPublished || profile.Spec.Published == nil || profile.Spec.Draft != nil {
		t.Fatalf("GetClusterProfile after publish = %s; want published", dump(profile))
	}
	if got := templateLayers(profile.Spec.Published); !slices.Equal(got, wantLayers) {
		t.Fatalf("published packs = %v; want %v", got, wantLayers)
	}
	if p := profile.Spec.Published.Packs[1]; p.Tag != "1.34.4" || p.PackUID != packUID["kubernetes/1.34.4"] {
		t.Fatalf("published kubernetes pack tag %q uid %q; want 1.34.4 %s", p.Tag, p.PackUID, packUID["kubernetes/1.34.4"])
	}
	if uid, err := pc.GetClusterProfileUID("sdk-profile", "1.0.0"); err != nil || uid != profileUID {
		t.Fatalf("GetClusterProfileUID(sdk-profile, 1.0.0) = %q, %v; want %q", uid, err, profileUID)
	}
	profilePacks, err := pc.GetPacksByProfile(profileUID)
	if err != nil {
		t.Fatalf("GetPacksByProfile: %v", err)
	}
	var ppNames []string
	for _, p := range profilePacks {
		ppNames = append(ppNames, p.Spec.Name+"/"+p.Spec.Version)
	}
	if want := []string{"ubuntu/24.04", "kubernetes/1.34.4", "cni-calico/3.30.3", "csi-local-path/0.0.32",
		"prometheus-operator/0.85.0"}; !slices.Equal(ppNames, want) {
		t.Fatalf("GetPacksByProfile = %v; want %v", ppNames, want)
	}
	if vars, err := pc.GetProfileVariables(profileUID); err != nil || len(vars) != 0 {
		t.Fatalf("GetProfileVariables = %v, %v; want none", vars, err)
	}
	registries, err := pc.ListPackRegistries()
	if err != nil || len(registries) != 1 || registries[0].Metadata.Name != "easel-builtin" {
		t.Fatalf("ListPackRegistries = %s, %v; want easel-builtin", dump(registries), err)
	}
	kubernetesPack, err := pc.GetPacksByNameAndRegistry("kubernetes", registries[0].Metadata.UID)
	if err != nil || len(kubernetesPack.Tags) != 2 {
		t.Fatalf("GetPacksByNameAndRegistry(kubernetes) = %s, %v; want two tags", dump(kubernetesPack), err)
	}

	// Export, then import the export as a new version.
	exported, err := pc.ExportClusterProfile(profileUID, "json")
	if err != nil {
		t.Fatalf("ExportClusterProfile: %v", err)
	}
	var export map[string]any
	if err := json.Unmarshal(exported.Bytes(), &export); err != nil {
		t.Fatalf("ExportClusterProfile is not JSON: %v\n%s", err, exported.String())
	}
	spec, _ := export["spec"].(map[string]any)
	if spec == nil || spec["version"] != "1.0.0" {
		t.Fatalf("export spec.version = %v; want 1.0.0", spec["version"])
	}
	spec["version"] = "1.0.1"
	bumped, _ := json.Marshal(export)
	importedUID, err := pc.ImportClusterProfile(string(bumped))
	if err != nil {
		t.Fatalf("ImportClusterProfile: %v", err)
	}
	imported, err := pc.GetClusterProfile(importedUID)
	if err != nil || imported == nil {
		t.Fatalf("GetClusterProfile(imported) = %v, %v", imported, err)
	}
	if importedUID == profileUID || imported.Metadata.Name != "sdk-profile" || imported.Spec.Version != "1.0.1" ||
		!imported.Status.IsPublished || !slices.Equal(templateLayers(imported.Spec.Published), wantLayers) {
		t.Fatalf("imported profile = %s; want sdk-profile 1.0.1, published, same packs", dump(imported))
	}
	if uid, err := pc.GetClusterProfileUID("sdk-profile", "1.0.1"); err != nil || uid != importedUID {
		t.Fatalf("GetClusterProfileUID(sdk-profile, 1.0.1) = %q, %v; want %q", uid, err, importedUID)
	}
	_, err = pc.ImportClusterProfile(string(bumped))
	if status, code := apiError(err); status != 409 || code != "Conflict" {
		t.Fatalf("importing version 1.0.1 twice: %d %q (%v); want 409 Conflict", status, code, err)
	}

	// A cluster described the Palette way: pool YAML in cloudConfig.values.
	clusterEntity := func(name string, pools ...*models.V1CustomMachinePoolConfigEntity) *models.V1SpectroCustomClusterEntity {
		return &models.V1SpectroCustomClusterEntity{
			Metadata: &models.V1ObjectMetaInputEntity{Name: name, Labels: map[string]string{"env": "e2e"}},
			Spec: &models.V1SpectroCustomClusterEntitySpec{
				CloudAccountUID:   ptr(""),
				CloudConfig:       &models.V1CustomClusterConfig{Values: ptr("")},
				Machinepoolconfig: pools,
				Profiles:          []*models.V1SpectroClusterProfileEntity{{UID: profileUID}},
			},
		}
	}
	cpPool := &models.V1CustomMachinePoolConfigEntity{
		CloudConfig: &models.V1CustomMachinePoolCloudConfigEntity{Values: controlPlaneValues},
		PoolConfig:  &models.V1CustomMachinePoolBaseConfigEntity{IsControlPlane: true, Taints: []*models.V1Taint{}},
	}
	workerPool := &models.V1CustomMachinePoolConfigEntity{
		CloudConfig: &models.V1CustomMachinePoolCloudConfigEntity{Values: workerValues},
		PoolConfig: &models.V1CustomMachinePoolBaseConfigEntity{AdditionalLabels: map[string]string{"role": "worker"},
			Taints: []*models.V1Taint{}},
	}
	clusterUID, err := pc.CreateClusterCustomCloud(clusterEntity("sdk-cluster", cpPool, workerPool), "local")
	if err != nil {
		t.Fatalf("CreateClusterCustomCloud: %v", err)
	}
	// The engine provisions it: a real control plane, KWOK nodes for the three machines, the agent,
	// which applies the packs; then it is Running.
	waitForCondition(t, pc, clusterUID, "PacksApplied", "True")
	cluster := waitForCondition(t, pc, clusterUID, "APIServerReachable", "True") // the agent's own
	if cluster.Metadata.Name != "sdk-cluster" || cluster.Metadata.Labels["env"] != "e2e" || cluster.Status.State != "Running" {
		t.Fatalf("GetCluster = %s; want sdk-cluster, label env=e2e, state Running", dump(cluster))
	}
	for _, want := range []string{"InfrastructureReady", "ControlPlaneNodesReady", "WorkerNodesReady", "AgentDeployed", "APIServerReachable"} {
		if !hasCondition(cluster, want, "True") {
			t.Fatalf("GetCluster conditions = %s; want %s True", dump(cluster.Status.Conditions), want)
		}
	}
	kubeconfig, err := pc.GetClusterAdminKubeConfig(clusterUID)
	if err != nil || !strings.Contains(kubeconfig, "https://127.0.0.1:") {
		t.Fatalf("GetClusterAdminKubeConfig = %q, %v; want a kubeconfig for the local API server", kubeconfig, err)
	}
	checkInsideCluster(t, kubeconfig)
	checkServices(t, pc, addr, projectUID, clusterUID, kubeconfig)
	checkNodeTroubleIsUnhealthy(t, pc, clusterUID, kubeconfig)
	checkUsageOverThreshold(t, pc, addr, projectUID, clusterUID, kubeconfig)
	if len(cluster.Spec.ClusterProfileTemplates) != 1 || cluster.Spec.ClusterProfileTemplates[0].UID != profileUID ||
		len(cluster.Spec.ClusterProfileTemplates[0].Packs) != 5 {
		t.Fatalf("GetCluster profiles = %s; want sdk-profile with 5 packs", dump(cluster.Spec.ClusterProfileTemplates))
	}
	if cluster.Spec.CloudConfigRef == nil || cluster.Spec.CloudConfigRef.UID == "" {
		t.Fatalf("GetCluster cloudConfigRef = %v; want a uid", cluster.Spec.CloudConfigRef)
	}
	cloudConfig, err := pc.GetCloudConfigCustomCloud(cluster.Spec.CloudConfigRef.UID, "local")
	if err != nil {
		t.Fatalf("GetCloudConfigCustomCloud: %v", err)
	}
	type poolShape struct {
		name  string
		cp    bool
		size  int32
		label string
	}
	var pools []poolShape
	var machines int32
	for _, p := range cloudConfig.Spec.MachinePoolConfig {
		pools = append(pools, poolShape{p.Name, p.IsControlPlane != nil && *p.IsControlPlane, p.Size, p.AdditionalLabels["role"]})
		machines += p.Size
	}
	if want := []poolShape{{"control-plane", true, 1, ""}, {"worker-pool", false, 2, "worker"}}; !slices.Equal(pools, want) || machines != 3 {
		t.Fatalf("cloud config pools = %+v (%d machines); want %+v (3 machines)", pools, machines, want)
	}
	if cloudConfig.Spec.MachinePoolConfig[1].Values != workerValues {
		t.Fatalf("worker pool values = %q; want the YAML sent", cloudConfig.Spec.MachinePoolConfig[1].Values)
	}
	checkMaintenanceThroughSDK(t, pc, projectUID, cluster.Spec.CloudConfigRef.UID, kubeconfig)

	summaries, err := pc.SearchClusterSummaries(&models.V1SearchFilterSpec{
		Conjunction: ptr(models.V1SearchFilterConjunctionOperatorAnd),
		FilterGroups: []*models.V1SearchFilterGroup{{
			Conjunction: ptr(models.V1SearchFilterConjunctionOperatorAnd),
			Filters: []*models.V1SearchFilterItem{{
				Property: "clusterName",
				Type:     models.V1SearchFilterPropertyTypeString,
				Condition: &models.V1SearchFilterCondition{String: &models.V1SearchFilterStringCondition{
					Operator: models.V1SearchFilterStringOperatorEq,
					Match: &models.V1SearchFilterStringConditionMatch{
						Conjunction: ptr(models.V1SearchFilterConjunctionOperatorOr), Values: []string{"sdk-cluster"}},
				}},
			}},
		}},
	}, nil)
	if err != nil {
		t.Fatalf("SearchClusterSummaries: %v", err)
	}
	if len(summaries) != 1 || summaries[0].Metadata.UID != clusterUID || summaries[0].Status.State != "Running" ||
		summaries[0].SpecSummary.ProjectMeta.Name != "sdk-e2e" {
		t.Fatalf("SearchClusterSummaries(clusterName eq sdk-cluster) = %s; want sdk-cluster, Running, in sdk-e2e", dump(summaries))
	}
	byName, err := pc.GetClusterByName("sdk-cluster", false)
	if err != nil || byName == nil || byName.Metadata.UID != clusterUID {
		t.Fatalf("GetClusterByName(sdk-cluster) = %v, %v; want cluster %s", byName, err, clusterUID)
	}
	overview, err := pc.GetClusterOverview(clusterUID)
	if err != nil {
		t.Fatalf("GetClusterOverview: %v", err)
	}
	if overview.Metadata.UID != clusterUID || overview.Status.State != "Running" || overview.Status.Health == nil ||
		time.Since(time.Time(overview.Status.Health.LastHeartBeatTimestamp)) > time.Minute || len(overview.Spec.CloudConfig.MachinePools) != 2 {
		t.Fatalf("GetClusterOverview = %s; want sdk-cluster, Running, a recent heartbeat, 2 pools", dump(overview))
	}

	events, err := pc.GetEvents("spectrocluster", clusterUID, nil, nil, nil, nil, nil, nil, nil)
	if err != nil {
		t.Fatalf("GetEvents: %v", err)
	}
	var reasons []string
	for _, e := range events {
		if e.InvolvedObject.UID != clusterUID {
			t.Fatalf("GetEvents returned another object's event: %s", dump(e))
		}
		reasons = append(reasons, e.Reason)
	}
	for _, want := range []string{"Created", "MachineCreating", "ControlPlaneReady", "MachineReady", "NodesReady",
		"AgentConnected", "Applied", "Running"} {
		if !slices.Contains(reasons, want) {
			t.Fatalf("GetEvents reasons = %v; want %s among them", reasons, want)
		}
	}
	if reasons[len(reasons)-1] != "Created" {
		t.Fatalf("GetEvents = %v; want newest first, Created last", reasons)
	}

	// A log bundle, as the SDK asks for one, waits for it and downloads it (to $TMPDIR/logs-<uid>.zip).
	lines := int64(200)
	logRequest, err := pc.InitiateDownloadOfClusterLogs(clusterUID, &models.V1ClusterLogFetcherRequest{NoOfLines: &lines,
		K8s: &models.V1ClusterLogFetcherK8sRequest{Namespaces: []string{"kube-system"}}, Node: &models.V1ClusterLogFetcherNodeRequest{Logs: []string{"syslog"}}})
	if err != nil || logRequest == nil || *logRequest == "" {
		t.Fatalf("InitiateDownloadOfClusterLogs = %v, %v; want a request uid", logRequest, err)
	}
	poll.Eventually(t, 2*time.Minute, "the log bundle to be ready", func() error {
		lf, err := pc.GetLogFetcherStatus(clusterUID, logRequest)
		if err != nil {
			return err
		}
		if lf.Status == nil || lf.Spec == nil || lf.Spec.ClusterUID != clusterUID {
			return fmt.Errorf("GetLogFetcherStatus = %s", dump(lf))
		}
		return poll.Unless(lf.Status.State == "Completed", "state %s", lf.Status.State)
	})
	if _, err := pc.DownloadLogs(clusterUID, *logRequest); err != nil {
		t.Fatalf("DownloadLogs: %v", err)
	}
	bundlePath := filepath.Join(os.TempDir(), "logs-"+clusterUID+".zip")
	t.Cleanup(func() { os.Remove(bundlePath) })
	bundle, err := zip.OpenReader(bundlePath)
	if err != nil {
		t.Fatalf("the SDK's download is not a zip: %v", err)
	}
	manifest, err := bundle.Open("Manifest.yaml")
	if err != nil {
		t.Fatalf("the bundle has no Manifest.yaml: %v", err)
	}
	manifest.Close()
	bundle.Close()

	// Bad input is a 400; a missing cluster is nil, not an error.
	_, err = pc.CreateClusterCustomCloud(clusterEntity("sdk-no-cp", workerPool), "local")
	if status, code := apiError(err); status != 400 || code != "InvalidArgument" {
		t.Fatalf("creating a cluster without a control plane: %d %q (%v); want 400 InvalidArgument", status, code, err)
	}
	_, err = pc.CreateClusterCustomCloud(clusterEntity("sdk-cluster", cpPool, workerPool), "local")
	if status, code := apiError(err); status != 409 || code != "Conflict" {
		t.Fatalf("creating sdk-cluster twice: %d %q (%v); want 409 Conflict", status, code, err)
	}
	if c, err := pc.GetCluster("000000000000000000000000"); c != nil || err != nil {
		t.Fatalf("GetCluster(missing) = %v, %v; want nil, nil", c, err)
	}
	_, err = pc.GetClusterOverview("000000000000000000000000")
	if status, code := apiError(err); status != 404 || code != "ResourceNotFound" {
		t.Fatalf("GetClusterOverview(missing): %d %q (%v); want 404 ResourceNotFound", status, code, err)
	}

	if err := pc.DeleteCluster(clusterUID); err != nil {
		t.Fatalf("DeleteCluster: %v", err)
	}
	// The engine tears the control plane down, then the record goes: GetCluster becomes nil.
	poll.Eventually(t, 2*time.Minute, "the cluster to be gone after DeleteCluster", func() error {
		c, err := pc.GetCluster(clusterUID)
		if err != nil {
			t.Fatalf("GetCluster while deleting: %v", err)
		}
		return poll.Unless(c == nil, "status %s", dump(c))
	})
	if err := pc.DeleteCluster("000000000000000000000000"); err != nil {
		t.Fatalf("DeleteCluster(missing) = %v; want nil", err)
	}
	if err := pc.DeleteClusterProfile(importedUID); err != nil {
		t.Fatalf("DeleteClusterProfile: %v", err)
	}
	if p, err := pc.GetClusterProfile(importedUID); p != nil || err != nil {
		t.Fatalf("GetClusterProfile after delete = %v, %v; want nil, nil", p, err)
	}
}

// templateLayers lists a profile template's packs as name/layer.
func templateLayers(tmpl *models.V1ClusterProfileTemplate) []string {
	if tmpl == nil {
		return nil
	}
	var out []string
	for _, p := range tmpl.Packs {
		out = append(out, deref(p.Name)+"/"+deref(p.Layer))
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// checkInsideCluster looks at the cluster through its kubeconfig: three Ready nodes, and the
// objects of the CNI pack the agent applied.
func checkInsideCluster(t *testing.T, kubeconfig string) {
	t.Helper()
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(kubeconfig))
	if err != nil {
		t.Fatalf("the kubeconfig does not parse: %v", err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 3 {
		t.Fatalf("nodes = %v, %v; want 3", nodes, err)
	}
	for _, n := range nodes.Items {
		if !local.NodeReady(&n) {
			t.Fatalf("node %s is not Ready", n.Name)
		}
	}
	ds, err := c.AppsV1().DaemonSets("kube-system").Get(ctx, "calico-node", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the CNI pack's DaemonSet: %v", err)
	}
	if ds.ManagedFields[0].Manager != "easel" {
		t.Fatalf("calico-node was applied by %q, want the agent's field manager easel", ds.ManagedFields[0].Manager)
	}
}

// checkServices creates a LoadBalancer and a NodePort Service in the cluster and waits for the
// agent's report to list both, with their addresses, in the cluster's status.services.
func checkServices(t *testing.T, pc *client.V1Client, addr, project, uid, kubeconfig string) {
	t.Helper()
	cfg, _ := clientcmd.RESTConfigFromKubeConfig([]byte(kubeconfig))
	c := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	lb := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "shop"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	created, err := c.CoreV1().Services("default").Create(ctx, lb, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// No load-balancer controller runs here: give it its address as one would.
	created.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.50"}}
	if _, err := c.CoreV1().Services("default").UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	np := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "admin", Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "admin"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}}}
	npCreated, err := c.CoreV1().Services("default").Create(ctx, np, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nodePort := npCreated.Spec.Ports[0].NodePort
	var cl *models.V1SpectroCluster
	poll.Eventually(t, time.Minute, "the services report to list shop and admin", func() error {
		if cl, err = pc.GetCluster(uid); err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, svc := range cl.Status.Services {
			names[svc.Name] = true
		}
		return poll.Unless(names["shop"] && names["admin"], "services %s", dump(cl.Status.Services))
	})
	got := map[string]*models.V1LoadBalancerService{}
	for _, svc := range cl.Status.Services {
		got[svc.Name] = svc
	}
	if shop, admin := got["shop"], got["admin"]; shop.Host != "192.0.2.50" || len(shop.Ports) != 1 || *shop.Ports[0].Port != 80 ||
		admin.Host == "" || *admin.Ports[0].Port != 8080 {
		t.Fatalf("services = %s", dump(cl.Status.Services))
	}
	// The links, easel's addition to Palette's shape.
	var raw struct {
		Status struct{ Services []struct{ Name, Link string } }
	}
	status := api(t, addr, project, "GET", "/v1/spectroclusters/"+uid, "", &raw)
	links := map[string]string{}
	for _, s := range raw.Status.Services {
		links[s.Name] = s.Link
	}
	if status != 200 || links["shop"] != "http://192.0.2.50:80" || !strings.HasSuffix(links["admin"], fmt.Sprintf(":%d", nodePort)) {
		t.Fatalf("service links = %v (node port %d)", links, nodePort)
	}
}

// checkNodeTroubleIsUnhealthy makes a node report DiskPressure (as a kubelet would) and waits for
// the cluster to be Unhealthy naming the node and the condition, then healthy again once it clears.
func checkNodeTroubleIsUnhealthy(t *testing.T, pc *client.V1Client, uid, kubeconfig string) {
	t.Helper()
	cfg, _ := clientcmd.RESTConfigFromKubeConfig([]byte(kubeconfig))
	c := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "easel.dev/pool=worker-pool"})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("worker nodes: %v", err)
	}
	node := nodes.Items[0]
	setDiskPressure := func(status corev1.ConditionStatus) {
		t.Helper()
		n, err := c.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n.Status.Conditions {
			if n.Status.Conditions[i].Type == corev1.NodeDiskPressure {
				n.Status.Conditions[i].Status, n.Status.Conditions[i].Reason = status, "KubeletHasDiskPressure"
			}
		}
		if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setDiskPressure(corev1.ConditionTrue)
	waitHealth(t, pc, uid, "Unhealthy", "node "+node.Name+" reports DiskPressure")
	setDiskPressure(corev1.ConditionFalse)
	waitHealth(t, pc, uid, "Healthy", "")
}

// waitHealth waits up to a minute for the cluster's health state, with a condition mentioning
// reason when one is given.
func waitHealth(t *testing.T, pc *client.V1Client, uid, state, reason string) {
	t.Helper()
	poll.Eventually(t, time.Minute, fmt.Sprintf("health %s %q", state, reason), func() error {
		o, err := pc.GetClusterOverview(uid)
		if err != nil {
			t.Fatal(err)
		}
		h := o.Status.Health
		return poll.Unless(h != nil && h.State == state && (reason == "" || strings.Contains(dump(h.Conditions), reason)), "health %s", dump(h))
	})
}

// checkUsageOverThreshold sets the project's usage thresholds low and short, runs a pod that uses
// most of a worker's CPU (KWOK simulates a pod's usage from its annotations) and waits for the
// usage to show in status.metrics and in the series, then for the cluster to turn Unhealthy naming
// the node; deleting the pod makes it healthy again.
func checkUsageOverThreshold(t *testing.T, pc *client.V1Client, addr, project, uid, kubeconfig string) {
	t.Helper()
	settings := "/v1/projects/" + project + "/preferences/clusterSettings"
	if status := api(t, addr, project, "PUT", settings+"/usageThresholds", `{"cpuPercent":150,"periodSeconds":3}`, nil); status != 400 {
		t.Fatalf("a threshold of 150%%: %d; want 400", status)
	}
	if status := api(t, addr, project, "PUT", settings+"/usageThresholds",
		`{"cpuPercent":80,"memoryPercent":90,"diskPercent":90,"periodSeconds":3}`, nil); status != 204 {
		t.Fatalf("setting usage thresholds: %d; want 204", status)
	}
	var got struct {
		UsageThresholds struct{ CPUPercent, PeriodSeconds float64 }
	}
	if status := api(t, addr, project, "GET", settings, "", &got); status != 200 || got.UsageThresholds.CPUPercent != 80 || got.UsageThresholds.PeriodSeconds != 3 {
		t.Fatalf("cluster settings: %d %+v", status, got)
	}

	cfg, _ := clientcmd.RESTConfigFromKubeConfig([]byte(kubeconfig))
	c := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "easel.dev/pool=worker-pool"})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("worker nodes: %v", err)
	}
	node := nodes.Items[0].Name // a small machine: 2 cores
	busy := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "busy", Namespace: "default",
			Annotations: map[string]string{"kwok.x-k8s.io/usage-cpu": "1900m", "kwok.x-k8s.io/usage-memory": "512Mi"}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "busy", Image: "busybox",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")}}}}},
	}
	if _, err := c.CoreV1().Pods("default").Create(ctx, busy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The usage shows in status.metrics: CPU in cores, memory in GiB, requests summed from the pods.
	poll.Eventually(t, time.Minute, "status.metrics to show the busy pod", func() error {
		o, err := pc.GetClusterOverview(uid)
		if err != nil {
			t.Fatal(err)
		}
		m := o.Status.Metrics
		return poll.Unless(m != nil && m.CPU != nil && m.CPU.Usage >= 1.8 && m.CPU.Request >= 0.25 &&
			m.CPU.Total == 4 && m.CPU.Unit == "cores" && m.Memory.Usage >= 0.5, "status.metrics %s", dump(m))
	})
	waitHealth(t, pc, uid, "Unhealthy", "node "+node+" cpu at")

	// The series (Palette's metrics operation through the SDK's own client) hold the samples: the
	// minute's mean is well above what the idle cluster's pods use, a share of their small
	// requests (the busy pod ran part of the minute).
	params := clientv1.NewV1MetricsUIDListParamsWithContext(client.ContextForScope("project", project)).
		WithResourceKind("spectrocluster").WithResourceUID(uid).WithMetricKind(ptr("cpuUsage,memoryUsage")).WithPeriod(ptr(int32(1)))
	series, err := pc.Client.V1MetricsUIDList(params)
	if err != nil {
		t.Fatalf("V1MetricsUIDList: %v", err)
	}
	items := series.Payload.Items
	if len(items) != 2 || items[0].Kind != "cpuUsage" || items[0].Unit != "cores" || len(items[0].Points) == 0 ||
		slices.MaxFunc(items[0].Points, func(a, b *models.V1MetricPoint) int { return cmp.Compare(a.Max, b.Max) }).Max < 0.5 {
		t.Fatalf("usage series = %s", dump(series.Payload))
	}

	if err := c.CoreV1().Pods("default").Delete(ctx, "busy", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	waitHealth(t, pc, uid, "Healthy", "")
}

// checkMaintenanceThroughSDK is the SDK's maintenance-mode flow: list a pool's machines (through
// the custom-cloud route and the generic one the SDK's helpers fall back to), cordon one worker
// with ToggleMaintenanceOnNode, wait for its maintenance status to be Completed and its node to be
// cordoned, then uncordon it.
func checkMaintenanceThroughSDK(t *testing.T, pc *client.V1Client, project, configUID, kubeconfig string) {
	t.Helper()
	ctx := client.ContextForScope("project", project)
	custom, err := pc.Client.V1CloudConfigsCustomPoolMachinesList(clientv1.NewV1CloudConfigsCustomPoolMachinesListParamsWithContext(ctx).
		WithCloudType("local").WithConfigUID(configUID).WithMachinePoolName("worker-pool"))
	if err != nil {
		t.Fatalf("V1CloudConfigsCustomPoolMachinesList: %v", err)
	}
	var customUIDs []string
	for _, m := range custom.Payload.Items {
		want := models.V1CustomInstanceType{Name: "small", NumCPUs: 2, MemoryMiB: 4096, DiskGiB: 60}
		if m.Spec == nil || m.Spec.InstanceType == nil || *m.Spec.InstanceType != want || m.Status == nil ||
			m.Status.InstanceState != "Running" || m.Status.MaintenanceStatus == nil {
			t.Fatalf("custom machine list item = %s; want a Running small machine (%+v) with a maintenance status", dump(m), want)
		}
		customUIDs = append(customUIDs, m.Metadata.UID)
	}
	generic, err := pc.Client.V1CloudConfigsGenericPoolMachinesList(clientv1.NewV1CloudConfigsGenericPoolMachinesListParamsWithContext(ctx).
		WithConfigUID(configUID).WithMachinePoolName("worker-pool"))
	if err != nil {
		t.Fatalf("V1CloudConfigsGenericPoolMachinesList: %v", err)
	}
	var genericUIDs []string
	for _, m := range generic.Payload.Items {
		genericUIDs = append(genericUIDs, m.Metadata.UID)
	}
	if len(customUIDs) != 2 || !slices.Equal(customUIDs, genericUIDs) {
		t.Fatalf("worker-pool machines: custom route %v, generic route %v; want the same two", customUIDs, genericUIDs)
	}

	machine, node := custom.Payload.Items[0].Metadata.UID, custom.Payload.Items[0].Metadata.Name
	cfg, _ := clientcmd.RESTConfigFromKubeConfig([]byte(kubeconfig))
	kc := kubernetes.NewForConfigOrDie(cfg)
	maintenance := func(action, state string, unschedulable bool) {
		t.Helper()
		if err := pc.ToggleMaintenanceOnNode(&models.V1MachineMaintenance{Action: action}, "local", configUID, "worker-pool", machine); err != nil {
			t.Fatalf("ToggleMaintenanceOnNode(%s): %v", action, err)
		}
		poll.Eventually(t, time.Minute, "maintenance "+action+" of node "+node+" to be "+state, func() error {
			st, err := pc.GetNodeMaintenanceStatus(pc.GetNodeMaintenanceStatusGeneric, configUID, "worker-pool", machine)
			if err != nil {
				t.Fatalf("GetNodeMaintenanceStatus: %v", err)
			}
			return poll.Unless(st.Action == action && st.State == state, "maintenance status %s", dump(st))
		})
		n, err := kc.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n.Spec.Unschedulable != unschedulable {
			t.Fatalf("node %s after maintenance %s: unschedulable %v; want %v", node, action, n.Spec.Unschedulable, unschedulable)
		}
	}
	maintenance("cordon", "Completed", true)
	maintenance("uncordon", "Completed", false)
}
