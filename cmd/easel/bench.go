package main

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/easelhq/easel/internal/bench"
)

func benchCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure easel on this machine (loopback only, bounded in count and time)"}
	cmd.AddCommand(benchAPICommand())
	return cmd
}

func benchAPICommand() *cobra.Command {
	cfg := bench.APIConfig{Progress: os.Stderr}
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Store clusters through the API, then measure cluster GET and search",
		Long: `Starts a hub on 127.0.0.1 over a fresh store (SQLite, or the empty PostgreSQL database --db
names), stores --clusters clusters through the API, then drives GET /v1/spectroclusters/{uid} and
POST /v1/dashboard/spectroclusters/search for --duration each, and prints requests/s and latency
percentiles as a Markdown table.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Clusters < 1 || cfg.Clusters > 100_000 || cfg.Concurrency < 1 || cfg.Concurrency > 256 ||
				cfg.Duration <= 0 || cfg.Duration > 10*time.Minute {
				return fmt.Errorf("--clusters must be 1–100000, --concurrency 1–256, --duration up to 10m")
			}
			results, err := bench.RunAPI(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			storeName := "SQLite"
			if cfg.DB != "" {
				storeName = "PostgreSQL"
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "\n%s, %d clusters, %d clients, %s per operation, %d CPUs (%s/%s)\n\n",
				storeName, cfg.Clusters, cfg.Concurrency, cfg.Duration, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintln(out, "| operation | requests/s | p50 | p99 | errors |")
			fmt.Fprintln(out, "|---|---:|---:|---:|---:|")
			for _, r := range results {
				fmt.Fprintf(out, "| %s | %.0f | %s | %s | %d |\n", r.Operation, r.PerSecond,
					r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Errors)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.DB, "db", "", "store URL (an empty PostgreSQL database); default a fresh SQLite file")
	cmd.Flags().IntVar(&cfg.Clusters, "clusters", 10_000, "clusters to store before measuring")
	cmd.Flags().DurationVar(&cfg.Duration, "duration", 20*time.Second, "how long each operation is measured")
	cmd.Flags().IntVar(&cfg.Concurrency, "concurrency", 8, "concurrent clients")
	return cmd
}
