package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"slices"
	"time"

	"github.com/easelhq/easel/internal/atomicfile"
)

// errInvalid marks material that is missing or unusable and should be
// regenerated, as opposed to an I/O error that must be reported (regenerating
// a CA because its key was unreadable would silently break every client).
var errInvalid = errors.New("missing or invalid")

func isInvalid(err error) bool { return errors.Is(err, errInvalid) }

// keyPair is a certificate with its private key and their PEM encodings as
// written on disk (kubeconfigs embed these exact bytes, so they are stable).
type keyPair struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

// write stores the key before the cert: an interruption in between leaves a
// mismatched pair, which the next Ensure detects and replaces.
func (kp *keyPair) write(certPath, keyPath string) error {
	if err := atomicfile.Write(keyPath, kp.keyPEM, 0o600); err != nil {
		return err
	}
	return atomicfile.Write(certPath, kp.certPEM, 0o644)
}

func readPEMFile(path string) ([]byte, *pem.Block, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w: %s does not exist", errInvalid, path)
	}
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, nil, fmt.Errorf("%w: %s holds no PEM block", errInvalid, path)
	}
	return data, block, nil
}

func loadCert(path string) (*x509.Certificate, error) {
	c, _, err := loadCertPEM(path)
	return c, err
}

func loadCertPEM(path string) (*x509.Certificate, []byte, error) {
	data, block, err := readPEMFile(path)
	if err != nil {
		return nil, nil, err
	}
	if block.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("%w: %s holds a %q PEM block", errInvalid, path, block.Type)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: parsing %s: %v", errInvalid, path, err)
	}
	return c, data, nil
}

func loadKey(path string) (crypto.Signer, []byte, error) {
	data, block, err := readPEMFile(path)
	if err != nil {
		return nil, nil, err
	}
	key, err := parsePrivateKey(block)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: parsing %s: %v", errInvalid, path, err)
	}
	if err := fixKeyMode(path); err != nil {
		return nil, nil, err
	}
	return key, data, nil
}

// fixKeyMode tightens a private key file that became readable by others;
// it changes the mode only, not the content or mtime.
func fixKeyMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return os.Chmod(path, 0o600)
	}
	return nil
}

func parsePrivateKey(block *pem.Block) (crypto.Signer, error) {
	switch block.Type {
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported key type %T", k)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
	}
}

func loadKeyPair(certPath, keyPath string) (*keyPair, error) {
	c, certPEM, err := loadCertPEM(certPath)
	if err != nil {
		return nil, err
	}
	k, keyPEM, err := loadKey(keyPath)
	if err != nil {
		return nil, err
	}
	pub, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(k.Public()) {
		return nil, fmt.Errorf("%w: %s does not match %s", errInvalid, keyPath, certPath)
	}
	return &keyPair{cert: c, key: k, certPEM: certPEM, keyPEM: keyPEM}, nil
}

// fresh reports whether c is valid at now and for at least margin more.
func fresh(c *x509.Certificate, now time.Time, margin time.Duration) bool {
	return !now.Before(c.NotBefore) && now.Add(margin).Before(c.NotAfter)
}

func validCA(ca *keyPair, now time.Time, margin time.Duration) bool {
	c := ca.cert
	return c.IsCA && c.BasicConstraintsValid && c.KeyUsage&x509.KeyUsageCertSign != 0 &&
		c.CheckSignatureFrom(c) == nil && fresh(c, now, margin)
}

func verifies(kp *keyPair, ca *keyPair, now time.Time, usage x509.ExtKeyUsage) bool {
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	_, err := kp.cert.Verify(x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{usage},
	})
	return err == nil
}

func validServing(kp, ca *keyPair, now time.Time, margin time.Duration, dns []string, ips []net.IP) bool {
	if !fresh(kp.cert, now, margin) || !verifies(kp, ca, now, x509.ExtKeyUsageServerAuth) {
		return false
	}
	return sameStrings(kp.cert.DNSNames, dns) && sameStrings(ipStrings(kp.cert.IPAddresses), ipStrings(ips))
}

func validClient(kp, ca *keyPair, now time.Time, margin time.Duration, spec clientSpec) bool {
	if !fresh(kp.cert, now, margin) || !verifies(kp, ca, now, x509.ExtKeyUsageClientAuth) {
		return false
	}
	return kp.cert.Subject.CommonName == spec.cn && sameStrings(kp.cert.Subject.Organization, spec.orgs)
}

func ipStrings(ips []net.IP) []string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return s
}

// sameStrings compares as sets.
func sameStrings(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func newECKey() (*ecdsa.PrivateKey, []byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding key: %w", err)
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// notBeforeSkew backdates certificates a little so that a process whose clock
// is a moment behind still accepts them.
const notBeforeSkew = time.Minute

func newCA(clusterName string, now time.Time) (*keyPair, error) {
	key, keyPEM, err := newECKey()
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: clusterName + "-ca", Organization: []string{"easel"}},
		NotBefore:             now.Add(-notBeforeSkew).UTC(),
		NotAfter:              now.Add(CAValidity).UTC(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("creating CA certificate: %w", err)
	}
	return finish(der, key, keyPEM)
}

type leafTemplate struct {
	cn     string
	orgs   []string
	dns    []string
	ips    []net.IP
	usages []x509.ExtKeyUsage
}

// issue signs a new leaf; its NotAfter never outlives the CA's, since such a
// certificate would not verify after the CA expires anyway.
func issue(ca *keyPair, t leafTemplate, now time.Time, validity time.Duration) (*keyPair, error) {
	key, keyPEM, err := newECKey()
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: t.cn, Organization: t.orgs},
		NotBefore:             now.Add(-notBeforeSkew).UTC(),
		NotAfter:              notAfter.UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           t.usages,
		BasicConstraintsValid: true,
		DNSNames:              t.dns,
		IPAddresses:           t.ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("signing certificate for %s: %w", t.cn, err)
	}
	return finish(der, key, keyPEM)
}

func finish(der []byte, key crypto.Signer, keyPEM []byte) (*keyPair, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing new certificate: %w", err)
	}
	return &keyPair{
		cert:    c,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  keyPEM,
	}, nil
}

// ensureServiceAccountKey keeps a valid sa.key whatever happens (every
// service-account token in the cluster is signed by it) and rewrites sa.pub
// from it when that is missing or does not match.
func (b *Bundle) ensureServiceAccountKey() error {
	key, _, err := loadKey(b.SAKey)
	if err != nil && !isInvalid(err) {
		return fmt.Errorf("loading service-account key: %w", err)
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if err != nil || !ok || rsaKey.N.BitLen() < 2048 {
		rsaKey, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return fmt.Errorf("generating service-account key: %w", err)
		}
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})
		if err := atomicfile.Write(b.SAKey, keyPEM, 0o600); err != nil {
			return fmt.Errorf("writing service-account key: %w", err)
		}
	}
	der, err := x509.MarshalPKIXPublicKey(rsaKey.Public())
	if err != nil {
		return fmt.Errorf("encoding service-account public key: %w", err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	if existing, err := os.ReadFile(b.SAPub); err == nil && samePublicKey(existing, rsaKey) {
		return nil
	}
	if err := atomicfile.Write(b.SAPub, pubPEM, 0o644); err != nil {
		return fmt.Errorf("writing service-account public key: %w", err)
	}
	return nil
}

func samePublicKey(pubPEM []byte, key *rsa.PrivateKey) bool {
	block, _ := pem.Decode(pubPEM)
	if block == nil {
		return false
	}
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return false
	}
	if err != nil {
		return false
	}
	return key.PublicKey.Equal(pub)
}
