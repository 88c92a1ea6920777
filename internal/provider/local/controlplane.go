// Package local is the `local` provider: for each cluster a real Kubernetes control plane (etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler) and KWOK simulating its kubelets, run as
// detached child processes on 127.0.0.1, with the cluster's own PKI. See
// docs/design/001-local-provider-engine-agent.md.
package local

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/easelhq/easel/internal/atomicfile"
	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/logctx"
	"github.com/easelhq/easel/internal/provider/local/pki"
)

// Network settings shared by every local cluster (each has its own API server, so they never clash).
const (
	ServiceCIDR = "10.96.0.0/16"
	PodCIDR     = "10.244.0.0/16"
	// advertiseIP is kube-apiserver's --advertise-address: it must not be a loopback address (the
	// "kubernetes" Endpoints sync fails every 10 s otherwise) while the server binds 127.0.0.1.
	advertiseIP = "192.0.2.10"
)

var serviceIP = net.ParseIP("10.96.0.1")

// Ports are a control plane's loopback ports, allocated once and kept across restarts.
type Ports struct {
	Etcd              int `json:"etcd"`
	EtcdPeer          int `json:"etcdPeer"`
	APIServer         int `json:"apiServer"`
	ControllerManager int `json:"controllerManager"`
	Scheduler         int `json:"scheduler"`
	Kwok              int `json:"kwok"`
}

// state is what a control plane keeps in <dir>/state.json so a restarted hub finds it.
type state struct {
	Ports     Ports      `json:"ports"`
	Processes []*process `json:"processes"`
}

// ControlPlane is one cluster's control plane on this machine.
type ControlPlane struct {
	Name string // the cluster's name, used in kubeconfigs
	Dir  string // everything of this control plane lives here
	Bins k8sbin.Paths
	Log  *slog.Logger
	// CertificatesIssuedAfter is a certificate renewal: Ensure re-issues the leaf certificates
	// (serving and client, and the kubeconfigs that embed them) issued before it, keeping the CA,
	// and restarts the components that use them. Zero renews nothing.
	CertificatesIssuedAfter time.Time

	st  state
	pki *pki.Bundle
	// faultPolicyInstalled: the no-lease fault's admission policy is known to be in place.
	faultPolicyInstalled atomic.Bool
}

// Components in start order; they are stopped in reverse.
const (
	compEtcd              = "etcd"
	compAPIServer         = "kube-apiserver"
	compControllerManager = "kube-controller-manager"
	compScheduler         = "kube-scheduler"
	compKwok              = "kwok"
	// compAgent is the cluster's easel agent, run beside its control plane.
	compAgent = "easel-agent"
)

var startOrder = []string{compEtcd, compAPIServer, compControllerManager, compScheduler, compKwok}

func (cp *ControlPlane) statePath() string { return filepath.Join(cp.Dir, "state.json") }

func (cp *ControlPlane) load() error {
	data, err := os.ReadFile(cp.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(data, &cp.st)
}

func (cp *ControlPlane) save() error {
	data, _ := json.MarshalIndent(cp.st, "", "  ")
	tmp := cp.statePath() + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, cp.statePath())
}

// ErrStarting means the control plane is on its way up: call Ensure again shortly.
var ErrStarting = errors.New("the control plane is starting")

// logger is the logger of a call: the caller's from ctx (a reconcile's, which names the cluster),
// else the control plane's own, naming it.
func (cp *ControlPlane) logger(ctx context.Context) *slog.Logger {
	fallback := cp.Log
	if fallback == nil {
		fallback = slog.Default()
	}
	return logctx.From(ctx, fallback.With("cluster", cp.Name))
}

// Ensure brings the control plane up, idempotently: it allocates ports and writes the PKI on the
// first call, adopts components that still run (after a hub restart) and starts those that do
// not. It never waits: while the API server is not ready yet it returns ErrStarting, and the
// components that need it are started by a later call.
func (cp *ControlPlane) Ensure(ctx context.Context) error {
	log := cp.logger(ctx)
	if err := os.MkdirAll(cp.Dir, 0o700); err != nil {
		return err
	}
	if err := cp.load(); err != nil {
		return fmt.Errorf("reading %s: %w", cp.statePath(), err)
	}
	if cp.st.Ports == (Ports{}) {
		ports, err := freePorts(6)
		if err != nil {
			return err
		}
		cp.st.Ports = Ports{Etcd: ports[0], EtcdPeer: ports[1], APIServer: ports[2], ControllerManager: ports[3],
			Scheduler: ports[4], Kwok: ports[5]}
		if err := cp.save(); err != nil {
			return err
		}
	}
	bundle, err := pki.Ensure(pki.Options{Dir: filepath.Join(cp.Dir, "pki"), ClusterName: cp.Name,
		APIServerPort: cp.st.Ports.APIServer, ServiceIP: serviceIP, AdvertiseIP: net.ParseIP(advertiseIP),
		IssuedAfter: cp.CertificatesIssuedAfter})
	if err != nil {
		return fmt.Errorf("preparing the cluster's certificates: %w", err)
	}
	cp.pki = bundle
	if err := cp.writeKwokConfig(); err != nil {
		return err
	}
	want, err := cp.processes()
	if err != nil {
		return err
	}
	for _, name := range startOrder {
		if name == compControllerManager {
			// The controllers need the roles the API server creates as it starts; they exit
			// without them, so they start once it is ready.
			if err := cp.Ready(ctx); err != nil {
				return fmt.Errorf("%w: %v", ErrStarting, err)
			}
		}
		p := want[name]
		old := cp.recorded(name)
		if ok, fingerprinted := p.current(old); ok {
			if fingerprinted {
				if err := cp.save(); err != nil {
					return err
				}
			}
			continue // adopted
		} else if old != nil && old.alive() {
			// Its flags changed, or the certificates it read at start were renewed: replace it.
			log.Info("Restarting control-plane component", "component", name,
				"renewedCertificates", old.Binary == p.Binary && slices.Equal(old.Args, p.Args))
			if err := old.stop(10 * time.Second); err != nil {
				return err
			}
		}
		if p.find() { // an orphan of a crash between starting it and recording it
			cp.record(p)
			if err := cp.save(); err != nil {
				return err
			}
			continue
		}
		log.Info("Starting control-plane component", "component", name)
		if err := p.start(filepath.Join(cp.Dir, "logs")); err != nil {
			return err
		}
		cp.record(p)
		if err := cp.save(); err != nil {
			return err
		}
	}
	return nil
}

func (cp *ControlPlane) recorded(name string) *process {
	for _, p := range cp.st.Processes {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func (cp *ControlPlane) record(p *process) {
	for i, old := range cp.st.Processes {
		if old.Name == p.Name {
			cp.st.Processes[i] = p
			return
		}
	}
	cp.st.Processes = append(cp.st.Processes, p)
}

// processes is the command line of every component, with the fingerprint of the certificates,
// kubeconfigs and configuration files it reads (KWOK's: a newer easel's stages restart it).
func (cp *ControlPlane) processes() (map[string]*process, error) {
	procs := cp.commandLines()
	p := cp.pki
	for name, files := range map[string][]string{
		// etcd reads its certificate and key at every TLS handshake, so a renewed one needs no
		// restart (kube-apiserver, restarted for its own, then connects anew); the CA it trusts is
		// read once.
		compEtcd: {p.CACert},
		compAPIServer: {p.CACert, p.APIServerCert, p.APIServerKey, p.KubeletClientCert, p.KubeletClientKey, p.SAPub, p.SAKey,
			p.EtcdClientCert, p.EtcdClientKey},
		compControllerManager: {p.ControllerManagerKubeconfig, p.CACert, p.CAKey, p.SAKey},
		compScheduler:         {p.SchedulerKubeconfig},
		compKwok:              {p.KwokKubeconfig, filepath.Join(cp.Dir, "kwok.yaml")},
	} {
		inputs, err := fingerprint(files...)
		if err != nil {
			return nil, err
		}
		procs[name].Inputs = inputs
	}
	return procs, nil
}

// commandLines is the command line of every component.
func (cp *ControlPlane) commandLines() map[string]*process {
	p, b, ports := cp.pki, cp.Bins, cp.st.Ports
	tlsLoop := func(port int) string { return "https://127.0.0.1:" + strconv.Itoa(port) }
	return map[string]*process{
		// etcd holds every Secret of the cluster: it serves TLS only and takes clients (and peers)
		// with a certificate of the cluster's CA, like a kubeadm control plane's.
		compEtcd: {Name: compEtcd, Binary: b.Etcd, Args: []string{
			"--name=default",
			"--data-dir=" + filepath.Join(cp.Dir, "etcd"),
			"--listen-client-urls=" + tlsLoop(ports.Etcd), "--advertise-client-urls=" + tlsLoop(ports.Etcd),
			"--cert-file=" + p.EtcdCert, "--key-file=" + p.EtcdKey,
			"--client-cert-auth", "--trusted-ca-file=" + p.CACert,
			"--listen-peer-urls=" + tlsLoop(ports.EtcdPeer), "--initial-advertise-peer-urls=" + tlsLoop(ports.EtcdPeer),
			"--initial-cluster=default=" + tlsLoop(ports.EtcdPeer),
			"--peer-cert-file=" + p.EtcdCert, "--peer-key-file=" + p.EtcdKey,
			"--peer-client-cert-auth", "--peer-trusted-ca-file=" + p.CACert,
			"--unsafe-no-fsync", // a simulated cluster's etcd trades durability on power loss for speed
			"--quota-backend-bytes=2147483648",
		}},
		compAPIServer: {Name: compAPIServer, Binary: b.APIServer, Args: []string{
			"--etcd-servers=" + tlsLoop(ports.Etcd),
			"--etcd-cafile=" + p.CACert, "--etcd-certfile=" + p.EtcdClientCert, "--etcd-keyfile=" + p.EtcdClientKey,
			"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(ports.APIServer),
			"--advertise-address=" + advertiseIP,
			"--tls-cert-file=" + p.APIServerCert, "--tls-private-key-file=" + p.APIServerKey,
			"--client-ca-file=" + p.CACert,
			"--kubelet-client-certificate=" + p.KubeletClientCert, "--kubelet-client-key=" + p.KubeletClientKey,
			// KWOK, the nodes' kubelet, answers on 127.0.0.1, which each node names as its
			// InternalDNS address (localhost); its InternalIP is simulated and Hostname does not
			// resolve. The rest is the default order.
			"--kubelet-preferred-address-types=InternalDNS,Hostname,InternalIP,ExternalDNS,ExternalIP",
			"--service-account-key-file=" + p.SAPub, "--service-account-signing-key-file=" + p.SAKey,
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-cluster-ip-range=" + ServiceCIDR,
			"--authorization-mode=Node,RBAC",
			"--allow-privileged=true",
			"--profiling=false",
		}},
		compControllerManager: {Name: compControllerManager, Binary: b.ControllerManager, Args: []string{
			"--kubeconfig=" + p.ControllerManagerKubeconfig,
			"--authentication-kubeconfig=" + p.ControllerManagerKubeconfig,
			"--authorization-kubeconfig=" + p.ControllerManagerKubeconfig,
			"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(ports.ControllerManager),
			"--service-account-private-key-file=" + p.SAKey, "--root-ca-file=" + p.CACert,
			"--cluster-signing-cert-file=" + p.CACert, "--cluster-signing-key-file=" + p.CAKey,
			"--use-service-account-credentials=true",
			"--cluster-cidr=" + PodCIDR, "--service-cluster-ip-range=" + ServiceCIDR,
			"--leader-elect=false",
			"--profiling=false",
		}},
		compScheduler: {Name: compScheduler, Binary: b.Scheduler, Args: []string{
			"--kubeconfig=" + p.SchedulerKubeconfig,
			"--authentication-kubeconfig=" + p.SchedulerKubeconfig,
			"--authorization-kubeconfig=" + p.SchedulerKubeconfig,
			"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(ports.Scheduler),
			"--leader-elect=false",
			"--profiling=false",
		}},
		compKwok: {Name: compKwok, Binary: b.Kwok, Args: []string{
			"--kubeconfig=" + p.KwokKubeconfig,
			"--config=" + filepath.Join(cp.Dir, "kwok.yaml"),
			"--manage-all-nodes=false",
			"--manage-nodes-with-annotation-selector=" + KwokNodeAnnotation + "=fake",
			"--node-lease-duration-seconds=" + strconv.Itoa(kwokLeaseDurationSeconds),
			"--server-address=127.0.0.1:" + strconv.Itoa(ports.Kwok),
			// The nodes' daemonEndpoints (kwok.yaml's stages): the API server reads pods' logs there.
			"--node-port=" + strconv.Itoa(ports.Kwok),
		}},
	}
}

// Ready reports whether the API server answers /readyz; the error says why not.
func (cp *ControlPlane) Ready(ctx context.Context) error {
	client, err := cp.httpClient()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", cp.Server()+"/readyz", nil)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("kube-apiserver is not answering: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16384))
	if resp.StatusCode != http.StatusOK {
		// Only the failing checks ("[-]…") say why.
		var failing []string
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, "[-]") {
				failing = append(failing, strings.TrimSuffix(strings.TrimPrefix(line, "[-]"), " failed: reason withheld"))
			}
		}
		return fmt.Errorf("kube-apiserver is not ready yet (%d; waiting for %s)", resp.StatusCode, strings.Join(failing, ", "))
	}
	return nil
}

// Server is the API server's URL.
func (cp *ControlPlane) Server() string {
	return "https://127.0.0.1:" + strconv.Itoa(cp.st.Ports.APIServer)
}

// AdminKubeconfig returns the cluster-admin kubeconfig.
func (cp *ControlPlane) AdminKubeconfig() ([]byte, error) {
	data, err := os.ReadFile(cp.AdminKubeconfigPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("the control plane has not been prepared yet")
	}
	return data, err
}

// AdminKubeconfigPath is the file of the cluster-admin kubeconfig.
func (cp *ControlPlane) AdminKubeconfigPath() string {
	return filepath.Join(cp.Dir, "pki", "admin.kubeconfig")
}

func (cp *ControlPlane) httpClient() (*http.Client, error) {
	dir := filepath.Join(cp.Dir, "pki")
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "admin.crt"), filepath.Join(dir, "admin.key"))
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}}, nil
}

// EnsureAgent runs `easel agent` for this cluster beside its control plane, with the cluster-admin
// kubeconfig and the token in <dir>/agent.token (written from token() when missing); its report
// intervals are the heartbeat's. hubFingerprint, when the hub serves TLS, is its certificate's pin.
// A running agent with the same command line is kept; a new pin (the hub's certificate changed)
// restarts it.
func (cp *ControlPlane) EnsureAgent(ctx context.Context, binary, hubURL, hubFingerprint, clusterUID string, heartbeat time.Duration, token func() (string, error)) error {
	log := cp.logger(ctx)
	if err := cp.load(); err != nil {
		return err
	}
	tokenFile := filepath.Join(cp.Dir, "agent.token")
	if _, err := os.Stat(tokenFile); errors.Is(err, os.ErrNotExist) {
		t, err := token()
		if err != nil {
			return err
		}
		// Atomically: the file's existence means "the token is there", so a crash mid-write must
		// not leave a truncated token that the agent would present, and be refused with, forever.
		if err := atomicfile.Write(tokenFile, []byte(t+"\n"), 0o600); err != nil {
			return err
		}
	}
	p := &process{Name: compAgent, Binary: binary, Args: []string{"agent",
		"--hub=" + hubURL, "--cluster=" + clusterUID, "--token-file=" + tokenFile,
		"--kubeconfig=" + cp.AdminKubeconfigPath(), "--heartbeat-interval=" + heartbeat.String(),
		"--report-interval=" + heartbeat.String(), "--usage-interval=" + heartbeat.String(),
		"--workload-interval=" + heartbeat.String(),
		// KWOK plays the kubelets and serves their resource metrics, where the agent reads them.
		"--kubelet-metrics-url=http://127.0.0.1:" + strconv.Itoa(cp.st.Ports.Kwok) + "/metrics/nodes/{node}/metrics/resource"}}
	if hubFingerprint != "" {
		p.Args = append(p.Args, "--hub-fingerprint="+hubFingerprint)
	}
	// The agent reads its client certificate from the admin kubeconfig once, at start: a renewed
	// one restarts it (the old certificate would keep working, signed by the same CA, until it
	// expires — but a renewal must leave no old certificate in use).
	inputs, err := fingerprint(cp.AdminKubeconfigPath())
	if err != nil {
		return err
	}
	p.Inputs = inputs
	old := cp.recorded(compAgent)
	if ok, fingerprinted := p.current(old); ok {
		if fingerprinted {
			return cp.save()
		}
		return nil
	} else if old != nil && old.alive() {
		log.Info("Restarting the cluster's agent")
		if err := old.stop(10 * time.Second); err != nil {
			return err
		}
	}
	if p.find() {
		cp.record(p)
		return cp.save()
	}
	log.Info("Starting the cluster's agent")
	if err := p.start(filepath.Join(cp.Dir, "logs")); err != nil {
		return err
	}
	cp.record(p)
	return cp.save()
}

// Stop stops every component (the agent, KWOK, scheduler, controller-manager, the API server, then
// etcd) and keeps the data: Ensure brings the same cluster back.
func (cp *ControlPlane) Stop() error {
	if err := cp.load(); err != nil {
		return err
	}
	var errs []error
	if p := cp.recorded(compAgent); p != nil {
		errs = append(errs, p.stop(10*time.Second))
	}
	for i := len(startOrder) - 1; i >= 0; i-- {
		if p := cp.recorded(startOrder[i]); p != nil {
			errs = append(errs, p.stop(15*time.Second))
		}
	}
	errs = append(errs, cp.save())
	return errors.Join(errs...)
}

// Destroy stops the control plane and removes all of its data.
func (cp *ControlPlane) Destroy() error {
	if err := cp.Stop(); err != nil {
		return err
	}
	return os.RemoveAll(cp.Dir)
}

// Running lists the components whose processes are alive.
func (cp *ControlPlane) Running() []string {
	var out []string
	for _, name := range startOrder {
		if p := cp.recorded(name); p != nil && p.alive() {
			out = append(out, name)
		}
	}
	return out
}

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var (
		ports []int
		lns   []net.Listener
	)
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
