package k8sbin_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/easelhq/easel/internal/k8sbin"
)

var binaries = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "etcd", "kwok"}

const pinnedVersions = "kubernetes v1.34.4\netcd v3.6.4\nkwok v0.8.0\n"

// fill puts fake binaries with the given mode, and VERSIONS unless it is "",
// into dir.
func fill(t *testing.T, dir string, mode os.FileMode, versions string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range binaries {
		if err := os.WriteFile(filepath.Join(dir, b), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	if versions != "" {
		if err := os.WriteFile(filepath.Join(dir, "VERSIONS"), []byte(versions), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindErrors(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, dir string)
		wantMsgs []string
	}{
		{
			name:     "empty dir",
			setup:    func(*testing.T, string) {},
			wantMsgs: []string{"kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd, kwok missing", "./hack/k8s-binaries.sh"},
		},
		{
			name: "one binary missing",
			setup: func(t *testing.T, dir string) {
				fill(t, dir, 0o755, pinnedVersions)
				if err := os.Remove(filepath.Join(dir, "etcd")); err != nil {
					t.Fatal(err)
				}
			},
			wantMsgs: []string{": etcd missing", "./hack/k8s-binaries.sh"},
		},
		{
			name:     "not executable",
			setup:    func(t *testing.T, dir string) { fill(t, dir, 0o644, pinnedVersions) },
			wantMsgs: []string{"kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd, kwok missing or not executable", "./hack/k8s-binaries.sh"},
		},
		{
			name:     "no VERSIONS",
			setup:    func(t *testing.T, dir string) { fill(t, dir, 0o755, "") },
			wantMsgs: []string{"VERSIONS is missing", "./hack/k8s-binaries.sh"},
		},
		{
			name: "mismatching VERSIONS",
			setup: func(t *testing.T, dir string) {
				fill(t, dir, 0o755, "kubernetes v1.33.0\netcd v3.6.4\nkwok v0.8.0\n")
			},
			wantMsgs: []string{"kubernetes is v1.33.0 (want v1.34.4)", "./hack/k8s-binaries.sh"},
		},
		{
			name: "VERSIONS without kwok",
			setup: func(t *testing.T, dir string) {
				fill(t, dir, 0o755, "kubernetes v1.34.4\netcd v3.5.21\n")
			},
			wantMsgs: []string{"etcd is v3.5.21 (want v3.6.4), kwok is not listed (want v0.8.0)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			t.Setenv("EASEL_K8S_BIN", dir)

			p, err := k8sbin.Find()
			if !errors.Is(err, k8sbin.ErrMissing) {
				t.Fatalf("Find() = %+v, %v; want an error wrapping ErrMissing", p, err)
			}
			for _, want := range tt.wantMsgs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Find() error %q does not contain %q", err, want)
				}
			}
			if p != (k8sbin.Paths{}) {
				t.Errorf("Find() paths = %+v, want zero on error", p)
			}
		})
	}
}

func TestFindFromEnv(t *testing.T) {
	dir := t.TempDir()
	fill(t, dir, 0o755, pinnedVersions)
	t.Setenv("EASEL_K8S_BIN", dir)

	p, err := k8sbin.Find()
	if err != nil {
		t.Fatalf("Find() error = %v", err)
	}
	want := k8sbin.Paths{
		Dir:               dir,
		APIServer:         dir + "/kube-apiserver",
		ControllerManager: dir + "/kube-controller-manager",
		Scheduler:         dir + "/kube-scheduler",
		Kubectl:           dir + "/kubectl",
		Etcd:              dir + "/etcd",
		Kwok:              dir + "/kwok",
	}
	if p != want {
		t.Errorf("Find() = %+v, want %+v", p, want)
	}
}

func TestFindFromCache(t *testing.T) {
	cache := t.TempDir()
	fill(t, filepath.Join(cache, "v1.34.4"), 0o755, pinnedVersions)
	t.Setenv("EASEL_K8S_BIN", "")
	t.Setenv("EASEL_K8S_CACHE", cache)

	p, err := k8sbin.Find()
	if err != nil {
		t.Fatalf("Find() error = %v", err)
	}
	if want := cache + "/v1.34.4/kube-apiserver"; p.APIServer != want {
		t.Errorf("Find().APIServer = %q, want %q", p.APIServer, want)
	}
}

func TestFindDefaultCacheUnderHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("EASEL_K8S_BIN", "")
	t.Setenv("EASEL_K8S_CACHE", "")
	t.Setenv("HOME", home)

	_, err := k8sbin.Find()
	if !errors.Is(err, k8sbin.ErrMissing) {
		t.Fatalf("Find() error = %v, want ErrMissing", err)
	}
	if want := home + "/.cache/easel/k8s/v1.34.4"; !strings.Contains(err.Error(), want) {
		t.Errorf("Find() error %q does not name %q", err, want)
	}
}
