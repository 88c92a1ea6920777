package doctor_test

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/doctor"
)

// BenchmarkRun checks clusters of 1+100, 1+1,000 and 1+5,000 nodes, each with its Lease and the
// pods of two kube-system DaemonSets: the lists are made once whatever the size, so the time per
// node stays flat.
//
//	go test ./internal/doctor -run '^$' -bench Run -benchtime 5x
func BenchmarkRun(b *testing.B) {
	for _, n := range []int{101, 1001, 5001} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			kube := bigCluster(n)
			b.ResetTimer()
			for b.Loop() {
				findings, err := doctor.Run(context.Background(), kube, v1.AgentDoctorRequest{}, now)
				if err != nil {
					b.Fatal(err)
				}
				if len(findings) != 13*n {
					b.Fatalf("%d findings, want %d", len(findings), 13*n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/node")
		})
	}
}

// bigCluster is n healthy nodes, named n00000…, with kube-proxy and a CNI DaemonSet.
func bigCluster(n int) *fake.Clientset {
	c := healthy()
	cni := c.ds.DeepCopy()
	cni.Name, cni.UID = "cilium", "cni-uid"
	objs := []runtime.Object{c.ds, cni}
	for i := range n {
		name := fmt.Sprintf("n%05d", i)
		node, lease := c.node.DeepCopy(), c.lease.DeepCopy()
		node.Name, lease.Name = name, name
		objs = append(objs, node, lease)
		for _, ds := range []*appsv1.DaemonSet{c.ds, cni} {
			pod := c.pod.DeepCopy()
			pod.Name, pod.Spec.NodeName = ds.Name+"-"+name, name
			pod.OwnerReferences[0].UID, pod.OwnerReferences[0].Name = ds.UID, ds.Name
			objs = append(objs, pod)
		}
	}
	kube := fake.NewClientset(objs...)
	kube.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: c.server}
	return kube
}
