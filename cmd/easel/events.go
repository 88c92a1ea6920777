package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/easelhq/easel/internal/cli"
	"github.com/easelhq/easel/internal/client"
)

func eventsCommand(g *globals) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "events CLUSTER",
		Short: "Show a cluster's events, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 {
				return fmt.Errorf("--limit must be at least 1, not %d", limit)
			}
			c, ref, err := g.cluster(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			events, err := c.Events(cmd.Context(), client.KindCluster, ref.UID, limit, 0)
			if err != nil {
				return fmt.Errorf("reading the events of cluster %s: %w", ref.Name, err)
			}
			return g.print(cmd, events, func(w io.Writer) error {
				now := time.Now()
				t := cli.NewTable(w, "AGE", "SEVERITY", "REASON", "MESSAGE")
				for _, e := range events.Items {
					t.Row(cli.Age(e.Metadata.CreationTimestamp, now), e.Severity, e.Reason, e.Message)
				}
				return t.Flush()
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "show at most this many events")
	return cmd
}
