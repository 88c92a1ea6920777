package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/easelhq/easel/internal/client"
)

func clusterCertsCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "certs",
		Aliases: []string{"certificates"},
		Short:   "Renew a cluster's control-plane certificates",
	}
	cmd.AddCommand(clusterCertsRenewCommand(g))
	return cmd
}

// renewalSteps are the events that tell how a certificate renewal's repave goes.
var renewalSteps = []string{"CertificatesRenewalRequested", "RepavePending", "RepaveApproved", "RepaveStarted",
	"MachineCreating", "MachineReady", "MachineDraining", "NodeDrained", "MachineDeleted", "DrainFailed",
	"DrainTimedOut", "RepaveCompleted"}

func clusterCertsRenewCommand(g *globals) *cobra.Command {
	var (
		noWait  bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "renew NAME|UID",
		Short: "Renew the certificates of a cluster's control plane (a repave of its control-plane nodes)",
		Long: `Renew the certificates of a Running cluster's control plane (Palette's PATCH
/v1/spectroclusters/{uid}/k8certificates/renew). The control-plane machines are replaced one at a
time, as in any repave — the reason "certificates: renewal requested at …" goes into the cluster's
status.upgrades — and the control plane's serving and client certificates are re-issued by the
cluster's own CA, which is kept. A cluster that requires repave approval waits for
"easel cluster repave NAME --approve". The command waits, showing progress, until the repave has
completed unless --no-wait is given.`,
		Example: `  easel cluster certs renew demo
  easel cluster certs renew demo --no-wait`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, ref, err := g.cluster(ctx, args[0])
			if err != nil {
				return err
			}
			// The events already there are not this renewal's progress.
			seen := map[string]bool{}
			if events, err := c.Events(ctx, client.KindCluster, ref.UID, 100, 0); err == nil {
				for _, e := range events.Items {
					seen[e.Metadata.UID] = true
				}
			}
			if err := c.RenewCertificates(ctx, ref.UID); err != nil {
				return fmt.Errorf("renewing the certificates of %s: %w", ref.Name, err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Certificate renewal requested for cluster %s: its control-plane nodes are replaced one at a time\n", ref.Name)
			if noWait {
				fmt.Fprintf(out, "Follow it with: easel cluster repave %s\n", ref.Name)
				return nil
			}
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			for {
				events, err := c.Events(ctx, client.KindCluster, ref.UID, 100, 0)
				if err != nil {
					return fmt.Errorf("waiting for the renewal of %s: %w", ref.Name, err)
				}
				items := slices.Clone(events.Items)
				slices.Reverse(items) // oldest first
				for _, e := range items {
					if seen[e.Metadata.UID] {
						continue
					}
					seen[e.Metadata.UID] = true
					if !slices.Contains(renewalSteps, e.Reason) {
						continue
					}
					fmt.Fprintf(out, "  %s %s: %s\n", e.Metadata.CreationTimestamp.Local().Format(time.TimeOnly), e.Reason, e.Message)
					switch e.Reason {
					case "RepaveCompleted":
						fmt.Fprintf(out, "Certificates of cluster %s renewed\n", ref.Name)
						return nil
					case "RepavePending":
						fmt.Fprintf(out, "The repave waits for approval: easel cluster repave %s --approve\n", ref.Name)
						return nil
					}
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("the renewal of %s is not done after %s; the hub keeps going — see easel cluster repave %s", ref.Name, timeout, ref.Name)
				case <-time.After(time.Second):
				}
			}
		},
	}
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "return once the hub has the request")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Minute, "how long to wait for the renewal")
	return cmd
}
