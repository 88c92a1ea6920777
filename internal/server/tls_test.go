package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spectrocloud/palette-sdk-go/api/models"
	palette "github.com/spectrocloud/palette-sdk-go/client"

	"github.com/easelhq/easel/internal/hubtrust"
	"github.com/easelhq/easel/internal/server"
)

// get calls the hub's /v1/users/info with an API key through a client that trusts the hub as o
// says; it returns the status code.
func get(t *testing.T, url, key string, o hubtrust.Options) (int, error) {
	t.Helper()
	cfg, err := o.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	req, _ := http.NewRequest("GET", url+"/v1/users/info", nil)
	req.Header.Set("ApiKey", key)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// With --tls=on and no certificate files, the hub generates a self-signed certificate once, prints
// its fingerprint, and keeps it across restarts; clients that pin it (or use it as their CA) get in,
// a wrong pin is refused saying so, plain HTTP gets nothing. Agents of imported clusters are told
// the pin, and the Palette SDK works over https without verification.
func TestRunServesASelfSignedCertificate(t *testing.T) {
	dir := t.TempDir()
	on := func(c *server.Config) { c.TLS = server.TLSOn }
	addr, welcome, stop := runHub(t, dir, "", on)
	url := "https://" + addr
	key := readPrivate(t, filepath.Join(dir, "initial-admin-api-key"))
	certFile, keyFile := filepath.Join(dir, "tls", "hub.crt"), filepath.Join(dir, "tls", "hub.key")
	m := regexp.MustCompile(`fingerprint (sha256:[0-9a-f]{64}) \(clients pin it\)`).FindStringSubmatch(welcome)
	if m == nil {
		t.Fatalf("first-start output names no fingerprint:\n%s", welcome)
	}
	pin := m[1]
	if onDisk, err := hubtrust.FingerprintFile(certFile); onDisk != pin || err != nil {
		t.Fatalf("the printed fingerprint %s is not that of %s (%s, %v)", pin, certFile, onDisk, err)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, want mode 0600", keyFile, err)
	}
	if want := "easel login --hub " + url + " --hub-fingerprint " + pin + " --api-key"; !strings.Contains(welcome, want) {
		t.Fatalf("first-start output lacks %q:\n%s", want, welcome)
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	served := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	if hubtrust.Fingerprint(served.Raw) != pin {
		t.Fatal("the hub serves another certificate than the one it printed")
	}
	for _, name := range []string{"localhost", "127.0.0.1"} {
		if err := served.VerifyHostname(name); err != nil {
			t.Errorf("the self-signed certificate does not name %s: %v", name, err)
		}
	}

	wrongPin := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name     string
		trust    hubtrust.Options
		wantErr  string
		mismatch bool
	}{
		{name: "pinned", trust: hubtrust.Options{Fingerprint: pin}},
		{name: "its certificate as the CA file", trust: hubtrust.Options{CAFile: certFile}},
		{name: "wrong pin", trust: hubtrust.Options{Fingerprint: wrongPin}, mismatch: true,
			wantErr: "the hub's certificate has fingerprint " + pin + ", not the pinned " + wrongPin},
		{name: "system roots", wantErr: "certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := get(t, url, key, tt.trust)
			if tt.wantErr == "" {
				if err != nil || code != 200 {
					t.Fatalf("GET = %d, %v; want 200", code, err)
				}
				return
			}
			var mismatch *hubtrust.MismatchError
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errors.As(err, &mismatch) != tt.mismatch {
				t.Fatalf("GET = %d, %v; want an error with %q", code, err, tt.wantErr)
			}
		})
	}
	// Plain HTTP to the TLS port gets Go's refusal, not the API.
	if resp, err := http.Get("http://" + addr + "/v1/users/info"); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain HTTP to the TLS port = %v, %v; want 400", resp, err)
	}

	// The Palette SDK over https, and the import manifest tells the agent the pin.
	tenant := palette.New(palette.WithPaletteURI(addr), palette.WithAPIKey(key), palette.WithSchemes([]string{"https"}),
		palette.WithInsecureSkipVerify(true))
	projects, err := tenant.GetProjects()
	if err != nil || len(projects.Items) != 1 || projects.Items[0].Metadata.Name != "default" {
		t.Fatalf("GetProjects over https = %v, %v", projects, err)
	}
	pc := palette.New(palette.WithPaletteURI(addr), palette.WithAPIKey(key), palette.WithSchemes([]string{"https"}),
		palette.WithInsecureSkipVerify(true), palette.WithScopeProject(projects.Items[0].Metadata.UID))
	uid, err := pc.ImportClusterGeneric(&models.V1ObjectMetaInputEntity{Name: "imported"})
	if err != nil {
		t.Fatalf("ImportClusterGeneric over https: %v", err)
	}
	manifest, err := pc.GetClusterImportManifest(uid)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`hubURL: "` + url + `"`, `hubFingerprint: "` + pin + `"`, "name: EASEL_HUB_FINGERPRINT"} {
		if !strings.Contains(manifest, want) {
			t.Errorf("the import manifest lacks %q", want)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// A restart keeps the certificate: pinned clients still get in, and nothing is printed but
	// where the console and the API are.
	addr, welcome, stop = runHub(t, dir, "", on)
	defer stop()
	if welcome != "easel is ready: the console is at https://"+addr+"/, the API at https://"+addr+"/v1/…\n" {
		t.Fatalf("second start printed:\n%s", welcome)
	}
	if code, err := get(t, "https://"+addr, key, hubtrust.Options{Fingerprint: pin}); err != nil || code != 200 {
		t.Fatalf("the pin of the first start after a restart: %d, %v", code, err)
	}
}

// With --tls-cert-file and --tls-private-key-file the hub serves the operator's certificate, which
// clients verify with the operator's CA; --tls-ca-file goes into import manifests.
func TestRunServesTheOperatorsCertificate(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := writeOperatorPKI(t, t.TempDir())
	addr, welcome, stop := runHub(t, dir, "", func(c *server.Config) {
		c.TLSCertFile, c.TLSKeyFile, c.TLSCAFile = certFile, keyFile, caFile
	})
	defer stop()
	url := "https://" + addr
	key := readPrivate(t, filepath.Join(dir, "initial-admin-api-key"))
	if !strings.Contains(welcome, "easel login --hub "+url+" --api-key") || strings.Contains(welcome, "fingerprint") {
		t.Fatalf("first-start output should log in with the operator's certificate, no pin:\n%s", welcome)
	}
	if _, err := os.Stat(filepath.Join(dir, "tls")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the hub generated a certificate although it was given one: %v", err)
	}
	if code, err := get(t, url, key, hubtrust.Options{CAFile: caFile}); err != nil || code != 200 {
		t.Fatalf("GET with the operator's CA = %d, %v; want 200", code, err)
	}
	if _, err := get(t, url, key, hubtrust.Options{}); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Fatalf("GET with the system roots = %v; want unknown authority", err)
	}

	// The import manifest carries the CA for the agent.
	call := func(method, path, project, body string) []byte {
		cfg, _ := hubtrust.Options{CAFile: caFile}.TLSConfig()
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		req.Header.Set("ApiKey", key)
		req.Header.Set("ProjectUid", project)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, data)
		}
		return data
	}
	var projects struct {
		Items []struct{ Metadata struct{ UID string } }
	}
	json.Unmarshal(call("GET", "/v1/dashboard/projects/metadata", "", ""), &projects)
	if len(projects.Items) != 1 {
		t.Fatalf("projects = %+v", projects)
	}
	project := projects.Items[0].Metadata.UID
	var imported struct{ UID string }
	json.Unmarshal(call("POST", "/v1/spectroclusters/generic/import", project, `{"metadata":{"name":"imported"}}`), &imported)
	manifest := string(call("GET", "/v1/spectroclusters/"+imported.UID+"/import/manifest", project, ""))
	caPEM, _ := os.ReadFile(caFile)
	quoted, _ := json.Marshal(string(caPEM))
	for _, want := range []string{"hubCA: " + string(quoted), `- "--ca-file=/etc/easel/hub/ca.crt"`, `hubFingerprint: ""`} {
		if !strings.Contains(manifest, want) {
			t.Errorf("the import manifest lacks %q:\n%s", want, manifest)
		}
	}
}

// writeOperatorPKI writes a CA and a serving certificate it signed for 127.0.0.1, as an operator
// would bring them.
func writeOperatorPKI(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "operator CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "hub"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	caFile, certFile, keyFile = filepath.Join(dir, "ca.crt"), filepath.Join(dir, "hub.crt"), filepath.Join(dir, "hub.key")
	write := func(path, typ string, der []byte, mode os.FileMode) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(caFile, "CERTIFICATE", caDER, 0o644)
	write(certFile, "CERTIFICATE", leafDER, 0o644)
	write(keyFile, "EC PRIVATE KEY", keyDER, 0o600)
	return caFile, certFile, keyFile
}
