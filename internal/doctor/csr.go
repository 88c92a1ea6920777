package doctor

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	v1 "github.com/easelhq/easel/api/v1"
)

// kubeletCSR is a certificate signing request of a kubelet: its client certificate (to join and
// to renew it) or its serving certificate.
type kubeletCSR struct {
	name, signer, username, node string
	created                      time.Time
	pending                      bool
	// notAfter is the issued certificate's expiry (zero while none is issued).
	notAfter time.Time
}

var kubeletSigners = sets.New(certv1.KubeAPIServerClientKubeletSignerName, certv1.KubeletServingSignerName)

const nodeUserPrefix = "system:node:"

// parseKubeletCSR reads a CSR of a kubelet signer and the node it is for: the requester's name
// when the node asks for itself (system:node:NAME), else the subject's common name of the request
// (a bootstrapping kubelet asks as its bootstrap token).
func parseKubeletCSR(c *certv1.CertificateSigningRequest) (kubeletCSR, bool) {
	if !kubeletSigners.Has(c.Spec.SignerName) {
		return kubeletCSR{}, false
	}
	k := kubeletCSR{name: c.Name, signer: c.Spec.SignerName, username: c.Spec.Username, created: c.CreationTimestamp.Time, pending: true}
	for _, cond := range c.Status.Conditions {
		switch cond.Type {
		case certv1.CertificateApproved, certv1.CertificateDenied, certv1.CertificateFailed:
			k.pending = false
		}
	}
	k.node, _ = strings.CutPrefix(c.Spec.Username, nodeUserPrefix)
	if k.node == c.Spec.Username {
		k.node = ""
		if block, _ := pem.Decode(c.Spec.Request); block != nil {
			if req, err := x509.ParseCertificateRequest(block.Bytes); err == nil {
				k.node, _ = strings.CutPrefix(req.Subject.CommonName, nodeUserPrefix)
				if k.node == req.Subject.CommonName {
					k.node = ""
				}
			}
		}
	}
	if block, _ := pem.Decode(c.Status.Certificate); block != nil {
		if cert, err := x509.ParseCertificate(block.Bytes); err == nil {
			k.notAfter = cert.NotAfter
		}
	}
	return k, k.node != ""
}

// pendingCSR: no kubelet CSR of the node waits for approval.
func (s *snapshot) pendingCSR(node string) v1.Finding {
	if s.csrErr != nil {
		return listFailed(s.csrErr)
	}
	var evidence, fixes []string
	client := false
	for _, c := range s.csrs[node] {
		if !c.pending {
			continue
		}
		evidence = append(evidence, fmt.Sprintf("CSR %s (signer %s, requested by %s, created %s) is pending", c.name, c.signer,
			c.username, c.created.UTC().Format(time.RFC3339)))
		fixes = append(fixes, "kubectl certificate approve "+c.name)
		client = client || c.signer == certv1.KubeAPIServerClientKubeletSignerName
	}
	if len(evidence) == 0 {
		return ok("no pending kubelet certificate signing request")
	}
	f := v1.Finding{Status: v1.FindingProblem, Evidence: strings.Join(evidence, "; ")}
	f.Cause = "the kubelet waits for its serving certificate: kubectl logs, exec and metrics of the node fail until it is issued"
	if client {
		f.Cause = "the kubelet waits for its client certificate: it cannot register or report the node until the request is approved"
	}
	f.Fix = "check that the request is the node's (kubectl get csr NAME -o yaml), then " + strings.Join(fixes, "; ")
	return f
}

// kubeletCertificate: the kubelet's serving certificate, where the API server shows it (the
// certificate of its newest approved kubelet-serving CSR), is not close to expiry. The kubelet's
// client certificate, and a serving certificate whose CSR was cleaned up, are only on the node: the
// finding then says it checked nothing.
func (s *snapshot) kubeletCertificate(node string) v1.Finding {
	if s.csrErr != nil {
		return listFailed(s.csrErr)
	}
	var newest *kubeletCSR
	for i, c := range s.csrs[node] {
		if c.signer == certv1.KubeletServingSignerName && !c.notAfter.IsZero() && (newest == nil || c.notAfter.After(newest.notAfter)) {
			newest = &s.csrs[node][i]
		}
	}
	if newest == nil {
		return ok("not checked: no issued kubelet-serving certificate of the node is visible in the API server " +
			"(the kubelet's certificates are on the node's disk, and issued CSRs are deleted after an hour)")
	}
	left := newest.notAfter.Sub(s.now).Truncate(time.Hour)
	evidence := fmt.Sprintf("the serving certificate issued for CSR %s expires %s", newest.name, newest.notAfter.UTC().Format(time.RFC3339))
	fix := "turn on the kubelet's certificate rotation (rotateCertificates, serverTLSBootstrap) and approve its new CSR: kubectl get csr; kubectl certificate approve NAME"
	switch {
	case left <= 0:
		return v1.Finding{Status: v1.FindingProblem, Evidence: evidence + " (expired)",
			Cause: "the kubelet's serving certificate has expired: kubectl logs, exec and metrics of the node fail", Fix: fix}
	case left < CertificateWarning:
		return v1.Finding{Status: v1.FindingWarning, Evidence: fmt.Sprintf("%s (in %s)", evidence, left),
			Cause: "the kubelet's serving certificate expires soon", Fix: fix}
	}
	return ok(evidence)
}
