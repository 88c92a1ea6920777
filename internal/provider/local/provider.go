package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/provider"
	"github.com/easelhq/easel/internal/provider/local/pki"
)

// Provider is the local provider: one control plane per cluster under Root, machines as KWOK nodes,
// and a host-wide vCPU limit shared by all local clusters.
type Provider struct {
	Root      string                       // <data-dir>/clusters
	VCPULimit int                          // vCPUs all local machines may use together
	Binaries  func() (k8sbin.Paths, error) // where the Kubernetes binaries are (k8sbin.Find)
	Log       *slog.Logger
	// HubURL is where agents reach the hub; AgentBinary is the easel binary that runs them.
	HubURL      string
	AgentBinary string
	// HubFingerprint pins the hub's TLS certificate for the agents (hubtrust.Fingerprint); empty
	// when the hub serves plain HTTP.
	HubFingerprint    string
	HeartbeatInterval time.Duration

	mu  sync.Mutex // serialises quota checks and reservations
	cps sync.Map   // cluster uid → *ControlPlane
}

var (
	_ provider.Provider = (*Provider)(nil)
	_ provider.Reserver = (*Provider)(nil)
)

func (p *Provider) dir(uid string) string { return filepath.Join(p.Root, uid) }

func (p *Provider) reservationPath(uid string) string { return filepath.Join(p.dir(uid), "vcpus") }

// controlPlane returns the cluster's control plane handle, loading its state from disk.
func (p *Provider) controlPlane(c provider.Cluster) (*ControlPlane, error) {
	if cp, ok := p.cps.Load(c.UID); ok {
		return cp.(*ControlPlane), nil
	}
	bins, err := p.Binaries()
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{Name: c.Name, Dir: p.dir(c.UID), Bins: bins, Log: p.Log}
	actual, _ := p.cps.LoadOrStore(c.UID, cp)
	return actual.(*ControlPlane), nil
}

// reserve records the cluster's vCPUs if they fit beside every other local cluster's.
func (p *Provider) reserve(c provider.Cluster) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	need := c.Spec.VCPUs()
	used := 0
	entries, err := os.ReadDir(p.Root)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if e.Name() == c.UID {
			continue
		}
		if data, err := os.ReadFile(p.reservationPath(e.Name())); err == nil {
			n, _ := strconv.Atoi(string(data))
			used += n
		}
	}
	if used+need > p.VCPULimit {
		return fmt.Errorf("%w: the cluster needs %d vCPUs but %d of the host's %d are in use by other local clusters (easel server --local-vcpu-limit)",
			provider.ErrQuota, need, used, p.VCPULimit)
	}
	if err := os.MkdirAll(p.dir(c.UID), 0o700); err != nil {
		return err
	}
	return os.WriteFile(p.reservationPath(c.UID), []byte(strconv.Itoa(need)), 0o600)
}

// Reserve takes the cluster's share of the host's vCPU limit (ErrQuota when it does not fit).
func (p *Provider) Reserve(_ context.Context, c provider.Cluster) error { return p.reserve(c) }

func (p *Provider) EnsureControlPlane(ctx context.Context, c provider.Cluster) error {
	if err := p.reserve(c); err != nil {
		return err
	}
	cp, err := p.controlPlane(c)
	if err != nil {
		return err
	}
	cp.CertificatesIssuedAfter = c.Spec.CertificatesIssuedAfter()
	if err := cp.Ensure(ctx); err != nil {
		return err
	}
	return cp.Ready(ctx)
}

// machine turns a recorded machine into a KWOK node description.
func machine(c provider.Cluster, m clusters.Machine) Machine {
	it := clusters.InstanceTypes[m.InstanceType]
	out := Machine{Name: m.Name, UID: m.UID, Pool: m.Pool, ControlPlane: m.ControlPlane, InstanceType: m.InstanceType,
		Zone: m.Zone, CPU: it.CPU, MemoryGiB: it.MemoryGiB, DiskGiB: m.DiskGiB}
	// The node plays the machine's image: the kubelet of its Kubernetes layer on its OS layer (the
	// control plane itself runs the pinned binaries whatever the layer says).
	if k := m.Image.Kubernetes; k.Version != "" {
		out.KubeletVersion = "v" + k.Version
	}
	if layer := m.Image.OS; layer.Pack == "ubuntu" {
		out.OSImage = "Ubuntu " + layer.Version + " LTS"
	} else if layer.Pack != "" {
		out.OSImage = layer.String()
	}
	if pool, ok := c.Spec.Pool(m.Pool); ok {
		out.Labels, out.Taints = pool.Labels, pool.Taints
	}
	return out
}

// client returns the cluster's control plane and a cluster-admin client of it.
func (p *Provider) client(c provider.Cluster) (*ControlPlane, kubernetes.Interface, error) {
	cp, err := p.controlPlane(c)
	if err != nil {
		return nil, nil, err
	}
	client, err := cp.Client()
	return cp, client, err
}

func (p *Provider) EnsureMachine(ctx context.Context, c provider.Cluster, m clusters.Machine) error {
	cp, client, err := p.client(c)
	if err != nil {
		return err
	}
	want := machine(c, m)
	changed, err := cp.EnsureMachine(ctx, client, want)
	if err != nil {
		return err
	}
	return p.logMachine(c, m, want, changed)
}

func (p *Provider) DeleteMachine(ctx context.Context, c provider.Cluster, m clusters.Machine) error {
	cp, client, err := p.client(c)
	if err != nil {
		return err
	}
	if err := cp.DeleteMachine(ctx, client, m.Name); err != nil {
		return err
	}
	return os.RemoveAll(p.machineLogDir(c.UID, m.Name))
}

func (p *Provider) Machines(ctx context.Context, c provider.Cluster) (map[string]provider.MachineState, error) {
	_, client, err := p.client(c)
	if err != nil {
		return nil, err
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: LabelMachine})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	out := make(map[string]provider.MachineState, len(nodes.Items))
	for i := range nodes.Items {
		given := appliedTo(&nodes.Items[i])
		out[nodes.Items[i].Name] = provider.MachineState{Exists: true, Ready: NodeReady(&nodes.Items[i]), Labels: given.Labels, Taints: given.Taints}
	}
	return out, nil
}

func (p *Provider) EnsureAgent(ctx context.Context, c provider.Cluster, token func() (string, error)) error {
	cp, err := p.controlPlane(c)
	if err != nil {
		return err
	}
	if p.HubURL == "" || p.AgentBinary == "" {
		return errors.New("the local provider does not know the hub's URL or the easel binary to run agents with")
	}
	heartbeat := p.HeartbeatInterval
	if heartbeat <= 0 {
		heartbeat = 30 * time.Second
	}
	return cp.EnsureAgent(ctx, p.AgentBinary, p.HubURL, p.HubFingerprint, c.UID, heartbeat, token)
}

func (p *Provider) Kubeconfig(ctx context.Context, c provider.Cluster) ([]byte, error) {
	cp, err := p.controlPlane(c)
	if err != nil {
		return nil, err
	}
	return cp.AdminKubeconfig()
}

var _ provider.CertificateReporter = (*Provider)(nil)

// Certificates reads the control plane's CA and the certificates it signed from its PKI directory.
func (p *Provider) Certificates(ctx context.Context, c provider.Cluster) ([]v1.CertificateAuthority, error) {
	ca, leaves, err := pki.Inventory(filepath.Join(p.dir(c.UID), "pki"))
	if err != nil {
		return nil, err
	}
	out := v1.CertificateAuthority{Name: ca.Name, Expiry: ca.NotAfter, Certificates: []v1.Certificate{}}
	for _, l := range leaves {
		out.Certificates = append(out.Certificates, v1.Certificate{Name: l.Name, Expiry: l.NotAfter, IssuedAt: l.IssuedAt})
	}
	return []v1.CertificateAuthority{out}, nil
}

func (p *Provider) Delete(ctx context.Context, c provider.Cluster) error {
	cp, err := p.controlPlane(c)
	if errors.Is(err, k8sbin.ErrMissing) {
		// Nothing can have been started without the binaries; only the directory is left.
		return os.RemoveAll(p.dir(c.UID))
	}
	if err != nil {
		return err
	}
	if err := cp.Destroy(); err != nil {
		return err
	}
	p.cps.Delete(c.UID)
	return nil
}
