package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/uid"
)

// The agent's switches: ConfigMap palette-agent-config in its namespace, as in Palette. With
// feature.workloads: disable the workload report is off; it is read every workload interval, so
// no restart is needed either way.
const (
	agentConfigMap   = "palette-agent-config"
	featureWorkloads = "feature.workloads"
)

// listPageSize is how many objects one List call returns: the agent's memory stays bounded by
// the compact items, not by whole API objects of a large cluster.
const listPageSize = 500

// workloadsEnabled reads the switch; no ConfigMap means on.
func workloadsEnabled(ctx context.Context, c kubernetes.Interface, namespace string) (bool, error) {
	cm, err := c.CoreV1().ConfigMaps(namespace).Get(ctx, agentConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return true, fmt.Errorf("reading ConfigMap %s/%s: %w", namespace, agentConfigMap, err)
	}
	return cm.Data[featureWorkloads] != "disable", nil
}

// workloadLoop sends the workload report every workload interval.
func (a *Agent) workloadLoop(ctx context.Context) {
	r := &workloadReporter{seed: maphash.MakeSeed()}
	a.every(ctx, a.cfg.WorkloadInterval, func() {
		if err := a.reportWorkloads(ctx, r); err != nil && ctx.Err() == nil {
			a.log.Warn("Sending the workload report failed; retrying", "err", err)
		}
	})
}

// workloadReporter is what the agent remembers between workload reports: the last report the hub
// acknowledged, so the next one can be a delta.
type workloadReporter struct {
	seed     maphash.Seed
	base     map[string]uint64 // item key → hash of its encoding; nil: the next report is full
	baseID   string
	disabled bool // the hub was told the report is off
}

// reportWorkloads sends one workload report: a delta when the hub acknowledged one before, else a
// full one (also when the hub answers 409 to the delta), or once that the report is disabled.
func (a *Agent) reportWorkloads(ctx context.Context, r *workloadReporter) error {
	on, err := workloadsEnabled(ctx, a.kube, a.cfg.Namespace)
	if err != nil {
		a.log.Warn("Reading the agent's ConfigMap failed; the workload report stays on", "err", err)
	}
	if !on {
		if r.disabled {
			return nil
		}
		a.log.Info("Turning the workload report off", "configMap", a.cfg.Namespace+"/"+agentConfigMap)
		off, err := paginate(a.log, "workloads", uid.New(), "items", v1.MaxAgentMessageBytes, nil, func(pg v1.ReportPage) any {
			return struct {
				v1.ReportPage
				Disabled bool `json:"disabled"`
			}{pg, true}
		})
		if err != nil {
			return err
		}
		if _, err := a.sendPages(ctx, "/agent/workloads", off); err != nil {
			return err
		}
		r.disabled, r.base, r.baseID = true, nil, ""
		return nil
	}
	if r.disabled {
		a.log.Info("Turning the workload report on")
		r.disabled = false
	}
	for {
		b := newWorkloadBuilder(r.seed, r.base, r.baseID)
		if err := listWorkloads(ctx, a.kube, b.add); err != nil {
			return err
		}
		pages, err := b.pages(a.log, uid.New())
		if err != nil {
			return err
		}
		status, err := a.sendPages(ctx, "/agent/workloads", pages)
		if status == http.StatusConflict && r.base != nil {
			a.log.Info("The hub does not hold the report this delta builds on; sending a full report", "base", r.baseID)
			r.base, r.baseID = nil, ""
			continue
		}
		if err != nil {
			return err
		}
		r.base, r.baseID = b.cur, b.id
		return nil
	}
}

// listKind lists every object of one kind in pages of listPageSize and hands each one's item to
// add.
func listKind[L interface{ GetContinue() string }, T any](ctx context.Context, list func(context.Context, metav1.ListOptions) (L, error),
	items func(L) []T, item func(*T) v1.WorkloadItem, add func(v1.WorkloadItem) error) error {
	opts := metav1.ListOptions{Limit: listPageSize}
	for {
		l, err := list(ctx, opts)
		if err != nil {
			return err
		}
		objs := items(l)
		for i := range objs {
			if err := add(item(&objs[i])); err != nil {
				return err
			}
		}
		if opts.Continue = l.GetContinue(); opts.Continue == "" {
			return nil
		}
	}
}

// listWorkloads lists the cluster's namespaces, pods, deployments, daemonsets, statefulsets, jobs
// and cronjobs.
func listWorkloads(ctx context.Context, c kubernetes.Interface, add func(v1.WorkloadItem) error) error {
	for _, step := range []struct {
		kind string
		list func() error
	}{
		{"namespaces", func() error {
			return listKind(ctx, c.CoreV1().Namespaces().List, func(l *corev1.NamespaceList) []corev1.Namespace { return l.Items }, namespaceItem, add)
		}},
		{"pods", func() error {
			return listKind(ctx, c.CoreV1().Pods("").List, func(l *corev1.PodList) []corev1.Pod { return l.Items }, podItem, add)
		}},
		{"deployments", func() error {
			return listKind(ctx, c.AppsV1().Deployments("").List, func(l *appsv1.DeploymentList) []appsv1.Deployment { return l.Items }, deploymentItem, add)
		}},
		{"daemonsets", func() error {
			return listKind(ctx, c.AppsV1().DaemonSets("").List, func(l *appsv1.DaemonSetList) []appsv1.DaemonSet { return l.Items }, daemonSetItem, add)
		}},
		{"statefulsets", func() error {
			return listKind(ctx, c.AppsV1().StatefulSets("").List, func(l *appsv1.StatefulSetList) []appsv1.StatefulSet { return l.Items }, statefulSetItem, add)
		}},
		{"jobs", func() error {
			return listKind(ctx, c.BatchV1().Jobs("").List, func(l *batchv1.JobList) []batchv1.Job { return l.Items }, jobItem, add)
		}},
		{"cronjobs", func() error {
			return listKind(ctx, c.BatchV1().CronJobs("").List, func(l *batchv1.CronJobList) []batchv1.CronJob { return l.Items }, cronJobItem, add)
		}},
	} {
		if err := step.list(); err != nil {
			return fmt.Errorf("listing %s: %w", step.kind, err)
		}
	}
	return nil
}

func workloadItem(kind string, m *metav1.ObjectMeta) v1.WorkloadItem {
	return v1.WorkloadItem{Kind: kind, Namespace: m.Namespace, Name: m.Name, UID: string(m.UID), Labels: m.Labels,
		Created: m.CreationTimestamp.UTC()}
}

func namespaceItem(ns *corev1.Namespace) v1.WorkloadItem {
	it := workloadItem(v1.WorkloadNamespace, &ns.ObjectMeta)
	it.Phase = string(ns.Status.Phase)
	return it
}

func podItem(p *corev1.Pod) v1.WorkloadItem {
	it := workloadItem(v1.WorkloadPod, &p.ObjectMeta)
	it.Pod = &v1.PodItem{Phase: string(p.Status.Phase), Node: p.Spec.NodeName, IP: p.Status.PodIP,
		QOSClass: string(p.Status.QOSClass), Containers: make([]v1.ContainerItem, 0, len(p.Spec.Containers))}
	if ref := metav1.GetControllerOf(p); ref != nil {
		it.Pod.Owner = ref.Kind + "/" + ref.Name
	}
	for _, ct := range p.Spec.Containers {
		ci := v1.ContainerItem{Name: ct.Name, Image: ct.Image, MilliCPU: ct.Resources.Requests.Cpu().MilliValue(),
			Memory: ct.Resources.Requests.Memory().Value()}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == ct.Name {
				ci.Ready, ci.Restarts, ci.Started = cs.Ready, cs.RestartCount, cs.Started != nil && *cs.Started
			}
		}
		it.Pod.Containers = append(it.Pod.Containers, ci)
	}
	return it
}

func deploymentItem(d *appsv1.Deployment) v1.WorkloadItem {
	it := workloadItem(v1.WorkloadDeployment, &d.ObjectMeta)
	it.Replicas = &v1.ReplicasItem{Desired: replicas(d.Spec.Replicas), Ready: d.Status.ReadyReplicas,
		Available: d.Status.AvailableReplicas, Updated: d.Status.UpdatedReplicas}
	return it
}

func statefulSetItem(s *appsv1.StatefulSet) v1.WorkloadItem {
	it := workloadItem(v1.WorkloadStatefulSet, &s.ObjectMeta)
	it.Replicas = &v1.ReplicasItem{Desired: replicas(s.Spec.Replicas), Ready: s.Status.ReadyReplicas,
		Available: s.Status.AvailableReplicas, Updated: s.Status.UpdatedReplicas}
	return it
}

func daemonSetItem(d *appsv1.DaemonSet) v1.WorkloadItem {
	it := workloadItem(v1.WorkloadDaemonSet, &d.ObjectMeta)
	it.Replicas = &v1.ReplicasItem{Desired: d.Status.DesiredNumberScheduled, Ready: d.Status.NumberReady,
		Available: d.Status.NumberAvailable, Updated: d.Status.UpdatedNumberScheduled,
		Current: d.Status.CurrentNumberScheduled, MisScheduled: d.Status.NumberMisscheduled}
	return it
}

func jobItem(j *batchv1.Job) v1.WorkloadItem {
	it := workloadItem(v1.WorkloadJob, &j.ObjectMeta)
	it.Job = &v1.JobItem{Completions: replicas(j.Spec.Completions), Active: j.Status.Active, Succeeded: j.Status.Succeeded,
		Failed: j.Status.Failed}
	if j.Status.StartTime != nil {
		it.Job.Started = j.Status.StartTime.UTC()
	}
	if j.Status.CompletionTime != nil {
		it.Job.Completed = j.Status.CompletionTime.UTC()
	}
	return it
}

func cronJobItem(c *batchv1.CronJob) v1.WorkloadItem {
	it := workloadItem(v1.WorkloadCronJob, &c.ObjectMeta)
	it.CronJob = &v1.CronJobItem{Schedule: c.Spec.Schedule, Suspend: c.Spec.Suspend != nil && *c.Spec.Suspend}
	if c.Status.LastScheduleTime != nil {
		it.CronJob.LastSchedule = c.Status.LastScheduleTime.UTC()
	}
	return it
}

// replicas is a spec's replica count; Kubernetes defaults a missing one to 1.
func replicas(n *int32) int32 {
	if n == nil {
		return 1
	}
	return *n
}

// workloadBuilder turns the items of one listing into a report: every item for a full report, or
// only the items whose encoding changed since the base report plus deletions for a delta. It keeps
// a hash per item, not the item, so the next delta costs little memory.
type workloadBuilder struct {
	seed    maphash.Seed
	base    map[string]uint64
	baseID  string
	id      string
	cur     map[string]uint64
	changed []json.RawMessage
}

func newWorkloadBuilder(seed maphash.Seed, base map[string]uint64, baseID string) *workloadBuilder {
	return &workloadBuilder{seed: seed, base: base, baseID: baseID, cur: make(map[string]uint64, len(base))}
}

func workloadKey(kind, namespace, name string) string { return kind + "/" + namespace + "/" + name }

// add takes one listed item.
func (b *workloadBuilder) add(it v1.WorkloadItem) error {
	enc, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("encoding %s %s/%s: %w", it.Kind, it.Namespace, it.Name, err)
	}
	key, h := workloadKey(it.Kind, it.Namespace, it.Name), maphash.Bytes(b.seed, enc)
	b.cur[key] = h
	if old, ok := b.base[key]; b.base == nil || !ok || old != h {
		b.changed = append(b.changed, enc)
	}
	return nil
}

// pages ends the listing and splits the report into pages; id names it.
func (b *workloadBuilder) pages(log *slog.Logger, id string) (*pagedReport, error) {
	b.id = id
	items := b.changed
	var gone []string
	for key := range b.base {
		if _, ok := b.cur[key]; !ok {
			gone = append(gone, key)
		}
	}
	slices.Sort(gone)
	for _, key := range gone {
		parts := strings.SplitN(key, "/", 3)
		enc, err := json.Marshal(v1.WorkloadItem{Kind: parts[0], Namespace: parts[1], Name: parts[2], Deleted: true})
		if err != nil {
			return nil, err
		}
		items = append(items, enc)
	}
	base := ""
	if b.base != nil {
		base = b.baseID
	}
	return workloadPages(log, id, base, items)
}

// workloadPages splits workload report id — a delta of base, or a full report when base is empty —
// into pages of at most v1.MaxAgentMessageBytes.
func workloadPages(log *slog.Logger, id, base string, items []json.RawMessage) (*pagedReport, error) {
	return paginate(log, "workloads", id, "items", v1.MaxAgentMessageBytes, items, func(pg v1.ReportPage) any {
		return struct {
			v1.ReportPage
			Base string `json:"base,omitempty"`
		}{pg, base}
	})
}
