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

func clusterWorkloadsCommand(g *globals) *cobra.Command {
	var (
		kind       string
		namespaces []string
	)
	cmd := &cobra.Command{
		Use:   "workloads NAME|UID --kind KIND [-n NAMESPACE]",
		Short: "List a cluster's pods, deployments, … as its agent last reported them",
		Long: `List one kind of a cluster's workloads (` + strings.Join(v1.WorkloadKinds, ", ") + `) as the
cluster's agent last reported them, optionally only in some namespaces (-n, repeatable).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ref, err := g.cluster(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			spec := v1.ClusterWorkloadsSpec{}
			if len(namespaces) > 0 {
				spec.Filter = &v1.ClusterWorkloadsFilter{Namespaces: namespaces}
			}
			out, err := c.AllClusterWorkloads(cmd.Context(), ref.UID, kind, spec)
			if err != nil {
				return fmt.Errorf("reading the workloads of cluster %s: %w", ref.Name, err)
			}
			switch {
			case out.Disabled:
				fmt.Fprintf(cmd.ErrOrStderr(), "Note: the agent of cluster %s has turned the workload report off "+
					"(ConfigMap palette-agent-config, feature.workloads: disable).\n", ref.Name)
			case out.ReportedAt.IsZero():
				fmt.Fprintf(cmd.ErrOrStderr(), "Note: the agent of cluster %s has not reported its workloads yet.\n", ref.Name)
			}
			return g.print(cmd, out, func(w io.Writer) error { return workloadTable(w, kind, out, time.Now()) })
		},
	}
	cmd.Flags().StringVar(&kind, "kind", v1.WorkloadPod, "kind of workload: "+strings.Join(v1.WorkloadKinds, ", "))
	cmd.Flags().StringSliceVarP(&namespaces, "namespace", "n", nil, "only these namespaces (repeatable; default all)")
	return cmd
}

// workloadTable prints the columns kubectl users expect for each kind.
func workloadTable(w io.Writer, kind string, l *v1.ClusterWorkloads, now time.Time) error {
	n := strconv.Itoa
	var t *cli.Table
	switch kind {
	case v1.WorkloadPod:
		t = cli.NewTable(w, "NAMESPACE", "NAME", "STATUS", "NODE", "READY", "RESTARTS", "AGE")
		for _, p := range l.Pods {
			ready, restarts := 0, 0
			for _, c := range p.Status.Containers {
				if c.Ready {
					ready++
				}
				restarts += int(c.RestartCount)
			}
			t.Row(p.Metadata.Namespace, name(p.Metadata.ClusterWorkloadMetadata), p.Status.Phase, p.Metadata.Nodename,
				n(ready)+"/"+n(len(p.Status.Containers)), n(restarts), cli.Age(p.Metadata.CreationTimestamp, now))
		}
	case v1.WorkloadDeployment, v1.WorkloadStatefulSet:
		t = cli.NewTable(w, "NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE")
		row := func(m v1.ClusterWorkloadMetadata, r v1.ClusterWorkloadReplicaStatus) {
			t.Row(m.Namespace, name(m), fmt.Sprintf("%d/%d", r.Ready, r.Total), fmt.Sprint(r.Updated), fmt.Sprint(r.Available),
				cli.Age(m.CreationTimestamp, now))
		}
		for _, d := range l.Deployments {
			row(d.Metadata, d.Status.Replicas)
		}
		for _, s := range l.StatefulSets {
			row(s.Metadata, s.Status.Replicas)
		}
	case v1.WorkloadDaemonSet:
		t = cli.NewTable(w, "NAMESPACE", "NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "AGE")
		for _, d := range l.DaemonSets {
			s := d.Status
			t.Row(d.Metadata.Namespace, name(d.Metadata), fmt.Sprint(s.DesiredScheduled), fmt.Sprint(s.CurrentScheduled),
				fmt.Sprint(s.Ready), fmt.Sprint(s.UpdatedScheduled), fmt.Sprint(s.Available), cli.Age(d.Metadata.CreationTimestamp, now))
		}
	case v1.WorkloadJob:
		t = cli.NewTable(w, "NAMESPACE", "NAME", "COMPLETIONS", "ACTIVE", "FAILED", "AGE")
		for _, j := range l.Jobs {
			s := j.Status
			t.Row(j.Metadata.Namespace, name(j.Metadata), fmt.Sprintf("%d/%d", s.Succeeded, s.Completions), fmt.Sprint(s.Active),
				fmt.Sprint(s.Failed), cli.Age(j.Metadata.CreationTimestamp, now))
		}
	case v1.WorkloadCronJob:
		t = cli.NewTable(w, "NAMESPACE", "NAME", "SCHEDULE", "SUSPEND", "LAST-SCHEDULE", "AGE")
		for _, c := range l.CronJobs {
			t.Row(c.Metadata.Namespace, name(c.Metadata), c.Spec.Schedule, strconv.FormatBool(c.Spec.Suspend),
				cli.Age(c.Status.LastScheduleTime, now), cli.Age(c.Metadata.CreationTimestamp, now))
		}
	default: // namespaces
		t = cli.NewTable(w, "NAME", "STATUS", "AGE")
		for _, ns := range l.Namespaces {
			t.Row(name(ns.Metadata), ns.Status.Phase, cli.Age(ns.Metadata.CreationTimestamp, now))
		}
	}
	return t.Flush()
}

func name(m v1.ClusterWorkloadMetadata) string {
	if m.Entity == nil {
		return ""
	}
	return m.Entity.Name
}
