package hub

import (
	"maps"
	"net/http"
	"slices"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// Palette's scope annotation: the Terraform provider finds a profile by name and version only when
// its metadata.annotations.scope equals the context it looks in, and Palette's SDK picks the
// project or tenant context of later calls on an object from it.
const (
	annotationScope = "scope"
	scopeProject    = "project"
	scopeTenant     = "tenant"
)

// withScope returns the annotations an object is answered with: its own, and scope set from where
// it lives (a project, or the tenant). The stored map is not changed; a client cannot set scope.
func withScope(rec store.Record, annotations map[string]string) map[string]string {
	out := maps.Clone(annotations)
	if out == nil {
		out = map[string]string{}
	}
	out[annotationScope] = scopeProject
	if rec.ProjectUID == "" {
		out[annotationScope] = scopeTenant
	}
	return out
}

// cloudTypes answers Palette's custom cloud types list. Palette's SDK (ValidateCustomCloudType)
// creates a custom-cloud cluster only for a type listed here as custom, which is how easel's local
// provider is driven; imported clusters are generic, not custom.
func (s *Server) cloudTypes(w http.ResponseWriter, _ *http.Request, _ *call) error {
	writeJSON(w, http.StatusOK, v1.CustomCloudTypes{CloudTypes: []v1.CustomCloudType{
		{Name: v1.CloudTypeLocal, DisplayName: "Local (control planes with KWOK nodes)", CloudFamily: v1.CloudTypeLocal, IsCustom: true},
		{Name: v1.CloudTypeGeneric, DisplayName: "Imported", CloudFamily: v1.CloudTypeGeneric},
	}})
	return nil
}

// knownCloudType refuses a cloud type easel has no provider for.
func knownCloudType(cloudType string) error {
	known := []string{v1.CloudTypeLocal, v1.CloudTypeGeneric}
	if !slices.Contains(known, cloudType) {
		return service.Invalid("cloud type %q is not one easel serves (it serves %v)", cloudType, known)
	}
	return nil
}

// cloudAccounts lists the accounts of a custom cloud type: none, as easel's providers need none
// (a local cluster runs on the hub's machine; an imported one brings its own agent).
func (s *Server) cloudAccounts(w http.ResponseWriter, r *http.Request, _ *call) error {
	if err := knownCloudType(r.PathValue("cloudType")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1.CustomAccounts{Items: []any{}, Listmeta: v1.ListMeta{}})
	return nil
}

// createCloudAccount refuses, saying why, rather than storing an account nothing would use.
func (s *Server) createCloudAccount(_ http.ResponseWriter, r *http.Request, c *call) error {
	if err := c.authorize(c.Project); err != nil {
		return err
	}
	cloudType := r.PathValue("cloudType")
	if err := knownCloudType(cloudType); err != nil {
		return err
	}
	return service.Invalid("the %s provider needs no cloud account: create clusters with POST /v1/spectroclusters/cloudTypes/%s; "+
		"any cloudAccountUid given there is ignored", cloudType, cloudType)
}

// The cluster features easel does not have yet (backups, compliance scans, role bindings and
// namespace quotas managed from the hub) read as Palette reads them on a cluster with none
// configured, so that clients reading a whole cluster (the Terraform provider on every refresh)
// work; writes to them are 501 (see routes.go).

func (s *Server) clusterBackup(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, _, err := s.clusterRecord(r, c)
	if err != nil {
		return err
	}
	var out v1.ClusterBackup
	out.Metadata = v1.ObjectMeta{UID: rec.UID, Name: rec.Name}
	out.Spec.ClusterUID = rec.UID
	out.Status.ClusterBackupStatuses = []any{}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) clusterComplianceScan(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, _, err := s.clusterRecord(r, c)
	if err != nil {
		return err
	}
	var out v1.ClusterComplianceScan
	out.Metadata = v1.ObjectMeta{UID: rec.UID, Name: rec.Name}
	out.Spec.ClusterUID = rec.UID
	out.Spec.DriverSpec = map[string]any{}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) clusterRbacs(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, _, err := s.clusterRecord(r, c); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1.ClusterRbacs{Items: []any{}})
	return nil
}

func (s *Server) clusterNamespaces(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, _, err := s.clusterRecord(r, c); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1.ClusterNamespaceResources{Items: []any{}})
	return nil
}
