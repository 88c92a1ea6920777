package local_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/doctor"
	"github.com/easelhq/easel/internal/provider/local"
)

// BenchmarkDoctorKWOK runs the doctor's checks on a real control plane with 1+100 KWOK nodes and
// kube-proxy on each (the goal: under 5 s):
//
//	EASEL_K8S_BIN=… go test ./internal/provider/local -run '^$' -bench DoctorKWOK -benchtime 10x
func BenchmarkDoctorKWOK(b *testing.B) {
	cp, c := startControlPlane(b, "bench")
	ctx := context.Background()
	const workers = 100
	for i := range workers + 1 {
		m := local.Machine{Name: fmt.Sprintf("workers-%03d", i), UID: fmt.Sprintf("uid-%d", i), Pool: "workers",
			InstanceType: "small", Zone: "local-a", CPU: 2, MemoryGiB: 4, DiskGiB: 60}
		if i == 0 {
			m.Name, m.Pool, m.ControlPlane = "cp-000", "control-plane", true
		}
		if _, err := cp.EnsureMachine(ctx, c, m); err != nil {
			b.Fatal(err)
		}
	}
	eventually(b, 120*time.Second, "nodes Ready", func() error { return allReady(ctx, c, workers+1) })
	kubeProxy(b, ctx, c)
	eventually(b, 120*time.Second, "kube-proxy Ready", func() error { return daemonSetReady(ctx, c, "kube-proxy", workers) })

	for b.Loop() {
		findings, err := doctor.Run(ctx, c, v1.AgentDoctorRequest{}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if len(findings) != 13*(workers+1) {
			b.Fatalf("%d findings, want %d", len(findings), 13*(workers+1))
		}
	}
}
