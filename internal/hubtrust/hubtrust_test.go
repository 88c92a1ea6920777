package hubtrust_test

import (
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
