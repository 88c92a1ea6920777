package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/easelhq/easel/internal/agent"
	"github.com/easelhq/easel/internal/cli"
	"github.com/easelhq/easel/internal/hubtrust"
)

func agentCommand(g *globals) *cobra.Command {
	var (
		clusterUID, token, tokenFile, kubeconfig, logLevel, kubeletMetrics, namespace string
		heartbeat, reports, usageEvery, workloads                                     time.Duration
		hubs, pins                                                                    []string
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the easel agent of one cluster: heartbeats, desired state, packs, reports",
		Long: `Run the agent of one cluster. It dials out to the hub (--hub, env EASEL_HUB_URL) with the
cluster's token (--token-file, --token or env EASEL_AGENT_TOKEN), verifying an https hub's
certificate with --hub-fingerprint (env EASEL_HUB_FINGERPRINT) or --ca-file (env EASEL_CA_FILE)
or else the system's roots; it sends heartbeats, long-polls the
desired state and applies the profiles' packs by server-side apply. It uses the in-cluster
configuration unless --kubeconfig is given. A hub outage is retried; SIGTERM stops it.

A hub of several replicas: repeat --hub (or separate the URLs with commas, in the environment
too) and pin each replica's certificate the same way; the agent calls one replica and moves to
the next when it stops answering, answers 502/503/504, or fails two long-polls in a row.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(hubs) == 0 {
				hubs = []string{os.Getenv("EASEL_HUB_URL")}
			}
			clusterUID = firstNonEmpty(clusterUID, os.Getenv("EASEL_CLUSTER_UID"))
			token = firstNonEmpty(token, os.Getenv("EASEL_AGENT_TOKEN"))
			if tokenFile != "" {
				data, err := os.ReadFile(tokenFile)
				if err != nil {
					return fmt.Errorf("reading the agent token: %w", err)
				}
				token = strings.TrimSpace(string(data))
			}
			var (
				kube *rest.Config
				err  error
			)
			if kubeconfig != "" {
				kube, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
			} else {
				kube, err = rest.InClusterConfig()
			}
			if err != nil {
				return fmt.Errorf("finding the cluster's API server: %w", err)
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q must be debug, info, warn or error", logLevel)
			}
			trust := hubtrust.Options{CAFile: firstNonEmpty(g.flags.CAFile, os.Getenv(cli.EnvCAFile)),
				Fingerprint: firstNonEmpty(strings.Join(pins, ","), os.Getenv(cli.EnvHubFingerprint))}
			tlsConfig, err := trust.TLSConfig()
			if err != nil {
				return err
			}
			a, err := agent.New(agent.Config{HubURLs: hubs, ClusterUID: clusterUID, Token: token, Kube: kube, TLS: tlsConfig,
				HeartbeatInterval: heartbeat, ReportInterval: reports, UsageInterval: usageEvery, KubeletMetricsURL: kubeletMetrics,
				WorkloadInterval: workloads, Namespace: namespace,
				Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return a.Run(ctx)
		},
	}
	// The agent's own --hub and --hub-fingerprint hide the root's: each may be repeated, for the
	// replicas of one hub, where the CLI's name one hub.
	cmd.Flags().StringArrayVar(&hubs, "hub", nil,
		"URL of the hub; repeat it or separate URLs with commas for several replicas, at most 16 (env EASEL_HUB_URL)")
	cmd.Flags().StringArrayVar(&pins, "hub-fingerprint", nil,
		"SHA-256 fingerprint (sha256:…) the hub's certificate must have; repeat it or separate them with commas to trust any of several replicas (env "+cli.EnvHubFingerprint+")")
	cmd.Flags().StringVar(&clusterUID, "cluster", "", "uid of the cluster this agent runs for (env EASEL_CLUSTER_UID)")
	cmd.Flags().StringVar(&token, "token", "", "the cluster's agent token (env EASEL_AGENT_TOKEN; prefer --token-file)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the cluster's agent token")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default: in-cluster configuration)")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.Flags().DurationVar(&heartbeat, "heartbeat-interval", 30*time.Second, "how often to send a heartbeat")
	cmd.Flags().DurationVar(&reports, "report-interval", 30*time.Second, "how often to rebuild the reports (services) and send those that changed")
	cmd.Flags().DurationVar(&usageEvery, "usage-interval", 30*time.Second, "how often to sample node usage and send it")
	cmd.Flags().StringVar(&kubeletMetrics, "kubelet-metrics-url", "",
		"read kubelet resource metrics at this URL, {node} standing for the node name (default: metrics.k8s.io, else the API server's node proxy)")
	cmd.Flags().DurationVar(&workloads, "workload-interval", 60*time.Second, "how often to send the workload report (and read the palette-agent-config switch)")
	cmd.Flags().StringVar(&namespace, "namespace", "", "namespace of the agent's palette-agent-config ConfigMap (default env POD_NAMESPACE, else easel-system)")
	return cmd
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
