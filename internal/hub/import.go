package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/secret"
	"github.com/easelhq/easel/internal/service"
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
	if c.Project == "" {
		return service.Invalid("clusters belong to a project: set the ProjectUid header")
	}
	if _, err := c.WriteScope(c.perm, "import clusters"); err != nil {
		return err
	}
	var in struct {
		Metadata v1.ObjectMetaInput `json:"metadata"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := validate.Name("metadata.name", in.Metadata.Name); err != nil {
		return service.Invalid("%v", err)
	}
	if err := clusters.Metadata(in.Metadata.Labels, in.Metadata.Annotations); err != nil {
		return err
	}
	now := s.clock.Now()
	cl := clusters.Cluster{CloudType: v1.CloudTypeGeneric, CloudConfigUID: uid.New(), Labels: in.Metadata.Labels,
		Annotations: in.Metadata.Annotations, Profiles: []clusters.ProfileRef{}, Pools: []clusters.Pool{},
		Status: clusters.Status{State: v1.ClusterStatePending, Conditions: []v1.ClusterCondition{}, Upgrades: []v1.Upgrade{}}}
	cl.Status.SetCondition("AgentDeployed", "False", "WaitingForImport",
		"Apply the import manifest (GET /v1/spectroclusters/{uid}/import/manifest) to the cluster", now)
	rec := &store.Record{Kind: kindCluster, UID: uid.New(), AltUID: cl.CloudConfigUID, TenantUID: c.TenantUID,
		ProjectUID: c.Project, Name: in.Metadata.Name, State: cl.Status.State, Category: cl.CloudType, Doc: cl.Encode()}
	return s.storeNewCluster(w, r, c, "Imported", func(store.Queries) (*store.Record, string, error) {
		return rec, "Cluster registered for import; waiting for its agent", nil
	})
}

// importManifest returns the YAML that installs an imported cluster's agent: namespace
// easel-system, RBAC, a Secret with the hub URL, how to trust its certificate, the cluster uid and a new agent token, and the
// agent's Deployment.
//
// A new token revokes the cluster's earlier ones, so the manifest is refused where that would lock
// a running agent out for good: for clusters easel provisions itself (their agent and its token
// are easel's own), and, once an imported cluster's agent has connected, unless the caller asks to
// rotate the token (?rotateToken=true) — a deliberate step, for a leaked token or a reinstalled
// agent. Until the agent first connects each GET issues a token (earlier, unused ones stop
// working), so fetching the manifest again before applying it is harmless. Every token issued is
// an audit entry and an event.
func (s *Server) importManifest(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, _, err := s.clusterRecord(r, c)
	if err != nil {
		return err
	}
	if err := c.authorize(rec.ProjectUID); err != nil {
		return err
	}
	if rec.Category != v1.CloudTypeGeneric {
		return service.Conflict("cluster %s is a %s cluster: easel runs its agent and manages the agent's token itself; "+
			"the import manifest is only for imported (%s) clusters", rec.Name, rec.Category, v1.CloudTypeGeneric)
	}
	rotate := false
	if v := r.URL.Query().Get("rotateToken"); v != "" {
		if rotate, err = strconv.ParseBool(v); err != nil {
			return service.Invalid("rotateToken %q must be true or false", v)
		}
	}
	if s.publicURL == "" {
		return service.Conflict("this hub does not know the URL agents reach it at (easel server --public-url)")
	}
	pack, ok := s.catalog.Latest(agentPack)
	if !ok {
		return errors.New("the catalog has no " + agentPack + " pack")
	}
	var (
		rendered []packs.Rendered
		rotated  bool
	)
	err = s.store.Tx(r.Context(), func(q store.Queries) error {
		// Checked against the record as the transaction that issues the token reads it.
		rec, cl, err := clusterRecordIn(q, r, c)
		if err != nil {
			return err
		}
		if cl.Status.State == v1.ClusterStateDeleting {
			return service.Conflict("cluster %s is being deleted", rec.Name)
		}
		connected := cl.Status.Health.LastHeartbeat
		if !connected.IsZero() && !rotate {
			return service.Conflict("the agent of cluster %s has connected (last heartbeat %s) and a new manifest would revoke its token; "+
				"to replace the token (it leaked, or the agent is being reinstalled) GET this manifest with ?rotateToken=true: "+
				"the running agent's token stops working at once, until the new manifest is applied",
				rec.Name, connected.UTC().Format(time.RFC3339))
		}
		token, err := secret.IssueAgentTokenIn(r.Context(), q, rec.TenantUID, rec.UID)
		if err != nil {
			return err
		}
		// Rendered before the commit: a manifest that cannot be served must not revoke a token.
		values := "agent:\n  hubURL: " + quoteYAML(s.publicURL) + "\n  clusterUID: " + quoteYAML(rec.UID) + "\n  token: " + quoteYAML(token) +
			"\n  hubCA: " + quoteYAML(s.agentTrust.CAPEM) + "\n  hubFingerprint: " + quoteYAML(s.agentTrust.Fingerprint) + "\n"
		if rendered, err = pack.Render(values); err != nil {
			return fmt.Errorf("rendering the %s pack: %w", agentPack, err)
		}
		rotated = !connected.IsZero()
		severity, reason := v1.SeverityInfo, "AgentTokenIssued"
		msg := "Issued an agent token in the import manifest of cluster " + rec.Name + "; earlier tokens, never used by a connected agent, no longer work"
		if rotated {
			severity, reason = v1.SeverityWarning, "AgentTokenRotated"
			msg = "Rotated the agent token of cluster " + rec.Name + " (import manifest with rotateToken=true): the running agent's token no longer works; apply the new manifest"
		}
		if err := s.records.Event(r.Context(), q, &rec, severity, reason, msg); err != nil {
			return err
		}
		return s.records.Audit(r.Context(), q, &c.Call, rec.ProjectUID, "update", kindCluster, rec.UID, rec.Name, msg)
	})
	if err != nil {
		return err
	}
	s.log.Info("Issued an agent token in an import manifest", "cluster", rec.UID, "rotated", rotated, "actor", c.Name)
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
