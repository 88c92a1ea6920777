package logbundle

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// manifestKinds are the kinds Manifest.yaml holds, in the order written: the ones a reader needs
// most first, since a manifest at its cap loses the last. Secrets are not among them and are
// never listed.
var manifestKinds = []struct{ kind, apiVersion, path string }{
	{"Node", "v1", "/api/v1/nodes"},
	{"Deployment", "apps/v1", "/apis/apps/v1/deployments"},
	{"Pod", "v1", "/api/v1/pods"},
	{"CustomResourceDefinition", "apiextensions.k8s.io/v1", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"},
	{"ConfigMap", "v1", "/api/v1/configmaps"},
	{"Event", "v1", "/api/v1/events"},
}

// errManifestFull stops the listing once Manifest.yaml has its share of the bundle.
var errManifestFull = errors.New("manifest full")

// writeManifest writes Manifest.yaml: every object of manifestKinds in every namespace, one YAML
// document each, without managedFields, listed a page at a time. A kind that cannot be listed is a
// comment in the manifest and a line in errors.txt; the manifest stops at its share of the bundle.
// With down set (the API server did not answer), the manifest only says so.
func (b *bundle) writeManifest(ctx context.Context, kube kubernetes.Interface, down error) error {
	f, err := b.create(manifestName)
	if err != nil {
		return err
	}
	w := &countingWriter{w: f}
	out := bufio.NewWriter(w)
	limit := b.opts.BundleBytes / manifestShare
	fmt.Fprintf(out, "# The cluster's Nodes, Deployments, Pods, CustomResourceDefinitions, ConfigMaps and Events\n"+
		"# (all namespaces), collected %s. Secrets are never collected; ConfigMap values are as\n"+
		"# they are in the cluster.\n", b.now.UTC().Format(time.RFC3339))
	kinds := manifestKinds
	if down != nil {
		kinds = nil
		fmt.Fprintf(out, "# %s\n", oneLine(down.Error()))
		b.fail(manifestName, down)
	}
	written := 0
	for _, k := range kinds {
		n := 0
		err := listPages(ctx, b.opts.ItemTimeout, func(ctx context.Context, lo metav1.ListOptions) (string, error) {
			page, err := listRaw(ctx, kube, k.path, lo)
			if err != nil {
				return "", err
			}
			for _, obj := range page.Items {
				obj["kind"], obj["apiVersion"] = k.kind, k.apiVersion
				if meta, ok := obj["metadata"].(map[string]any); ok {
					delete(meta, "managedFields")
				}
				doc, err := yaml.Marshal(obj)
				if err != nil {
					return "", fmt.Errorf("encoding a %s: %w", k.kind, err)
				}
				if int64(w.n)+int64(out.Buffered())+int64(len(doc))+4 > limit {
					return "", errManifestFull
				}
				out.WriteString("---\n")
				out.Write(doc)
				n++
			}
			return page.Metadata.Continue, nil
		})
		written += n
		switch {
		case errors.Is(err, errManifestFull):
			fmt.Fprintf(out, "# Stopped at the manifest's cap of %d bytes, after %d %ss.\n", limit, n, k.kind)
			b.note(manifestName, fmt.Sprintf("truncated: the manifest reached its cap of %d bytes (a quarter of the bundle's) while listing %ss, after %d objects; the kinds after it are missing", limit, k.kind, written))
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			fmt.Fprintf(out, "# %ss: not listed: %s\n", k.kind, oneLine(err.Error()))
			b.fail(manifestName+" ("+k.kind+"s)", fmt.Errorf("listing: %w", err))
		}
		if errors.Is(err, errManifestFull) {
			break
		}
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", manifestName, err)
	}
	b.used += w.n
	if down == nil {
		b.items++
	}
	return nil
}

// rawList is a list answer with its items left generic, so that every kind, CRDs included, is read
// the same way and written with every field it has.
type rawList struct {
	Metadata metav1.ListMeta  `json:"metadata"`
	Items    []map[string]any `json:"items"`
}

// listRaw reads one page of a list as JSON.
func listRaw(ctx context.Context, kube kubernetes.Interface, path string, lo metav1.ListOptions) (*rawList, error) {
	r := kube.CoreV1().RESTClient().Get().AbsPath(path).SetHeader("Accept", "application/json").
		Param("limit", strconv.FormatInt(lo.Limit, 10))
	if lo.Continue != "" {
		r = r.Param("continue", lo.Continue)
	}
	data, err := r.DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	var l rawList
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("decoding the list of %s: %w", path, err)
	}
	return &l, nil
}

// oneLine keeps a comment to one line.
func oneLine(s string) string {
	for i, c := range s {
		if c == '\n' || c == '\r' {
			return s[:i] + "…"
		}
	}
	return s
}
