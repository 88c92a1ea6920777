package local_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/easelhq/easel/internal/provider/local"
	"github.com/easelhq/easel/internal/provider/local/pki"
)

// A certificate renewal re-issues the leaf certificates and restarts the components that use them
// (etcd keeps running: it reads its certificate at every handshake, and serves the new one), and the
// API server serves the new certificate. A hub that
// crashed after re-issuing the files but before restarting the components restarts them on its
// next pass, without being told of the renewal again.
func TestCertificateRenewalRestartsComponents(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "renew")
	cp := &local.ControlPlane{Name: "renew", Dir: dir, Bins: binaries(t)}
	t.Cleanup(func() { cp.Destroy() })
	ctx := context.Background()
	eventually(t, 60*time.Second, "control plane up", func() error { return up(ctx, cp) })
	before := pidsByName(t, dir)
	servingBefore := serving(t, cp)

	// The crash: the files are re-issued (as Ensure would, with the control plane's own options),
	// the components are not restarted.
	u, _ := url.Parse(cp.Server())
	_, portStr, _ := net.SplitHostPort(u.Host)
	port, _ := strconv.Atoi(portStr)
	renewal := time.Now()
	if _, err := pki.Ensure(pki.Options{Dir: filepath.Join(dir, "pki"), ClusterName: "renew", APIServerPort: port,
		ServiceIP: net.ParseIP("10.96.0.1"), AdvertiseIP: net.ParseIP("192.0.2.10"), IssuedAfter: renewal}); err != nil {
		t.Fatal(err)
	}
	// (kube-apiserver reloads its serving certificate from the file by itself; its kubelet client
	// certificate, and the other components' kubeconfigs, are read at start.)

	// The restarted hub: a new handle that is not told of the renewal.
	again := &local.ControlPlane{Name: "renew", Dir: dir, Bins: cp.Bins}
	eventually(t, 90*time.Second, "control plane up after the renewal", func() error { return up(ctx, again) })
	after := pidsByName(t, dir)
	if after["etcd"] != before["etcd"] {
		t.Errorf("etcd was restarted (%d → %d); it reads its renewed certificate at the next handshake", before["etcd"], after["etcd"])
	}
	if served, onDisk := etcdServing(t, dir), readCertFile(t, filepath.Join(dir, "pki", "etcd.crt")); !served.Equal(onDisk) ||
		pki.IssuedAt(served).Before(renewal.Truncate(time.Second)) {
		t.Errorf("etcd serves a certificate issued at %s, not the renewed one", pki.IssuedAt(served))
	}
	if after["kwok"] != before["kwok"] {
		t.Errorf("kwok was restarted (%d → %d); a control-plane renewal leaves the kubelets' certificate alone", before["kwok"], after["kwok"])
	}
	for _, name := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		if after[name] == before[name] {
			t.Errorf("%s was not restarted (pid %d) after its certificates were renewed", name, after[name])
		}
	}
	servingAfter := serving(t, cp)
	onDisk, _ := os.ReadFile(filepath.Join(dir, "pki", "apiserver.crt"))
	block, _ := pem.Decode(onDisk)
	if servingAfter.Equal(servingBefore) || block == nil || string(block.Bytes) != string(servingAfter.Raw) {
		t.Fatal("the API server does not serve the renewed certificate")
	}
	if issued := pki.IssuedAt(servingAfter); issued.Before(renewal.Truncate(time.Second)) {
		t.Fatalf("the served certificate was issued at %s, before the renewal at %s", issued, renewal)
	}
	c, err := again.Client() // the new admin kubeconfig
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("the new admin kubeconfig: %v", err)
	}

	// Done once: the same renewal, asked for again, changes nothing.
	again.CertificatesIssuedAfter = renewal
	if err := up(ctx, again); err != nil {
		t.Fatal(err)
	}
	if got := pidsByName(t, dir); !maps.Equal(got, after) {
		t.Fatalf("the same renewal again restarted components: %v → %v", after, got)
	}
}

func pidsByName(t *testing.T, dir string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Processes []struct {
			Name string
			PID  int
		}
	}
	json.Unmarshal(data, &st)
	out := map[string]int{}
	for _, p := range st.Processes {
		out[p.Name] = p.PID
	}
	return out
}

// serving is the certificate the control plane's API server presents, verified with its CA.
func serving(t *testing.T, cp *local.ControlPlane) *x509.Certificate {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(cp.Dir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	u, _ := url.Parse(cp.Server())
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatalf("dialing the API server: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// etcdServing is the certificate the control plane's etcd presents to a client of the cluster's CA.
func etcdServing(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	pkiDir := filepath.Join(dir, "pki")
	pool := x509.NewCertPool()
	pool.AddCert(readCertFile(t, filepath.Join(pkiDir, "ca.crt")))
	cert, err := tls.LoadX509KeyPair(filepath.Join(pkiDir, "apiserver-etcd-client.crt"), filepath.Join(pkiDir, "apiserver-etcd-client.key"))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	var st struct{ Ports local.Ports }
	json.Unmarshal(data, &st)
	conn, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(st.Ports.Etcd), &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatalf("dialing etcd: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

func readCertFile(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s holds no PEM", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
