package server

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// What `easel server` serves for each combination of --listen, --tls and certificate files
// (decided without listening, so that no test binds a non-loopback address).
func TestPrepareTLS(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		wantTLS    bool
		selfSigned bool
		wantErr    string
	}{
		{name: "loopback serves plain HTTP", cfg: Config{Listen: "127.0.0.1:8080"}},
		{name: "localhost serves plain HTTP", cfg: Config{Listen: "localhost:8080"}},
		{name: "IPv6 loopback serves plain HTTP", cfg: Config{Listen: "[::1]:8080"}},
		{name: "every address: self-signed", cfg: Config{Listen: "0.0.0.0:8080"}, wantTLS: true, selfSigned: true},
		{name: "no host: self-signed", cfg: Config{Listen: ":8080"}, wantTLS: true, selfSigned: true},
		{name: "a LAN address: self-signed", cfg: Config{Listen: "192.0.2.7:8080"}, wantTLS: true, selfSigned: true},
		{name: "forced on loopback", cfg: Config{Listen: "127.0.0.1:8080", TLS: TLSOn}, wantTLS: true, selfSigned: true},
		{name: "off on every address", cfg: Config{Listen: "0.0.0.0:8080", TLS: TLSOff}},
		{name: "unknown mode", cfg: Config{Listen: "127.0.0.1:8080", TLS: "yes"}, wantErr: `--tls "yes" must be auto, on or off`},
		{name: "certificate without key", cfg: Config{Listen: "127.0.0.1:8080", TLSCertFile: "hub.crt"},
			wantErr: "--tls-cert-file and --tls-private-key-file go together"},
		{name: "off with a certificate", cfg: Config{Listen: "127.0.0.1:8080", TLS: TLSOff, TLSCertFile: "a", TLSKeyFile: "b"},
			wantErr: "--tls=off serves plain HTTP"},
		{name: "missing certificate file", cfg: Config{Listen: "127.0.0.1:8080", TLSCertFile: "/nonexistent/hub.crt", TLSKeyFile: "/nonexistent/hub.key"},
			wantErr: "loading the hub's TLS certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.DataDir = t.TempDir()
			s, err := prepareTLS(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("prepareTLS = %v; want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (s != nil) != tt.wantTLS || s != nil && s.selfSigned != tt.selfSigned {
				t.Fatalf("prepareTLS = %+v; want TLS %v, self-signed %v", s, tt.wantTLS, tt.selfSigned)
			}
		})
	}
}

// The self-signed certificate names the hosts of --public-url, --replica-url and --listen besides
// localhost and 127.0.0.1.
func TestSelfSignedCertificateNames(t *testing.T) {
	dir := t.TempDir()
	if _, err := prepareTLS(Config{Listen: "192.0.2.7:8443", PublicURL: "https://hub.example.com:8443",
		ReplicaURL: "https://hub-1.example.com:8443", DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "tls", "hub.crt"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, ip := range cert.IPAddresses {
		ips = append(ips, ip.String())
	}
	if want := []string{"localhost", "hub.example.com", "hub-1.example.com"}; !slices.Equal(cert.DNSNames, want) {
		t.Errorf("DNS names = %v, want %v", cert.DNSNames, want)
	}
	if want := []string{"127.0.0.1", "192.0.2.7"}; !slices.Equal(ips, want) {
		t.Errorf("IP addresses = %v, want %v", ips, want)
	}
	if cert.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithm = %v, want ECDSA", cert.PublicKeyAlgorithm)
	}
}

// Other machines reach a hub that listens on every address by this machine's hostname; any other
// listen address is reached as it is.
func TestReachableAddress(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	for listen, want := range map[string]string{
		"0.0.0.0:8443":    host + ":8443",
		":8080":           host + ":8080",
		"[::]:8080":       host + ":8080",
		"127.0.0.1:37000": "127.0.0.1:37000",
		"192.0.2.7:8443":  "192.0.2.7:8443",
	} {
		if got := reachableAddress(listen); got != want {
			t.Errorf("reachableAddress(%q) = %q, want %q", listen, got, want)
		}
	}
}
