package hub

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// clusterWorkloads serves POST /v1/dashboard/spectroclusters/{uid}/workloads/{kind}: one page of
// the cluster's workloads of a kind, as its agent last reported them, in Palette's shapes.
func (s *Server) clusterWorkloads(w http.ResponseWriter, r *http.Request, c *call) error {
	kind := r.PathValue("kind")
	if !slices.Contains(v1.WorkloadKinds, kind) {
		return service.Invalid("kind %q is not a workload kind; use one of %s", kind, strings.Join(v1.WorkloadKinds, ", "))
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	var spec v1.ClusterWorkloadsSpec
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := service.DecodeJSON(body, &spec); err != nil {
			return err
		}
	}
	f := store.WorkloadFilter{ClusterUID: r.PathValue("uid"), Kind: kind, Limit: pg.limit, Offset: pg.offset}
	if spec.Filter != nil {
		if err := checkFilterValues("filter.namespaces", spec.Filter.Namespaces); err != nil {
			return err
		}
		f.Namespaces = spec.Filter.Namespaces
	}
	st, rows, total, err := s.clusters.Workloads(r.Context(), &c.Call, f)
	if err != nil {
		return err
	}
	out := v1.ClusterWorkloads{ListMeta: pg.listMeta(len(rows), total), ReportedAt: st.ReportedAt, Disabled: st.Disabled}
	items := make([]v1.WorkloadItem, len(rows))
	for i, row := range rows {
		if err := json.Unmarshal(row.Doc, &items[i]); err != nil {
			return fmt.Errorf("decoding stored workload %s/%s: %w", row.Namespace, row.Name, err)
		}
	}
	workloadsWire(&out, kind, items)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// workloadsWire puts items of one kind into Palette's list for that kind (empty, never absent).
func workloadsWire(out *v1.ClusterWorkloads, kind string, items []v1.WorkloadItem) {
	switch kind {
	case v1.WorkloadPod:
		out.Pods = []v1.ClusterWorkloadPod{}
		for _, it := range items {
			out.Pods = append(out.Pods, podWire(it))
		}
	case v1.WorkloadDeployment:
		out.Deployments = []v1.ClusterWorkloadDeployment{}
		for _, it := range items {
			out.Deployments = append(out.Deployments, v1.ClusterWorkloadDeployment{Metadata: workloadMeta(it, "Deployment"),
				Status: v1.ClusterWorkloadReplicas{Replicas: replicaWire(it.Replicas)}})
		}
	case v1.WorkloadStatefulSet:
		out.StatefulSets = []v1.ClusterWorkloadStatefulSet{}
		for _, it := range items {
			out.StatefulSets = append(out.StatefulSets, v1.ClusterWorkloadStatefulSet{Metadata: workloadMeta(it, "StatefulSet"),
				Status: v1.ClusterWorkloadReplicas{Replicas: replicaWire(it.Replicas)}})
		}
	case v1.WorkloadDaemonSet:
		out.DaemonSets = []v1.ClusterWorkloadDaemonSet{}
		for _, it := range items {
			rs := orZero(it.Replicas)
			out.DaemonSets = append(out.DaemonSets, v1.ClusterWorkloadDaemonSet{Metadata: workloadMeta(it, "DaemonSet"),
				Status: v1.ClusterWorkloadDaemonSetStatus{Available: rs.Available, CurrentScheduled: rs.Current,
					DesiredScheduled: rs.Desired, MisScheduled: rs.MisScheduled, Ready: rs.Ready, UpdatedScheduled: rs.Updated}})
		}
	case v1.WorkloadJob:
		out.Jobs = []v1.ClusterWorkloadJob{}
		for _, it := range items {
			j := orZero(it.Job)
			out.Jobs = append(out.Jobs, v1.ClusterWorkloadJob{Metadata: workloadMeta(it, "Job"),
				Status: v1.ClusterWorkloadJobStatus{CompletionTime: j.Completed, StartTime: j.Started, Succeeded: j.Succeeded,
					Conditions: []any{}, Active: j.Active, Failed: j.Failed, Completions: j.Completions}})
		}
	case v1.WorkloadCronJob:
		out.CronJobs = []v1.ClusterWorkloadCronJob{}
		for _, it := range items {
			cj := orZero(it.CronJob)
			out.CronJobs = append(out.CronJobs, v1.ClusterWorkloadCronJob{Metadata: workloadMeta(it, "CronJob"),
				Spec:   v1.ClusterWorkloadCronJobSpec{Schedule: cj.Schedule, Suspend: cj.Suspend},
				Status: v1.ClusterWorkloadCronJobStatus{LastScheduleTime: cj.LastSchedule}})
		}
	case v1.WorkloadNamespace:
		out.Namespaces = []v1.ClusterWorkloadNamespace{}
		for _, it := range items {
			out.Namespaces = append(out.Namespaces, v1.ClusterWorkloadNamespace{Metadata: workloadMeta(it, "Namespace"),
				Status: v1.ClusterWorkloadNamespaceStatus{Phase: it.Phase}})
		}
	}
}

func workloadMeta(it v1.WorkloadItem, kind string) v1.ClusterWorkloadMetadata {
	return v1.ClusterWorkloadMetadata{CreationTimestamp: it.Created, Labels: it.Labels, Namespace: it.Namespace,
		Entity: &v1.ClusterWorkloadRef{Kind: kind, Name: it.Name, UID: it.UID}}
}

// orZero is what p points to, or T's zero value: the kind-specific part of an item is optional.
func orZero[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

func replicaWire(p *v1.ReplicasItem) v1.ClusterWorkloadReplicaStatus {
	rs := orZero(p)
	return v1.ClusterWorkloadReplicaStatus{Available: rs.Available, Ready: rs.Ready, Total: rs.Desired, Updated: rs.Updated}
}

func podWire(it v1.WorkloadItem) v1.ClusterWorkloadPod {
	pod := orZero(it.Pod)
	out := v1.ClusterWorkloadPod{
		Metadata: v1.ClusterWorkloadPodMetadata{ClusterWorkloadMetadata: workloadMeta(it, "Pod"),
			AssociatedRefs: []v1.ClusterWorkloadRef{}, Nodename: pod.Node},
		Spec:   v1.ClusterWorkloadPodSpec{Containers: []v1.ClusterWorkloadPodContainer{}, Volumes: []any{}},
		Status: v1.ClusterWorkloadPodStatus{Containers: []v1.ClusterWorkloadPodContainerStatus{}, Phase: pod.Phase, PodIP: pod.IP, QOSClass: pod.QOSClass},
	}
	if kind, name, ok := strings.Cut(pod.Owner, "/"); ok {
		out.Metadata.AssociatedRefs = append(out.Metadata.AssociatedRefs, v1.ClusterWorkloadRef{Kind: kind, Name: name})
	}
	for _, ct := range pod.Containers {
		out.Spec.Containers = append(out.Spec.Containers, v1.ClusterWorkloadPodContainer{Name: ct.Name, Image: ct.Image,
			Resources: &v1.ClusterWorkloadPodContainerResources{Requests: &v1.ClusterWorkloadPodContainerResource{
				CPU: int32(ct.MilliCPU), CPUUnit: "m", Memory: (ct.Memory + 1<<20 - 1) >> 20, MemoryUnit: "Mi"}}})
		out.Status.Containers = append(out.Status.Containers, v1.ClusterWorkloadPodContainerStatus{Name: ct.Name, Image: ct.Image,
			Ready: ct.Ready, RestartCount: ct.Restarts, Started: ct.Started})
	}
	return out
}
