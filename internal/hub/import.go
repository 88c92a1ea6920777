package hub

import (
	"encoding/json"
	"errors"
	"net/http"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/provider/generic"
	"github.com/easelhq/easel/internal/secret"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
	"github.com/easelhq/easel/internal/validate"
)

// agentPack is the catalog pack whose manifests install the agent in a cluster.
const agentPack = "easel-agent"

// AgentTrust is what an import manifest tells the agent to trust the hub's TLS certificate with:
// a CA bundle (PEM), or the pin of the hub's self-signed certificate; neither means the agent's
// system roots (or a plain-HTTP hub).
type AgentTrust struct {
	CAPEM       string
	Fingerprint string
}

// importCluster registers an existing cluster (cloud type generic); it joins once its owner
// applies the import manifest.
func (s *Server) importCluster(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.project == "" {
		return errBadRequest("clusters belong to a project: set the ProjectUid header")
	}
	if _, err := writeScope(c, permWriteClusters, "import clusters"); err != nil {
		return err
	}
	var in struct {
		Metadata v1.ObjectMetaInput `json:"metadata"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := validate.Name("metadata.name", in.Metadata.Name); err != nil {
		return errBadRequest("%v", err)
	}
	now := s.clock.Now()
	cl := clusters.Cluster{CloudType: generic.CloudType, CloudConfigUID: uid.New(), Labels: in.Metadata.Labels,
		Annotations: in.Metadata.Annotations, Profiles: []clusters.ProfileRef{}, Pools: []clusters.Pool{},
		Status: clusters.Status{State: v1.ClusterStatePending, Conditions: []v1.ClusterCondition{}, Upgrades: []v1.Upgrade{}}}
	cl.Status.SetCondition("AgentDeployed", "False", "WaitingForImport",
		"Apply the import manifest (GET /v1/spectroclusters/{uid}/import/manifest) to the cluster", now)
	rec := &store.Record{Kind: kindCluster, UID: uid.New(), AltUID: cl.CloudConfigUID, TenantUID: c.p.TenantUID,
		ProjectUID: c.project, Name: in.Metadata.Name, State: cl.Status.State, Category: cl.CloudType, Doc: cl.Encode()}
	return s.storeNewCluster(w, r, c, rec, "Imported", "Cluster registered for import; waiting for its agent", "Imported cluster "+rec.Name)
}

// importManifest returns the YAML that installs the cluster's agent: namespace easel-system,
// RBAC, a Secret with the hub URL, how to trust its certificate, the cluster uid and a new agent
// token (earlier tokens stop working), and the agent's Deployment.
func (s *Server) importManifest(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, _, err := s.clusterRecord(r, c)
	if err != nil {
		return err
	}
	if !c.p.can(rec.ProjectUID, permWriteClusters) {
		return errForbidden("your role does not allow you to import clusters here")
	}
	if s.publicURL == "" {
		return errConflict("this hub does not know the URL agents reach it at (easel server --public-url)")
	}
	pack, ok := s.catalog.Latest(agentPack)
	if !ok {
		return errors.New("the catalog has no " + agentPack + " pack")
	}
	token, err := secret.IssueAgentToken(r.Context(), s.store, rec.TenantUID, rec.UID)
	if err != nil {
		return err
	}
	values := "agent:\n  hubURL: " + quoteYAML(s.publicURL) + "\n  clusterUID: " + quoteYAML(rec.UID) + "\n  token: " + quoteYAML(token) +
		"\n  hubCA: " + quoteYAML(s.agentTrust.CAPEM) + "\n  hubFingerprint: " + quoteYAML(s.agentTrust.Fingerprint) + "\n"
	rendered, err := pack.Render(values)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+rec.Name+`-import.yaml"`)
	for i, m := range rendered {
		if i > 0 {
			w.Write([]byte("---\n"))
		}
		w.Write([]byte(m.Content))
	}
	return nil
}

// quoteYAML quotes a string as a YAML double-quoted scalar (JSON strings are valid YAML).
func quoteYAML(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
