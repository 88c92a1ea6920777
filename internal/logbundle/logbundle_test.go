package logbundle_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/logbundle"
)

// kwokLastLine is the last line of every container's log on a local cluster (KWOK serves the
// same simulated log for each).
const kwokLastLine = "easel local provider: simulated container of cluster bundle; no output of its own exists (KWOK runs no containers)\n"

// numberedLines is "<prefix> 1\n" … "<prefix> n\n".
func numberedLines(prefix string, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s %d\n", prefix, i)
	}
	return b.String()
}

// A bundle of a running cluster holds its manifest without Secrets, the logs of kube-system's,
// the agent namespace's and the requested pods' containers with the tail asked for, each node's
// files read through the kubelet — and errors.txt names the node whose kubelet could not be reached
// (the API server does not proxy to KWOK's localhost), while the rest of the bundle is whole.
func TestCollect(t *testing.T) {
	_, kube := controlPlane(t)
	ctx := context.Background()
	for _, ns := range []string{"easel-system", "web", "db", "other"} {
		ensureNamespace(t, kube, ns)
	}
	createPod(t, kube, "kube-system", "kube-proxy-1", "worker-1", nil, "kube-proxy", "sidecar")
	createPod(t, kube, "easel-system", "agent-1", "worker-1", nil, "agent")
	createPod(t, kube, "web", "app-1", "worker-1", nil, "app")
	createPod(t, kube, "db", "postgres-1", "worker-1", map[string]string{"tier": "db"}, "postgres")
	createPod(t, kube, "other", "unrelated-1", "worker-1", map[string]string{"tier": "cache"}, "cache")
	secretValue := "s3cret-database-password"
	if _, err := kube.CoreV1().Secrets("web").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-credentials"},
		StringData: map[string]string{"password": secretValue}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().ConfigMaps("web").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app-settings"},
		Data: map[string]string{"api-token": "token-kept-as-is"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A container that restarted has its previous log taken too.
	p, err := kube.CoreV1().Pods("kube-system").Get(ctx, "kube-proxy-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == "sidecar" {
			p.Status.ContainerStatuses[i].RestartCount = 1
		}
	}
	if _, err := kube.CoreV1().Pods("kube-system").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubelet := startFakeKubelet(t, kube, "real-node-1", map[string]string{
		"syslog":                numberedLines("syslog line", 50),
		"cloud-init-output.log": numberedLines("cloud-init line", 3),
	})

	req := v1.LogFetcherRequest{NoOfLines: 1, Duration: 3600,
		K8s:  &v1.LogFetcherK8s{Namespaces: []string{"web"}, LabelSelector: []string{"tier=db"}},
		Node: &v1.LogFetcherNodeLogs{Logs: []string{"syslog", "cloud-init-output.log"}}}
	var zipped bytes.Buffer
	sum, err := logbundle.Collect(ctx, kube, req, logbundle.Options{ItemTimeout: 5 * time.Second}, &zipped)
	if err != nil {
		t.Fatal(err)
	}
	files := bundleFiles(t, zipped.Bytes())
	errs := errorLines(t, files)
	t.Logf("bundle: %d entries, %d bytes; errors.txt:\n%s", len(files), zipped.Len(), files["errors.txt"])
	if sum.Bytes != int64(zipped.Len()) {
		t.Errorf("Summary.Bytes = %d, the zip has %d", sum.Bytes, zipped.Len())
	}

	// Manifest.yaml: the cluster's objects, none of them a Secret, no managedFields.
	manifest := files["Manifest.yaml"]
	objects := map[string]bool{}
	for _, doc := range strings.Split(manifest, "\n---\n") {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name, Namespace string
				ManagedFields   []any `json:"managedFields"`
			} `json:"metadata"`
			Data map[string]string `json:"data"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("a document of Manifest.yaml is not YAML: %v\n%s", err, doc)
		}
		if obj.Kind == "" {
			continue // the header comment
		}
		objects[obj.Kind+" "+obj.Metadata.Namespace+"/"+obj.Metadata.Name] = true
		if obj.Metadata.ManagedFields != nil {
			t.Errorf("%s %s keeps its managedFields", obj.Kind, obj.Metadata.Name)
		}
		if obj.Kind == "ConfigMap" && obj.Metadata.Name == "app-settings" && obj.Data["api-token"] != "token-kept-as-is" {
			t.Errorf("ConfigMap app-settings's data = %v, want its value kept", obj.Data)
		}
	}
	for _, want := range []string{"Node /worker-1", "Node /real-node-1", "Pod kube-system/kube-proxy-1", "Pod web/app-1",
		"Pod other/unrelated-1", "ConfigMap web/app-settings", "ConfigMap kube-system/kube-root-ca.crt"} {
		if !objects[want] {
			t.Errorf("Manifest.yaml has no %s", want)
		}
	}
	hasKind := func(kind string) bool {
		for o := range objects {
			if strings.HasPrefix(o, kind+" ") {
				return true
			}
		}
		return false
	}
	if !hasKind("Event") {
		t.Errorf("Manifest.yaml has no Event (the pods' Scheduled events at least)")
	}
	for name, content := range files {
		if strings.Contains(content, "db-credentials") || strings.Contains(content, secretValue) ||
			strings.Contains(content, base64.StdEncoding.EncodeToString([]byte(secretValue))) {
			t.Errorf("%s holds the Secret db-credentials (its name or value)", name)
		}
	}
	if hasKind("Secret") {
		t.Errorf("Manifest.yaml holds Secrets")
	}

	// Container logs, the tail honoured; the agent namespace's over the duration (its whole
	// simulated log of two lines).
	for _, path := range []string{"kube-system/kube-proxy-1/kube-proxy.log", "kube-system/kube-proxy-1/sidecar.log",
		"web/app-1/app.log", "db/postgres-1/postgres.log"} {
		if got, ok := files[path]; !ok {
			t.Errorf("no %s in the bundle (errors.txt: %q)", path, errorFor(errs, path))
		} else if got != kwokLastLine {
			t.Errorf("%s = %q, want the last line only: %q", path, got, kwokLastLine)
		}
	}
	if _, ok := files["kube-system/kube-proxy-1/sidecar.previous.log"]; !ok {
		t.Errorf("no kube-system/kube-proxy-1/sidecar.previous.log: the container restarted (errors.txt: %q)",
			errorFor(errs, "kube-system/kube-proxy-1/sidecar.previous.log"))
	}
	if _, ok := files["kube-system/kube-proxy-1/kube-proxy.previous.log"]; ok {
		t.Errorf("kube-system/kube-proxy-1/kube-proxy.previous.log is in the bundle, though that container never restarted")
	}
	if got := files["easel-system/agent-1/agent.log"]; strings.Count(got, "\n") != 2 || !strings.HasSuffix(got, kwokLastLine) {
		t.Errorf("easel-system/agent-1/agent.log = %q, want the whole log of the last hour (two lines)", got)
	}
	for name := range files {
		if strings.HasPrefix(name, "other/") {
			t.Errorf("%s is in the bundle: namespace other was not asked for and its pod does not match tier=db", name)
		}
	}

	// Node logs: the last line of each file of the node whose kubelet serves them, asked for with
	// a Range header the API server passed through; KWOK's node is in errors.txt.
	if got := files["nodes/real-node-1/syslog"]; got != "syslog line 50\n" {
		t.Errorf("nodes/real-node-1/syslog = %q, want its last line", got)
	}
	if got := files["nodes/real-node-1/cloud-init-output.log"]; got != "cloud-init line 3\n" {
		t.Errorf("nodes/real-node-1/cloud-init-output.log = %q, want its last line", got)
	}
	if r, _ := kubelet.rangeOf("/logs/syslog"); r != fmt.Sprintf("bytes=-%d", v1.MaxLogItemBytes) {
		t.Errorf("the kubelet got Range %q, want the last %d bytes asked for", r, v1.MaxLogItemBytes)
	}
	for _, path := range []string{"nodes/worker-1/syslog", "nodes/worker-1/cloud-init-output.log"} {
		if _, ok := files[path]; ok {
			t.Errorf("%s is in the bundle, though KWOK serves no node logs", path)
		}
		// KWOK answers on localhost, which the API server does not proxy to.
		if l := errorFor(errs, path); !strings.Contains(l, "through the node's kubelet: address not allowed") {
			t.Errorf("errors.txt says of %s %q, want the API server's refusal", path, l)
		}
	}
	if len(errs) != 2 || sum.Failed != 2 {
		t.Errorf("errors.txt has %d lines and Summary.Failed = %d, want only KWOK's node's two files:\n%s", len(errs), sum.Failed, strings.Join(errs, "\n"))
	}
	if want := len(files) - 1; sum.Items != want {
		t.Errorf("Summary.Items = %d, want %d (every entry but errors.txt)", sum.Items, want)
	}
}

// errors.txt is there even when every item was collected, and says so.
func TestCollectNothingFailed(t *testing.T) {
	_, kube := controlPlane(t)
	req := v1.LogFetcherRequest{NoOfLines: 10, Duration: 3600, Node: &v1.LogFetcherNodeLogs{Logs: []string{}}}
	var zipped bytes.Buffer
	sum, err := logbundle.Collect(context.Background(), kube, req, logbundle.Options{}, &zipped)
	if err != nil {
		t.Fatal(err)
	}
	files := bundleFiles(t, zipped.Bytes())
	if got := files["errors.txt"]; got != "Nothing failed: every item was collected.\n" || sum.Failed != 0 {
		t.Errorf("errors.txt = %q, Summary.Failed = %d; want nothing failed", got, sum.Failed)
	}
}

// Caps hold: a log longer than the item cap keeps its newest whole lines, the manifest stops at its
// share of the bundle, and once the bundle is full the remaining items are skipped — each said in
// errors.txt, and the bundle's uncompressed size stays within the cap.
func TestCollectCaps(t *testing.T) {
	_, kube := controlPlane(t)
	files := map[string]string{}
	var logs []string
	for i := 1; i <= 8; i++ {
		name := fmt.Sprintf("big-%d.log", i)
		files[name] = numberedLines(name+" line", 1000) // about 20 kB each
		logs = append(logs, name)
	}
	startFakeKubelet(t, kube, "real-node-2", files)

	const itemBytes, bundleBytes = 2000, 16000
	req := v1.LogFetcherRequest{NoOfLines: v1.MaxLogLines, Duration: 3600, Node: &v1.LogFetcherNodeLogs{Logs: logs}}
	var zipped bytes.Buffer
	sum, err := logbundle.Collect(context.Background(), kube, req,
		logbundle.Options{ItemBytes: itemBytes, BundleBytes: bundleBytes, Concurrency: 1}, &zipped)
	if err != nil {
		t.Fatal(err)
	}
	got := bundleFiles(t, zipped.Bytes())
	errs := errorLines(t, got)
	t.Logf("errors.txt:\n%s", got["errors.txt"])

	total := 0
	for name, content := range got {
		if name != "errors.txt" {
			total += len(content)
		}
	}
	if total > bundleBytes {
		t.Errorf("the bundle holds %d bytes uncompressed, over its cap of %d", total, bundleBytes)
	}
	if n := len(got["Manifest.yaml"]); n > bundleBytes/4 {
		t.Errorf("Manifest.yaml is %d bytes, over its share %d", n, bundleBytes/4)
	}
	if l := errorFor(errs, "Manifest.yaml"); !strings.Contains(l, "truncated: the manifest reached its cap of 4000 bytes") {
		t.Errorf("errors.txt says of Manifest.yaml %q, want its truncation", l)
	}
	written, skipped := 0, 0
	for _, name := range logs {
		path := "nodes/real-node-2/" + name
		content, ok := got[path]
		reason := errorFor(errs, path)
		switch {
		case ok:
			written++
			// The newest whole lines, ending with the file's last one.
			if !strings.HasSuffix(content, name+" line 1000\n") || !strings.HasPrefix(content, name+" line ") || len(content) > itemBytes {
				t.Errorf("%s = %d bytes %q…, want at most %d bytes of the newest whole lines", path, len(content), content[:min(40, len(content))], itemBytes)
			}
			if !strings.Contains(reason, "truncated to its newest") {
				t.Errorf("errors.txt says of %s %q, want its truncation", path, reason)
			}
		case strings.Contains(reason, "skipped: the bundle reached its cap of 16000 bytes"):
			skipped++
		default:
			t.Errorf("%s is neither in the bundle nor skipped at the cap; errors.txt: %q", path, reason)
		}
	}
	if written == 0 || skipped == 0 {
		t.Errorf("%d node logs written and %d skipped, want some of each", written, skipped)
	}
	if sum.Failed < skipped {
		t.Errorf("Summary.Failed = %d, fewer than the %d skipped", sum.Failed, skipped)
	}
}

// A log that never comes costs its item timeout and a line in errors.txt; the rest of the bundle
// is collected as usual.
func TestCollectItemTimeout(t *testing.T) {
	_, kube := controlPlane(t)
	startFakeKubelet(t, kube, "real-node-3", map[string]string{"syslog": numberedLines("syslog line", 3)})

	req := v1.LogFetcherRequest{NoOfLines: 2, Duration: 3600, Node: &v1.LogFetcherNodeLogs{Logs: []string{"hung.log", "syslog"}}}
	var zipped bytes.Buffer
	start := time.Now()
	if _, err := logbundle.Collect(context.Background(), kube, req, logbundle.Options{ItemTimeout: time.Second}, &zipped); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Collect took %s with one hung item and an item timeout of 1s", took)
	}
	files := bundleFiles(t, zipped.Bytes())
	errs := errorLines(t, files)
	if l := errorFor(errs, "nodes/real-node-3/hung.log"); !strings.Contains(l, "timed out after 1s") {
		t.Errorf("errors.txt says of nodes/real-node-3/hung.log %q, want its timeout", l)
	}
	if got := files["nodes/real-node-3/syslog"]; got != "syslog line 2\nsyslog line 3\n" {
		t.Errorf("nodes/real-node-3/syslog = %q, want its last two lines", got)
	}
	if _, ok := files["Manifest.yaml"]; !ok || errorFor(errs, "Manifest.yaml") != "" {
		t.Errorf("Manifest.yaml missing or failed: %q", errorFor(errs, "Manifest.yaml"))
	}
}

// A cluster whose API server does not answer — nothing listens, or it accepts and never replies —
// still gives a valid bundle, within a bounded time, whose errors.txt says why it is empty.
func TestCollectAPIServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + l.Addr().String()
	l.Close()
	// It never answers, not even when its client gives up: a handler that returned then would
	// answer an empty 200 to a request still waiting.
	stop := make(chan struct{})
	hung := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stop }))
	defer hung.Close()
	defer close(stop) // before Close, which waits for the handlers
	// Something in the way answers every request, with nothing.
	empty := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer empty.Close()

	for _, tc := range []struct{ name, host string }{{"nothing listens", closed}, {"never answers", hung.URL}, {"answers empty", empty.URL}} {
		t.Run(tc.name, func(t *testing.T) {
			kube := kubernetes.NewForConfigOrDie(&rest.Config{Host: tc.host, TLSClientConfig: rest.TLSClientConfig{Insecure: true}})
			req := v1.LogFetcherRequest{NoOfLines: 10, Duration: 3600, Node: &v1.LogFetcherNodeLogs{Logs: []string{"syslog"}}}
			var zipped bytes.Buffer
			start := time.Now()
			sum, err := logbundle.Collect(context.Background(), kube, req, logbundle.Options{ItemTimeout: time.Second}, &zipped)
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Collect took %s with an item timeout of 1s", took)
			}
			files := bundleFiles(t, zipped.Bytes())
			errs := errorLines(t, files)
			for _, path := range []string{"Manifest.yaml", "logs (pods and nodes)"} {
				if l := errorFor(errs, path); !strings.Contains(l, "not collected: the API server did not answer") {
					t.Errorf("errors.txt says of %s %q, want that the API server did not answer", path, l)
				}
			}
			if !strings.Contains(files["Manifest.yaml"], "the API server did not answer") {
				t.Errorf("Manifest.yaml = %q, want it to say the API server did not answer", files["Manifest.yaml"])
			}
			if len(files) != 2 || sum.Items != 0 || sum.Failed != 2 {
				t.Errorf("bundle has %v, Summary %+v; want Manifest.yaml and errors.txt only, nothing collected", names(files), sum)
			}
		})
	}
}

// Collect fails only when its writer does, or its context ends.
func TestCollectWriteFails(t *testing.T) {
	kube := kubernetes.NewForConfigOrDie(&rest.Config{Host: "https://127.0.0.1:1", TLSClientConfig: rest.TLSClientConfig{Insecure: true}})
	broken := errors.New("disk full")
	_, err := logbundle.Collect(context.Background(), kube, v1.LogFetcherRequest{}, logbundle.Options{ItemTimeout: time.Second}, failingWriter{broken})
	if !errors.Is(err, broken) {
		t.Errorf("Collect with a failing writer = %v, want its error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = logbundle.Collect(ctx, kube, v1.LogFetcherRequest{}, logbundle.Options{}, &bytes.Buffer{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Collect with an ended context = %v, want context.Canceled", err)
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }
