// Package bench holds easel's load benchmarks: bounded in count and time, on loopback, against the
// real hub — `easel server` run as a child process over a fresh store — driven only through the
// /v1 API and the agent protocol, reporting throughput, latency percentiles and resource use.
// cmd/easel-bench is its command line.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/easelhq/easel/internal/hubtrust"
)

// benchKey is the API key the child hub's first start gives its tenant admin (EASEL_ADMIN_API_KEY).
const benchKey = "easel-bench-admin-key"

// keepEnv, when set, keeps each benchmark hub's data dir (hub.log, the store) after the run, for
// looking into a failed or surprising one.
const keepEnv = "EASEL_BENCH_KEEP"

// hubOptions are how a benchmark runs its hub.
type hubOptions struct {
	easel       string   // the easel binary
	db          string   // store URL; empty means a fresh SQLite file in the data dir
	args        []string // further `easel server` flags
	concurrency int      // clients that share the API client's connections
	// tls serves HTTPS with the hub's self-signed certificate (--tls=on), as a hub that agents
	// reach over the network does; the API client trusts that certificate.
	tls      bool
	env      []string // further environment variables of the hub's process
	progress io.Writer
}

// hubProcess is `easel server` running as a child process on loopback with its own data dir, and
// an API client of its tenant admin in the default project.
type hubProcess struct {
	c        *apiClient
	cmd      *exec.Cmd
	dataDir  string
	exited   chan struct{} // closed once the process has been waited for
	progress io.Writer
	// pin is the fingerprint of the hub's self-signed certificate when it serves HTTPS: what an
	// agent's manifest pins.
	pin string
	// local are the local clusters the benchmark created: their control planes outlive the hub by
	// design, so stop deletes them through the API first.
	local []string
}

// startHub starts the hub and waits until it serves; stop ends it.
func startHub(ctx context.Context, o hubOptions) (*hubProcess, error) {
	if o.easel == "" {
		return nil, errors.New("no easel binary to benchmark (--easel)")
	}
	dataDir, err := os.MkdirTemp("", "easel-bench-")
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		os.RemoveAll(dataDir)
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dataDir, "hub.log"))
	if err != nil {
		os.RemoveAll(dataDir)
		return nil, err
	}
	defer logFile.Close() // the child holds its own descriptor
	args := append([]string{"server", "--listen", addr, "--data-dir", dataDir}, o.args...)
	scheme := "http://"
	if o.tls {
		args, scheme = append(args, "--tls=on"), "https://"
	}
	if o.db != "" {
		args = append(args, "--db", o.db)
	}
	// Not CommandContext: the hub is stopped with SIGTERM, so that it shuts down as in production.
	cmd := exec.Command(o.easel, args...)
	cmd.Env = append(append(os.Environ(), "EASEL_ADMIN_API_KEY="+benchKey), o.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dataDir)
		return nil, fmt.Errorf("starting %s server: %w", o.easel, err)
	}
	h := &hubProcess{cmd: cmd, dataDir: dataDir, exited: make(chan struct{}), progress: o.progress,
		c: &apiClient{base: scheme + addr, http: &http.Client{Timeout: time.Minute,
			Transport: &http.Transport{MaxIdleConnsPerHost: max(o.concurrency*2, 2)}}}}
	go func() { cmd.Wait(); close(h.exited) }()
	if err := h.waitReady(ctx, o.tls); err != nil {
		h.stop()
		return nil, err
	}
	if err := h.c.call(ctx, "GET", "/v1/users/info", nil, nil); err != nil {
		h.stop()
		return nil, fmt.Errorf("the bench needs an empty store (its bootstrap key did not work): %w", err)
	}
	var projects struct {
		Items []struct{ Metadata struct{ UID string } }
	}
	if err := h.c.call(ctx, "GET", "/v1/dashboard/projects/metadata", nil, &projects); err != nil || len(projects.Items) == 0 {
		h.stop()
		return nil, fmt.Errorf("finding the default project: %v", err)
	}
	h.c.project = projects.Items[0].Metadata.UID
	return h, nil
}

// waitReady polls /readyz until the hub answers, it exits, or a minute passes. A hub serving
// HTTPS is asked once its certificate is written, which the API client then pins.
func (h *hubProcess) waitReady(ctx context.Context, secure bool) error {
	deadline := time.Now().Add(time.Minute)
	for {
		if secure && h.pin == "" {
			h.trustCertificate()
		}
		if !secure || h.pin != "" {
			req, _ := http.NewRequestWithContext(ctx, "GET", h.c.base+"/readyz", nil)
			if resp, err := h.c.http.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
			}
		}
		select {
		case <-h.exited:
			return fmt.Errorf("easel server exited while starting: %s", h.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("easel server did not serve within a minute: %s", h.logTail())
		}
	}
}

// trustCertificate pins the hub's self-signed certificate in the API client, once the hub has
// written it (the key first, then the certificate, each whole).
func (h *hubProcess) trustCertificate() {
	pin, err := hubtrust.FingerprintFile(filepath.Join(h.dataDir, "tls", "hub.crt"))
	if err != nil {
		return
	}
	cfg, err := hubtrust.Options{Fingerprint: pin}.TLSConfig()
	if err != nil {
		return
	}
	h.c.http.Transport.(*http.Transport).TLSClientConfig = cfg
	h.pin = pin
}

// logTail is the end of the hub's log, for an error message.
func (h *hubProcess) logTail() string {
	data, _ := os.ReadFile(filepath.Join(h.dataDir, "hub.log"))
	if len(data) > 2000 {
		data = data[len(data)-2000:]
	}
	return strings.TrimSpace(string(data))
}

// pid is the hub process's id.
func (h *hubProcess) pid() int { return h.cmd.Process.Pid }

// stop deletes the local clusters the benchmark created (waiting until they are gone), then ends
// the hub with SIGTERM (SIGKILL after 30 s) and removes its data dir. Should a cluster not go
// away, the data dir stays so that its processes can be found.
func (h *hubProcess) stop() {
	var left error
	if len(h.local) > 0 {
		left = h.deleteClusters(context.Background(), h.local, time.Now().Add(3*time.Minute))
	}
	h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.exited:
	case <-time.After(30 * time.Second):
		h.cmd.Process.Kill()
		<-h.exited
	}
	switch {
	case left != nil:
		fmt.Fprintf(h.progress, "Keeping %s: %v\n", h.dataDir, left)
	case os.Getenv(keepEnv) != "":
		fmt.Fprintf(h.progress, "Keeping %s (the hub's log and store; %s is set)\n", h.dataDir, keepEnv)
	default:
		os.RemoveAll(h.dataDir)
	}
}

// deleteClusters deletes clusters through the API and waits until every one is gone (404).
func (h *hubProcess) deleteClusters(ctx context.Context, uids []string, deadline time.Time) error {
	for _, uid := range uids {
		if err := h.c.call(ctx, "DELETE", "/v1/spectroclusters/"+uid, nil, nil); err != nil && !isNotFound(err) {
			return fmt.Errorf("deleting cluster %s: %w", uid, err)
		}
	}
	for _, uid := range uids {
		err := poll(ctx, 200*time.Millisecond, deadline, "deleting cluster "+uid, func() (bool, error) {
			select {
			case <-h.exited:
				return false, fmt.Errorf("the hub exited before cluster %s was deleted: %s", uid, h.logTail())
			default:
			}
			return isNotFound(h.c.call(ctx, "GET", "/v1/spectroclusters/"+uid, nil, nil)), nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// freeAddr is a loopback address with a port the kernel just handed out. Another process could
// take it before the hub binds it; the hub then fails to start, saying so.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// benchProfile creates and publishes the profile the benchmarks' local clusters use; extra packs
// (JSON objects, each with a leading comma) follow the OS and Kubernetes.
func (h *hubProcess) benchProfile(ctx context.Context, extra string) (string, error) {
	var prof struct{ UID string }
	profile := []byte(`{"metadata":{"name":"bench"},"spec":{"template":{"type":"cluster","cloudType":"local",
		"packs":[{"name":"ubuntu","tag":"24.04"},{"name":"kubernetes","tag":"1.34.4"}` + extra + `]}}}`)
	if err := h.c.call(ctx, "POST", "/v1/clusterprofiles", profile, &prof); err != nil {
		return "", err
	}
	return prof.UID, h.c.call(ctx, "PATCH", "/v1/clusterprofiles/"+prof.UID+"/publish", nil, nil)
}

// fullStack is the rest of the profile of the provisioning and day-2 benchmarks: a CNI and a CSI.
const fullStack = `,{"name":"cni-calico","tag":"3.30.3"},{"name":"csi-local-path","tag":"0.0.32"}`

// createCluster creates a local cluster of one control-plane node and a worker pool; poolConfig
// adds fields to the worker pool's poolConfig (e.g. `,"machineHealthCheck":{…}`) and pool to the
// pool itself (e.g. `,"cloudConfig":{…}`).
func (h *hubProcess) createCluster(ctx context.Context, name, profileUID string, workers int, poolConfig, pool string) (string, error) {
	body := fmt.Appendf(nil, `{"metadata":{"name":%q},"spec":{"profiles":[{"uid":%q}],"machinepoolconfig":[
		{"poolConfig":{"name":"cp","size":1,"isControlPlane":true}},{"poolConfig":{"name":"workers","size":%d%s}%s}]}}`,
		name, profileUID, workers, poolConfig, pool)
	var out struct{ UID string }
	if err := h.c.call(ctx, "POST", "/v1/spectroclusters/cloudTypes/local", body, &out); err != nil {
		return "", err
	}
	h.local = append(h.local, out.UID)
	return out.UID, nil
}

// waitRunning polls a cluster until its state is Running or the deadline passes.
func (h *hubProcess) waitRunning(ctx context.Context, uid string, deadline time.Time) error {
	return poll(ctx, 200*time.Millisecond, deadline, "cluster "+uid+" Running", func() (bool, error) {
		var cl struct{ Status struct{ State string } }
		err := h.c.call(ctx, "GET", "/v1/spectroclusters/"+uid, nil, &cl)
		return cl.Status.State == "Running", err
	})
}

// cloudConfig is the uid of a cluster's cloud config, under which its machine pools are.
func (h *hubProcess) cloudConfig(ctx context.Context, uid string) (string, error) {
	var cl struct {
		Spec struct{ CloudConfigRef struct{ UID string } }
	}
	err := h.c.call(ctx, "GET", "/v1/spectroclusters/"+uid, nil, &cl)
	return cl.Spec.CloudConfigRef.UID, err
}

// kubeClient is a client of a cluster's API server through its admin kubeconfig.
func (h *hubProcess) kubeClient(ctx context.Context, uid string) (kubernetes.Interface, error) {
	var kubeconfig []byte
	if err := h.c.call(ctx, "GET", "/v1/spectroclusters/"+uid+"/assets/adminKubeconfig", nil, &kubeconfig); err != nil {
		return nil, err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// poll calls done every period until it reports true, fails, ctx ends or the deadline passes.
func poll(ctx context.Context, period time.Duration, deadline time.Time, what string, done func() (bool, error)) error {
	for {
		ok, err := done()
		if ok || err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not by the deadline", what)
		}
		if err := sleep(ctx, period); err != nil {
			return err
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// apiClient calls the hub's /v1 API as its tenant admin, in a project if set.
type apiClient struct {
	base, project string
	http          *http.Client
}

// httpError is an answer of the hub outside 2xx.
type httpError struct {
	method, path string
	status       int
	body         []byte
}

func (e *httpError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, e.body)
}

func isNotFound(err error) bool {
	var he *httpError
	return errors.As(err, &he) && he.status == http.StatusNotFound
}

// call sends a request and decodes a JSON answer into out (a *[]byte takes the raw body).
func (c *apiClient) call(ctx context.Context, method, path string, body []byte, out any) error {
	_, err := c.callHeader(ctx, method, path, body, out)
	return err
}

// callHeader is call that also returns the answer's headers.
func (c *apiClient) callHeader(ctx context.Context, method, path string, body []byte, out any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("ApiKey", benchKey)
	if c.project != "" {
		req.Header.Set("ProjectUid", c.project)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, &httpError{method, path, resp.StatusCode, data}
	}
	if raw, ok := out.(*[]byte); ok { // a download, such as a kubeconfig or a manifest
		*raw = data
		return resp.Header, nil
	}
	if out != nil {
		return resp.Header, json.Unmarshal(data, out)
	}
	return resp.Header, nil
}

// rss is a process's resident set size in bytes (0 if it is gone).
func rss(pid int) int64 { return procStatusBytes(pid, "VmRSS:") }

// peakRSS is the largest resident set size a process has had, in bytes (0 if it is gone).
func peakRSS(pid int) int64 { return procStatusBytes(pid, "VmHWM:") }

// procEnv is the value of the variable name in the environment of process pid, "" if it has none.
func procEnv(pid int, name string) string {
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return ""
	}
	for kv := range strings.SplitSeq(string(environ), "\x00") {
		if value, ok := strings.CutPrefix(kv, name+"="); ok {
			return value
		}
	}
	return ""
}

// procStatusBytes reads a size in kB of /proc/<pid>/status, in bytes.
func procStatusBytes(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
