package pki_test

import (
	"bytes"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/easelhq/easel/internal/provider/local/pki"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func options(t *testing.T, dir string, now time.Time) pki.Options {
	t.Helper()
	return pki.Options{
		Dir:           dir,
		ClusterName:   "dev",
		APIServerPort: 6443,
		ServiceIP:     net.ParseIP("10.96.0.1"),
		AdvertiseIP:   net.ParseIP("192.168.77.7"),
		Now:           func() time.Time { return now },
	}
}

func ensure(t *testing.T, o pki.Options) *pki.Bundle {
	t.Helper()
	b, err := pki.Ensure(o)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return b
}

type kubeconfig struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Clusters   []struct {
		Name    string `yaml:"name"`
		Cluster struct {
			Server string `yaml:"server"`
			CAData string `yaml:"certificate-authority-data"`
		} `yaml:"cluster"`
	} `yaml:"clusters"`
	Users []struct {
		Name string `yaml:"name"`
		User struct {
			CertData string `yaml:"client-certificate-data"`
			KeyData  string `yaml:"client-key-data"`
		} `yaml:"user"`
	} `yaml:"users"`
	Contexts []struct {
		Name    string `yaml:"name"`
		Context struct {
			Cluster string `yaml:"cluster"`
			User    string `yaml:"user"`
		} `yaml:"context"`
	} `yaml:"contexts"`
	CurrentContext string `yaml:"current-context"`
}

// parsedKubeconfig is a kubeconfig with its embedded data decoded.
type parsedKubeconfig struct {
	kubeconfig
	caPEM, certPEM, keyPEM []byte
}

func parseKubeconfig(t *testing.T, data []byte) parsedKubeconfig {
	t.Helper()
	var kc kubeconfig
	if err := yaml.Unmarshal(data, &kc); err != nil {
		t.Fatalf("kubeconfig is not YAML: %v\n%s", err, data)
	}
	if len(kc.Clusters) != 1 || len(kc.Users) != 1 || len(kc.Contexts) != 1 {
		t.Fatalf("want one cluster, user and context, got %d, %d, %d", len(kc.Clusters), len(kc.Users), len(kc.Contexts))
	}
	dec := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("decoding base64: %v", err)
		}
		return b
	}
	return parsedKubeconfig{
		kubeconfig: kc,
		caPEM:      dec(kc.Clusters[0].Cluster.CAData),
		certPEM:    dec(kc.Users[0].User.CertData),
		keyPEM:     dec(kc.Users[0].User.KeyData),
	}
}

func readKubeconfig(t *testing.T, path string) parsedKubeconfig {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseKubeconfig(t, data)
}

func parseCertPEM(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("no CERTIFICATE PEM block in %q", data)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseCertPEM(t, data)
}

func caPool(t *testing.T, b *pki.Bundle) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(readCert(t, b.CACert))
	return pool
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestEnsureCreatesFilesWithModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	b := ensure(t, options(t, dir, t0))

	tests := []struct {
		path string
		mode os.FileMode
	}{
		{b.CACert, 0o644},
		{b.CAKey, 0o600},
		{b.APIServerCert, 0o644},
		{b.APIServerKey, 0o600},
		{b.SAKey, 0o600},
		{b.SAPub, 0o644},
		{b.KubeletClientCert, 0o644},
		{b.KubeletClientKey, 0o600},
		{b.AdminKubeconfig, 0o600},
		{b.ControllerManagerKubeconfig, 0o600},
		{b.SchedulerKubeconfig, 0o600},
		{b.KwokKubeconfig, 0o600},
		{filepath.Join(dir, "admin.key"), 0o600},
		{filepath.Join(dir, "controller-manager.key"), 0o600},
		{filepath.Join(dir, "scheduler.key"), 0o600},
		{filepath.Join(dir, "kwok.key"), 0o600},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			if filepath.Dir(tt.path) != dir {
				t.Errorf("path %s is not in %s", tt.path, dir)
			}
			fi, err := os.Stat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tt.mode {
				t.Errorf("mode = %v, want %v", got, tt.mode)
			}
			if fi.Size() == 0 {
				t.Error("file is empty")
			}
		})
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("dir mode = %v, want 0700", got)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".crt" && filepath.Ext(e.Name()) != ".key" &&
			filepath.Ext(e.Name()) != ".kubeconfig" && filepath.Ext(e.Name()) != ".pub" {
			t.Errorf("unexpected file %s (temp file left behind?)", e.Name())
		}
	}
}

func TestCA(t *testing.T) {
	b := ensure(t, options(t, t.TempDir(), t0))
	ca := readCert(t, b.CACert)
	if !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("ca.crt: IsCA=%v KeyUsage=%v, want a signing CA", ca.IsCA, ca.KeyUsage)
	}
	if want := t0.Add(10 * 365 * 24 * time.Hour); !ca.NotAfter.Equal(want) {
		t.Errorf("CA NotAfter = %v, want %v", ca.NotAfter, want)
	}
}

func TestServiceAccountKeyPair(t *testing.T) {
	b := ensure(t, options(t, t.TempDir(), t0))
	block, _ := pem.Decode(readFile(t, b.SAKey))
	if block == nil {
		t.Fatal("sa.key holds no PEM")
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("sa.key is not a PKCS#1 RSA key: %v", err)
	}
	if key.N.BitLen() != 2048 {
		t.Errorf("sa.key has %d bits, want 2048", key.N.BitLen())
	}
	block, _ = pem.Decode(readFile(t, b.SAPub))
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatal("sa.pub holds no PUBLIC KEY PEM")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if rsaPub, ok := pub.(*rsa.PublicKey); !ok || !rsaPub.Equal(key.Public()) {
		t.Error("sa.pub does not match sa.key")
	}
}

func TestServingCert(t *testing.T) {
	b := ensure(t, options(t, t.TempDir(), t0))
	cert := readCert(t, b.APIServerCert)
	if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		t.Errorf("ExtKeyUsage = %v, want ServerAuth", cert.ExtKeyUsage)
	}
	if want := t0.Add(365 * 24 * time.Hour); !cert.NotAfter.Equal(want) {
		t.Errorf("NotAfter = %v, want %v", cert.NotAfter, want)
	}
	for _, name := range []string{
		"kubernetes.default.svc", "localhost", "kubernetes", "kubernetes.default",
		"kubernetes.default.svc.cluster.local", "127.0.0.1", "10.96.0.1", "192.168.77.7",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := cert.Verify(x509.VerifyOptions{
				DNSName:     name, // Verify matches IP SANs when DNSName is an IP
				Roots:       caPool(t, b),
				CurrentTime: t0.Add(time.Hour),
				KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			if err != nil {
				t.Errorf("Verify(%s): %v", name, err)
			}
		})
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: caPool(t, b), CurrentTime: t0}); err == nil {
		t.Error("serving cert verifies for example.com")
	}
}

func TestClientCerts(t *testing.T) {
	b := ensure(t, options(t, t.TempDir(), t0))
	kubeletCert := readFile(t, b.KubeletClientCert)
	fromKubeconfig := func(path string) []byte { return readKubeconfig(t, path).certPEM }

	tests := []struct {
		name    string
		certPEM []byte
		cn      string
		orgs    []string
	}{
		{"admin", fromKubeconfig(b.AdminKubeconfig), "kubernetes-admin", []string{"system:masters"}},
		{"controller-manager", fromKubeconfig(b.ControllerManagerKubeconfig), "system:kube-controller-manager", nil},
		{"scheduler", fromKubeconfig(b.SchedulerKubeconfig), "system:kube-scheduler", nil},
		{"kwok", fromKubeconfig(b.KwokKubeconfig), "kwok-controller", []string{"system:masters"}},
		{"apiserver-kubelet-client", kubeletCert, "kube-apiserver-kubelet-client", []string{"system:masters"}},
		{"apiserver-etcd-client", readFile(t, b.EtcdClientCert), "kube-apiserver-etcd-client", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert := parseCertPEM(t, tt.certPEM)
			if cert.Subject.CommonName != tt.cn {
				t.Errorf("CN = %q, want %q", cert.Subject.CommonName, tt.cn)
			}
			if !slices.Equal(cert.Subject.Organization, tt.orgs) {
				t.Errorf("O = %q, want %q", cert.Subject.Organization, tt.orgs)
			}
			if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
				t.Errorf("ExtKeyUsage = %v, want [ClientAuth]", cert.ExtKeyUsage)
			}
			if _, err := cert.Verify(x509.VerifyOptions{
				Roots:       caPool(t, b),
				CurrentTime: t0.Add(time.Hour),
				KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			}); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestKubeconfigContent(t *testing.T) {
	b := ensure(t, options(t, t.TempDir(), t0))
	tests := []struct {
		path, user string
	}{
		{b.AdminKubeconfig, "admin"},
		{b.ControllerManagerKubeconfig, "controller-manager"},
		{b.SchedulerKubeconfig, "scheduler"},
		{b.KwokKubeconfig, "kwok"},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			kc := readKubeconfig(t, tt.path)
			if kc.APIVersion != "v1" || kc.Kind != "Config" {
				t.Errorf("apiVersion/kind = %s/%s, want v1/Config", kc.APIVersion, kc.Kind)
			}
			if got := kc.Clusters[0].Cluster.Server; got != "https://127.0.0.1:6443" {
				t.Errorf("server = %q, want https://127.0.0.1:6443", got)
			}
			if kc.Clusters[0].Name != "dev" || kc.Users[0].Name != "dev-"+tt.user ||
				kc.Contexts[0].Name != tt.user+"@dev" || kc.CurrentContext != tt.user+"@dev" ||
				kc.Contexts[0].Context.Cluster != "dev" || kc.Contexts[0].Context.User != "dev-"+tt.user {
				t.Errorf("names: %+v", kc.kubeconfig)
			}
			if !bytes.Equal(kc.caPEM, readFile(t, b.CACert)) {
				t.Error("certificate-authority-data is not ca.crt")
			}
			if _, err := tls.X509KeyPair(kc.certPEM, kc.keyPEM); err != nil {
				t.Errorf("embedded cert/key: %v", err)
			}
		})
	}
	admin, err := b.AdminKubeconfigBytes()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(admin, readFile(t, b.AdminKubeconfig)) {
		t.Error("AdminKubeconfigBytes differs from the admin kubeconfig file")
	}
}

func TestKubeconfigQuotesNames(t *testing.T) {
	for _, name := range []string{"plain", "with: colon", `quote"and\backslash`, "#hash", "- dash", "ünï", "yes", "123"} {
		t.Run(name, func(t *testing.T) {
			kc := parseKubeconfig(t, pki.Kubeconfig("https://127.0.0.1:1", name, "u", []byte("ca"), []byte("cert"), []byte("key")))
			if kc.Clusters[0].Name != name || kc.Users[0].Name != name+"-u" || kc.CurrentContext != "u@"+name {
				t.Errorf("names = %q %q %q", kc.Clusters[0].Name, kc.Users[0].Name, kc.CurrentContext)
			}
			if string(kc.caPEM) != "ca" || string(kc.certPEM) != "cert" || string(kc.keyPEM) != "key" {
				t.Errorf("data = %q %q %q", kc.caPEM, kc.certPEM, kc.keyPEM)
			}
		})
	}
}

type fileState struct {
	content []byte
	mtime   time.Time
}

// snapshot records every file after backdating its mtime, so a rewrite is
// detected even on file systems with coarse timestamps.
func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := map[string]fileState{}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		s[e.Name()] = fileState{content: readFile(t, p), mtime: old}
	}
	return s
}

func current(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := map[string]fileState{}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		s[e.Name()] = fileState{content: readFile(t, filepath.Join(dir, e.Name())), mtime: fi.ModTime()}
	}
	return s
}

// changed lists the files whose content or mtime differ, plus added/removed ones.
func changed(before, after map[string]fileState) []string {
	var out []string
	for name, b := range before {
		a, ok := after[name]
		if !ok || !bytes.Equal(a.content, b.content) || !a.mtime.Equal(b.mtime) {
			out = append(out, name)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func TestEnsureIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	first := ensure(t, options(t, dir, t0))
	before := snapshot(t, dir)

	// A later clock, well within validity, must not renew anything.
	second := ensure(t, options(t, dir, t0.Add(30*24*time.Hour)))
	if got := changed(before, current(t, dir)); len(got) != 0 {
		t.Errorf("second Ensure changed %v", got)
	}
	if first.AdminKubeconfig != second.AdminKubeconfig || first.APIServerCert != second.APIServerCert {
		t.Error("bundle paths differ between calls")
	}
}

func TestEnsureReissuesOnChange(t *testing.T) {
	keep := []string{"ca.crt", "ca.key", "sa.key", "sa.pub"}
	kubeconfigs := []string{"admin.kubeconfig", "controller-manager.kubeconfig", "scheduler.kubeconfig", "kwok.kubeconfig"}
	tests := []struct {
		name        string
		mutate      func(*pki.Options)
		wantChanged []string
		wantServer  string
	}{
		{
			name:        "port",
			mutate:      func(o *pki.Options) { o.APIServerPort = 7443 },
			wantChanged: kubeconfigs, // the serving cert's SANs do not depend on the port
			wantServer:  "https://127.0.0.1:7443",
		},
		{
			name:        "advertise IP",
			mutate:      func(o *pki.Options) { o.AdvertiseIP = net.ParseIP("192.168.77.8") },
			wantChanged: []string{"apiserver.crt", "apiserver.key"},
			wantServer:  "https://127.0.0.1:6443",
		},
		{
			name:        "service IP",
			mutate:      func(o *pki.Options) { o.ServiceIP = net.ParseIP("10.0.0.1") },
			wantChanged: []string{"apiserver.crt", "apiserver.key"},
			wantServer:  "https://127.0.0.1:6443",
		},
		{
			name:   "near expiry",
			mutate: func(o *pki.Options) { later := t0.Add(350 * 24 * time.Hour); o.Now = func() time.Time { return later } },
			wantChanged: append([]string{
				"admin.crt", "admin.key", "apiserver-kubelet-client.crt", "apiserver-kubelet-client.key",
				"apiserver-etcd-client.crt", "apiserver-etcd-client.key", "etcd.crt", "etcd.key",
				"apiserver.crt", "apiserver.key", "controller-manager.crt", "controller-manager.key",
				"kwok.crt", "kwok.key", "scheduler.crt", "scheduler.key",
			}, kubeconfigs...),
			wantServer: "https://127.0.0.1:6443",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			o := options(t, dir, t0)
			ensure(t, o)
			before := snapshot(t, dir)
			tt.mutate(&o)
			b := ensure(t, o)
			got := changed(before, current(t, dir))
			want := slices.Clone(tt.wantChanged)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("changed files = %v, want %v", got, want)
			}
			for _, name := range keep {
				if slices.Contains(got, name) {
					t.Errorf("%s changed, want it kept", name)
				}
			}
			if got := readKubeconfig(t, b.AdminKubeconfig).Clusters[0].Cluster.Server; got != tt.wantServer {
				t.Errorf("server = %q, want %q", got, tt.wantServer)
			}
			cert := readCert(t, b.APIServerCert)
			for _, ip := range []net.IP{o.ServiceIP, o.AdvertiseIP} {
				if _, err := cert.Verify(x509.VerifyOptions{DNSName: ip.String(), Roots: caPool(t, b), CurrentTime: o.Now()}); err != nil {
					t.Errorf("serving cert for %s: %v", ip, err)
				}
			}
		})
	}
}

func TestEnsureRepairs(t *testing.T) {
	tests := []struct {
		name      string
		damage    func(t *testing.T, b *pki.Bundle)
		newCA     bool
		keepFiles []string
	}{
		{
			name:      "lost CA key",
			damage:    func(t *testing.T, b *pki.Bundle) { os.Remove(b.CAKey) },
			newCA:     true,
			keepFiles: []string{"sa.key", "sa.pub"},
		},
		{
			name:      "corrupt serving cert",
			damage:    func(t *testing.T, b *pki.Bundle) { os.WriteFile(b.APIServerCert, []byte("garbage"), 0o644) },
			keepFiles: []string{"ca.crt", "ca.key", "sa.key", "sa.pub", "admin.kubeconfig", "admin.crt"},
		},
		{
			name: "serving key of another pair",
			damage: func(t *testing.T, b *pki.Bundle) {
				os.WriteFile(b.APIServerKey, readFile(t, b.KubeletClientKey), 0o600)
			},
			keepFiles: []string{"ca.crt", "ca.key", "sa.key", "admin.kubeconfig"},
		},
		{
			name:      "lost sa.pub",
			damage:    func(t *testing.T, b *pki.Bundle) { os.Remove(b.SAPub) },
			keepFiles: []string{"ca.crt", "sa.key", "apiserver.crt", "admin.kubeconfig"},
		},
		{
			name:      "lost kubeconfig",
			damage:    func(t *testing.T, b *pki.Bundle) { os.Remove(b.AdminKubeconfig) },
			keepFiles: []string{"ca.crt", "sa.key", "apiserver.crt", "admin.crt", "admin.key"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			o := options(t, dir, t0)
			b := ensure(t, o)
			before := current(t, dir)
			tt.damage(t, b)
			b = ensure(t, o)
			after := current(t, dir)
			for _, name := range tt.keepFiles {
				if !bytes.Equal(before[name].content, after[name].content) {
					t.Errorf("%s changed, want it kept", name)
				}
			}
			if gotNew := !bytes.Equal(before["ca.crt"].content, after["ca.crt"].content); gotNew != tt.newCA {
				t.Errorf("new CA = %v, want %v", gotNew, tt.newCA)
			}
			// Whatever happened, everything is consistent again.
			pool := caPool(t, b)
			if _, err := readCert(t, b.APIServerCert).Verify(x509.VerifyOptions{DNSName: "localhost", Roots: pool, CurrentTime: t0}); err != nil {
				t.Errorf("serving cert: %v", err)
			}
			if _, err := tls.LoadX509KeyPair(b.APIServerCert, b.APIServerKey); err != nil {
				t.Errorf("serving pair: %v", err)
			}
			kc := readKubeconfig(t, b.AdminKubeconfig)
			if _, err := parseCertPEM(t, kc.certPEM).Verify(x509.VerifyOptions{
				Roots: pool, CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			}); err != nil {
				t.Errorf("admin cert: %v", err)
			}
			if !bytes.Equal(kc.caPEM, readFile(t, b.CACert)) {
				t.Error("admin kubeconfig embeds a stale CA")
			}
		})
	}
}

func TestEnsureTightensKeyMode(t *testing.T) {
	dir := t.TempDir()
	b := ensure(t, options(t, dir, t0))
	if err := os.Chmod(b.CAKey, 0o644); err != nil {
		t.Fatal(err)
	}
	ensure(t, options(t, dir, t0))
	fi, err := os.Stat(b.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("ca.key mode = %v, want 0600", fi.Mode().Perm())
	}
}

func TestRenewServing(t *testing.T) {
	dir := t.TempDir()
	b := ensure(t, options(t, dir, t0))
	oldNotAfter, err := b.ServingNotAfter()
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(365 * 24 * time.Hour); !oldNotAfter.Equal(want) {
		t.Fatalf("ServingNotAfter = %v, want %v", oldNotAfter, want)
	}
	before := current(t, dir)
	oldAdmin := readKubeconfig(t, b.AdminKubeconfig)

	renewAt := t0.Add(200 * 24 * time.Hour)
	if err := b.RenewServing(renewAt); err != nil {
		t.Fatalf("RenewServing: %v", err)
	}
	newNotAfter, err := b.ServingNotAfter()
	if err != nil {
		t.Fatal(err)
	}
	if want := renewAt.Add(365 * 24 * time.Hour); !newNotAfter.Equal(want) {
		t.Errorf("ServingNotAfter after renewal = %v, want %v", newNotAfter, want)
	}
	after := current(t, dir)
	for _, name := range []string{"ca.crt", "ca.key", "sa.key", "sa.pub"} {
		if !bytes.Equal(before[name].content, after[name].content) {
			t.Errorf("%s changed, want it kept", name)
		}
	}
	for _, name := range []string{"apiserver.crt", "apiserver-kubelet-client.crt", "admin.kubeconfig", "controller-manager.kubeconfig", "scheduler.kubeconfig", "kwok.kubeconfig"} {
		if bytes.Equal(before[name].content, after[name].content) {
			t.Errorf("%s unchanged, want it re-issued", name)
		}
	}
	newAdmin := readKubeconfig(t, b.AdminKubeconfig)
	if !parseCertPEM(t, newAdmin.certPEM).NotAfter.After(parseCertPEM(t, oldAdmin.certPEM).NotAfter) {
		t.Error("admin client cert NotAfter did not move forward")
	}
	if _, err := readCert(t, b.APIServerCert).Verify(x509.VerifyOptions{
		DNSName: "kubernetes.default.svc", Roots: caPool(t, b), CurrentTime: renewAt.Add(300 * 24 * time.Hour),
	}); err != nil {
		t.Errorf("renewed serving cert: %v", err)
	}

	// A later Ensure at the renewal time keeps the renewed material.
	before = snapshot(t, dir)
	ensure(t, options(t, dir, renewAt.Add(time.Hour)))
	if got := changed(before, current(t, dir)); len(got) != 0 {
		t.Errorf("Ensure after RenewServing changed %v", got)
	}

	if err := (&pki.Bundle{}).RenewServing(renewAt); !errors.Is(err, pki.ErrNoOptions) {
		t.Errorf("RenewServing on a bare Bundle = %v, want ErrNoOptions", err)
	}
}

// A renewal (IssuedAfter) re-issues every leaf issued before it, once: the CA and the
// service-account key stay, the kubeconfigs embed the new client certificates, and leaves issued
// at or after the renewal time are kept.
func TestEnsureIssuedAfterRenewsOlderLeaves(t *testing.T) {
	dir := t.TempDir()
	b := ensure(t, options(t, dir, t0))
	leaves := []string{"apiserver.crt", "apiserver.key", "apiserver-kubelet-client.crt", "admin.crt", "admin.kubeconfig",
		"etcd.crt", "etcd.key", "apiserver-etcd-client.crt", "apiserver-etcd-client.key",
		"controller-manager.crt", "controller-manager.kubeconfig", "scheduler.crt", "scheduler.kubeconfig"}
	// The CA, the service-account key, and the kubelets' (KWOK's) certificate, which a control-plane
	// renewal leaves to its own rotation, as kubeadm does.
	kept := []string{"ca.crt", "ca.key", "sa.key", "sa.pub", "kwok.crt", "kwok.kubeconfig"}

	// Renewal requested a day later (with sub-second precision, as the hub records it), done an hour after that.
	requested := t0.Add(24*time.Hour + 300*time.Millisecond)
	renewAt := requested.Add(time.Hour)
	before := snapshot(t, dir)
	o := options(t, dir, renewAt)
	o.IssuedAfter = requested
	ensure(t, o)
	after := current(t, dir)
	for _, name := range kept {
		if !bytes.Equal(before[name].content, after[name].content) {
			t.Errorf("%s changed, want it kept", name)
		}
	}
	for _, name := range leaves {
		if bytes.Equal(before[name].content, after[name].content) {
			t.Errorf("%s unchanged, want it re-issued", name)
		}
	}
	serving := readCert(t, b.APIServerCert)
	if got := pki.IssuedAt(serving); !got.Equal(renewAt.Truncate(time.Second)) {
		t.Errorf("serving cert issued at %v, want %v", got, renewAt)
	}
	if !serving.NotBefore.Before(renewAt) {
		t.Errorf("serving cert NotBefore %v is not backdated before %v", serving.NotBefore, renewAt)
	}
	if _, err := serving.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: caPool(t, b), CurrentTime: renewAt}); err != nil {
		t.Errorf("renewed serving cert does not verify against the kept CA: %v", err)
	}
	admin := readKubeconfig(t, b.AdminKubeconfig)
	if !bytes.Equal(admin.certPEM, readFile(t, filepath.Join(dir, "admin.crt"))) || !bytes.Equal(admin.caPEM, before["ca.crt"].content) {
		t.Error("admin kubeconfig does not embed the renewed client cert and the kept CA")
	}
	if got := pki.IssuedAt(parseCertPEM(t, admin.certPEM)); !got.Equal(renewAt.Truncate(time.Second)) {
		t.Errorf("admin client cert issued at %v, want %v", got, renewAt)
	}

	// Again with the same renewal time: every leaf is newer now, nothing is touched.
	before = snapshot(t, dir)
	o.Now = func() time.Time { return renewAt.Add(time.Hour) }
	ensure(t, o)
	if got := changed(before, current(t, dir)); len(got) != 0 {
		t.Errorf("a second Ensure for the same renewal changed %v", got)
	}

	// Leaves issued within the renewal's second count as issued after it (certificate times are
	// whole seconds), and so do those issued later: a renewal done at the very moment it was
	// requested does not repeat.
	dir2 := t.TempDir()
	at := t0.Add(500 * time.Millisecond)
	o2 := options(t, dir2, at)
	o2.IssuedAfter = at
	ensure(t, o2)
	before = snapshot(t, dir2)
	ensure(t, o2)
	if got := changed(before, current(t, dir2)); len(got) != 0 {
		t.Errorf("leaves issued in the renewal's second were re-issued: %v", got)
	}

	// A renewal time ahead of the clock renews once, not at every Ensure until the clock catches up.
	ahead := options(t, dir2, at.Add(time.Minute))
	ahead.IssuedAfter = at.Add(time.Hour)
	ensure(t, ahead)
	before = snapshot(t, dir2)
	ensure(t, ahead)
	if got := changed(before, current(t, dir2)); len(got) != 0 {
		t.Errorf("a renewal time ahead of the clock re-issued again: %v", got)
	}
}

// Inventory lists the CA, then the serving and client certificates, with when each was issued
// and when it expires.
func TestInventory(t *testing.T) {
	dir := t.TempDir()
	ensure(t, options(t, dir, t0))
	ca, leaves, err := pki.Inventory(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ca.Name != "ca" || !ca.IssuedAt.Equal(t0) || !ca.NotAfter.Equal(t0.Add(pki.CAValidity)) {
		t.Errorf("CA = %+v", ca)
	}
	var names []string
	for _, l := range leaves {
		names = append(names, l.Name)
		if !l.IssuedAt.Equal(t0) || !l.NotAfter.Equal(t0.Add(pki.DefaultValidity)) {
			t.Errorf("%s issued %v, expires %v; want %v and a year later", l.Name, l.IssuedAt, l.NotAfter, t0)
		}
	}
	if want := []string{"apiserver", "etcd", "admin", "controller-manager", "scheduler", "kwok", "apiserver-kubelet-client", "apiserver-etcd-client"}; !slices.Equal(names, want) {
		t.Errorf("leaves = %v, want %v", names, want)
	}
	if _, _, err := pki.Inventory(t.TempDir()); err == nil {
		t.Error("Inventory of an empty directory: no error")
	}
}

func TestEnsureRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		mutate func(*pki.Options)
	}{
		{"no dir", func(o *pki.Options) { o.Dir = "" }},
		{"no cluster name", func(o *pki.Options) { o.ClusterName = "" }},
		{"zero port", func(o *pki.Options) { o.APIServerPort = 0 }},
		{"port too large", func(o *pki.Options) { o.APIServerPort = 70000 }},
		{"no service IP", func(o *pki.Options) { o.ServiceIP = nil }},
		{"negative validity", func(o *pki.Options) { o.Validity = -time.Hour }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(t, dir, t0)
			tt.mutate(&o)
			if _, err := pki.Ensure(o); err == nil {
				t.Error("Ensure succeeded, want an error")
			}
		})
	}
}

// TestKubeconfigTLSHandshake does a real mutual-TLS handshake on 127.0.0.1:
// a server with the apiserver serving cert that requires client certs signed
// by the CA, and clients built only from each kubeconfig's embedded data.
func TestKubeconfigTLSHandshake(t *testing.T) {
	b := ensure(t, options(t, t.TempDir(), time.Now()))
	serving, err := tls.LoadX509KeyPair(b.APIServerCert, b.APIServerKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{serving},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    caPool(t, b),
	}
	srv.StartTLS()
	defer srv.Close()

	clientFor := func(t *testing.T, kc parsedKubeconfig, withCert bool) *http.Client {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(kc.caPEM) {
			t.Fatal("no CA in certificate-authority-data")
		}
		cfg := &tls.Config{RootCAs: pool}
		if withCert {
			pair, err := tls.X509KeyPair(kc.certPEM, kc.keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	}

	tests := []struct {
		path, wantCN string
	}{
		{b.AdminKubeconfig, "kubernetes-admin"},
		{b.ControllerManagerKubeconfig, "system:kube-controller-manager"},
		{b.SchedulerKubeconfig, "system:kube-scheduler"},
		{b.KwokKubeconfig, "kwok-controller"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			kc := readKubeconfig(t, tt.path)
			if got := kc.Clusters[0].Cluster.Server; got != "https://127.0.0.1:6443" {
				t.Errorf("server = %q, want https://127.0.0.1:6443", got)
			}
			// srv.URL is https://127.0.0.1:<port>: the client checks the 127.0.0.1 IP SAN.
			resp, err := clientFor(t, kc, true).Get(srv.URL)
			if err != nil {
				t.Fatalf("GET over mTLS: %v", err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || string(body) != tt.wantCN {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, tt.wantCN)
			}
		})
	}

	t.Run("no client cert is refused", func(t *testing.T) {
		resp, err := clientFor(t, readKubeconfig(t, b.AdminKubeconfig), false).Get(srv.URL)
		if err == nil {
			resp.Body.Close()
			t.Fatal("handshake without a client cert succeeded")
		}
	})
}

// A PKI made before etcd served TLS gets etcd's certificates from the next Ensure, and nothing else
// changes: the running components keep their certificates and the kubeconfigs handed out stay valid.
// etcd's certificate serves on loopback and also authenticates it to its peers.
func TestEnsureAddsEtcdCertificatesToAnOlderPKI(t *testing.T) {
	dir := t.TempDir()
	b := ensure(t, options(t, dir, t0))
	for _, f := range []string{b.EtcdCert, b.EtcdKey, b.EtcdClientCert, b.EtcdClientKey} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	if _, leaves, err := pki.Inventory(dir); err != nil || len(leaves) != 6 {
		t.Fatalf("Inventory of the older PKI = %d leaves, %v; want the 6 it has", len(leaves), err)
	}
	before := snapshot(t, dir)
	b = ensure(t, options(t, dir, t0.Add(time.Hour)))
	want := []string{"apiserver-etcd-client.crt", "apiserver-etcd-client.key", "etcd.crt", "etcd.key"}
	if got := changed(before, current(t, dir)); !slices.Equal(got, want) {
		t.Errorf("changed files = %v, want only %v", got, want)
	}
	etcd := readCert(t, b.EtcdCert)
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := etcd.Verify(x509.VerifyOptions{DNSName: "127.0.0.1", Roots: caPool(t, b), CurrentTime: t0.Add(time.Hour),
			KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("etcd cert for usage %v: %v", usage, err)
		}
	}
	if _, err := readCert(t, b.EtcdClientCert).Verify(x509.VerifyOptions{Roots: caPool(t, b), CurrentTime: t0.Add(time.Hour),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("etcd client cert: %v", err)
	}
	if fi, err := os.Stat(b.EtcdKey); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("etcd.key mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}
