package agent

import (
	"fmt"
	"hash/maphash"
	"log/slog"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/easelhq/easel/api/v1"
)

// The synthetic inventory of BenchmarkReports: a large cluster as the agent would list it.
const (
	benchNodes        = 5000
	benchNamespaces   = 500
	benchDeployments  = 12500 // 10 replicas each: 125,000 pods
	benchReplicas     = 10
	benchDaemonSets   = 5 // one pod per node each: 25,000 pods
	benchStatefulSets = 200
	benchJobs         = 1000
	benchCronJobs     = 100
)

var benchCreated = metav1.NewTime(time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC))

// benchPod is one pod of the synthetic inventory; generation bumps the restart count of 1% of the
// pods, the steady-state change between two reports.
func benchPod(i, generation int, app string, owner metav1.OwnerReference, ns string) corev1.Pod {
	restarts := int32(0)
	if i%100 == 0 {
		restarts = int32(generation)
	}
	started := true
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%05x", owner.Name, i&0xfffff), Namespace: ns,
			UID: types.UID(fmt.Sprintf("6f1c2a34-0000-4000-8000-%012d", i)), CreationTimestamp: benchCreated,
			Labels:          map[string]string{"app": app, "pod-template-hash": "7d9f8c6b5d", "team": "payments"},
			OwnerReferences: []metav1.OwnerReference{owner}},
		Spec: corev1.PodSpec{NodeName: fmt.Sprintf("worker-%04d", i%benchNodes), Containers: []corev1.Container{
			{Name: "app", Image: "registry.example.com/payments/" + app + ":1.42.0", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")}}},
			{Name: "istio-proxy", Image: "docker.io/istio/proxyv2:1.27.1", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}}},
		}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
			QOSClass: corev1.PodQOSBurstable, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "app", Ready: true, RestartCount: restarts, Started: &started},
				{Name: "istio-proxy", Ready: true, Started: &started}}},
	}
}

// listBenchInventory hands every object's item to add, generating the objects a List page at a
// time as the agent receives them, so memory holds one page of objects, not the cluster.
func listBenchInventory(generation int, add func(v1.WorkloadItem) error) error {
	ctrl := true
	ns := func(i int) string { return fmt.Sprintf("team-%03d", i%benchNamespaces) }
	for i := range benchNamespaces {
		n := corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns(i), CreationTimestamp: benchCreated},
			Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
		if err := add(namespaceItem(&n)); err != nil {
			return err
		}
	}
	page := make([]corev1.Pod, 0, listPageSize)
	flush := func() error {
		for i := range page {
			if err := add(podItem(&page[i])); err != nil {
				return err
			}
		}
		page = page[:0]
		return nil
	}
	pod := 0
	for d := range benchDeployments {
		replicas := int32(benchReplicas)
		dep := appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%05d", d), Namespace: ns(d),
			CreationTimestamp: benchCreated, Labels: map[string]string{"app": fmt.Sprintf("svc-%05d", d)}},
			Spec:   appsv1.DeploymentSpec{Replicas: &replicas},
			Status: appsv1.DeploymentStatus{ReadyReplicas: replicas, AvailableReplicas: replicas, UpdatedReplicas: replicas}}
		if err := add(deploymentItem(&dep)); err != nil {
			return err
		}
		owner := metav1.OwnerReference{Kind: "ReplicaSet", Name: dep.Name + "-7d9f8c6b5d", Controller: &ctrl}
		for range benchReplicas {
			if page = append(page, benchPod(pod, generation, dep.Name, owner, dep.Namespace)); len(page) == listPageSize {
				if err := flush(); err != nil {
					return err
				}
			}
			pod++
		}
	}
	for d := range benchDaemonSets {
		ds := appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-agent-%d", d), Namespace: "kube-system",
			CreationTimestamp: benchCreated}, Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: benchNodes,
			CurrentNumberScheduled: benchNodes, NumberReady: benchNodes, NumberAvailable: benchNodes, UpdatedNumberScheduled: benchNodes}}
		if err := add(daemonSetItem(&ds)); err != nil {
			return err
		}
		owner := metav1.OwnerReference{Kind: "DaemonSet", Name: ds.Name, Controller: &ctrl}
		for range benchNodes {
			if page = append(page, benchPod(pod, generation, ds.Name, owner, "kube-system")); len(page) == listPageSize {
				if err := flush(); err != nil {
					return err
				}
			}
			pod++
		}
	}
	if err := flush(); err != nil {
		return err
	}
	for i := range benchStatefulSets {
		replicas := int32(3)
		s := appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("db-%03d", i), Namespace: ns(i), CreationTimestamp: benchCreated},
			Spec: appsv1.StatefulSetSpec{Replicas: &replicas}, Status: appsv1.StatefulSetStatus{ReadyReplicas: 3, AvailableReplicas: 3, UpdatedReplicas: 3}}
		if err := add(statefulSetItem(&s)); err != nil {
			return err
		}
	}
	for i := range benchJobs {
		j := batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("report-%04d", i), Namespace: ns(i), CreationTimestamp: benchCreated},
			Status: batchv1.JobStatus{Succeeded: 1, StartTime: &benchCreated, CompletionTime: &benchCreated}}
		if err := add(jobItem(&j)); err != nil {
			return err
		}
	}
	for i := range benchCronJobs {
		c := batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("nightly-%03d", i), Namespace: ns(i), CreationTimestamp: benchCreated},
			Spec: batchv1.CronJobSpec{Schedule: "0 2 * * *"}, Status: batchv1.CronJobStatus{LastScheduleTime: &benchCreated}}
		if err := add(cronJobItem(&c)); err != nil {
			return err
		}
	}
	return nil
}

func benchNodeReports() []v1.NodeReport {
	out := make([]v1.NodeReport, benchNodes)
	for i := range out {
		out[i] = v1.NodeReport{Name: fmt.Sprintf("worker-%04d", i), Machine: fmt.Sprintf("m-%04d", i), Pool: "workers", Role: "worker", Ready: true,
			Conditions: []v1.NodeCondition{{Type: "Ready", Status: "True", Reason: "KubeletReady", Message: "kubelet is posting ready status"},
				{Type: "MemoryPressure", Status: "False", Reason: "KubeletHasSufficientMemory"}, {Type: "DiskPressure", Status: "False", Reason: "KubeletHasNoDiskPressure"},
				{Type: "PIDPressure", Status: "False", Reason: "KubeletHasSufficientPID"}, {Type: "NetworkUnavailable", Status: "False"}},
			Capacity:       map[string]string{"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "200Gi"},
			Allocatable:    map[string]string{"cpu": "15800m", "memory": "62Gi", "pods": "110", "ephemeral-storage": "190Gi"},
			KubeletVersion: "v1.34.4", LeaseRenewTime: benchCreated.Time}
	}
	return out
}

// benchUsage is one usage sample of every node.
func benchUsage() v1.AgentUsageReport {
	r := v1.AgentUsageReport{Run: "0123456789abcdef", Seq: 42, SampledAt: benchCreated.Time, Source: "metrics.k8s.io"}
	for i := range benchNodes {
		r.Nodes = append(r.Nodes, v1.NodeUsage{Name: fmt.Sprintf("worker-%04d", i), Role: "worker", CPUUsage: 7.123456789,
			CPURequest: 10.5, CPUAllocatable: 15.8, MemoryUsage: 41234567890, MemoryRequest: 45097156608, MemoryAllocatable: 66571993088,
			DiskUsage: 81234567890, DiskCapacity: 204010946560})
	}
	return r
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is the process's peak resident memory.
func peakRSS() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss << 10 // KiB on Linux
}

// pageStats encodes every page as sending does, one at a time, and sums their sizes.
func pageStats(b *testing.B, r *pagedReport) (total, biggest int) {
	for i := range r.pages() {
		p, err := r.page(i)
		if err != nil {
			b.Fatal(err)
		}
		total += len(p)
		biggest = max(biggest, len(p))
	}
	return total, biggest
}

// BenchmarkReports feeds the agent's report builders (nodes, usage, workloads) a synthetic cluster
// of 5,000 nodes and 150,000 pods (no cluster needed) and reports what each report costs: bytes, messages, the
// largest message, CPU time; and the process's peak RSS. Run it once:
//
//	go test ./internal/agent -run '^$' -bench BenchmarkReports -benchtime 1x
func BenchmarkReports(b *testing.B) {
	log := slog.New(slog.DiscardHandler)
	for range b.N {
		seed := maphash.MakeSeed()
		cpu := cpuTime()
		nodes, err := nodePages(log, "nodes-1", benchNodeReports())
		if err != nil {
			b.Fatal(err)
		}
		nodeBytes, nodeMax := pageStats(b, nodes)
		nodeCPU := cpuTime() - cpu

		cpu = cpuTime()
		usage, err := usagePages(log, benchUsage())
		if err != nil {
			b.Fatal(err)
		}
		usageBytes, usageMax := pageStats(b, usage)
		usageCPU := cpuTime() - cpu

		cpu = cpuTime()
		full := newWorkloadBuilder(seed, nil, "")
		if err := listBenchInventory(1, full.add); err != nil {
			b.Fatal(err)
		}
		fullPages, err := full.pages(log, "full-1")
		if err != nil {
			b.Fatal(err)
		}
		fullBytes, fullMax := pageStats(b, fullPages)
		fullCPU := cpuTime() - cpu
		fullMsgs, items := fullPages.pages(), len(full.cur)
		fullPages, full.changed = nil, nil // sent: the agent keeps only the hashes

		cpu = cpuTime()
		delta := newWorkloadBuilder(seed, full.cur, full.id)
		if err := listBenchInventory(2, delta.add); err != nil {
			b.Fatal(err)
		}
		deltaPages, err := delta.pages(log, "delta-1")
		if err != nil {
			b.Fatal(err)
		}
		deltaBytes, deltaMax := pageStats(b, deltaPages)
		deltaCPU := cpuTime() - cpu

		b.ReportMetric(float64(nodeBytes), "node-report-bytes")
		b.ReportMetric(float64(nodes.pages()), "node-report-msgs")
		b.ReportMetric(float64(nodeMax), "node-report-max-msg-bytes")
		b.ReportMetric(float64(nodeCPU.Milliseconds()), "node-report-cpu-ms")
		b.ReportMetric(float64(usageBytes), "usage-report-bytes")
		b.ReportMetric(float64(usage.pages()), "usage-report-msgs")
		b.ReportMetric(float64(usageMax), "usage-report-max-msg-bytes")
		b.ReportMetric(float64(usageCPU.Milliseconds()), "usage-report-cpu-ms")
		b.ReportMetric(float64(items), "workload-items")
		b.ReportMetric(float64(fullBytes), "full-report-bytes")
		b.ReportMetric(float64(fullMsgs), "full-report-msgs")
		b.ReportMetric(float64(fullMax), "full-report-max-msg-bytes")
		b.ReportMetric(float64(fullCPU.Milliseconds()), "full-report-cpu-ms")
		b.ReportMetric(float64(len(delta.changed)), "delta-items")
		b.ReportMetric(float64(deltaBytes), "delta-report-bytes")
		b.ReportMetric(float64(deltaPages.pages()), "delta-report-msgs")
		b.ReportMetric(float64(deltaMax), "delta-report-max-msg-bytes")
		b.ReportMetric(float64(deltaCPU.Milliseconds()), "delta-report-cpu-ms")
		b.ReportMetric(float64(peakRSS()>>20), "peak-RSS-MiB")
	}
}
