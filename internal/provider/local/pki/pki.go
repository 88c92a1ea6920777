// Package pki generates and maintains the certificates, keys and kubeconfigs
// that one local cluster's control plane needs: a cluster CA, the
// kube-apiserver and etcd serving certificates, the service-account signing
// key pair and client identities for the admin, kube-controller-manager,
// kube-scheduler, KWOK, and the apiserver's kubelet and etcd clients.
//
// Everything lives in one directory. Ensure is idempotent: material that is
// present and still valid is loaded, never rewritten, so restarting a cluster
// keeps its CA (and with it every kubeconfig handed out) and its
// service-account key (and with it every token issued).
package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// File names inside Options.Dir.
const (
	caCertFile            = "ca.crt"
	caKeyFile             = "ca.key"
	apiServerCertFile     = "apiserver.crt"
	apiServerKeyFile      = "apiserver.key"
	saKeyFile             = "sa.key"
	saPubFile             = "sa.pub"
	kubeletClientBaseName = "apiserver-kubelet-client"
	etcdCertFile          = "etcd.crt"
	etcdKeyFile           = "etcd.key"
	etcdClientBaseName    = "apiserver-etcd-client"
)

const (
	// DefaultValidity is the lifetime of the serving and client certificates.
	DefaultValidity = 365 * 24 * time.Hour
	// CAValidity is the lifetime of the cluster CA.
	CAValidity = 10 * 365 * 24 * time.Hour
)

// ErrNoOptions is returned by RenewServing on a Bundle that was not returned
// by Ensure, since it does not know which names the serving cert must carry.
var ErrNoOptions = errors.New("pki: bundle was not created by Ensure")

// Options describe one cluster's PKI.
type Options struct {
	// Dir holds every file; created with mode 0700 if missing.
	Dir string
	// ClusterName names the cluster, context and users in the kubeconfigs.
	ClusterName string
	// APIServerPort is the port kube-apiserver listens on at 127.0.0.1.
	APIServerPort int
	// ServiceIP is the first IP of the service CIDR (e.g. 10.96.0.1), the
	// address of the in-cluster "kubernetes" Service. Required.
	ServiceIP net.IP
	// AdvertiseIP is kube-apiserver's --advertise-address. Optional.
	AdvertiseIP net.IP
	// Validity of the serving and client certs; DefaultValidity if zero.
	// Certificates within Validity/10 of expiry are re-issued by Ensure.
	Validity time.Duration
	// IssuedAfter, when set, is a certificate renewal: every leaf (the serving
	// and client certificates, and the kubeconfigs embedding them) issued
	// before it is re-issued, but for the kubelets' (KWOK's); the CA and the
	// service-account key are kept.
	// Leaves issued at or after it are kept, so an Ensure that is repeated
	// (or interrupted and run again) renews each leaf once. Certificate times
	// have a resolution of one second, so a leaf issued within IssuedAfter's
	// second counts as issued after it.
	IssuedAfter time.Time
	// Now is the clock; time.Now if nil.
	Now func() time.Time
}

// Bundle holds the paths of everything Ensure wrote. The client certificates
// of the admin, controller-manager, scheduler and KWOK are embedded in their
// kubeconfigs (and also kept as <name>.crt/<name>.key next to them).
type Bundle struct {
	Dir string

	CACert string
	// CAKey is the CA's private key, for kube-controller-manager's
	// --cluster-signing-key-file.
	CAKey string

	APIServerCert string
	APIServerKey  string

	SAKey string
	SAPub string

	KubeletClientCert string
	KubeletClientKey  string

	// EtcdCert and EtcdKey are etcd's serving certificate, also its peer certificate (for
	// both, it carries the server and client usages); the cluster CA verifies etcd's clients.
	EtcdCert string
	EtcdKey  string
	// EtcdClientCert and EtcdClientKey are kube-apiserver's client certificate for etcd.
	EtcdClientCert string
	EtcdClientKey  string

	AdminKubeconfig             string
	ControllerManagerKubeconfig string
	SchedulerKubeconfig         string
	KwokKubeconfig              string

	opts *Options // nil unless returned by Ensure
}

// clientSpec is one client identity signed by the cluster CA.
type clientSpec struct {
	base       string // file base name: <base>.crt, <base>.key, <base>.kubeconfig
	cn         string
	orgs       []string
	kubeconfig bool
	// kubelet: the certificate of a kubelet (KWOK plays them all). As with kubeadm, a control-plane
	// certificate renewal (IssuedAfter) leaves it alone; it is re-issued before it expires.
	kubelet bool
}

var clients = []clientSpec{
	{base: "admin", cn: "kubernetes-admin", orgs: []string{"system:masters"}, kubeconfig: true},
	{base: "controller-manager", cn: "system:kube-controller-manager", kubeconfig: true},
	{base: "scheduler", cn: "system:kube-scheduler", kubeconfig: true},
	{base: "kwok", cn: "kwok-controller", orgs: []string{"system:masters"}, kubeconfig: true, kubelet: true},
	{base: kubeletClientBaseName, cn: "kube-apiserver-kubelet-client", orgs: []string{"system:masters"}},
	{base: etcdClientBaseName, cn: "kube-apiserver-etcd-client"},
}

// Ensure creates the cluster's PKI in o.Dir, or loads it when it is already
// there and valid. Whatever is missing, corrupt, expiring, signed by another
// CA or (for the serving cert) carrying other names is re-issued; kubeconfigs
// are rewritten only when their content would change (e.g. a new port).
// A CA or service-account key that is present and valid is always kept.
func Ensure(o Options) (*Bundle, error) {
	if err := o.normalize(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating pki dir: %w", err)
	}
	b := newBundle(&o)
	now := o.Now()

	ca, err := b.ensureCA(now)
	if err != nil {
		return nil, err
	}
	if err := b.ensureServiceAccountKey(); err != nil {
		return nil, err
	}
	if err := b.ensureLeaves(ca, now, false); err != nil {
		return nil, err
	}
	return b, nil
}

// RenewServing re-issues, as of now, the apiserver serving certificate and
// every client certificate and kubeconfig, keeping the CA and the
// service-account key. The running components must be restarted to use them.
func (b *Bundle) RenewServing(now time.Time) error {
	if b.opts == nil {
		return ErrNoOptions
	}
	ca, err := loadKeyPair(b.CACert, b.CAKey)
	if err != nil {
		return fmt.Errorf("loading CA: %w", err)
	}
	if !validCA(ca, now, 0) {
		return fmt.Errorf("renewing certificates: CA %s is not valid at %s", b.CACert, now.UTC().Format(time.RFC3339))
	}
	return b.ensureLeaves(ca, now, true)
}

// ServingNotAfter returns the expiry of the apiserver serving certificate.
func (b *Bundle) ServingNotAfter() (time.Time, error) {
	c, err := loadCert(b.APIServerCert)
	if err != nil {
		return time.Time{}, fmt.Errorf("loading serving cert: %w", err)
	}
	return c.NotAfter, nil
}

// AdminKubeconfigBytes returns the content of the admin kubeconfig.
func (b *Bundle) AdminKubeconfigBytes() ([]byte, error) {
	return os.ReadFile(b.AdminKubeconfig)
}

func (o *Options) normalize() error {
	if o.Dir == "" {
		return errors.New("pki: Options.Dir is required")
	}
	if o.ClusterName == "" {
		return errors.New("pki: Options.ClusterName is required")
	}
	if o.APIServerPort <= 0 || o.APIServerPort > 65535 {
		return fmt.Errorf("pki: invalid APIServerPort %d", o.APIServerPort)
	}
	if o.ServiceIP == nil || o.ServiceIP.To16() == nil {
		return errors.New("pki: Options.ServiceIP is required")
	}
	if o.Validity < 0 {
		return fmt.Errorf("pki: negative Validity %s", o.Validity)
	}
	if o.Validity == 0 {
		o.Validity = DefaultValidity
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

func newBundle(o *Options) *Bundle {
	p := func(name string) string { return filepath.Join(o.Dir, name) }
	return &Bundle{
		Dir:                         o.Dir,
		CACert:                      p(caCertFile),
		CAKey:                       p(caKeyFile),
		APIServerCert:               p(apiServerCertFile),
		APIServerKey:                p(apiServerKeyFile),
		SAKey:                       p(saKeyFile),
		SAPub:                       p(saPubFile),
		KubeletClientCert:           p(kubeletClientBaseName + ".crt"),
		KubeletClientKey:            p(kubeletClientBaseName + ".key"),
		EtcdCert:                    p(etcdCertFile),
		EtcdKey:                     p(etcdKeyFile),
		EtcdClientCert:              p(etcdClientBaseName + ".crt"),
		EtcdClientKey:               p(etcdClientBaseName + ".key"),
		AdminKubeconfig:             p("admin.kubeconfig"),
		ControllerManagerKubeconfig: p("controller-manager.kubeconfig"),
		SchedulerKubeconfig:         p("scheduler.kubeconfig"),
		KwokKubeconfig:              p("kwok.kubeconfig"),
		opts:                        o,
	}
}

// renewBefore is how long before expiry Ensure replaces a certificate, so a
// control plane started from a loaded cert does not fail soon after.
func (o *Options) renewBefore() time.Duration { return o.Validity / 10 }

// outdated reports whether a loaded leaf was issued before the renewal that
// o.IssuedAfter asks for. A leaf's issue time is its NotBefore plus the
// backdating issue applies.
// A renewal time ahead of the clock counts as now: the leaves are renewed
// once, not again at every Ensure until the clock catches up.
func (o *Options) outdated(kp *keyPair, now time.Time) bool {
	if o.IssuedAfter.IsZero() || kp == nil {
		return false
	}
	after := o.IssuedAfter
	if after.After(now) {
		after = now
	}
	return IssuedAt(kp.cert).Before(after.Truncate(time.Second))
}

// IssuedAt is when a certificate of this package was issued: its NotBefore
// without the backdating (a certificate's times have a resolution of one
// second).
func IssuedAt(c *x509.Certificate) time.Time { return c.NotBefore.Add(notBeforeSkew) }

func (b *Bundle) server() string {
	return "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(b.opts.APIServerPort))
}

func (b *Bundle) ensureCA(now time.Time) (*keyPair, error) {
	ca, err := loadKeyPair(b.CACert, b.CAKey)
	if err == nil && validCA(ca, now, b.opts.renewBefore()) {
		return ca, nil
	}
	if err != nil && !isInvalid(err) {
		return nil, fmt.Errorf("loading CA: %w", err)
	}
	ca, err = newCA(b.opts.ClusterName, now)
	if err != nil {
		return nil, err
	}
	if err := ca.write(b.CACert, b.CAKey); err != nil {
		return nil, fmt.Errorf("writing CA: %w", err)
	}
	return ca, nil
}

// ensureLeaves issues (when force, or when invalid) the serving cert and the
// client certs, then brings the kubeconfigs up to date.
func (b *Bundle) ensureLeaves(ca *keyPair, now time.Time, force bool) error {
	o := b.opts
	dns, ips := servingSANs(o)
	serving, err := loadKeyPair(b.APIServerCert, b.APIServerKey)
	if err != nil && !isInvalid(err) {
		return fmt.Errorf("loading serving cert: %w", err)
	}
	if force || err != nil || o.outdated(serving, now) || !validServing(serving, ca, now, o.renewBefore(), dns, ips) {
		serving, err = issue(ca, leafTemplate{
			cn: "kube-apiserver", dns: dns, ips: ips,
			usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}, now, o.Validity)
		if err != nil {
			return fmt.Errorf("issuing serving cert: %w", err)
		}
		if err := serving.write(b.APIServerCert, b.APIServerKey); err != nil {
			return fmt.Errorf("writing serving cert: %w", err)
		}
	}

	// etcd is reached on loopback only. A PKI made before etcd served TLS lacks the files: they
	// are issued here like any missing leaf.
	etcdDNS, etcdIPs := []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1).To4()}
	etcd, err := loadKeyPair(b.EtcdCert, b.EtcdKey)
	if err != nil && !isInvalid(err) {
		return fmt.Errorf("loading etcd cert: %w", err)
	}
	if force || err != nil || o.outdated(etcd, now) || !validServing(etcd, ca, now, o.renewBefore(), etcdDNS, etcdIPs) ||
		!verifies(etcd, ca, now, x509.ExtKeyUsageClientAuth) {
		etcd, err = issue(ca, leafTemplate{
			cn: "etcd", dns: etcdDNS, ips: etcdIPs,
			usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}, now, o.Validity)
		if err != nil {
			return fmt.Errorf("issuing etcd cert: %w", err)
		}
		if err := etcd.write(b.EtcdCert, b.EtcdKey); err != nil {
			return fmt.Errorf("writing etcd cert: %w", err)
		}
	}

	for _, c := range clients {
		certPath := filepath.Join(b.Dir, c.base+".crt")
		keyPath := filepath.Join(b.Dir, c.base+".key")
		kp, err := loadKeyPair(certPath, keyPath)
		if err != nil && !isInvalid(err) {
			return fmt.Errorf("loading %s client cert: %w", c.base, err)
		}
		if force || err != nil || (o.outdated(kp, now) && !c.kubelet) || !validClient(kp, ca, now, o.renewBefore(), c) {
			kp, err = issue(ca, leafTemplate{cn: c.cn, orgs: c.orgs, usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, now, o.Validity)
			if err != nil {
				return fmt.Errorf("issuing %s client cert: %w", c.base, err)
			}
			if err := kp.write(certPath, keyPath); err != nil {
				return fmt.Errorf("writing %s client cert: %w", c.base, err)
			}
		}
		if !c.kubeconfig {
			continue
		}
		kc := Kubeconfig(b.server(), o.ClusterName, c.base, ca.certPEM, kp.certPEM, kp.keyPEM)
		if err := writeIfChanged(filepath.Join(b.Dir, c.base+".kubeconfig"), kc, 0o600); err != nil {
			return fmt.Errorf("writing %s kubeconfig: %w", c.base, err)
		}
	}
	return nil
}

// servingSANs are the names kube-apiserver is reached by: on loopback, and
// in-cluster through the "kubernetes" Service.
func servingSANs(o *Options) ([]string, []net.IP) {
	dns := []string{
		"localhost",
		"kubernetes",
		"kubernetes.default",
		"kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local",
	}
	var ips []net.IP
	seen := map[string]bool{}
	for _, ip := range []net.IP{net.IPv4(127, 0, 0, 1), o.ServiceIP, o.AdvertiseIP} {
		if ip == nil || seen[ip.String()] {
			continue
		}
		seen[ip.String()] = true
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		ips = append(ips, ip)
	}
	return dns, ips
}

// CertificateInfo describes one certificate of a PKI, for an inventory.
type CertificateInfo struct {
	Name     string // the file's base name: ca, apiserver, admin, …
	IssuedAt time.Time
	NotAfter time.Time
}

// Inventory reads the CA and the leaf certificates (the serving certificates, then the client
// certificates) that Ensure keeps in dir. A leaf that is missing (etcd's, in a PKI made before
// etcd served TLS and not ensured since) is left out.
func Inventory(dir string) (ca CertificateInfo, leaves []CertificateInfo, err error) {
	read := func(base string) (CertificateInfo, error) {
		c, err := loadCert(filepath.Join(dir, base+".crt"))
		if err != nil {
			return CertificateInfo{}, fmt.Errorf("reading certificate %s: %w", base, err)
		}
		return CertificateInfo{Name: base, IssuedAt: IssuedAt(c), NotAfter: c.NotAfter}, nil
	}
	if ca, err = read("ca"); err != nil {
		return ca, nil, err
	}
	bases := []string{"apiserver", "etcd"}
	for _, c := range clients {
		bases = append(bases, c.base)
	}
	for _, base := range bases {
		if _, err := os.Stat(filepath.Join(dir, base+".crt")); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		info, err := read(base)
		if err != nil {
			return ca, nil, err
		}
		leaves = append(leaves, info)
	}
	return ca, leaves, nil
}
