package hub_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spectrocloud/palette-sdk-go/api/apiutil/transport"
	clientv1 "github.com/spectrocloud/palette-sdk-go/api/client/version1"
	"github.com/spectrocloud/palette-sdk-go/api/models"
	palette "github.com/spectrocloud/palette-sdk-go/client"
)

// sdkClient is Palette's SDK pointed at the test hub as the client's caller, in project's scope
// ("" for the tenant's).
func (c client) sdkClient(project string) *palette.V1Client {
	opts := []func(*palette.V1Client){palette.WithPaletteURI(strings.TrimPrefix(c.h.url, "http://")),
		palette.WithAPIKey(c.key), palette.WithSchemes([]string{"http"})}
	if project != "" {
		opts = append(opts, palette.WithScopeProject(project))
	}
	return palette.New(opts...)
}

// wantAPIError checks that err is the hub's answer with this status, code and message part.
func wantAPIError(t *testing.T, what string, err error, status int, code, message string) {
	t.Helper()
	var te *transport.TransportError
	if !errors.As(err, &te) || te.HttpCode != status || te.Payload == nil || te.Payload.Code != code ||
		!strings.Contains(te.Payload.Message, message) {
		t.Fatalf("%s: %v; want %d %s saying %q", what, err, status, code, message)
	}
}

// findProfile is what the Terraform provider's data "spectrocloud_cluster_profile" does (its
// getProfile): list the profiles' metadata, read each of that name and version, and keep the one
// whose scope annotation is the context asked for.
func findProfile(pc *palette.V1Client, name, version, context string) (*models.V1ClusterProfile, error) {
	metas, err := pc.GetClusterProfiles()
	if err != nil {
		return nil, err
	}
	for _, m := range metas {
		if m.Metadata.Name != name || m.Spec.Version != version {
			continue
		}
		full, err := pc.GetClusterProfile(m.Metadata.UID)
		if err != nil {
			return nil, err
		}
		if full != nil && full.Metadata.Annotations["scope"] == context {
			return full, nil
		}
	}
	return nil, fmt.Errorf("cluster profile not found: name: %s, version: %s, context: %s", name, version, context)
}

// What Palette's Terraform provider asks of the hub before and after each resource, through the SDK
// calls it makes: the custom cloud type check before a cluster or account is created, profile
// lookups by name, version and scope, the cluster read's feature calls, and the custom cloud-account
// list.
func TestTerraformProviderCallsThroughPaletteSDK(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		pc := h.admin().sdkClient(h.defaultPrj)

		// spectrocloud_cluster_custom_cloud and spectrocloud_cloudaccount_custom check the cloud type.
		if err := pc.ValidateCustomCloudType("local"); err != nil {
			t.Fatalf("ValidateCustomCloudType(local) = %v; want nil", err)
		}
		if err := pc.ValidateCustomCloudType("generic"); err == nil || err.Error() != "cloud 'generic' is not a valid custom cloud" {
			t.Fatalf("ValidateCustomCloudType(generic) = %v; want it listed but not custom", err)
		}
		if err := pc.ValidateCustomCloudType("nutanix"); err == nil || err.Error() != "cloud 'nutanix' is not a valid cloud" {
			t.Fatalf("ValidateCustomCloudType(nutanix) = %v; want it unknown", err)
		}

		// data "spectrocloud_cluster_profile": a project's profile is found in the project context,
		// the tenant's in the tenant context, neither in the other.
		projectProfile := h.admin().in(h.defaultPrj).publishedProfile("base")
		tenantProfile := h.admin().publishedProfile("shared")
		for _, tc := range []struct {
			name, context, want string
		}{
			{"base", "project", projectProfile},
			{"shared", "tenant", tenantProfile},
			{"base", "tenant", ""},
			{"shared", "project", ""},
		} {
			p, err := findProfile(pc, tc.name, "1.0.0", tc.context)
			switch {
			case tc.want == "" && err == nil:
				t.Fatalf("profile %s in context %s found (%s); want not found", tc.name, tc.context, p.Metadata.UID)
			case tc.want != "" && (err != nil || p.Metadata.UID != tc.want):
				t.Fatalf("profile %s in context %s: %v; want %s", tc.name, tc.context, err, tc.want)
			}
		}
		// The hub sets scope; a client's own annotation cannot make a project's profile the tenant's.
		claims := profile("claims-tenant", "1.0.0")
		claims["metadata"].(map[string]any)["annotations"] = map[string]string{"scope": "tenant", "team": "web"}
		var claimed uidBody
		h.admin().in(h.defaultPrj).must(201, "POST", "/v1/clusterprofiles", claims, &claimed)
		if p, err := pc.GetClusterProfile(claimed.UID); err != nil || p.Metadata.Annotations["scope"] != "project" || p.Metadata.Annotations["team"] != "web" {
			t.Fatalf("profile created with annotation scope=tenant in a project: %v, %v; want scope=project, team=web kept", p, err)
		}
		// The metadata list says the scope too (easel's addition to Palette's shape).
		var metas struct {
			Items []struct {
				Metadata struct {
					UID         string            `json:"uid"`
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			} `json:"items"`
		}
		h.admin().in(h.defaultPrj).must(200, "GET", "/v1/dashboard/clusterprofiles/metadata", nil, &metas)
		scopes := map[string]string{}
		for _, m := range metas.Items {
			scopes[m.Metadata.UID] = m.Metadata.Annotations["scope"]
		}
		if scopes[projectProfile] != "project" || scopes[tenantProfile] != "tenant" {
			t.Fatalf("profile metadata scopes = %v; want %s project, %s tenant", scopes, projectProfile, tenantProfile)
		}

		// The cluster read: the cluster's scope, then its backup, scan, RBAC and namespace settings,
		// each read as none configured.
		entity := clusterEntity("tf", projectProfile)
		entity["spec"].(map[string]any)["clusterConfig"] = map[string]any{"updateWorkerPoolsInParallel": true}
		var created uidBody
		h.admin().in(h.defaultPrj).must(201, "POST", "/v1/spectroclusters/cloudTypes/local", entity, &created)
		uid := created.UID
		cl, err := pc.GetCluster(uid)
		if err != nil || cl == nil || cl.Metadata.Annotations["scope"] != "project" {
			t.Fatalf("GetCluster = %+v, %v; want annotation scope=project", cl, err)
		}
		if cl.Spec == nil || cl.Spec.ClusterConfig == nil || cl.Spec.ClusterConfig.HostClusterConfig != nil ||
			!cl.Spec.ClusterConfig.UpdateWorkerPoolsInParallel {
			t.Fatalf("GetCluster spec = %+v; want a clusterConfig without host settings, updateWorkerPoolsInParallel as created", cl.Spec)
		}
		backup, err := pc.GetClusterBackupConfig(uid)
		if err != nil || backup == nil || backup.Spec == nil || backup.Spec.Config != nil || backup.Spec.ClusterUID != uid {
			t.Fatalf("GetClusterBackupConfig = %+v, %v; want a spec for the cluster without config", backup, err)
		}
		scan, err := pc.GetClusterScanConfig(uid)
		if err != nil || scan == nil || scan.Spec == nil || len(scan.Spec.DriverSpec) != 0 {
			t.Fatalf("GetClusterScanConfig = %+v, %v; want a spec without drivers", scan, err)
		}
		rbac, err := pc.GetClusterRbacConfig(uid)
		if err != nil || rbac == nil || rbac.Items == nil || len(rbac.Items) != 0 {
			t.Fatalf("GetClusterRbacConfig = %+v, %v; want no items", rbac, err)
		}
		namespaces, err := pc.GetClusterNamespaceConfig(uid)
		if err != nil || namespaces == nil || namespaces.Items == nil || len(namespaces.Items) != 0 {
			t.Fatalf("GetClusterNamespaceConfig = %+v, %v; want no items", namespaces, err)
		}
		// What the provider's backup_policy, scan_policy, cluster_rbac_binding and namespaces would
		// write is refused, naming the feature.
		wantAPIError(t, "ApplyClusterBackupConfig", pc.ApplyClusterBackupConfig(uid, &models.V1ClusterBackupConfig{BackupName: "daily"}),
			501, "NotImplemented", "cluster backups is not implemented")
		wantAPIError(t, "ApplyClusterScanConfig", pc.ApplyClusterScanConfig(uid, &models.V1ClusterComplianceScheduleConfig{}),
			501, "NotImplemented", "compliance scans is not implemented")
		wantAPIError(t, "ApplyClusterRbacConfig", pc.ApplyClusterRbacConfig(uid, []*models.V1ClusterRbacInputEntity{}),
			501, "NotImplemented", "cluster role bindings")
		wantAPIError(t, "ApplyClusterNamespaceConfig", pc.ApplyClusterNamespaceConfig(uid, []*models.V1ClusterNamespaceResourceInputEntity{}),
			501, "NotImplemented", "cluster namespaces")
		// Another project's admin is told the cluster is not found, as by every cluster read (the
		// SDK reads that 404 as nothing configured: the raw call shows it).
		elsewhere := h.createProject("elsewhere")
		other := h.userWith("other@example.com", elsewhere, "project-admin").sdkClient(elsewhere)
		_, err = other.Client.V1ClusterFeatureBackupGet(clientv1.NewV1ClusterFeatureBackupGetParamsWithContext(
			palette.ContextForScope("project", elsewhere)).WithUID(uid))
		wantAPIError(t, "another project's admin reading the backup settings", err, 404, "ResourceNotFound", uid)

		// data "spectrocloud_cloudaccount_custom": the local provider needs no account.
		accounts, err := pc.GetCustomCloudAccountList("local")
		if err != nil || accounts == nil || len(accounts) != 0 {
			t.Fatalf("GetCustomCloudAccountList(local) = %v, %v; want an empty list", accounts, err)
		}
		_, err = pc.CreateAccountCustomCloud(&models.V1CustomAccountEntity{Metadata: &models.V1ObjectMetaInputEntity{Name: "acct"},
			Spec: &models.V1CustomCloudAccount{Credentials: map[string]string{}}}, "local")
		wantAPIError(t, "CreateAccountCustomCloud(local)", err, 400, "InvalidArgument", "the local provider needs no cloud account")
		_, err = pc.GetCustomCloudAccountList("nutanix")
		wantAPIError(t, "GetCustomCloudAccountList(nutanix)", err, 400, "InvalidArgument", `cloud type "nutanix" is not one easel serves`)
	})
}
