package main

import (
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/procstart"
	"github.com/easelhq/easel/internal/replica"
	"github.com/easelhq/easel/internal/server"
)

func serverCommand() *cobra.Command {
	cfg := server.Config{Out: os.Stdout}
	home, _ := os.UserHomeDir()
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the hub: the /v1 API, /healthz, /readyz and /metrics",
		Long: `Run the easel hub. On the first start of an empty store it creates the tenant, a tenant
admin, an API key (EASEL_ADMIN_API_KEY sets it instead) and the "default" project, writes the
admin's password and the key to files in --data-dir that only you can read (initial-admin-password,
initial-admin-api-key), and prints how to log in.

It serves HTTPS with --tls-cert-file and --tls-private-key-file. Without them it serves plain HTTP
on a loopback address and, on any other address (or with --tls=on), HTTPS with a self-signed
certificate generated at the first start and kept in --data-dir/tls; its SHA-256 fingerprint is
printed and logged, and clients pin it (easel login --hub-fingerprint). SIGTERM or SIGINT shut it
down gracefully.

It runs with GODEBUG=adaptivestackstart=0 (new goroutines start with Go's smallest stack: less
memory and shorter waits for a hub of thousands of agents), starting itself again with it at once,
unless GODEBUG already sets adaptivestackstart.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reexecErr := procstart.Reexec() // returns only if the process was not replaced
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			cfg.AdminAPIKey = os.Getenv("EASEL_ADMIN_API_KEY")
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
			if reexecErr != nil {
				cfg.Logger.Warn("Running without the hub's Go runtime settings", "err", reexecErr)
			}
			return server.Run(ctx, cfg)
		},
	}
	cmd.Flags().StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "address to serve on")
	cmd.Flags().StringVar(&cfg.DataDir, "data-dir", filepath.Join(home, ".local", "share", "easel"), "directory for the SQLite store and blobs")
	cmd.Flags().IntVar(&cfg.LocalVCPULimit, "local-vcpu-limit", 0, "vCPUs all local clusters' machines may use together, like a cloud quota (default 16 per host CPU)")
	cmd.Flags().IntVar(&cfg.ReconcileWorkers, "reconcile-workers", 4, "clusters reconciled at once")
	cmd.Flags().IntVar(&cfg.AgentReportTurns, "agent-report-turns", 0, "agent reports applied at once; the others wait their turn, so that a fleet's agents starting together leave CPU for people's calls (default 2 per CPU)")
	cmd.Flags().DurationVar(&cfg.Resync, "resync", 10*time.Minute, "how often every cluster is reconciled again, whether or not anything changed (changes and health deadlines wake reconciles themselves)")
	cmd.Flags().DurationVar(&cfg.HeartbeatTimeout, "heartbeat-timeout", 10*time.Minute, "a cluster without a heartbeat for this long is unhealthy")
	cmd.Flags().DurationVar(&cfg.AgentHeartbeat, "agent-heartbeat", 30*time.Second, "how often local clusters' agents send heartbeats")
	cmd.Flags().DurationVar(&cfg.DrainTimeout, "drain-timeout", clusters.DefaultDrainTimeout, "how long an agent keeps trying to drain a node (PodDisruptionBudgets may hold it) before the operation fails")
	cmd.Flags().StringVar(&cfg.PublicURL, "public-url", "", "URL agents of imported clusters reach the hub at (default http(s)://<listen address>)")
	cmd.Flags().StringVar(&cfg.ReplicaURL, "replica-url", "", "URL the other hub replicas on the same PostgreSQL reach this one at, and agents too without --public-url (default http(s)://<listen address>, this machine's hostname when listening on every address)")
	cmd.Flags().StringVar(&cfg.TLS, "tls", server.TLSAuto, "auto: HTTPS unless listening on loopback without certificate files; on: HTTPS always; off: plain HTTP (behind a TLS proxy)")
	cmd.Flags().StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "PEM certificate (then its chain) to serve HTTPS with (default: a self-signed one, see --tls)")
	cmd.Flags().StringVar(&cfg.TLSKeyFile, "tls-private-key-file", "", "PEM private key of --tls-cert-file")
	cmd.Flags().StringVar(&cfg.TLSCAFile, "tls-ca-file", "", "PEM CA bundle that agents of imported clusters verify the hub with, written into import manifests (default: the self-signed certificate's pin, else their system roots)")
	cmd.Flags().StringVar(&cfg.DB, "db", "", "store URL: postgres://… for PostgreSQL (default: SQLite in --data-dir)")
	cmd.Flags().DurationVar(&cfg.HostGoneAfter, "host-gone-after", replica.DefaultHostGoneAfter, "with several hubs on one PostgreSQL: how long a hub may be gone before another says so in the conditions of the local clusters it runs (HostAvailable False, HostGone)")
	cmd.Flags().StringVar(&cfg.ProfilingListen, "profiling-listen", "", "loopback address (such as 127.0.0.1:6060) to serve Go's runtime profiles on, at /debug/pprof/, without sign-in (default: not served)")
	cmd.Flags().DurationVar(&cfg.Lease, "lease-duration", replica.DefaultLease, "with several hubs on one PostgreSQL: how long a hub keeps its clusters without renewing its session (a dead hub's clusters move to the others after this long; at least 3s)")
	return cmd
}
