package local_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/provider"
	"github.com/easelhq/easel/internal/provider/local"
)

func localCluster(uid string, workers int) provider.Cluster {
	return provider.Cluster{UID: uid, Name: uid, Spec: clusters.Cluster{CloudType: "local", Pools: []clusters.Pool{
		{Name: "cp", ControlPlane: true, Size: 1, InstanceType: "small"},
		{Name: "workers", Size: workers, InstanceType: "medium"},
	}}}
}

// The host's vCPU limit works like a cloud quota: a cluster that does not fit fails with a message
// naming the numbers, and fits once another cluster is gone. Missing binaries say which command
// builds them.
func TestQuotaAndMissingBinaries(t *testing.T) {
	missing := fmt.Errorf("%w: run %s", k8sbin.ErrMissing, k8sbin.BuildCommand)
	p := &local.Provider{Root: t.TempDir(), VCPULimit: 12, Binaries: func() (k8sbin.Paths, error) { return k8sbin.Paths{}, missing }}
	ctx := context.Background()
	first, second := localCluster("c1", 2), localCluster("c2", 1) // 2+8 and 2+4 vCPUs

	err := p.EnsureControlPlane(ctx, first)
	if !errors.Is(err, k8sbin.ErrMissing) || !strings.Contains(err.Error(), "./hack/k8s-binaries.sh") {
		t.Fatalf("first cluster without binaries: %v, want ErrMissing naming the build command", err)
	}
	err = p.EnsureControlPlane(ctx, second)
	if !errors.Is(err, provider.ErrQuota) || !strings.Contains(err.Error(), "needs 6 vCPUs but 10 of the host's 12 are in use") {
		t.Fatalf("second cluster: %v, want a quota error naming the numbers", err)
	}
	// The engine reserves before it records machines: the same answer, and nothing reserved.
	if err := p.Reserve(ctx, second); !errors.Is(err, provider.ErrQuota) || !strings.Contains(err.Error(), "needs 6 vCPUs but 10 of the host's 12 are in use") {
		t.Fatalf("reserving for the second cluster: %v, want the quota error", err)
	}
	// Scaling the first cluster down frees room.
	first.Spec.Pools[1].Size = 1
	if err := p.EnsureControlPlane(ctx, first); !errors.Is(err, k8sbin.ErrMissing) {
		t.Fatalf("first cluster after scale-down: %v", err)
	}
	if err := p.EnsureControlPlane(ctx, second); !errors.Is(err, k8sbin.ErrMissing) {
		t.Fatalf("second cluster once there is room: %v, want it past the quota", err)
	}
	// Deleting frees its share too.
	third := localCluster("c3", 0)
	if err := p.EnsureControlPlane(ctx, third); !errors.Is(err, provider.ErrQuota) {
		t.Fatalf("third cluster on a full host: %v, want ErrQuota", err)
	}
	if err := p.Delete(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := p.EnsureControlPlane(ctx, third); !errors.Is(err, k8sbin.ErrMissing) {
		t.Fatalf("third cluster after a delete: %v, want it past the quota", err)
	}
}
