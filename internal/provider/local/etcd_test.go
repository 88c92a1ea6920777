package local_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/easelhq/easel/internal/provider/local"
)

// etcd serves TLS only and takes only clients with a certificate of the cluster's CA, on its
// client and its peer port; kube-apiserver, which has one, works. A control plane whose etcd
// served plain HTTP (made by an earlier easel) moves to TLS on its next Ensure and keeps its data.
func TestEtcdRequiresAClientCertificateOfTheClusterCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etcdtls")
	bins := binaries(t)
	cp := &local.ControlPlane{Name: "etcdtls", Dir: dir, Bins: bins}
	t.Cleanup(func() { cp.Destroy() })
	ctx := context.Background()

	// The earlier easel's etcd: plain HTTP, a key written, stopped.
	oldPorts := freePorts(t, 2)
	old := exec.Command(bins.Etcd, "--name=default", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls=http://127.0.0.1:"+oldPorts[0], "--advertise-client-urls=http://127.0.0.1:"+oldPorts[0],
		"--listen-peer-urls=http://127.0.0.1:"+oldPorts[1], "--initial-advertise-peer-urls=http://127.0.0.1:"+oldPorts[1],
		"--initial-cluster=default=http://127.0.0.1:"+oldPorts[1], "--unsafe-no-fsync")
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the plain-HTTP etcd stores a key", func() error {
		_, err := etcdKV(http.DefaultClient, "http://127.0.0.1:"+oldPorts[0], "put", "easel-test", "kept")
		return err
	})
	old.Process.Signal(os.Interrupt)
	old.Wait()

	eventually(t, 60*time.Second, "control plane up", func() error { return up(ctx, cp) })
	c, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("kube-apiserver over etcd with TLS: %v", err)
	}

	var st struct{ Ports local.Ports }
	data, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	json.Unmarshal(data, &st)
	pkiDir := filepath.Join(dir, "pki")
	caPEM, _ := os.ReadFile(filepath.Join(pkiDir, "ca.crt"))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	apiserverCert, err := tls.LoadX509KeyPair(filepath.Join(pkiDir, "apiserver-etcd-client.crt"), filepath.Join(pkiDir, "apiserver-etcd-client.key"))
	if err != nil {
		t.Fatal(err)
	}
	clientURL := "https://127.0.0.1:" + strconv.Itoa(st.Ports.Etcd)
	withCert := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
	}

	value, err := etcdKV(withCert(apiserverCert), clientURL, "range", "easel-test", "")
	if err != nil || value != "kept" {
		t.Fatalf("the key written over plain HTTP, read with the apiserver's certificate = %q, %v; want kept", value, err)
	}
	tests := []struct {
		name    string
		client  *http.Client
		url     string
		wantErr string
	}{
		{"plain HTTP", http.DefaultClient, "http://127.0.0.1:" + strconv.Itoa(st.Ports.Etcd), ""},
		{"no client certificate", withCert(), clientURL, "certificate required"},
		{"a certificate of another CA", insisting(roots, foreignCert(t)), clientURL, "unknown certificate authority"},
		{"no client certificate on the peer port", withCert(), "https://127.0.0.1:" + strconv.Itoa(st.Ports.EtcdPeer), "certificate required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value, err := etcdKV(tt.client, tt.url, "range", "easel-test", "")
			if err == nil {
				t.Fatalf("etcd answered %q", value)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("etcd refused with %v; want %q", err, tt.wantErr)
			}
		})
	}
}

// etcdKV puts a key or reads it ("range") through etcd's JSON gateway.
func etcdKV(c *http.Client, url, op, key, value string) (string, error) {
	body, _ := json.Marshal(map[string][]byte{"key": []byte(key), "value": []byte(value)})
	resp, err := c.Post(url+"/v3/kv/"+op, "application/json", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Kvs []struct{ Value []byte }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		return "", fmt.Errorf("etcd answered %d: %v", resp.StatusCode, err)
	}
	if len(out.Kvs) == 0 {
		return "", nil
	}
	return string(out.Kvs[0].Value), nil
}

// insisting is a client that presents cert even when the server asks for one of other CAs (Go's
// client would otherwise send none).
func insisting(roots *x509.CertPool, cert tls.Certificate) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }}}}
}

// foreignCert is a client certificate that no cluster's CA signed.
func foreignCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kube-apiserver-etcd-client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var ports []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	return ports
}
