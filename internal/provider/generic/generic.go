// Package generic is the provider of imported clusters (cloud type "generic"): the cluster already
// exists and its owner installs the agent from the import manifest, so there is no infrastructure
// to build or tear down — easel only waits for the agent.
package generic

import (
	"context"
	"errors"

	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/provider"
)

// ErrNoKubeconfig is returned for an imported cluster's kubeconfig: its owner holds it, easel does not.
var ErrNoKubeconfig = errors.New("easel does not hold the kubeconfig of an imported cluster; its owner does")

// Provider is the generic (import) provider.
type Provider struct{}

var _ provider.Provider = Provider{}

func (Provider) EnsureControlPlane(context.Context, provider.Cluster) error { return nil }

func (Provider) EnsureMachine(context.Context, provider.Cluster, clusters.Machine) error {
	return errors.New("an imported cluster's machines are its owner's")
}

func (Provider) DeleteMachine(context.Context, provider.Cluster, clusters.Machine) error {
	return errors.New("an imported cluster's machines are its owner's")
}

func (Provider) Machines(context.Context, provider.Cluster) (map[string]provider.MachineState, error) {
	return map[string]provider.MachineState{}, nil
}

// EnsureAgent does nothing: the cluster's owner applies the import manifest, which runs the agent.
func (Provider) EnsureAgent(context.Context, provider.Cluster, func() (string, error)) error {
	return nil
}

func (Provider) Kubeconfig(context.Context, provider.Cluster) ([]byte, error) {
	return nil, ErrNoKubeconfig
}

// Delete does nothing: the cluster goes on existing; removing the agent is its owner's step.
func (Provider) Delete(context.Context, provider.Cluster) error { return nil }
