package local

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/provider"
)

// A local cluster's machines are KWOK nodes: no /var/log of their own for the agent to read
// through the kubelet (KWOK answers 405), and no address the API server would proxy to that is
// also private to this host. So the provider keeps each machine's logs itself — what it did to the
// machine, as a cloud-init log and a system log — and gives them, with its control plane's and
// agent's logs, to the cluster's log bundles.

// Machine log files, as a node's /var/log names them.
const (
	machineSyslog    = "syslog"
	machineCloudInit = "cloud-init-output.log"
)

// logTailBytes is how much of the newest end of each process log a bundle takes.
const logTailBytes = v1.MaxLogItemBytes / 2

var _ provider.LogReporter = (*Provider)(nil)

// Logs adds the cluster's process logs (control-plane/<process>.log, easel-system/easel-agent.log)
// and each machine's logs (nodes/<node>/syslog, nodes/<node>/cloud-init-output.log).
func (p *Provider) Logs(ctx context.Context, c provider.Cluster, add func(name string, r io.Reader) error) error {
	var errs []error
	files, err := filepath.Glob(filepath.Join(p.dir(c.UID), "logs", "*.log"))
	if err != nil {
		return err
	}
	for _, f := range files {
		name := "control-plane/" + filepath.Base(f)
		if strings.TrimSuffix(filepath.Base(f), ".log") == compAgent {
			name = "easel-system/" + compAgent + ".log"
		}
		errs = append(errs, addTail(f, name, add))
	}
	for _, m := range c.Spec.Status.Machines {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, file := range []string{machineCloudInit, machineSyslog} {
			name := "nodes/" + m.Name + "/" + file
			path := filepath.Join(p.machineLogDir(c.UID, m.Name), file)
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
				// A machine made before easel kept machine logs: what the hub recorded of it.
				errs = append(errs, add(name, strings.NewReader(fmt.Sprintf(
					"%s easel-local-provider: machine %s (pool %s) was created before easel kept machine logs; it has no %s\n",
					m.CreatedAt.UTC().Format(time.RFC3339), m.Name, m.Pool, file))))
				continue
			}
			errs = append(errs, addTail(path, name, add))
		}
	}
	return errors.Join(errs...)
}

// addTail adds the newest logTailBytes of a file, from the start of a line.
func addTail(path, name string, add func(string, io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var r io.Reader = f
	if st.Size() > logTailBytes {
		if _, err := f.Seek(st.Size()-logTailBytes, io.SeekStart); err != nil {
			return err
		}
		br := bufio.NewReader(f)
		if _, err := br.ReadString('\n'); err != nil && !errors.Is(err, io.EOF) { // a partial first line
			return err
		}
		r = br
	}
	if err := add(name, r); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (p *Provider) machineLogDir(clusterUID, machine string) string {
	return filepath.Join(p.dir(clusterUID), "machines", machine)
}

// logMachine records what the provider did to a machine: its cloud-init log when it is first
// registered, a system log line whenever its node is registered or changed.
func (p *Provider) logMachine(c provider.Cluster, m clusters.Machine, want Machine) error {
	dir := p.machineLogDir(c.UID, m.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	now := time.Now().UTC().Format(time.RFC3339)
	cloudInit := filepath.Join(dir, machineCloudInit)
	if _, err := os.Stat(cloudInit); errors.Is(err, os.ErrNotExist) {
		var b bytes.Buffer
		fmt.Fprintf(&b, "Cloud-init (simulated by easel's local provider) running 'init' at %s\n", now)
		fmt.Fprintf(&b, "Machine %s (uid %s): pool %s, instance type %s (%d vCPU, %d GiB), zone %s, disk %d GiB\n",
			m.Name, m.UID, m.Pool, m.InstanceType, want.CPU, want.MemoryGiB, m.Zone, m.DiskGiB)
		fmt.Fprintf(&b, "Image: kubelet %s on %s\n", cmp.Or(want.KubeletVersion, k8sbin.KubernetesVersion), cmp.Or(want.OSImage, defaultOSImage))
		fmt.Fprintf(&b, "Registering node %s with the cluster's API server; KWOK runs its kubelet\n", m.Name)
		fmt.Fprintf(&b, "Cloud-init finished at %s\n", now)
		if err := os.WriteFile(cloudInit, b.Bytes(), 0o644); err != nil {
			return err
		}
		return appendLine(filepath.Join(dir, machineSyslog), now+" easel-local-provider: node "+m.Name+" registered (KWOK simulates its kubelet)")
	}
	if labelsChanged(m.Labels, want.Labels) || !slices.Equal(m.Taints, want.Taints) {
		return appendLine(filepath.Join(dir, machineSyslog), fmt.Sprintf("%s easel-local-provider: node %s given its pool's labels %v and taints %v",
			now, m.Name, want.Labels, want.Taints))
	}
	return nil
}

func labelsChanged(a, b map[string]string) bool {
	return !maps.Equal(a, b) && !(len(a) == 0 && len(b) == 0)
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
