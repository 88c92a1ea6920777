package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/easelhq/easel/internal/atomicfile"
	"github.com/easelhq/easel/internal/hubtrust"
)

// TLS modes of `easel server --tls`.
const (
	// TLSAuto serves HTTPS with --tls-cert-file when given, else with a self-signed certificate
	// unless the hub listens on a loopback address only (where plain HTTP reaches no one else).
	TLSAuto = "auto"
	// TLSOn serves HTTPS even on loopback (with the self-signed certificate if no files are given).
	TLSOn = "on"
	// TLSOff serves plain HTTP, e.g. behind a proxy that terminates TLS.
	TLSOff = "off"
)

// selfSignedValidity is long: agents pin the certificate, so replacing it means re-pinning every
// agent and CLI; an operator who wants rotation brings a certificate of their own.
const selfSignedValidity = 10 * 365 * 24 * time.Hour

// servingTLS is how the hub serves TLS.
type servingTLS struct {
	config *tls.Config
	// fingerprint is the pin of the certificate served (hubtrust.Fingerprint).
	fingerprint string
	// certFile is the certificate's file; generated is set when this start created it.
	certFile   string
	selfSigned bool
	generated  bool
}

// selfSignedFiles are where the self-signed certificate and key are kept under the data dir.
func selfSignedFiles(dataDir string) (certFile, keyFile string) {
	dir := filepath.Join(dataDir, "tls")
	return filepath.Join(dir, "hub.crt"), filepath.Join(dir, "hub.key")
}

// prepareTLS decides how the hub serves (nil: plain HTTP) and loads or creates its certificate.
func prepareTLS(cfg Config) (*servingTLS, error) {
	mode := cfg.TLS
	if mode == "" {
		mode = TLSAuto
	}
	files := cfg.TLSCertFile != "" || cfg.TLSKeyFile != ""
	switch {
	case mode != TLSAuto && mode != TLSOn && mode != TLSOff:
		return nil, fmt.Errorf("--tls %q must be auto, on or off", mode)
	case files && (cfg.TLSCertFile == "" || cfg.TLSKeyFile == ""):
		return nil, errors.New("--tls-cert-file and --tls-private-key-file go together")
	case files && mode == TLSOff:
		return nil, errors.New("--tls=off serves plain HTTP: it takes no --tls-cert-file")
	case mode == TLSOff, mode == TLSAuto && !files && loopbackOnly(cfg.Listen):
		return nil, nil
	}
	s := &servingTLS{certFile: cfg.TLSCertFile}
	keyFile := cfg.TLSKeyFile
	if !files {
		s.selfSigned = true
		s.certFile, keyFile = selfSignedFiles(cfg.DataDir)
		dns, ips := servingNames(cfg)
		generated, err := ensureSelfSigned(s.certFile, keyFile, dns, ips)
		if err != nil {
			return nil, err
		}
		s.generated = generated
	}
	pair, err := tls.LoadX509KeyPair(s.certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the hub's TLS certificate: %w", err)
	}
	s.fingerprint = hubtrust.Fingerprint(pair.Certificate[0])
	s.config = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	return s, nil
}

// loopbackOnly reports whether a listen address is reachable from this machine only.
func loopbackOnly(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// reachableAddress is a listen address as other machines reach it: one that listens on every
// address is reached by this machine's hostname.
func reachableAddress(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if name, err := os.Hostname(); err == nil {
			return net.JoinHostPort(name, port)
		}
	}
	return listen
}

// servingNames are the names the self-signed certificate carries: the hosts of --public-url, of
// --replica-url and of the listen address (this machine's hostname when it listens on every address), localhost and
// 127.0.0.1. Clients that pin it do not check them; clients given it as their CA file do.
func servingNames(cfg Config) (dns []string, ips []net.IP) {
	hosts := []string{"localhost", "127.0.0.1"}
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Hostname() != "" {
		hosts = append(hosts, u.Hostname())
	}
	for _, u := range []string{cfg.ReplicaURL, "//" + reachableAddress(cfg.Listen)} {
		if u, err := url.Parse(u); err == nil && u.Hostname() != "" {
			hosts = append(hosts, u.Hostname())
		}
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(ips, ip.Equal) {
				ips = append(ips, ip)
			}
		} else if !slices.Contains(dns, h) {
			dns = append(dns, h)
		}
	}
	return dns, ips
}

// ensureSelfSigned keeps the self-signed certificate once made: agents and CLIs have pinned it.
// It creates one (ECDSA P-256, the key 0600) only when the certificate or the key is missing;
// an unreadable or broken pair is an error for the operator rather than a silent new pin.
func ensureSelfSigned(certFile, keyFile string, dns []string, ips []net.IP) (generated bool, err error) {
	_, certErr := os.Stat(certFile)
	_, keyErr := os.Stat(keyFile)
	if certErr == nil && keyErr == nil {
		return false, nil
	}
	for _, err := range []error{certErr, keyErr} {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("reading the hub's self-signed certificate: %w", err)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return false, fmt.Errorf("generating the hub's TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return false, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "easel hub", Organization: []string{"easel"}},
		NotBefore:    now.Add(-time.Hour).UTC(), // a client whose clock is a little behind accepts it too
		NotAfter:     now.Add(selfSignedValidity).UTC(),
		// A CA of itself, so that the same file also serves as a client's --ca-file.
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    dns,
		IPAddresses: ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return false, fmt.Errorf("creating the hub's self-signed certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return false, fmt.Errorf("creating the hub's TLS directory: %w", err)
	}
	// The key first: a start interrupted in between finds no certificate and makes both again.
	if err := atomicfile.Write(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return false, fmt.Errorf("writing the hub's TLS key: %w", err)
	}
	if err := atomicfile.Write(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return false, fmt.Errorf("writing the hub's TLS certificate: %w", err)
	}
	return true, nil
}
