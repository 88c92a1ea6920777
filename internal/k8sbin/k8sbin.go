// Package k8sbin locates the pinned Kubernetes binaries (kube-apiserver,
// kube-controller-manager, kube-scheduler, kubectl, etcd and kwok) that the
// local provider runs as real control planes with KWOK-simulated nodes, and
// that its tests start. hack/k8s-binaries.sh builds them; this package only
// finds them and checks they are the versions easel is pinned to.
package k8sbin

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The pinned versions. Keep them in step with hack/k8s-binaries.sh, which
// writes them into the VERSIONS file of the directory it builds.
const (
	KubernetesVersion = "v1.34.4"
	EtcdVersion       = "v3.6.4"
	KwokVersion       = "v0.8.0"
)

// BuildCommand is the command that builds the binaries Find looks for.
const BuildCommand = "./hack/k8s-binaries.sh"

// ErrMissing is returned, wrapped, by Find when the binaries are absent,
// incomplete or not the pinned versions; BuildCommand fixes all three.
var ErrMissing = errors.New("pinned Kubernetes binaries not found")

// Paths are the absolute paths of the binaries, all in Dir.
type Paths struct {
	Dir               string
	APIServer         string
	ControllerManager string
	Scheduler         string
	Kubectl           string
	Etcd              string
	Kwok              string
}

// Find returns the binaries in $EASEL_K8S_BIN if it is set, else in the cache
// hack/k8s-binaries.sh builds into:
// ${EASEL_K8S_CACHE:-$HOME/.cache/easel/k8s}/<KubernetesVersion>. Every binary
// must be an executable file and the directory's VERSIONS file must name the
// pinned versions; otherwise the error wraps ErrMissing and says what to run.
func Find() (Paths, error) {
	dir, err := binDir()
	if err != nil {
		return Paths{}, err
	}
	p := Paths{
		Dir:               dir,
		APIServer:         filepath.Join(dir, "kube-apiserver"),
		ControllerManager: filepath.Join(dir, "kube-controller-manager"),
		Scheduler:         filepath.Join(dir, "kube-scheduler"),
		Kubectl:           filepath.Join(dir, "kubectl"),
		Etcd:              filepath.Join(dir, "etcd"),
		Kwok:              filepath.Join(dir, "kwok"),
	}
	var missing []string
	for _, bin := range []string{p.APIServer, p.ControllerManager, p.Scheduler, p.Kubectl, p.Etcd, p.Kwok} {
		if !executable(bin) {
			missing = append(missing, filepath.Base(bin))
		}
	}
	if len(missing) > 0 {
		return Paths{}, fmt.Errorf("%w: %s missing or not executable in %s; build them with %s",
			ErrMissing, strings.Join(missing, ", "), dir, BuildCommand)
	}
	if err := checkVersions(dir); err != nil {
		return Paths{}, err
	}
	return p, nil
}

// binDir returns the absolute directory Find looks in.
func binDir() (string, error) {
	dir := os.Getenv("EASEL_K8S_BIN")
	if dir == "" {
		root := os.Getenv("EASEL_K8S_CACHE")
		if root == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("%w: locating the cache (set EASEL_K8S_BIN or EASEL_K8S_CACHE): %v", ErrMissing, err)
			}
			root = filepath.Join(home, ".cache", "easel", "k8s")
		}
		dir = filepath.Join(root, KubernetesVersion)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", dir, err)
	}
	return abs, nil
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// checkVersions compares dir/VERSIONS, lines of "<component> <version>", with
// the pins.
func checkVersions(dir string) error {
	path := filepath.Join(dir, "VERSIONS")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s is missing, so the build in %s did not finish; build them with %s",
			ErrMissing, path, dir, BuildCommand)
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	got := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, version, ok := strings.Cut(strings.TrimSpace(sc.Text()), " "); ok {
			got[name] = strings.TrimSpace(version)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	var wrong []string
	for _, pin := range []struct{ name, want string }{
		{"kubernetes", KubernetesVersion},
		{"etcd", EtcdVersion},
		{"kwok", KwokVersion},
	} {
		switch have, ok := got[pin.name]; {
		case !ok:
			wrong = append(wrong, fmt.Sprintf("%s is not listed (want %s)", pin.name, pin.want))
		case have != pin.want:
			wrong = append(wrong, fmt.Sprintf("%s is %s (want %s)", pin.name, have, pin.want))
		}
	}
	if len(wrong) > 0 {
		return fmt.Errorf("%w: %s says %s; rebuild them with %s",
			ErrMissing, path, strings.Join(wrong, ", "), BuildCommand)
	}
	return nil
}
