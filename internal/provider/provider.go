// Package provider is the contract between the engine and the infrastructure a cluster runs on,
// keyed by cloud type. The engine decides what should exist; a provider makes it exist and says
// what it sees.
package provider

import (
	"context"
	"errors"
	"io"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
)

// ErrQuota is returned when the infrastructure has no room for a cluster (like a cloud's vCPU
// limit). The engine reports it and keeps retrying: freed capacity clears it.
var ErrQuota = errors.New("quota exceeded")

// Cluster is what a provider is told about a cluster.
type Cluster struct {
	UID  string
	Name string
	Spec clusters.Cluster
}

// MachineState is what a provider observes of one machine.
type MachineState struct {
	Exists bool
	Ready  bool
	// Labels and Taints are those of its pool the machine was last given (read from the machine,
	// not remembered by the hub).
	Labels map[string]string
	Taints []v1.Taint
}

// Provider builds and tears down the infrastructure of clusters of one cloud type. Every method is
// idempotent: the engine calls them again after any failure or restart.
type Provider interface {
	// EnsureControlPlane brings up the cluster's control plane. It returns nil once the control
	// plane answers; an error says what is missing (ErrQuota when it does not fit).
	EnsureControlPlane(ctx context.Context, c Cluster) error
	// EnsureMachine creates a machine; one that exists is kept, its pool's labels and taints brought
	// up to date in place (those it was given before that the pool no longer has are removed).
	EnsureMachine(ctx context.Context, c Cluster, m clusters.Machine) error
	// DeleteMachine removes a machine; one already gone is fine.
	DeleteMachine(ctx context.Context, c Cluster, m clusters.Machine) error
	// Machines reports the state of every machine the provider knows of, by machine name.
	Machines(ctx context.Context, c Cluster) (map[string]MachineState, error)
	// EnsureAgent runs the cluster's agent, for the clusters whose agent the provider hosts (the
	// local provider runs it beside the control plane). token issues a new agent token; it is
	// called only when the agent must start without one.
	EnsureAgent(ctx context.Context, c Cluster, token func() (string, error)) error
	// Kubeconfig returns the cluster-admin kubeconfig.
	Kubeconfig(ctx context.Context, c Cluster) ([]byte, error)
	// Delete removes everything of the cluster.
	Delete(ctx context.Context, c Cluster) error
}

// Reserver is implemented by providers with a capacity of their own (the local provider's vCPU
// limit, like a cloud's quota). The engine reserves what a cluster's pools ask for before it
// records the machines to make, so that a pool far beyond the capacity records none.
type Reserver interface {
	// Reserve takes the capacity the cluster's pools need, ErrQuota when it does not fit. It is
	// idempotent, and a smaller spec gives back what it no longer needs.
	Reserve(ctx context.Context, c Cluster) error
}

// CertificateReporter is implemented by providers that run a cluster's control plane themselves and
// so know its certificates (the local provider). The engine records what it reports in the
// cluster's status, where the API shows the expiries (GET …/k8certificates).
type CertificateReporter interface {
	// Certificates lists the control plane's certificate authorities and the certificates they
	// signed.
	Certificates(ctx context.Context, c Cluster) ([]v1.CertificateAuthority, error)
}

// LogReporter is implemented by providers that run a cluster's processes themselves (the local
// provider: the control plane, the agent, the simulated machines). Their logs go into the
// cluster's log bundles, where the agent cannot read them.
type LogReporter interface {
	// Logs adds the cluster's logs to a bundle, the last req.NoOfLines lines of each and, of the
	// nodes' files, those req.Node.Logs names: add writes one file, named by its path in the zip
	// (control-plane/…, easel-system/…, nodes/<node>/…).
	Logs(ctx context.Context, c Cluster, req v1.LogFetcherRequest, add func(name string, r io.Reader) error) error
}
