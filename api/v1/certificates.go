package v1

import "time"

// MachineCertificates is the answer of GET /v1/spectroclusters/{uid}/k8certificates (Palette's
// V1MachineCertificates): for each control-plane machine, its certificate authorities and the
// certificates they signed, with their expiry.
type MachineCertificates struct {
	MachineCertificates []MachineCertificate `json:"machineCertificates"`
}

// MachineCertificate is one control-plane machine's certificates.
type MachineCertificate struct {
	Name                   string                 `json:"name"`
	CertificateAuthorities []CertificateAuthority `json:"certificateAuthorities"`
}

// CertificateAuthority is a CA and the certificates it signed.
type CertificateAuthority struct {
	Name         string        `json:"name"`
	Expiry       time.Time     `json:"expiry"`
	Certificates []Certificate `json:"certificates"`
}

// Certificate is one certificate of a control plane.
type Certificate struct {
	Name   string    `json:"name"`
	Expiry time.Time `json:"expiry"`
	// IssuedAt is easel's addition: when it was issued (a renewal issues it again).
	IssuedAt time.Time `json:"issuedAt,omitzero"`
}
