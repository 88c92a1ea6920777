package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/cli"
	"github.com/easelhq/easel/internal/client"
)

// poolRef is where a cluster's pool operations live.
type poolRef struct {
	c                    *client.Client
	cluster              cli.ClusterRef
	cloudType, configUID string
}

// clusterPools connects and finds the cluster a command's argument names, and its cloud config.
func (g *globals) clusterPools(ctx context.Context, ref string) (poolRef, error) {
	c, found, err := g.cluster(ctx, ref)
	if err != nil {
		return poolRef{}, err
	}
	cl, err := c.GetCluster(ctx, found.UID)
	if err != nil {
		return poolRef{}, fmt.Errorf("reading cluster %s: %w", found.Name, err)
	}
	return poolRef{c: c, cluster: found, cloudType: cl.Spec.CloudType, configUID: cl.Spec.CloudConfigRef.UID}, nil
}

// pool reads the pool name as it is now, with the version of the cluster it was read at; an
// unknown name is an error that names the pools there are.
func (p poolRef) pool(ctx context.Context, name string) (v1.MachinePoolConfig, string, error) {
	cc, version, err := p.c.CloudConfig(ctx, p.cloudType, p.configUID)
	if err != nil {
		return v1.MachinePoolConfig{}, "", fmt.Errorf("reading the pools of %s: %w", p.cluster.Name, err)
	}
	var names []string
	for _, mp := range cc.Spec.MachinePoolConfig {
		if mp.Name == name {
			return mp, version, nil
		}
		names = append(names, mp.Name)
	}
	return v1.MachinePoolConfig{}, "", fmt.Errorf("cluster %s has no pool %q (its pools: %s)", p.cluster.Name, name, strings.Join(names, ", "))
}

// conflictRetries is how often scale reads the pool again when the cluster changed between its
// read and its write (the engine and the agent write the cluster's status all the time).
const conflictRetries = 5

func clusterScaleCommand(g *globals) *cobra.Command {
	var wait poolWait
	cmd := &cobra.Command{
		Use:   "scale CLUSTER POOL SIZE",
		Short: "Change the number of machines of a pool",
		Long: `Change the size of a cluster's machine pool and nothing else: the pool is read, and sent back
whole with the new size under If-Match (read again if the cluster changed in between). New machines
join the pool's least used zones; on the way down the newest machines are drained, then deleted.
The command waits, showing progress, until the pool has SIZE machines Running unless --no-wait is
given; then it lists them (-o json prints them as the API shows them).`,
		Example: `  easel cluster scale demo workers 5
  easel cluster scale demo workers 1 --timeout 5m`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[1]
			size, err := strconv.Atoi(args[2])
			if err != nil || size < 0 {
				return fmt.Errorf("SIZE %q must be a whole number, 0 or more", args[2])
			}
			ctx := cmd.Context()
			p, err := g.clusterPools(ctx, args[0])
			if err != nil {
				return err
			}
			log := cmd.ErrOrStderr()
			for attempt := 1; ; attempt++ {
				pool, version, err := p.pool(ctx, name)
				if err != nil {
					return err
				}
				if int(pool.Size) == size {
					fmt.Fprintf(log, "Pool %s of cluster %s already has size %d\n", name, p.cluster.Name, size)
					break
				}
				e := client.PoolEntity(pool)
				*e.PoolConfig.Size = int32(size)
				err = p.c.UpdateMachinePool(ctx, p.cloudType, p.configUID, name, e, version)
				if client.IsConflict(err) && attempt < conflictRetries {
					continue // the cluster changed since the read: read the pool again
				}
				if err != nil {
					return fmt.Errorf("scaling pool %s of %s to %d: %w", name, p.cluster.Name, size, err)
				}
				fmt.Fprintf(log, "Scaling pool %s of cluster %s from %s to %s\n", name, p.cluster.Name, machines(int(pool.Size)), machines(size))
				break
			}
			return wait.run(cmd, g, p, name, size)
		},
	}
	wait.flags(cmd)
	return cmd
}

func clusterPoolCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "pool",
		Aliases: []string{"pools"},
		Short:   "Add or delete a cluster's machine pools",
	}
	cmd.AddCommand(clusterPoolAddCommand(g), clusterPoolDeleteCommand(g))
	return cmd
}

func clusterPoolAddCommand(g *globals) *cobra.Command {
	var (
		wait                       poolWait
		size                       int
		instanceType               string
		zones, labelArgs, taintArg []string
	)
	cmd := &cobra.Command{
		Use:   "add CLUSTER NAME --size N",
		Short: "Add a worker pool to a cluster",
		Long: `Add a worker pool to a cluster. Its machines are spread over --zones (the provider's first zone
when none is given); --label and --taint go on every node of the pool. The command waits, showing
progress, until the pool has N machines Running unless --no-wait is given; then it lists them.`,
		Example: `  easel cluster pool add demo gpu --size 2 --instance-type large --zones local-a,local-b \
    --label tier=gpu --taint nvidia.com/gpu=true:NoSchedule`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[1]
			if size < 0 {
				return fmt.Errorf("--size %d must be 0 or more", size)
			}
			labels, err := parseLabels(labelArgs)
			if err != nil {
				return err
			}
			taints, err := parseTaints(taintArg)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			p, err := g.clusterPools(ctx, args[0])
			if err != nil {
				return err
			}
			n := int32(size)
			e := v1.MachinePoolConfigEntity{
				CloudConfig: v1.MachinePoolCloudConfigEntity{InstanceType: instanceType, Azs: zones},
				PoolConfig:  v1.MachinePoolBaseConfigEntity{Name: name, Size: &n, AdditionalLabels: labels, Taints: taints},
			}
			if err := p.c.AddMachinePool(ctx, p.cloudType, p.configUID, e); err != nil {
				return fmt.Errorf("adding pool %s to %s: %w", name, p.cluster.Name, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Added pool %s to cluster %s with %s\n", name, p.cluster.Name, machines(size))
			return wait.run(cmd, g, p, name, size)
		},
	}
	cmd.Flags().IntVar(&size, "size", 0, "number of machines")
	cmd.MarkFlagRequired("size")
	cmd.Flags().StringVar(&instanceType, "instance-type", "", "instance type of the machines: small, medium, large or xlarge (the hub's default: small)")
	cmd.Flags().StringSliceVar(&zones, "zones", nil, "zones to spread the machines over, e.g. local-a,local-b")
	cmd.Flags().StringArrayVar(&labelArgs, "label", nil, "KEY=VALUE label of the pool's nodes (repeatable)")
	cmd.Flags().StringArrayVar(&taintArg, "taint", nil, "KEY[=VALUE]:EFFECT taint of the pool's nodes, EFFECT NoSchedule, PreferNoSchedule or NoExecute (repeatable)")
	wait.flags(cmd)
	return cmd
}

func clusterPoolDeleteCommand(g *globals) *cobra.Command {
	var wait poolWait
	cmd := &cobra.Command{
		Use:     "delete CLUSTER POOL",
		Aliases: []string{"rm"},
		Short:   "Delete a worker pool (its nodes are drained first)",
		Long: `Delete a worker pool of a cluster (the control-plane pool cannot go). The hub drains each of its
nodes — PodDisruptionBudgets hold — then deletes its machines. The command waits, showing progress,
until the machines are gone unless --no-wait is given.`,
		Example: `  easel cluster pool delete demo gpu`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[1]
			ctx := cmd.Context()
			p, err := g.clusterPools(ctx, args[0])
			if err != nil {
				return err
			}
			if _, _, err := p.pool(ctx, name); err != nil {
				return err
			}
			if err := p.c.DeleteMachinePool(ctx, p.cloudType, p.configUID, name); err != nil {
				return fmt.Errorf("deleting pool %s of %s: %w", name, p.cluster.Name, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Deleting pool %s of cluster %s: its nodes are drained, then its machines deleted\n", name, p.cluster.Name)
			if wait.noWait {
				return nil
			}
			if err := wait.until(cmd, p, name, 0, true); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Deleted pool %s of cluster %s\n", name, p.cluster.Name)
			return nil
		},
	}
	wait.flags(cmd)
	return cmd
}

// poolWait is how a pool command waits for the pool's machines: --no-wait and --timeout.
type poolWait struct {
	noWait  bool
	timeout time.Duration
}

func (w *poolWait) flags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&w.noWait, "no-wait", false, "return once the hub has the change")
	cmd.Flags().DurationVar(&w.timeout, "timeout", 20*time.Minute, "how long to wait for the pool's machines")
}

// run waits for the pool to have size machines Running, then prints them: a table, or the API's
// machines with -o json|yaml. With --no-wait it says how to follow the change.
func (w *poolWait) run(cmd *cobra.Command, g *globals, p poolRef, pool string, size int) error {
	if w.noWait {
		fmt.Fprintf(cmd.ErrOrStderr(), "Follow it with: easel cluster nodes %s\n", p.cluster.Name)
		return nil
	}
	if err := w.until(cmd, p, pool, size, false); err != nil {
		return err
	}
	list, err := p.c.Machines(cmd.Context(), p.cloudType, p.configUID, pool)
	if err != nil {
		return fmt.Errorf("listing the machines of pool %s: %w", pool, err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "Pool %s of cluster %s has %s Running\n", pool, p.cluster.Name, machines(size))
	return g.print(cmd, v1.Machines{Items: list}, func(out io.Writer) error {
		now := time.Now()
		t := cli.NewTable(out, "NAME", "ZONE", "INSTANCE-TYPE", "STATE", "AGE")
		for _, m := range list {
			t.Row(m.Metadata.Name, m.Spec.Zone, m.Spec.InstanceType.Name, m.Status.InstanceState, cli.Age(m.Metadata.CreationTimestamp, now))
		}
		return t.Flush()
	})
}

// machines is "1 machine" or "n machines".
func machines(n int) string {
	if n == 1 {
		return "1 machine"
	}
	return strconv.Itoa(n) + " machines"
}

// until polls the pool's machines until there are size of them, all Running (gone: until the
// deleted pool has none left), printing the count of each state whenever it changes.
func (w *poolWait) until(cmd *cobra.Command, p poolRef, pool string, size int, gone bool) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), w.timeout)
	defer cancel()
	log := cmd.ErrOrStderr()
	last := ""
	for {
		list, err := p.c.Machines(ctx, p.cloudType, p.configUID, pool)
		switch {
		case gone && client.IsNotFound(err): // the last machine is gone, and the pool with it
			return nil
		case client.IsNotFound(err):
			return fmt.Errorf("pool %s of %s was deleted while the command waited for it", pool, p.cluster.Name)
		case err != nil && !errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("waiting for pool %s of %s: %w", pool, p.cluster.Name, err)
		case err == nil:
			counts := map[string]int{}
			for _, m := range list {
				counts[m.Status.InstanceState]++
			}
			line := fmt.Sprintf("%d Running", counts["Running"])
			for _, state := range []string{"Pending", "Deleting"} {
				if counts[state] > 0 {
					line += fmt.Sprintf(", %d %s", counts[state], state)
				}
			}
			if !gone {
				line += fmt.Sprintf(" (want %d Running)", size)
			}
			if line != last {
				fmt.Fprintf(log, "  %s %s: %s\n", time.Now().Format(time.TimeOnly), pool, line)
				last = line
			}
			if len(list) == size && counts["Running"] == size {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pool %s of %s is not done after %s (%s); the hub keeps going — see easel events %s",
				pool, p.cluster.Name, w.timeout, last, p.cluster.Name)
		case <-time.After(time.Second):
		}
	}
}

// parseLabels reads KEY=VALUE flags.
func parseLabels(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	labels := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--label %q: want KEY=VALUE", a)
		}
		labels[k] = v
	}
	return labels, nil
}

// parseTaints reads KEY[=VALUE]:EFFECT flags, as kubectl taint writes them.
func parseTaints(args []string) ([]v1.Taint, error) {
	var taints []v1.Taint
	for _, a := range args {
		i := strings.LastIndex(a, ":")
		if i < 0 {
			i = len(a)
		}
		k, v, _ := strings.Cut(a[:i], "=")
		effect := strings.TrimPrefix(a[i:], ":")
		if k == "" || effect == "" {
			return nil, fmt.Errorf("--taint %q: want KEY[=VALUE]:EFFECT, e.g. gpu=true:NoSchedule", a)
		}
		taints = append(taints, v1.Taint{Key: k, Value: v, Effect: effect})
	}
	return taints, nil
}
