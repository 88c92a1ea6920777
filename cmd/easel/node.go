package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/client"
)

func nodeCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "node",
		Aliases: []string{"nodes"},
		Short:   "Act on a cluster's nodes",
	}
	cmd.AddCommand(nodeMaintenanceCommand(g))
	return cmd
}

func nodeMaintenanceCommand(g *globals) *cobra.Command {
	var (
		noWait  bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "maintenance on|off CLUSTER NODE",
		Short: "Put a node into maintenance (cordon and drain) or take it out (uncordon)",
		Long: `Put a node into maintenance mode: the cluster's agent cordons it and evicts its pods through the
eviction API (PodDisruptionBudgets hold; DaemonSet and static pods stay), then reports it drained.
"off" makes it schedulable again; pods are not moved back. Maintenance is refused on the last
schedulable worker and on the only control-plane node. The command waits, showing progress, until
the node is drained (or the drain fails) unless --no-wait is given.`,
		Example: `  easel node maintenance on demo demo-workers-x2k9d
  easel node maintenance off demo demo-workers-x2k9d`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			action := map[string]string{"on": v1.MaintenanceCordon, "off": v1.MaintenanceUncordon}[args[0]]
			if action == "" {
				return fmt.Errorf("the first argument is on or off, not %q", args[0])
			}
			ctx := cmd.Context()
			c, ref, err := g.cluster(ctx, args[1])
			if err != nil {
				return err
			}
			m, err := findMachine(ctx, c, ref.UID, args[2])
			if err != nil {
				return err
			}
			if err := c.SetMaintenance(ctx, m.cloudType, m.configUID, m.pool, m.uid, action); err != nil {
				return fmt.Errorf("maintenance of node %s: %w", args[2], err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Maintenance %s requested for node %s of cluster %s\n", args[0], args[2], ref.Name)
			if noWait {
				return nil
			}
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			last := ""
			for {
				got, err := c.Machine(ctx, m.cloudType, m.configUID, m.pool, m.uid)
				if err != nil {
					return fmt.Errorf("waiting for node %s: %w", args[2], err)
				}
				if st := got.Status.MaintenanceStatus; st != nil && st.Action == action {
					if line := st.State + ": " + st.Message; line != last && st.Message != "" {
						fmt.Fprintf(out, "  %s\n", line)
						last = line
					}
					switch st.State {
					case v1.MaintenanceCompleted:
						return nil
					case v1.MaintenanceFailed:
						return fmt.Errorf("maintenance of node %s failed: %s", args[2], st.Message)
					}
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("node %s is not done after %s (still %s); the agent keeps going — see easel events %s", args[2], timeout, last, ref.Name)
				case <-time.After(time.Second):
				}
			}
		},
	}
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "return once the hub has the request")
	cmd.Flags().DurationVar(&timeout, "timeout", 20*time.Minute, "how long to wait for the node")
	return cmd
}

// machineRef is where a machine's operations live.
type machineRef struct{ cloudType, configUID, pool, uid string }

// findMachine finds the machine of a cluster by its name (the node's name) or uid.
func findMachine(ctx context.Context, c *client.Client, clusterUID, node string) (machineRef, error) {
	cl, err := c.GetCluster(ctx, clusterUID)
	if err != nil {
		return machineRef{}, err
	}
	sum, err := c.ClusterSummary(ctx, clusterUID)
	if err != nil {
		return machineRef{}, err
	}
	cloudType, configUID := sum.Spec.CloudConfig.CloudType, cl.Spec.CloudConfigRef.UID
	for _, p := range sum.Spec.CloudConfig.MachinePools {
		machines, err := c.Machines(ctx, cloudType, configUID, p.Name)
		if err != nil {
			return machineRef{}, err
		}
		for _, m := range machines {
			if m.Metadata.Name == node || m.Metadata.UID == node {
				return machineRef{cloudType, configUID, p.Name, m.Metadata.UID}, nil
			}
		}
	}
	return machineRef{}, fmt.Errorf("cluster %s has no node %q (easel cluster nodes %s lists them)", cl.Metadata.Name, node, cl.Metadata.Name)
}
