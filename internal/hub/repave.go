package hub

import (
	"net/http"
	"strings"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
)

// repaveStatus answers GET /v1/spectroclusters/{uid}/repave/status: the repave the cluster's
// changes call for (Pending while it waits for approval, Approved while it runs), with its reasons.
func (s *Server) repaveStatus(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, cl, err := s.clusterRecord(r, c)
	if err != nil {
		return err
	}
	var out v1.SpectroClusterRepave
	out.Metadata = v1.ObjectMeta{UID: rec.UID, Name: rec.Name}
	out.Spec.SpectroClusterUID, out.Spec.Source, out.Spec.Reasons = rec.UID, "palette", []v1.RepaveReason{}
	rp := cl.Status.Repave
	for _, reason := range rp.Reasons {
		out.Spec.Reasons = append(out.Spec.Reasons, v1.RepaveReason{Code: repaveCode(reason), Message: reason})
	}
	out.Status.State, out.Status.RepaveTransitionTime = rp.State, rp.Since
	switch rp.State {
	case clusters.RepavePending:
		out.Status.Message = "The repave waits for approval: PATCH /v1/spectroclusters/" + rec.UID + "/repave/approve"
	case clusters.RepaveApproved:
		out.Status.Message = "Machines are being replaced one at a time"
	default:
		out.Status.Message = "No repave is needed: every machine matches its pool"
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// repaveCodes name a reason's kind by the field that changed.
var repaveCodes = []struct{ field, code string }{
	{"instanceType", "MachinePoolInstanceTypeChanged"},
	{"disk size", "MachinePoolDiskSizeChanged"},
	{"availability zones", "MachinePoolZonesChanged"},
	{"OS layer", "OSLayerChanged"},
	{"Kubernetes layer", "KubernetesLayerChanged"},
	{"certificates: renewal requested", "CertificatesRenewalRequested"},
}

func repaveCode(reason string) string {
	for _, rc := range repaveCodes {
		if strings.Contains(reason, rc.field) {
			return rc.code
		}
	}
	return "SpecChanged"
}

// approveRepave lets a repave that waits for approval start (PATCH …/repave/approve).
func (s *Server) approveRepave(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.clusters.ApproveRepave(r.Context(), &c.Call, target(r)))
}
