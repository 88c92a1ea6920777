package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/cli"
)

func clusterCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "cluster",
		Aliases: []string{"clusters"},
		Short:   "Create, list, show, scale and delete clusters",
	}
	cmd.AddCommand(clusterCreateCommand(g), clusterListCommand(g), clusterGetCommand(g), clusterDeleteCommand(g), clusterKubeconfigCommand(g), clusterNodesCommand(g),
		clusterUsageCommand(g), clusterWorkloadsCommand(g), clusterRepaveCommand(g), clusterCertsCommand(g), clusterProfilesCommand(g),
		clusterAttachCommand(g), clusterUpgradeCommand(g), clusterDetachCommand(g), clusterScaleCommand(g), clusterPoolCommand(g))
	return cmd
}

func clusterCreateCommand(g *globals) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "create -f FILE",
		Short: "Create a cluster from a YAML or JSON file",
		Long: `Create a cluster from a file holding a SpectroClusterEntity (metadata.name, spec.profiles,
spec.machinepoolconfig). Besides Palette's fields the file may say cloudType (default local) and
name profiles by name and version instead of uid; easel resolves them before sending. Prints the
cluster's uid.`,
		Example: `  easel cluster create -f examples/cluster.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := cli.ReadCluster(file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			if c.Project() == "" {
				// The hub would say "set the ProjectUid header", which is not what a CLI user sets.
				return fmt.Errorf("clusters belong to a project: pass --project NAME, or log in with one")
			}
			if err := cli.ResolveClusterProfiles(cmd.Context(), c, &f); err != nil {
				return err
			}
			uid, err := c.CreateCluster(cmd.Context(), f.CloudType, f.Entity)
			if err != nil {
				return fmt.Errorf("creating cluster %s: %w", f.Entity.Metadata.Name, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Created cluster %s (cloud type %s)\n", f.Entity.Metadata.Name, f.CloudType)
			return g.print(cmd, v1.UID{UID: uid}, func(w io.Writer) error {
				_, err := fmt.Fprintln(w, uid)
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", `cluster file, YAML or JSON ("-" for stdin)`)
	cmd.MarkFlagRequired("filename")
	return cmd
}

func clusterListCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the clusters of the project (of every project you see without one)",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client(cmd.Context())
			if err != nil {
				return err
			}
			items, err := c.AllClusters(cmd.Context(), v1.SearchFilterSummarySpec{
				Sort: []v1.SearchFilterSort{{Field: "clusterName", Order: "asc"}}})
			if err != nil {
				return fmt.Errorf("listing clusters: %w", err)
			}
			list := struct {
				Items []v1.SpectroClusterSummary `json:"items"`
			}{items}
			return g.print(cmd, list, func(w io.Writer) error {
				now := time.Now()
				t := cli.NewTable(w, "NAME", "STATE", "CLOUD", "POOLS", "PROJECT", "AGE")
				for _, cl := range items {
					t.Row(cl.Metadata.Name, cl.Status.State, cl.SpecSummary.CloudConfig.CloudType,
						pools(cl.SpecSummary.CloudConfig.MachinePools), cl.SpecSummary.ProjectMeta.Name,
						cli.Age(cl.Metadata.CreationTimestamp, now))
				}
				return t.Flush()
			})
		},
	}
}

// pools is "name:size" of each pool, e.g. control-plane:1,workers:2.
func pools(ps []v1.MachinePoolMeta) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name+":"+strconv.Itoa(int(p.Size)))
	}
	return strings.Join(out, ",")
}

func clusterGetCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "get NAME|UID",
		Short: "Show a cluster: its state, conditions, pools and profiles",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, ref, err := g.cluster(ctx, args[0])
			if err != nil {
				return err
			}
			if g.flags.Output == cli.FormatJSON || g.flags.Output == cli.FormatYAML {
				cl, err := c.GetCluster(ctx, ref.UID)
				if err != nil {
					return fmt.Errorf("reading cluster %s: %w", ref.Name, err)
				}
				return g.print(cmd, cl, nil)
			}
			sum, err := c.ClusterSummary(ctx, ref.UID)
			if err != nil {
				return fmt.Errorf("reading cluster %s: %w", ref.Name, err)
			}
			// The cluster shows its profiles' names and uids; their versions come from the profiles.
			versions := map[string]string{}
			if list, err := c.ListProfiles(ctx); err == nil {
				for _, p := range list.Items {
					versions[p.Metadata.UID] = p.Spec.Version
				}
			}
			cl, err := c.GetCluster(ctx, ref.UID)
			if err != nil {
				return fmt.Errorf("reading cluster %s: %w", ref.Name, err)
			}
			return describeCluster(cmd.OutOrStdout(), sum, cl.Status.Services, versions, time.Now())
		},
	}
}

func describeCluster(w io.Writer, sum *v1.SpectroClusterUIDSummary, services []v1.LoadBalancerService, profileVersions map[string]string, now time.Time) error {
	created := ""
	if ts := sum.Metadata.CreationTimestamp; !ts.IsZero() {
		created = ts.Local().Format(time.RFC3339) + " (" + cli.Age(ts, now) + " ago)"
	}
	err := cli.Fields(w,
		"Name", sum.Metadata.Name,
		"UID", sum.Metadata.UID,
		"Cloud", sum.Spec.CloudConfig.CloudType,
		"State", sum.Status.State,
		"Health", healthLine(sum.Status.Health, now),
		"Usage", usageLine(sum.Status.Metrics),
		"Created", created,
	)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\nConditions:")
	t := cli.NewTable(w, "TYPE", "STATUS", "REASON", "AGE", "MESSAGE")
	for _, cond := range sum.Status.Conditions {
		t.Row(cond.Type, cond.Status, cond.Reason, cli.Age(cond.LastTransitionTime, now), cond.Message)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nPools:")
	t = cli.NewTable(w, "NAME", "ROLE", "SIZE", "HEALTHY")
	for _, p := range sum.Spec.CloudConfig.MachinePools {
		role := "worker"
		if p.IsControlPlane {
			role = "control-plane"
		}
		t.Row(p.Name, role, strconv.Itoa(int(p.Size)), strconv.Itoa(int(p.HealthyNodeCount)))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nProfiles:")
	t = cli.NewTable(w, "NAME", "VERSION", "TYPE", "UID")
	for _, p := range sum.Spec.ClusterProfileTemplates {
		t.Row(p.Name, profileVersions[p.UID], p.Type, p.UID)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if len(sum.Status.Nodes) > 0 {
		fmt.Fprintln(w, "\nNodes:")
		if err := nodesTable(w, sum.Status.Nodes, sum.Status.NodeUsage); err != nil {
			return err
		}
	}
	if len(services) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nServices:")
	t = cli.NewTable(w, "NAMESPACE", "NAME", "TYPE", "LINK")
	for _, svc := range services {
		t.Row(svc.Namespace, svc.Name, svc.Type, svc.Link)
	}
	return t.Flush()
}

func clusterDeleteCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME|UID",
		Aliases: []string{"rm"},
		Short:   "Delete a cluster (without asking)",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ref, err := g.cluster(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := c.DeleteCluster(cmd.Context(), ref.UID); err != nil {
				return fmt.Errorf("deleting cluster %s: %w", ref.Name, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleting cluster %s (%s): its machines and control plane are torn down in the background\n", ref.Name, ref.UID)
			return nil
		},
	}
}

func clusterKubeconfigCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "kubeconfig NAME|UID",
		Short: "Print the cluster-admin kubeconfig (once the control plane is up)",
		Example: `  easel cluster kubeconfig demo > demo.kubeconfig
  kubectl --kubeconfig demo.kubeconfig get nodes`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ref, err := g.cluster(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			data, err := c.Kubeconfig(cmd.Context(), ref.UID)
			if err != nil {
				return fmt.Errorf("downloading the kubeconfig of %s: %w", ref.Name, err)
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		},
	}
}

// usageLine sums up the worker nodes' usage in one line.
func usageLine(m *v1.ClusterMetrics) string {
	if m == nil || m.CPU == nil || m.Memory == nil {
		return "not reported yet"
	}
	return fmt.Sprintf("CPU %.2f of %.2f cores (%s, %.2f requested), memory %.2f of %.2f GiB (%s, %.2f requested)",
		m.CPU.Usage, m.CPU.Total, percent(m.CPU.Usage, m.CPU.Total), m.CPU.Request,
		m.Memory.Usage, m.Memory.Total, percent(m.Memory.Usage, m.Memory.Total), m.Memory.Request)
}

// healthLine says in one line whether the cluster is healthy and why not.
func healthLine(h *v1.SpectroClusterHealth, now time.Time) string {
	if h == nil {
		return "Unknown (no heartbeat from the agent yet)"
	}
	line := fmt.Sprintf("%s (last heartbeat %s ago, agent %s)", h.State, cli.Age(h.LastHeartBeatTimestamp, now), h.AgentVersion)
	for _, c := range h.Conditions {
		if m, ok := c.(map[string]any); ok {
			line += fmt.Sprintf("; %v: %v", m["type"], m["message"])
		}
	}
	return line
}

func clusterNodesCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "nodes NAME|UID",
		Short: "List a cluster's nodes as its agent last reported them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ref, err := g.cluster(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			sum, err := c.ClusterSummary(cmd.Context(), ref.UID)
			if err != nil {
				return fmt.Errorf("reading cluster %s: %w", ref.Name, err)
			}
			return g.print(cmd, sum.Status.Nodes, func(w io.Writer) error {
				return nodesTable(w, sum.Status.Nodes, sum.Status.NodeUsage)
			})
		},
	}
}

// nodesTable lists nodes as the agent last reported them, with their usage.
func nodesTable(w io.Writer, nodes []v1.NodeReport, usage []v1.NodeUsage) error {
	used := map[string]v1.NodeUsage{}
	for _, u := range usage {
		used[u.Name] = u
	}
	t := cli.NewTable(w, "NAME", "ROLE", "POOL", "READY", "SCHEDULING", "PROBLEMS", "CPU", "CPU%", "MEMORY", "MEMORY%", "KUBELET")
	for _, n := range nodes {
		ready, scheduling, problems := "False", "Schedulable", "-"
		if n.Ready {
			ready = "True"
		}
		if n.Unschedulable {
			scheduling = "Cordoned"
		}
		if m := n.Maintenance; m != nil && m.Action == v1.MaintenanceCordon {
			scheduling = "Maintenance:" + m.State
		}
		var trouble []string
		for _, cond := range n.Conditions {
			if cond.Type != "Ready" && cond.Status == "True" {
				trouble = append(trouble, cond.Type)
			}
		}
		if len(trouble) > 0 {
			problems = strings.Join(trouble, ",")
		}
		u := [4]string{"-", "-", "-", "-"}
		if nu, ok := used[n.Name]; ok {
			u = nodeUsage(nu)
		}
		t.Row(n.Name, n.Role, n.Pool, ready, scheduling, problems, u[0], u[1], u[2], u[3], n.KubeletVersion)
	}
	return t.Flush()
}
