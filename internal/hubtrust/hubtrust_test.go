package hubtrust_test

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
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/hubtrust"
)

func TestParseFingerprint(t *testing.T) {
	const canonical = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "canonical", in: canonical, want: canonical},
		{name: "no prefix", in: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", want: canonical},
		{name: "openssl form", in: "SHA256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF", want: canonical},
		{name: "surrounding space", in: " " + canonical + "\n", want: canonical},
		{name: "too short", in: "sha256:0011", wantErr: "must be sha256: and 64 hex digits"},
		{name: "not hex", in: "sha256:" + strings.Repeat("zz", 32), wantErr: "must be sha256: and 64 hex digits"},
		{name: "another hash", in: "sha1:" + strings.Repeat("ab", 32), wantErr: "must be sha256: and 64 hex digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hubtrust.ParseFingerprint(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseFingerprint(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseFingerprint(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// A client trusts a hub with a self-signed certificate by its pin or by a CA file holding it, and
// refuses it otherwise, saying why.
func TestTLSConfig(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	pin := hubtrust.Fingerprint(srv.Certificate().Raw)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "hub.crt")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o644)
	wrongPin := "sha256:" + strings.Repeat("0", 64)

	tests := []struct {
		name     string
		o        hubtrust.Options
		wantErr  string
		mismatch bool
	}{
		{name: "right pin", o: hubtrust.Options{Fingerprint: pin}},
		{name: "right pin, openssl form", o: hubtrust.Options{Fingerprint: strings.ToUpper(colons(pin))}},
		{name: "wrong pin", o: hubtrust.Options{Fingerprint: wrongPin}, mismatch: true,
			wantErr: "the hub's certificate has fingerprint " + pin + ", not the pinned " + wrongPin},
		{name: "CA file", o: hubtrust.Options{CAFile: caFile}},
		{name: "CA file and right pin", o: hubtrust.Options{CAFile: caFile, Fingerprint: pin}},
		{name: "CA file and wrong pin", o: hubtrust.Options{CAFile: caFile, Fingerprint: wrongPin}, mismatch: true, wantErr: "not the pinned"},
		{name: "system roots", wantErr: "certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.o.TLSConfig()
			if err != nil {
				t.Fatal(err)
			}
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
			resp, err := c.Get(srv.URL)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("GET: %v", err)
				}
				resp.Body.Close()
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatal("GET succeeded, want it refused")
			}
			var m *hubtrust.MismatchError
			if !strings.Contains(err.Error(), tt.wantErr) || errors.As(err, &m) != tt.mismatch {
				t.Fatalf("GET: %v; want an error with %q (mismatch %v)", err, tt.wantErr, tt.mismatch)
			}
		})
	}

	for _, o := range []hubtrust.Options{{CAFile: notPEM}, {CAFile: filepath.Join(dir, "missing")}, {Fingerprint: "sha256:ab"}} {
		if _, err := o.TLSConfig(); err == nil {
			t.Errorf("TLSConfig(%+v) succeeded, want an error", o)
		}
	}
	if cfg, err := (hubtrust.Options{}).TLSConfig(); cfg != nil || err != nil {
		t.Errorf("TLSConfig of nothing = %v, %v; want nil, nil (Go's defaults)", cfg, err)
	}
	if got, err := hubtrust.FingerprintFile(caFile); got != pin || err != nil {
		t.Errorf("FingerprintFile = %q, %v; want %q", got, err, pin)
	}
}

// colons writes a fingerprint as OpenSSL does: bytes separated by colons.
func colons(fp string) string {
	hexDigits := strings.TrimPrefix(fp, "sha256:")
	var parts []string
	for i := 0; i < len(hexDigits); i += 2 {
		parts = append(parts, hexDigits[i:i+2])
	}
	return "sha256:" + strings.Join(parts, ":")
}

// A pin set trusts every hub whose certificate has one of its fingerprints — two replicas, each
// with its own self-signed certificate — and refuses a third, naming the pins it has.
func TestPinSetAcceptsAnyOfItsCertificates(t *testing.T) {
	var servers []*httptest.Server
	var pins []string
	for i := range 3 {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
		cert := selfSigned(t, fmt.Sprintf("hub-%d", i))
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		srv.StartTLS()
		defer srv.Close()
		servers = append(servers, srv)
		pins = append(pins, hubtrust.Fingerprint(cert.Certificate[0]))
	}
	cfg, err := hubtrust.Options{Fingerprint: pins[0] + "," + strings.ToUpper(colons(pins[1]))}.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	defer c.CloseIdleConnections()
	for i, srv := range servers {
		resp, err := c.Get(srv.URL)
		if i < 2 {
			if err != nil {
				t.Fatalf("GET hub %d, pinned: %v", i, err)
			}
			resp.Body.Close()
			continue
		}
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET hub %d, not pinned, succeeded; want it refused", i)
		}
		var m *hubtrust.MismatchError
		want := "the hub's certificate has fingerprint " + pins[2] + ", none of the pinned " + pins[0] + ", " + pins[1]
		if !errors.As(err, &m) || !strings.Contains(err.Error(), want) {
			t.Fatalf("GET hub %d, not pinned: %v; want a mismatch with %q", i, err, want)
		}
	}
}

func TestParsePins(t *testing.T) {
	a, b := "sha256:"+strings.Repeat("aa", 32), "sha256:"+strings.Repeat("bb", 32)
	tests := []struct {
		name, in string
		want     []string
		wantErr  string
	}{
		{name: "one", in: a, want: []string{a}},
		{name: "two", in: a + "," + b, want: []string{a, b}},
		{name: "spaces, an empty entry and a repeat", in: " " + a + " ,, " + b + "," + strings.ToUpper(a), want: []string{a, b}},
		{name: "a bad one", in: a + ",sha256:0011", wantErr: `fingerprint "sha256:0011" must be`},
		{name: "none", in: " , ", wantErr: "names no fingerprint"},
		{name: "over the limit", in: manyPins(hubtrust.MaxPins + 1), wantErr: "17 fingerprints pinned; at most 16"},
		{name: "at the limit", in: manyPins(hubtrust.MaxPins), want: strings.Split(manyPins(hubtrust.MaxPins), ",")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hubtrust.ParsePins(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePins(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParsePins(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// manyPins is n distinct fingerprints separated by commas.
func manyPins(n int) string {
	pins := make([]string, n)
	for i := range pins {
		pins[i] = fmt.Sprintf("sha256:%064x", i)
	}
	return strings.Join(pins, ",")
}

// selfSigned is a new self-signed certificate for 127.0.0.1, as a hub generates its own.
func selfSigned(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
