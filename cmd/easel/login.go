package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/easelhq/easel/internal/cli"
)

func loginCommand(g *globals) *cobra.Command {
	var (
		email         string
		passwordStdin bool
	)
	cmd := &cobra.Command{
		Use:   "login --hub URL (--api-key KEY | --email EMAIL --password-stdin) [--project NAME|UID]",
		Short: "Verify credentials with a hub and save them for the other commands",
		Long: `Log in to a hub: verify the API key (or the email and password) and pick the project the other
commands act in (--project, else the project named "default" if there is one). The hub URL, the
credentials, the project and how to trust the hub's certificate (--hub-fingerprint, the pin the
hub printed for its self-signed certificate, or --ca-file) are saved to the config file, readable
only by you.`,
		Example: `  easel login --hub http://127.0.0.1:8080 --api-key "$KEY"
  easel login --hub https://hub.example.com:8080 --hub-fingerprint sha256:… --api-key "$KEY"
  echo "$PASSWORD" | easel login --hub http://127.0.0.1:8080 --email admin@easel.local --password-stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := g.settings()
			if err != nil {
				return err
			}
			o := cli.LoginOptions{Hub: s.Hub, APIKey: s.APIKey, Token: s.Token, Email: email, Project: s.ExplicitProject(), Trust: s.Trust}
			switch {
			case email != "" && !passwordStdin:
				return fmt.Errorf("--email needs --password-stdin: pipe the password in, so that it stays out of the shell history")
			case passwordStdin && email == "":
				return fmt.Errorf("--password-stdin needs --email")
			case passwordStdin:
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("reading the password from stdin: %w", err)
				}
				o.Password = strings.TrimRight(string(b), "\r\n")
			}
			res, err := cli.Login(cmd.Context(), o)
			if err != nil {
				return err
			}
			if err := cli.SaveConfig(s.ConfigPath, res.Config); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Logged in to %s as user %s (tenant %s)\n", res.Config.Hub, res.User.UserUID, res.User.TenantUID)
			if res.Config.Project != "" {
				fmt.Fprintf(out, "Project: %s (%s)\n", res.Config.ProjectName, res.Config.Project)
			} else {
				fmt.Fprintln(out, "Project: none; commands act in the tenant scope (clusters need --project)")
			}
			fmt.Fprintf(out, "Saved to %s\n", s.ConfigPath)
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "log in with this user's email and password instead of an API key")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin")
	return cmd
}
