package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/cli"
)

func profileCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "profile",
		Aliases: []string{"profiles"},
		Short:   "Create, list, publish and delete cluster profiles",
		Long: `A cluster profile is a versioned stack of packs (OS, Kubernetes, CNI, CSI and add-ons). A profile is
a draft until it is published; published profiles are immutable and only they can build clusters.
Profiles are named NAME, NAME@VERSION or by uid.`,
	}
	cmd.AddCommand(profileApplyCommand(g), profileListCommand(g), profileGetCommand(g),
		profilePublishCommand(g), profileDeleteCommand(g))
	return cmd
}

func profileApplyCommand(g *globals) *cobra.Command {
	var (
		file    string
		publish bool
	)
	cmd := &cobra.Command{
		Use:   "apply -f FILE [--publish]",
		Short: "Create a profile from a YAML or JSON file, or update its draft",
		Long: `Apply a cluster profile file (a ClusterProfileEntity: metadata.name, spec.version,
spec.template.{type,cloudType,packs}). A profile of that name and version is created, or its draft
updated; a published one is refused, since published profiles are immutable: bump spec.version.
Prints the profile's uid.`,
		Example: `  easel profile apply -f examples/profile.yaml --publish`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := cli.ReadProfile(file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			res, err := cli.ApplyProfile(cmd.Context(), c, e, publish)
			if err != nil {
				return err
			}
			what := "Updated the draft of"
			if res.Created {
				what = "Created"
			}
			state := "draft"
			if publish {
				state = "published"
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s profile %s %s (%s)\n", what, res.Name, res.Version, state)
			return g.print(cmd, v1.UID{UID: res.UID}, func(w io.Writer) error {
				_, err := fmt.Fprintln(w, res.UID)
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", `profile file, YAML or JSON ("-" for stdin)`)
	cmd.Flags().BoolVar(&publish, "publish", false, "publish the profile after applying it")
	cmd.MarkFlagRequired("filename")
	return cmd
}

func profileListCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the profiles in the project and the tenant",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			items, err := cli.ListProfiles(cmd.Context(), c)
			if err != nil {
				return err
			}
			list := struct {
				Items []v1.ClusterProfile `json:"items"`
			}{items}
			return g.print(cmd, list, func(w io.Writer) error {
				t := cli.NewTable(w, "NAME", "VERSION", "TYPE", "CLOUD", "STATE", "UID")
				for i := range items {
					p := &items[i]
					tmpl := cli.ProfileTemplate(p)
					t.Row(p.Metadata.Name, p.Spec.Version, tmpl.Type, tmpl.CloudType, cli.ProfileState(p), p.Metadata.UID)
				}
				return t.Flush()
			})
		},
	}
}

func profileGetCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "get NAME[@VERSION]|UID",
		Short: "Show a profile and its packs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, m, err := g.profile(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			p, err := c.GetProfile(cmd.Context(), m.Metadata.UID)
			if err != nil {
				return fmt.Errorf("reading profile %s: %w", args[0], err)
			}
			return g.print(cmd, p, func(w io.Writer) error { return describeProfile(w, p) })
		},
	}
}

func describeProfile(w io.Writer, p *v1.ClusterProfile) error {
	tmpl := cli.ProfileTemplate(p)
	var versions []string
	for _, v := range p.Spec.Versions {
		versions = append(versions, v.Version)
	}
	err := cli.Fields(w,
		"Name", p.Metadata.Name,
		"Version", p.Spec.Version,
		"UID", p.Metadata.UID,
		"Type", tmpl.Type,
		"Cloud", tmpl.CloudType,
		"State", cli.ProfileState(p),
		"Versions", strings.Join(versions, ", "),
		"Used by", strings.Join(p.Status.InUseClusterUIDs, ", "),
	)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\nPacks:")
	t := cli.NewTable(w, "LAYER", "NAME", "VERSION", "TYPE", "UID")
	for _, pk := range tmpl.Packs {
		t.Row(pk.Layer, pk.Name, pk.Version, pk.Type, pk.PackUID)
	}
	return t.Flush()
}

func profilePublishCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "publish NAME[@VERSION]|UID",
		Short: "Publish a draft profile: it becomes immutable and usable by clusters",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, m, err := g.profile(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := c.PublishProfile(cmd.Context(), m.Metadata.UID); err != nil {
				return fmt.Errorf("publishing profile %s %s: %w", m.Metadata.Name, m.Spec.Version, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Published profile %s %s (%s)\n", m.Metadata.Name, m.Spec.Version, m.Metadata.UID)
			return nil
		},
	}
}

func profileDeleteCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME[@VERSION]|UID",
		Aliases: []string{"rm"},
		Short:   "Delete a profile that no cluster uses",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, m, err := g.profile(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := c.DeleteProfile(cmd.Context(), m.Metadata.UID); err != nil {
				return fmt.Errorf("deleting profile %s %s: %w", m.Metadata.Name, m.Spec.Version, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted profile %s %s (%s)\n", m.Metadata.Name, m.Spec.Version, m.Metadata.UID)
			return nil
		},
	}
}
