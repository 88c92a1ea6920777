package clusters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/secret"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// agentPack is the catalog pack whose manifests install the agent in a cluster.
const agentPack = "easel-agent"

// ImportManifest returns the manifests that install an imported cluster's agent: namespace
// easel-system, RBAC, a Secret with the hub URL, how to trust its certificate, the cluster uid and
// a new agent token, and the agent's Deployment. It also returns the cluster's name.
//
// A new token revokes the cluster's earlier ones, so the manifest is refused where that would lock
// a running agent out for good: for clusters easel provisions itself (their agent and its token
// are easel's own), and, once an imported cluster's agent has connected, unless the caller asks to
// rotate the token (rotate) — a deliberate step, for a leaked token or a reinstalled agent. Until
// the agent first connects each call issues a token (earlier, unused ones stop working), so
// fetching the manifest again before applying it is harmless. Every token issued is an audit
// entry and an event.
func (s *Service) ImportManifest(ctx context.Context, c *service.Call, t Target, rotate bool) ([]packs.Rendered, string, error) {
	rec, _, err := s.authorized(ctx, c, t, service.PermWriteClusters)
	if err != nil {
		return nil, "", err
	}
	if rec.Category != v1.CloudTypeGeneric {
		return nil, "", service.Conflict("cluster %s is a %s cluster: easel runs its agent and manages the agent's token itself; "+
			"the import manifest is only for imported (%s) clusters", rec.Name, rec.Category, v1.CloudTypeGeneric)
	}
	if s.publicURL == "" {
		return nil, "", service.Conflict("this hub does not know the URL agents reach it at (easel server --public-url)")
	}
	hubURLs, pins := []string{s.publicURL}, []string{s.agentTrust.Fingerprint}
	if s.replicas != nil {
		if hubURLs, pins, err = s.replicas(ctx); err != nil {
			return nil, "", fmt.Errorf("listing the hub replicas for the manifest: %w", err)
		}
	}
	pack, ok := s.catalog.Latest(agentPack)
	if !ok {
		return nil, "", errors.New("the catalog has no " + agentPack + " pack")
	}
	var rendered []packs.Rendered
	err = s.store.Tx(ctx, func(q store.Queries) error {
		// Checked against the record as the transaction that issues the token reads it.
		rec, cl, err := t.read(ctx, q, c)
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
		token, err := secret.IssueAgentTokenIn(ctx, q, rec.TenantUID, rec.UID)
		if err != nil {
			return err
		}
		// Rendered before the commit: a manifest that cannot be served must not revoke a token.
		values := "agent:\n  hubURL: " + quoteYAML(strings.Join(hubURLs, ",")) + "\n  clusterUID: " + quoteYAML(rec.UID) +
			"\n  token: " + quoteYAML(token) + "\n  hubCA: " + quoteYAML(s.agentTrust.CAPEM) +
			"\n  hubFingerprint: " + quoteYAML(strings.Join(slices.DeleteFunc(pins, func(p string) bool { return p == "" }), ",")) + "\n"
		if rendered, err = pack.Render(values); err != nil {
			return fmt.Errorf("rendering the %s pack: %w", agentPack, err)
		}
		severity, reason := v1.SeverityInfo, "AgentTokenIssued"
		msg := "Issued an agent token in the import manifest of cluster " + rec.Name + "; earlier tokens, never used by a connected agent, no longer work"
		if !connected.IsZero() {
			severity, reason = v1.SeverityWarning, "AgentTokenRotated"
			msg = "Rotated the agent token of cluster " + rec.Name + " (import manifest with rotateToken=true): the running agent's token no longer works; apply the new manifest"
		}
		if err := s.records.Event(ctx, q, &rec, severity, reason, msg); err != nil {
			return err
		}
		return s.records.Audit(ctx, q, c, rec.ProjectUID, "update", Kind, rec.UID, rec.Name, msg)
	})
	if err != nil {
		return nil, "", err
	}
	return rendered, rec.Name, nil
}

// quoteYAML quotes a string as a YAML double-quoted scalar (JSON strings are valid YAML).
func quoteYAML(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
