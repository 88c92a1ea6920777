// Package hubtrust is how the hub's clients (the CLI, the agent) decide to trust the hub's TLS
// certificate: with a CA file (normal verification, hostname included), or with a pinned
// SHA-256 fingerprint of the certificate the hub serves — what a hub's self-signed certificate
// needs, since no CA vouches for it.
package hubtrust

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// fingerprintPrefix starts every fingerprint easel prints; ParseFingerprint also accepts one
// without it, and OpenSSL's colon-separated form.
const fingerprintPrefix = "sha256:"

// Fingerprint is the SHA-256 of a certificate's DER bytes as easel prints it:
// "sha256:" and 64 lowercase hex digits.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return fingerprintPrefix + hex.EncodeToString(sum[:])
}

// FingerprintFile is the Fingerprint of the first certificate in a PEM file.
func FingerprintFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading certificate %s: %w", path, err)
	}
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type == "CERTIFICATE" {
			return Fingerprint(block.Bytes), nil
		}
	}
	return "", fmt.Errorf("certificate %s holds no PEM CERTIFICATE block", path)
}

// ParseFingerprint reads a pinned fingerprint: "sha256:" and 64 hex digits, with or without the
// prefix, in either case, and with or without colons between the bytes (as
// `openssl x509 -noout -fingerprint -sha256` prints it). It returns the canonical form.
func ParseFingerprint(s string) (string, error) {
	v := strings.TrimSpace(s)
	if p, rest, ok := strings.Cut(v, ":"); ok && strings.EqualFold(p, "sha256") {
		v = rest
	}
	v = strings.ToLower(strings.ReplaceAll(v, ":", ""))
	raw, err := hex.DecodeString(v)
	if err != nil || len(raw) != sha256.Size {
		return "", fmt.Errorf("fingerprint %q must be sha256: and 64 hex digits, e.g. sha256:%s", s, strings.Repeat("ab", 32))
	}
	return fingerprintPrefix + v, nil
}

// MaxPins bounds a pin set: one pin per hub replica, as many as an agent takes hub URLs.
const MaxPins = 16

// ParsePins reads a pin set: one fingerprint, or several separated by commas, each as
// ParseFingerprint reads it (OpenSSL's form separates bytes with colons, never commas, so one pin
// is a set of one). A certificate is trusted when it has any of them: several hub replicas with
// self-signed certificates each have their own (docs/design/007-replicas.md). Empty entries and
// repeats are dropped; more than MaxPins is refused.
func ParsePins(s string) ([]string, error) {
	var pins []string
	for _, f := range strings.Split(s, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		pin, err := ParseFingerprint(f)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(pins, pin) {
			pins = append(pins, pin)
		}
	}
	switch {
	case len(pins) == 0:
		return nil, fmt.Errorf("the pin set %q names no fingerprint", s)
	case len(pins) > MaxPins:
		return nil, fmt.Errorf("%d fingerprints pinned; at most %d (MaxPins), one per hub replica", len(pins), MaxPins)
	}
	return pins, nil
}

// MismatchError is a hub that presents a certificate other than the pinned ones: another server,
// a certificate that was replaced, or someone in between.
type MismatchError struct {
	Pinned    []string
	Presented string
}

func (e *MismatchError) Error() string {
	pinned := "not the pinned " + e.Pinned[0]
	if len(e.Pinned) > 1 {
		pinned = "none of the pinned " + strings.Join(e.Pinned, ", ")
	}
	return fmt.Sprintf("the hub's certificate has fingerprint %s, %s: it is another server or its certificate changed (check with the hub's operator, then pin the new one)",
		e.Presented, pinned)
}

// Options are what a client was told to trust; both empty means the system's roots.
type Options struct {
	// CAFile is a PEM bundle of CAs to verify the hub's certificate chain and name with, instead
	// of the system's roots.
	CAFile string
	// Fingerprint pins the hub's certificate: one fingerprint, or a set of them separated by
	// commas of which the certificate must have one (see ParsePins). Alone, it replaces chain and
	// hostname verification; with CAFile, both must hold.
	Fingerprint string
}

// IsZero reports whether o asks for nothing beyond the system's roots.
func (o Options) IsZero() bool { return o.CAFile == "" && o.Fingerprint == "" }

// TLSConfig is the client configuration for o; nil when o is zero (Go's defaults apply).
func (o Options) TLSConfig() (*tls.Config, error) {
	if o.IsZero() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		data, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading the hub's CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("the hub's CA file %s holds no PEM certificate", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if o.Fingerprint == "" {
		return cfg, nil
	}
	pins, err := ParsePins(o.Fingerprint)
	if err != nil {
		return nil, err
	}
	// The pin is the trust: a self-signed certificate has no chain to verify and may not name the
	// address the client dials (an agent reaching the hub by an IP the certificate lacks).
	cfg.InsecureSkipVerify = o.CAFile == ""
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the hub presented no certificate")
		}
		got := Fingerprint(cs.PeerCertificates[0].Raw)
		for _, pin := range pins {
			if subtle.ConstantTimeCompare([]byte(got), []byte(pin)) == 1 {
				return nil
			}
		}
		return &MismatchError{Pinned: pins, Presented: got}
	}
	return cfg, nil
}
