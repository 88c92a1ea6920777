package hub

import (
	"net/http"
	"slices"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// renewCertificates asks for the renewal of a cluster's control-plane certificates (Palette's
// PATCH /v1/spectroclusters/{uid}/k8certificates/renew, 204). The request is recorded on the
// cluster; the engine carries it out as a repave of the control-plane pool — each control-plane
// machine created before the request is replaced, and the provider re-issues the certificates
// issued before it — which waits for approval where the cluster requires it.
func (s *Server) renewCertificates(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, _, err := s.clusterRecord(r, c)
	if err != nil {
		return err
	}
	if err := c.authorize(rec.ProjectUID); err != nil {
		return err
	}
	now := s.clock.Now()
	err = s.records.TxRetrying(r.Context(), func(q store.Queries) error {
		var approval bool
		err := updateClusterStatus(r.Context(), q, rec.UID, func(cl *clusters.Cluster) error {
			switch cl.Status.State {
			case v1.ClusterStateRunning:
			case v1.ClusterStateDeleting:
				return service.Conflict("cluster %s is being deleted; its certificates are not renewed", rec.Name)
			default:
				// Its certificates were just issued; a renewal now would only race the provisioning.
				return service.Conflict("cluster %s is %s; its certificates can be renewed once it is Running", rec.Name, cl.Status.State)
			}
			if !slices.ContainsFunc(cl.Pools, func(p clusters.Pool) bool { return p.ControlPlane }) {
				// An imported cluster's control plane is its owner's: nothing here would renew it.
				return service.Conflict("cluster %s has no control plane that easel manages (cloud type %s); renew its certificates where it is run", rec.Name, cl.CloudType)
			}
			cl.CertificatesRenewal = now
			approval = cl.RepaveApproval
			return nil
		})
		if err != nil {
			return err
		}
		msg := "Renewal of the control plane's certificates requested at " + now.UTC().Format(time.RFC3339) +
			": the control-plane machines are replaced one at a time and the certificates re-issued (the CA is kept)"
		if approval {
			msg += ", once the repave is approved (PATCH …/repave/approve)"
		}
		if err := s.records.Event(r.Context(), q, &rec, v1.SeverityInfo, "CertificatesRenewalRequested", msg); err != nil {
			return err
		}
		return s.records.Audit(r.Context(), q, &c.Call, rec.ProjectUID, "update", kindCluster, rec.UID, rec.Name,
			"Requested the renewal of the certificates of cluster "+rec.Name)
	})
	if err != nil {
		return err
	}
	s.notify(rec.UID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// certificates answers GET /v1/spectroclusters/{uid}/k8certificates (Palette's
// V1MachineCertificates): for each control-plane machine, the control plane's certificate
// authorities and certificates with their expiry, as the engine last recorded them from the
// provider (none for a cluster whose provider does not run its control plane, e.g. an imported one).
func (s *Server) certificates(w http.ResponseWriter, r *http.Request, c *call) error {
	_, cl, err := s.clusterRecord(r, c)
	if err != nil {
		return err
	}
	out := v1.MachineCertificates{MachineCertificates: []v1.MachineCertificate{}}
	if len(cl.Status.Certificates) > 0 {
		for _, m := range cl.Status.Machines {
			if m.ControlPlane {
				out.MachineCertificates = append(out.MachineCertificates, v1.MachineCertificate{Name: m.Name, CertificateAuthorities: cl.Status.Certificates})
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
