package main

import (
	"context"
	"io"
	"os"

	"github.com/spf13/cobra"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/cli"
	"github.com/easelhq/easel/internal/client"
)

func rootCommand() *cobra.Command {
	g := &globals{getenv: os.Getenv}
	root := &cobra.Command{
		Use:           "easel",
		Short:         "easel manages a fleet of Kubernetes clusters from one hub",
		SilenceUsage:  true,
		SilenceErrors: false,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return cli.CheckFormat(g.flags.Output)
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.flags.Hub, "hub", "", "URL of the hub, e.g. http://127.0.0.1:8080 (env "+cli.EnvHub+")")
	pf.StringVar(&g.flags.APIKey, "api-key", "", "API key to authenticate with (env "+cli.EnvAPIKey+")")
	pf.StringVar(&g.flags.Project, "project", "", "project name or uid to act in (env "+cli.EnvProject+")")
	pf.StringVarP(&g.flags.Output, "output", "o", cli.FormatTable, "output format: table, json or yaml")
	pf.StringVar(&g.flags.CAFile, "ca-file", "", "PEM CA bundle to verify the hub's certificate with, instead of the system's (env "+cli.EnvCAFile+")")
	pf.StringVar(&g.flags.HubFingerprint, "hub-fingerprint", "", "SHA-256 fingerprint (sha256:…) the hub's certificate must have; for a hub's self-signed certificate (env "+cli.EnvHubFingerprint+")")
	pf.StringVar(&g.flags.Config, "config", "", "config file (env "+cli.EnvConfig+"; default $XDG_CONFIG_HOME/easel/config.yaml or ~/.config/easel/config.yaml)")
	root.AddCommand(serverCommand(), loginCommand(g), profileCommand(g), clusterCommand(g), nodeCommand(g), eventsCommand(g),
		logsCommand(g), doctorCommand(g), agentCommand(g))
	return root
}

// globals are the root's persistent flags, shared by the client commands.
type globals struct {
	flags  cli.Flags
	getenv func(string) string
}

func (g *globals) settings() (cli.Settings, error) { return cli.LoadSettings(g.flags, g.getenv) }

// client is a client of the configured hub in the configured project.
func (g *globals) client(ctx context.Context) (*client.Client, error) {
	s, err := g.settings()
	if err != nil {
		return nil, err
	}
	return s.Client(ctx)
}

// cluster connects and finds the cluster a command's argument names (name or uid).
func (g *globals) cluster(ctx context.Context, ref string) (*client.Client, cli.ClusterRef, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, cli.ClusterRef{}, err
	}
	found, err := cli.FindCluster(ctx, c, ref)
	return c, found, err
}

// profile connects and finds the profile a command's argument names (NAME[@VERSION] or uid).
func (g *globals) profile(ctx context.Context, ref string) (*client.Client, v1.ClusterProfileMetadata, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, v1.ClusterProfileMetadata{}, err
	}
	found, err := cli.FindProfile(ctx, c, ref)
	return c, found, err
}

// print writes obj as -o asks: the API object as JSON or YAML, or the table.
func (g *globals) print(cmd *cobra.Command, obj any, table func(w io.Writer) error) error {
	return cli.Print(cmd.OutOrStdout(), g.flags.Output, obj, table)
}
