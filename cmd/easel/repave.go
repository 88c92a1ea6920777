package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/easelhq/easel/internal/cli"
)

func clusterRepaveCommand(g *globals) *cobra.Command {
	var approve bool
	cmd := &cobra.Command{
		Use:   "repave NAME|UID [--approve]",
		Short: "Show why a cluster's nodes are (or will be) replaced, and every past repave; approve a pending one",
		Long: `Show the repave a cluster's changes call for — Pending (it waits for approval) or Approved (machines
are being replaced one at a time) — with its field-level reasons, and the cluster's past repaves
(status.upgrades: when and why). --approve lets a pending repave start.`,
		Example: `  easel cluster repave demo
  easel cluster repave demo --approve`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, ref, err := g.cluster(ctx, args[0])
			if err != nil {
				return err
			}
			if approve {
				if err := c.ApproveRepave(ctx, ref.UID); err != nil {
					return fmt.Errorf("approving the repave of %s: %w", ref.Name, err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "Approved the repave of cluster %s\n", ref.Name)
			}
			rp, err := c.RepaveStatus(ctx, ref.UID)
			if err != nil {
				return fmt.Errorf("reading the repave status of %s: %w", ref.Name, err)
			}
			cl, err := c.GetCluster(ctx, ref.UID)
			if err != nil {
				return fmt.Errorf("reading cluster %s: %w", ref.Name, err)
			}
			return g.print(cmd, rp, func(w io.Writer) error {
				state := rp.Status.State
				if state == "" {
					state = "None"
				}
				if err := cli.Fields(w, "Repave", state+" — "+rp.Status.Message); err != nil {
					return err
				}
				for _, r := range rp.Spec.Reasons {
					fmt.Fprintf(w, "  %s: %s\n", r.Code, r.Message)
				}
				fmt.Fprintln(w, "\nUpgrades:")
				t := cli.NewTable(w, "WHEN", "REASONS")
				for _, u := range cl.Status.Upgrades {
					t.Row(u.Timestamp.Local().Format(time.RFC3339), strings.Join(u.Reason, "; "))
				}
				return t.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&approve, "approve", false, "approve the pending repave first")
	return cmd
}
