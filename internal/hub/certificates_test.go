package hub_test

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
)

func TestRenewCertificates(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		ctx := context.Background()
		c := h.admin().in(h.defaultPrj)
		uid := c.createCluster("certs", c.publishedProfile("base"))
		renew := "/v1/spectroclusters/" + uid + "/k8certificates/renew"
		setState := func(state string) {
			t.Helper()
			h.recordStatus(uid, func(cl *clusters.Cluster) { cl.Status.State = state })
		}
		stored := func() (clusters.Cluster, int64) {
			t.Helper()
			rec, err := h.store.GetObject(ctx, "spectrocluster", uid)
			if err != nil {
				t.Fatal(err)
			}
			cl, _ := clusters.Decode(rec.Doc)
			return cl, rec.Generation
		}

		// Not Running yet: refused, nothing recorded.
		c.fails(409, "Conflict", "PATCH", renew, nil, "once it is Running")
		c.fails(404, "ResourceNotFound", "PATCH", "/v1/spectroclusters/no-such-cluster/k8certificates/renew", nil)

		setState("Running")
		_, generation := stored()
		before := time.Now()
		c.must(204, "PATCH", renew, nil, nil)
		cl, gen := stored()
		if cl.CertificatesRenewal.Before(before) || cl.CertificatesRenewal.After(time.Now()) {
			t.Fatalf("certificatesRenewal = %v, want the time of the request (after %v)", cl.CertificatesRenewal, before)
		}
		if gen != generation {
			t.Errorf("the request changed the spec generation %d → %d; packs must not be re-applied for it", generation, gen)
		}

		var events struct {
			Items []struct{ Reason, Message string }
		}
		c.must(200, "GET", "/v1/events/components/spectrocluster/"+uid, nil, &events)
		if len(events.Items) == 0 || events.Items[0].Reason != "CertificatesRenewalRequested" ||
			!strings.Contains(events.Items[0].Message, "control-plane machines are replaced one at a time") {
			t.Fatalf("newest event = %+v, want CertificatesRenewalRequested", events.Items[:min(1, len(events.Items))])
		}
		var audits struct {
			Items []struct {
				Spec struct {
					ActionType, ActionMsg string
					Resource              struct{ Kind, Name string }
				}
			}
		}
		h.admin().must(200, "GET", "/v1/audits?limit=5", nil, &audits)
		if a := audits.Items[0].Spec; a.ActionType != "update" || a.Resource.Name != "certs" ||
			a.ActionMsg != "Requested the renewal of the certificates of cluster certs" {
			t.Fatalf("newest audit entry = %+v", a)
		}

		// A viewer of the project may not; a user of another project does not even see the cluster.
		viewer := h.userWith("vera@example.com", h.defaultPrj, "viewer")
		viewer.in(h.defaultPrj).fails(403, "Forbidden", "PATCH", renew, nil)
		other := h.createProject("elsewhere")
		stranger := h.userWith("otto@example.com", other, "project-admin")
		stranger.in(other).fails(404, "ResourceNotFound", "PATCH", renew, nil)
		if again, _ := stored(); !again.CertificatesRenewal.Equal(cl.CertificatesRenewal) {
			t.Fatalf("a refused request changed certificatesRenewal to %v", again.CertificatesRenewal)
		}

		// The certificates the engine recorded, for each control-plane machine (Palette's
		// V1MachineCertificates); none recorded, none listed.
		var certs struct {
			MachineCertificates []struct {
				Name                   string
				CertificateAuthorities []struct {
					Name         string
					Expiry       time.Time
					Certificates []struct {
						Name             string
						Expiry, IssuedAt time.Time
					}
				}
			}
		}
		list := "/v1/spectroclusters/" + uid + "/k8certificates"
		c.must(200, "GET", list, nil, &certs)
		if len(certs.MachineCertificates) != 0 {
			t.Fatalf("certificates before any were recorded = %+v", certs)
		}
		expiry := time.Date(2027, 11, 22, 10, 0, 0, 0, time.UTC)
		h.recordStatus(uid, func(recorded *clusters.Cluster) {
			recorded.Status.Machines = []clusters.Machine{
				{UID: "m-cp", Name: "cp-1", Pool: "cp", ControlPlane: true},
				{UID: "m-w1", Name: "workers-1", Pool: "workers"},
			}
			recorded.Status.Certificates = []v1.CertificateAuthority{{Name: "ca", Expiry: expiry.AddDate(9, 0, 0),
				Certificates: []v1.Certificate{{Name: "apiserver", Expiry: expiry, IssuedAt: expiry.AddDate(-1, 0, 0)}}}}
		})
		viewer.in(h.defaultPrj).must(200, "GET", list, nil, &certs)
		if m := certs.MachineCertificates; len(m) != 1 || m[0].Name != "cp-1" || len(m[0].CertificateAuthorities) != 1 ||
			m[0].CertificateAuthorities[0].Name != "ca" || len(m[0].CertificateAuthorities[0].Certificates) != 1 ||
			m[0].CertificateAuthorities[0].Certificates[0].Name != "apiserver" || !m[0].CertificateAuthorities[0].Certificates[0].Expiry.Equal(expiry) {
			t.Fatalf("certificates = %+v", certs)
		}
		stranger.in(other).fails(404, "ResourceNotFound", "GET", list, nil)

		// An imported cluster's control plane is not easel's to renew.
		var imported uidBody
		c.must(201, "POST", "/v1/spectroclusters/generic/import", map[string]any{"metadata": map[string]any{"name": "outside"}}, &imported)
		h.recordStatus(imported.UID, func(outside *clusters.Cluster) { outside.Status.State = "Running" })
		c.fails(409, "Conflict", "PATCH", "/v1/spectroclusters/"+imported.UID+"/k8certificates/renew", nil, "no control plane that easel manages")

		// Being deleted: refused.
		setState("Deleting")
		c.fails(409, "Conflict", "PATCH", renew, nil, "being deleted")
	})
}
