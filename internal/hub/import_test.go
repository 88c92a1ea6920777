package hub_test

import (
	"regexp"
	"strings"
	"testing"
)

var manifestToken = regexp.MustCompile(`(?m)^\s+token: "(easel-agent-[A-Za-z0-9_-]+)"$`)

// The import manifest carries an agent token, and a new token revokes the earlier ones: it is
// refused for clusters easel runs the agent of itself, issued freely only until an imported
// cluster's agent connects, and after that only as an explicit, audited rotation.
func TestImportManifestTokens(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		manifestOf := func(uid string) string { return "/v1/spectroclusters/" + uid + "/import/manifest" }

		// A local cluster: easel's own agent, never a manifest.
		local := c.createCluster("made-here", c.publishedProfile("base"))
		c.fails(409, "Conflict", "GET", manifestOf(local), nil,
			"cluster made-here is a local cluster", "the import manifest is only for imported (generic) clusters")
		c.fails(409, "Conflict", "GET", manifestOf(local)+"?rotateToken=true", nil, "is a local cluster")

		var imported uidBody
		c.must(201, "POST", "/v1/spectroclusters/generic/import", map[string]any{"metadata": map[string]any{"name": "outside"}}, &imported)
		uid := imported.UID
		fetch := func(query string) string {
			t.Helper()
			status, body, header := c.do("GET", manifestOf(uid)+query, nil)
			if status != 200 || header.Get("Content-Type") != "application/octet-stream" {
				t.Fatalf("GET the import manifest%s: %d %s %s; want 200 application/octet-stream", query, status, header.Get("Content-Type"), body)
			}
			m := manifestToken.FindStringSubmatch(string(body))
			if m == nil || !strings.Contains(string(body), `hubURL: "https://easel.example.test"`) {
				t.Fatalf("import manifest without the hub URL or an agent token:\n%s", body)
			}
			return m[1]
		}
		heartbeat := func(token string) int {
			t.Helper()
			status, _, _ := client{h: h}.do("PUT", "/v1/spectroclusters/"+uid+"/heartbeat", map[string]string{"agentVersion": "v-test"},
				"Authorization", "Bearer "+token)
			return status
		}

		// Before the agent connects, fetching again is harmless: a new token, the unused one revoked.
		first := fetch("")
		second := fetch("")
		if first == second {
			t.Fatal("two manifests carry the same token")
		}
		if got := heartbeat(first); got != 401 {
			t.Fatalf("heartbeat with the first manifest's token: %d; want 401", got)
		}
		if got := heartbeat(second); got != 204 {
			t.Fatalf("heartbeat with the second manifest's token: %d; want 204", got)
		}

		// Connected: a plain GET would lock the agent out, so it is refused and the token stays.
		c.fails(409, "Conflict", "GET", manifestOf(uid), nil, "the agent of cluster outside has connected", "?rotateToken=true")
		c.fails(400, "InvalidArgument", "GET", manifestOf(uid)+"?rotateToken=yes-please", nil, `rotateToken "yes-please" must be true or false`)
		if got := heartbeat(second); got != 204 {
			t.Fatalf("heartbeat after the refused manifest: %d; want 204 (the token still works)", got)
		}
		viewer := h.userWith("vic@example.com", h.defaultPrj, "viewer")
		viewer.in(h.defaultPrj).fails(403, "Forbidden", "GET", manifestOf(uid)+"?rotateToken=true", nil)

		// The explicit rotation: the running agent's token stops working, the new one works.
		third := fetch("?rotateToken=true")
		if got := heartbeat(second); got != 401 {
			t.Fatalf("heartbeat with the rotated-out token: %d; want 401", got)
		}
		if got := heartbeat(third); got != 204 {
			t.Fatalf("heartbeat with the rotated-in token: %d; want 204", got)
		}

		// Each token issued is an event and an audit entry; the refusals are neither.
		var events struct {
			Items []struct{ Reason, Severity, Message string }
		}
		c.must(200, "GET", "/v1/events/components/spectrocluster/"+uid, nil, &events)
		var reasons []string
		for _, e := range events.Items {
			if strings.HasPrefix(e.Reason, "AgentToken") {
				reasons = append(reasons, e.Reason+"/"+e.Severity)
			}
		}
		if got := strings.Join(reasons, " "); got != "AgentTokenRotated/Warning AgentTokenIssued/Info AgentTokenIssued/Info" {
			t.Fatalf("token events, newest first = %s; want one rotation (Warning) after two issues (Info)", got)
		}
		var audits struct {
			Items []struct {
				Spec struct {
					ActionType, ActionMsg string
					Resource              struct{ Kind, Name, UID string }
				}
			}
		}
		h.admin().must(200, "GET", "/v1/audits?limit=100", nil, &audits)
		var msgs []string
		for _, a := range audits.Items {
			if a.Spec.Resource.UID == uid && a.Spec.ActionType == "update" {
				msgs = append(msgs, a.Spec.ActionMsg)
			}
		}
		if len(msgs) != 3 || !strings.HasPrefix(msgs[0], "Rotated the agent token of cluster outside (import manifest with rotateToken=true)") ||
			!strings.HasPrefix(msgs[1], "Issued an agent token in the import manifest of cluster outside") ||
			!strings.HasPrefix(msgs[2], "Issued an agent token in the import manifest of cluster outside") {
			t.Fatalf("audit entries of the imported cluster, newest first = %q; want a rotation after two issues", msgs)
		}
	})
}
