package hub

import (
	"net/http"

	v1 "github.com/easelhq/easel/api/v1"
)

// renewCertificates asks for the renewal of a cluster's control-plane certificates (Palette's
// PATCH /v1/spectroclusters/{uid}/k8certificates/renew, 204), carried out by the engine as a repave
// of the control-plane pool.
func (s *Server) renewCertificates(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.clusters.RenewCertificates(r.Context(), &c.Call, target(r)))
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
