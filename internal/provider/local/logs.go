package local

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
// and each machine's logs that the request names (nodes/<node>/syslog,
// nodes/<node>/cloud-init-output.log), the last req.NoOfLines lines of each (all it holds when 0).
func (p *Provider) Logs(ctx context.Context, c provider.Cluster, req v1.LogFetcherRequest, add func(name string, r io.Reader) error) error {
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
		errs = append(errs, addTail(f, name, req.NoOfLines, add))
	}
	var kept []string // the node files the request names that the provider keeps
	if req.Node != nil {
		for _, f := range req.Node.Logs {
			if f == machineCloudInit || f == machineSyslog {
				kept = append(kept, f)
			}
		}
	}
	for _, m := range c.Spec.Status.Machines {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, file := range kept {
			name := "nodes/" + m.Name + "/" + file
			path := filepath.Join(p.machineLogDir(c.UID, m.Name), file)
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
				// A machine made before easel kept machine logs: what the hub recorded of it.
				errs = append(errs, add(name, strings.NewReader(fmt.Sprintf(
					"%s easel-local-provider: machine %s (pool %s) was created before easel kept machine logs; it has no %s\n",
					m.CreatedAt.UTC().Format(time.RFC3339), m.Name, m.Pool, file))))
				continue
			}
			errs = append(errs, addTail(path, name, req.NoOfLines, add))
		}
	}
	return errors.Join(errs...)
}

// addTail adds the last lines of a file (all when lines is 0), read from at most its newest
// logTailBytes, starting on a whole line.
func addTail(path, name string, lines int64, add func(string, io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	from := max(0, st.Size()-logTailBytes)
	data := make([]byte, st.Size()-from)
	if _, err := f.ReadAt(data, from); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if from > 0 { // a partial first line
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	if lines > 0 {
		data = lastLines(data, lines)
	}
	if err := add(name, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// lastLines is the end of data from the start of its n-th line from the end.
func lastLines(data []byte, n int64) []byte {
	end := len(data)
	if end > 0 && data[end-1] == '\n' {
		end-- // the last line's newline ends it; it starts no line of its own
	}
	for i := end - 1; i >= 0; i-- {
		if data[i] == '\n' {
			if n--; n == 0 {
				return data[i+1:]
			}
		}
	}
	return data
}

func (p *Provider) machineLogDir(clusterUID, machine string) string {
	return filepath.Join(p.dir(clusterUID), "machines", machine)
}

// logMachine records what the provider did to a machine: its cloud-init log when it is first
// registered, a system log line whenever its node is registered or changed.
func (p *Provider) logMachine(c provider.Cluster, m clusters.Machine, want Machine, changed bool) error {
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
	if changed {
		return appendLine(filepath.Join(dir, machineSyslog), fmt.Sprintf("%s easel-local-provider: node %s given its pool's labels %v and taints %v",
			now, m.Name, want.Labels, want.Taints))
	}
	return nil
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
