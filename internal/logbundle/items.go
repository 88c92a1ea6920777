package logbundle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/easelhq/easel/api/v1"
)

// listPageSize is how many objects one list call asks for, so that a 5,000-node cluster is read
// a page at a time.
const listPageSize = 500

// item is one entry of the zip to fetch, or (err set) one that could not even be listed.
type item struct {
	path  string
	err   error
	fetch func(context.Context) (data []byte, note string, err error)
}

// result is a fetched item: its content and, when it was cut, a note for errors.txt saying so.
type result struct {
	path string
	data []byte
	note string
	err  error
}

// enumerate hands emit every log the request asks for: each container of kube-system's pods, of
// the agent namespace's pods, of the requested namespaces' pods and of the pods the requested
// selectors select (each pod once, under the first of these that names it), then each node's
// requested files. It stops when emit returns false.
func enumerate(ctx context.Context, kube kubernetes.Interface, req v1.LogFetcherRequest, opts Options, emit func(item) bool) {
	tail := corev1.PodLogOptions{TailLines: &req.NoOfLines}
	since, maxLines := req.Duration, int64(v1.MaxLogLines)
	type podSource struct {
		what    string // where listing errors are reported in errors.txt
		ns, sel string
		logOpts corev1.PodLogOptions
	}
	sources := []podSource{
		{what: "kube-system/", ns: "kube-system", logOpts: tail},
		// The last `duration`, at most its newest MaxLogLines lines: with limitBytes alone, an hour
		// over the cap would keep its oldest part.
		{what: opts.AgentNamespace + "/", ns: opts.AgentNamespace, logOpts: corev1.PodLogOptions{SinceSeconds: &since, TailLines: &maxLines}},
	}
	if req.K8s != nil {
		for _, ns := range req.K8s.Namespaces {
			sources = append(sources, podSource{what: ns + "/", ns: ns, logOpts: tail})
		}
		for _, sel := range req.K8s.LabelSelector {
			sources = append(sources, podSource{what: "pods selected by " + sel, sel: sel, logOpts: tail})
		}
	}
	seen := map[string]bool{}
	for _, src := range sources {
		err := listPages(ctx, opts.ItemTimeout, func(ctx context.Context, lo metav1.ListOptions) (string, error) {
			lo.LabelSelector = src.sel
			pods, err := kube.CoreV1().Pods(src.ns).List(ctx, lo)
			if err != nil {
				return "", err
			}
			for i := range pods.Items {
				p := &pods.Items[i]
				key := p.Namespace + "/" + p.Name
				if seen[key] {
					continue
				}
				seen[key] = true
				for _, it := range podItems(kube, p, src.logOpts, opts) {
					if !emit(it) {
						return "", ctx.Err()
					}
				}
			}
			return pods.Continue, nil
		})
		if err != nil && ctx.Err() == nil {
			if !emit(item{path: src.what, err: fmt.Errorf("listing pods: %w", err)}) {
				return
			}
		}
	}
	if ctx.Err() != nil {
		return
	}
	var files []string
	if req.Node != nil {
		files = req.Node.Logs
	}
	err := listPages(ctx, opts.ItemTimeout, func(ctx context.Context, lo metav1.ListOptions) (string, error) {
		nodes, err := kube.CoreV1().Nodes().List(ctx, lo)
		if err != nil {
			return "", err
		}
		for _, n := range nodes.Items {
			for _, f := range files {
				if !emit(nodeItem(kube, n.Name, f, req.NoOfLines, opts)) {
					return "", ctx.Err()
				}
			}
		}
		return nodes.Continue, nil
	})
	if err != nil && ctx.Err() == nil {
		emit(item{path: "nodes/", err: fmt.Errorf("listing nodes: %w", err)})
	}
}

// listPages calls list for each page, each call with its own timeout, until it returns no
// continue token.
func listPages(ctx context.Context, timeout time.Duration, list func(context.Context, metav1.ListOptions) (string, error)) error {
	lo := metav1.ListOptions{Limit: listPageSize}
	for {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		next, err := list(pctx, lo)
		cancel()
		if err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		lo.Continue = next
	}
}

// podItems are the logs of a pod's containers (init containers first), with each restarted
// container's previous log too. A pod not yet on a node has none, which is said instead.
func podItems(kube kubernetes.Interface, p *corev1.Pod, logOpts corev1.PodLogOptions, opts Options) []item {
	dir := p.Namespace + "/" + p.Name + "/"
	if p.Spec.NodeName == "" {
		return []item{{path: dir, err: errors.New("no logs: the pod is not scheduled to a node")}}
	}
	restarts := map[string]int32{}
	for _, s := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
		restarts[s.Name] = s.RestartCount
	}
	var out []item
	for _, c := range append(p.Spec.InitContainers, p.Spec.Containers...) {
		lo := logOpts
		lo.Container = c.Name
		out = append(out, podLogItem(kube, p, dir+c.Name+".log", lo, opts))
		if restarts[c.Name] > 0 {
			lo.Previous = true
			out = append(out, podLogItem(kube, p, dir+c.Name+".previous.log", lo, opts))
		}
	}
	return out
}

// podLogItem reads one container's log through the API server's pods/log, at most the item cap.
func podLogItem(kube kubernetes.Interface, p *corev1.Pod, name string, lo corev1.PodLogOptions, opts Options) item {
	ns, pod := p.Namespace, p.Name
	return item{path: name, fetch: func(ctx context.Context) ([]byte, string, error) {
		ctx, cancel := context.WithTimeout(ctx, opts.ItemTimeout)
		defer cancel()
		lo.LimitBytes = &opts.ItemBytes
		body, err := kube.CoreV1().Pods(ns).GetLogs(pod, &lo).Stream(ctx)
		if err != nil {
			return nil, "", timedOut(ctx, opts, err)
		}
		defer body.Close()
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(io.LimitReader(body, opts.ItemBytes)); err != nil {
			return nil, "", timedOut(ctx, opts, err)
		}
		var note string
		if int64(buf.Len()) >= opts.ItemBytes {
			note = fmt.Sprintf("truncated at the cap of %d bytes per log", opts.ItemBytes)
		}
		return buf.Bytes(), note, nil
	}}
}

// nodeItem reads one file of a node's /var/log through the kubelet's /logs endpoint (the API
// server's nodes/proxy), keeping its last lines. It asks for the file's last ItemBytes bytes with
// a Range header, which the API server passes through to the kubelet's file server; a kubelet that
// answers with the whole file is read to its end, keeping only its newest ItemBytes.
func nodeItem(kube kubernetes.Interface, node, file string, lines int64, opts Options) item {
	name := "nodes/" + node + "/" + file
	clean := path.Clean("/" + file)
	if file == "" || clean != "/"+file || strings.HasSuffix(file, "/") {
		return item{path: name, err: fmt.Errorf("not collected: %q is not a file name under /var/log", file)}
	}
	return item{path: name, fetch: func(ctx context.Context) ([]byte, string, error) {
		ctx, cancel := context.WithTimeout(ctx, opts.ItemTimeout)
		defer cancel()
		body, err := kube.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", node, "proxy/logs", file).
			SetHeader("Range", fmt.Sprintf("bytes=-%d", opts.ItemBytes)).Stream(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("reading /var/log/%s through the node's kubelet: %w", file, timedOut(ctx, opts, err))
		}
		defer body.Close()
		tb := newTailBuffer(opts.ItemBytes)
		if _, err := io.Copy(tb, body); err != nil {
			return nil, "", fmt.Errorf("reading /var/log/%s through the node's kubelet: %w", file, timedOut(ctx, opts, err))
		}
		var note string
		if tb.cut() {
			note = fmt.Sprintf("truncated to its newest %d bytes (the cap per log)", opts.ItemBytes)
		}
		return lastLines(tb.bytes(), tb.cut(), lines), note, nil
	}}
}

// timedOut says which timeout ended an item, since client-go's own message only says a context
// ended.
func timedOut(ctx context.Context, opts Options, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s: %w", opts.ItemTimeout, err)
	}
	return err
}
