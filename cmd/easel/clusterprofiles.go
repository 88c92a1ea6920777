package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/cli"
	"github.com/easelhq/easel/internal/client"
)

func clusterProfilesCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "profiles NAME|UID",
		Short: "List a cluster's profiles and the state of each pack as its agent last reported it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, ref, err := g.cluster(ctx, args[0])
			if err != nil {
				return err
			}
			list, err := c.ClusterProfiles(ctx, ref.UID)
			if err != nil {
				return fmt.Errorf("reading the profiles of %s: %w", ref.Name, err)
			}
			cl, err := c.GetCluster(ctx, ref.UID)
			if err != nil {
				return fmt.Errorf("reading cluster %s: %w", ref.Name, err)
			}
			return g.print(cmd, list, func(w io.Writer) error {
				states := map[string]v1.PackStatus{}
				for _, ps := range cl.Status.Packs {
					states[ps.Name] = ps
				}
				t := cli.NewTable(w, "PROFILE", "TYPE", "PACK", "LAYER", "VERSION", "STATE", "MESSAGE")
				for _, p := range list.Profiles {
					for _, pk := range p.Spec.Packs {
						st := states[pk.Spec.Name]
						delete(states, pk.Spec.Name)
						t.Row(p.Metadata.Name+"@"+p.Spec.ProfileVersion, p.Spec.Type, pk.Spec.Name, pk.Spec.Layer, pk.Spec.Version,
							cmp.Or(st.State, "-"), cmp.Or(st.Message, "-"))
					}
				}
				for _, st := range cl.Status.Packs { // packs detached by the last change
					if _, left := states[st.Name]; left {
						t.Row("-", "-", st.Name, "-", st.Version, st.State, st.Message)
					}
				}
				return t.Flush()
			})
		},
	}
}

// profileChange is what attach and upgrade share: the values files and the wait.
type profileChange struct {
	values  []string
	noWait  bool
	timeout time.Duration
}

func (pc *profileChange) flags(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&pc.values, "values", nil, "PACK=FILE: the cluster's values of one of the profile's packs (repeatable)")
	cmd.Flags().BoolVar(&pc.noWait, "no-wait", false, "return once the hub has the change")
	cmd.Flags().DurationVar(&pc.timeout, "timeout", 10*time.Minute, "how long to wait for the agent to apply the change")
}

// patch sends PATCH …/profiles with the one profile e names, with the --values files read in,
// and waits as apply does.
func (pc *profileChange) patch(cmd *cobra.Command, c *client.Client, ref cli.ClusterRef, what string, e v1.SpectroClusterProfileEntity) error {
	for _, v := range pc.values {
		pack, file, ok := strings.Cut(v, "=")
		if !ok || pack == "" || file == "" {
			return fmt.Errorf("--values %q: want PACK=FILE", v)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("--values %s: %w", pack, err)
		}
		e.PackValues = append(e.PackValues, v1.PackValuesEntity{Name: pack, Values: string(data)})
	}
	body := v1.SpectroClusterProfiles{Profiles: []v1.SpectroClusterProfileEntity{e}}
	return pc.apply(cmd, c, ref, what, func(ctx context.Context) error { return c.PatchClusterProfiles(ctx, ref.UID, body) })
}

// apply sends the change and, unless --no-wait, waits for the agent to report the packs of the
// cluster's new generation, showing each pack's state.
func (pc *profileChange) apply(cmd *cobra.Command, c *client.Client, ref cli.ClusterRef, what string, change func(ctx context.Context) error) error {
	ctx := cmd.Context()
	if err := change(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "%s: the hub has the change\n", what)
	if rp, err := c.RepaveStatus(ctx, ref.UID); err == nil && len(rp.Spec.Reasons) > 0 {
		fmt.Fprintf(out, "The machines are repaved (easel cluster repave %s shows it):\n", ref.Name)
		for _, r := range rp.Spec.Reasons {
			fmt.Fprintf(out, "  %s\n", r.Message)
		}
	}
	if pc.noWait {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, pc.timeout)
	defer cancel()
	for {
		cl, err := c.GetCluster(ctx, ref.UID)
		if err != nil {
			return fmt.Errorf("waiting for the agent: %w", err)
		}
		if st := cl.Status; st.PacksGeneration >= st.Generation {
			var failed []string
			for _, ps := range st.Packs {
				fmt.Fprintf(out, "  pack %s %s: %s\n", ps.Name, ps.Version, strings.TrimSpace(ps.State+" "+ps.Message))
				if ps.State == v1.PackStateFailed {
					failed = append(failed, ps.Name)
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf("the agent could not apply %s (it keeps trying; easel cluster profiles %s shows why)", strings.Join(failed, ", "), ref.Name)
			}
			fmt.Fprintf(out, "Applied generation %d\n", st.Generation)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the agent has not applied the change after %s; it keeps going — see easel cluster profiles %s", pc.timeout, ref.Name)
		case <-time.After(time.Second):
		}
	}
}

func clusterAttachCommand(g *globals) *cobra.Command {
	var pc profileChange
	cmd := &cobra.Command{
		Use:   "attach CLUSTER PROFILE[@VERSION]",
		Short: "Attach an add-on profile to a running cluster, or change the cluster's values of one attached",
		Long: `Attach a published add-on profile to a running cluster: its agent applies the packs in place (no
node is replaced). For a profile that is attached already, --values changes the cluster's values of
its packs. The command waits for the agent to apply the change, showing each pack's state.`,
		Example: `  easel cluster attach demo monitoring@1.0.0
  easel cluster attach demo monitoring --values prometheus-operator=values.yaml`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, ref, err := g.cluster(ctx, args[0])
			if err != nil {
				return err
			}
			prof, err := cli.FindProfile(ctx, c, args[1])
			if err != nil {
				return err
			}
			return pc.patch(cmd, c, ref, fmt.Sprintf("Attaching %s@%s to %s", prof.Metadata.Name, prof.Spec.Version, ref.Name),
				v1.SpectroClusterProfileEntity{UID: prof.Metadata.UID})
		},
	}
	pc.flags(cmd)
	return cmd
}

func clusterUpgradeCommand(g *globals) *cobra.Command {
	var pc profileChange
	cmd := &cobra.Command{
		Use:   "upgrade CLUSTER PROFILE@VERSION",
		Short: "Replace a profile attached to a cluster by another version of it",
		Long: `Replace the version of PROFILE attached to a cluster by VERSION. Add-on packs and the CNI and CSI
layers are applied in place by the agent; a change of the OS or Kubernetes layer (pack, version or
values) replaces every machine, one at a time, with the reasons recorded (easel cluster repave).`,
		Example: `  easel cluster upgrade demo local-cluster@1.1.0`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, ref, err := g.cluster(ctx, args[0])
			if err != nil {
				return err
			}
			name, version := cli.ParseProfileRef(args[1])
			if version == "" {
				return fmt.Errorf("name the version to upgrade to: %s@VERSION", name)
			}
			prof, err := cli.FindProfile(ctx, c, args[1])
			if err != nil {
				return err
			}
			old, err := attachedProfile(ctx, c, ref, name)
			if err != nil {
				return err
			}
			return pc.patch(cmd, c, ref, fmt.Sprintf("Upgrading %s from %s to %s on %s", name, old.ProfileVersion, version, ref.Name),
				v1.SpectroClusterProfileEntity{UID: prof.Metadata.UID, ReplaceWithProfile: old.UID})
		},
	}
	pc.flags(cmd)
	return cmd
}

func clusterDetachCommand(g *globals) *cobra.Command {
	var pc profileChange
	cmd := &cobra.Command{
		Use:   "detach CLUSTER PROFILE",
		Short: "Detach an add-on profile from a cluster; its agent deletes what the profile's packs applied",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, ref, err := g.cluster(ctx, args[0])
			if err != nil {
				return err
			}
			name, _ := cli.ParseProfileRef(args[1])
			attached, err := attachedProfile(ctx, c, ref, name)
			if err != nil {
				return err
			}
			return pc.apply(cmd, c, ref, fmt.Sprintf("Detaching %s from %s", attached.Name, ref.Name),
				func(ctx context.Context) error { return c.DetachClusterProfiles(ctx, ref.UID, []string{attached.UID}) })
		},
	}
	cmd.Flags().BoolVar(&pc.noWait, "no-wait", false, "return once the hub has the change")
	cmd.Flags().DurationVar(&pc.timeout, "timeout", 10*time.Minute, "how long to wait for the agent to apply the change")
	return cmd
}

// attachedProfile finds the profile of that name (or uid) attached to the cluster.
func attachedProfile(ctx context.Context, c *client.Client, ref cli.ClusterRef, name string) (v1.ClusterProfileTemplateMeta, error) {
	cl, err := c.GetCluster(ctx, ref.UID)
	if err != nil {
		return v1.ClusterProfileTemplateMeta{}, fmt.Errorf("reading cluster %s: %w", ref.Name, err)
	}
	i := slices.IndexFunc(cl.Spec.ClusterProfileTemplates, func(t v1.ClusterProfileTemplateMeta) bool { return t.Name == name || t.UID == name })
	if i < 0 {
		return v1.ClusterProfileTemplateMeta{}, fmt.Errorf("cluster %s has no profile %s attached (easel cluster profiles %s lists them)", ref.Name, name, ref.Name)
	}
	return cl.Spec.ClusterProfileTemplates[i], nil
}
