package agent

import (
	"encoding/json"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The items keep what a user looks at, in the agent's compact encoding.
func TestWorkloadItems(t *testing.T) {
	created := metav1.NewTime(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	meta := metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u1", Labels: map[string]string{"app": "web"}, CreationTimestamp: created}
	yes, three, two := true, int32(3), int32(2)
	podMeta := meta
	podMeta.Name, podMeta.OwnerReferences = "web-1", []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-7d9f8", Controller: &yes}}
	tests := []struct {
		name string
		got  any
		want string
	}{
		{"pod", podItem(&corev1.Pod{ObjectMeta: podMeta,
			Spec: corev1.PodSpec{NodeName: "w-0", Containers: []corev1.Container{{Name: "app", Image: "nginx", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")}}}, {Name: "side"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.7", QOSClass: corev1.PodQOSBurstable,
				ContainerStatuses: []corev1.ContainerStatus{{Name: "side", RestartCount: 4}, {Name: "app", Ready: true, Started: &yes, RestartCount: 1}}}}),
			`{"kind":"pod","namespace":"shop","name":"web-1","uid":"u1","labels":{"app":"web"},"created":"2026-11-22T10:00:00Z","pod":{"phase":"Running","node":"w-0","ip":"10.0.0.7","qos":"Burstable","owner":"ReplicaSet/web-7d9f8","containers":[{"name":"app","image":"nginx","ready":true,"started":true,"restarts":1,"mcpu":250,"memory":67108864},{"name":"side","restarts":4}]}}`},
		{"deployment", deploymentItem(&appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Replicas: &three},
			Status: appsv1.DeploymentStatus{ReadyReplicas: 2, AvailableReplicas: 2, UpdatedReplicas: 3}}),
			`{"kind":"deployment","namespace":"shop","name":"web","uid":"u1","labels":{"app":"web"},"created":"2026-11-22T10:00:00Z","replicas":{"desired":3,"ready":2,"available":2,"updated":3}}`},
		{"statefulset without replicas is 1", statefulSetItem(&appsv1.StatefulSet{ObjectMeta: meta}),
			`{"kind":"statefulset","namespace":"shop","name":"web","uid":"u1","labels":{"app":"web"},"created":"2026-11-22T10:00:00Z","replicas":{"desired":1,"ready":0,"available":0,"updated":0}}`},
		{"daemonset", daemonSetItem(&appsv1.DaemonSet{ObjectMeta: meta, Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 5,
			CurrentNumberScheduled: 5, NumberReady: 4, NumberAvailable: 4, UpdatedNumberScheduled: 5, NumberMisscheduled: 1}}),
			`{"kind":"daemonset","namespace":"shop","name":"web","uid":"u1","labels":{"app":"web"},"created":"2026-11-22T10:00:00Z","replicas":{"desired":5,"ready":4,"available":4,"updated":5,"current":5,"misScheduled":1}}`},
		{"job", jobItem(&batchv1.Job{ObjectMeta: meta, Spec: batchv1.JobSpec{Completions: &two},
			Status: batchv1.JobStatus{Active: 1, Succeeded: 1, Failed: 2, StartTime: &created}}),
			`{"kind":"job","namespace":"shop","name":"web","uid":"u1","labels":{"app":"web"},"created":"2026-11-22T10:00:00Z","job":{"completions":2,"active":1,"succeeded":1,"failed":2,"started":"2026-11-22T10:00:00Z"}}`},
		{"cronjob", cronJobItem(&batchv1.CronJob{ObjectMeta: meta, Spec: batchv1.CronJobSpec{Schedule: "0 2 * * *", Suspend: &yes},
			Status: batchv1.CronJobStatus{LastScheduleTime: &created}}),
			`{"kind":"cronjob","namespace":"shop","name":"web","uid":"u1","labels":{"app":"web"},"created":"2026-11-22T10:00:00Z","cronJob":{"schedule":"0 2 * * *","suspend":true,"lastSchedule":"2026-11-22T10:00:00Z"}}`},
		{"namespace", namespaceItem(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", CreationTimestamp: created},
			Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}),
			`{"kind":"namespace","name":"shop","created":"2026-11-22T10:00:00Z","phase":"Terminating"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.got)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("item =\n%s\nwant\n%s", b, tt.want)
			}
		})
	}
}
