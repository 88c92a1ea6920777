package packs_test

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"gopkg.in/yaml.v3"

	"github.com/easelhq/easel/internal/packs"
)

func catalog(t testing.TB) *packs.Catalog {
	t.Helper()
	c, err := packs.Builtin()
	if err != nil {
		t.Fatalf("Builtin: %v", err)
	}
	return c
}

// objects decodes a rendered manifest and checks every document is a Kubernetes object.
func objects(t *testing.T, name, content string) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := yaml.NewDecoder(strings.NewReader(content))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: invalid YAML: %v\n%s", name, err, content)
		}
		if doc == nil {
			continue
		}
		meta, _ := doc["metadata"].(map[string]any)
		for _, f := range []any{doc["apiVersion"], doc["kind"], meta["name"]} {
			if s, ok := f.(string); !ok || s == "" {
				t.Fatalf("%s: object without apiVersion, kind or metadata.name: %v", name, doc)
			}
		}
		out = append(out, doc)
	}
}

func renderOne(t *testing.T, c *packs.Catalog, name, version, values string) string {
	t.Helper()
	p, ok := c.Find(name, version)
	if !ok {
		t.Fatalf("Find(%s, %s): not found", name, version)
	}
	rendered, err := p.Render(values)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	var all strings.Builder
	for _, r := range rendered {
		objects(t, r.Name, r.Content)
		all.WriteString(r.Content)
		all.WriteString("\n---\n")
	}
	return all.String()
}

func TestBuiltinContents(t *testing.T) {
	c := catalog(t)
	want := []string{ // in All's order
		"ubuntu/22.04", "ubuntu/24.04",
		"kubernetes/1.33.8", "kubernetes/1.34.4",
		"cni-calico/3.30.3", "cni-cilium/1.18.2",
		"csi-local-path/0.0.32",
		"easel-agent/0.1.0", "prometheus-operator/0.85.0", "vsphere-arp-cache-cleaner/1.0.0",
	}
	var got []string
	for _, p := range c.All() {
		got = append(got, p.Name+"/"+p.Version)
	}
	if !slices.Equal(got, want) {
		t.Errorf("All() =\n%v\nwant\n%v", got, want)
	}
	if again := packs.MustBuiltin(); again != c {
		t.Error("MustBuiltin returned a different catalog")
	}
}

func TestAllIsOrderedAndWellFormed(t *testing.T) {
	uid := regexp.MustCompile(`^[0-9a-f]{24}$`)
	all := catalog(t).All()
	for i, p := range all {
		if !uid.MatchString(p.UID) || p.UID != packs.PackUID(p.Name, p.Version) {
			t.Errorf("%s/%s: bad uid %q", p.Name, p.Version, p.UID)
		}
		if p.DisplayName == "" || p.Description == "" || len(p.CloudTypes) == 0 {
			t.Errorf("%s/%s: missing displayName, description or cloudTypes", p.Name, p.Version)
		}
		var values map[string]any
		if err := yaml.Unmarshal([]byte(p.Values), &values); err != nil || len(values) == 0 {
			t.Errorf("%s/%s: default values are not a non-empty mapping: %v", p.Name, p.Version, err)
		}
		if i == 0 {
			continue
		}
		prev := all[i-1]
		lp, _ := packs.LayerOrder(prev.Layer)
		lc, _ := packs.LayerOrder(p.Layer)
		switch {
		case lp > lc,
			lp == lc && prev.Name > p.Name,
			lp == lc && prev.Name == p.Name && packs.CompareVersions(prev.Version, p.Version) >= 0:
			t.Errorf("All(): %s/%s sorts before %s/%s", prev.Name, prev.Version, p.Name, p.Version)
		}
	}
}

func TestEveryPackRendersWithDefaults(t *testing.T) {
	for _, p := range catalog(t).All() {
		t.Run(p.Name+"/"+p.Version, func(t *testing.T) {
			rendered, err := p.Render("")
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if len(rendered) != len(p.Manifests) {
				t.Errorf("rendered %d manifests, pack has %d", len(rendered), len(p.Manifests))
			}
			for _, r := range rendered {
				if len(objects(t, r.Name, r.Content)) == 0 {
					t.Errorf("manifest %s renders no objects", r.Name)
				}
			}
			if slices.Contains([]string{"os", "k8s"}, p.Layer) {
				return
			}
			if len(rendered) == 0 {
				t.Errorf("%s pack without manifests", p.Layer)
			}
		})
	}
}

func TestLayerOrder(t *testing.T) {
	for i, l := range packs.Layers() {
		if got, ok := packs.LayerOrder(l); !ok || got != i {
			t.Errorf("LayerOrder(%q) = %d, %v; want %d", l, got, ok, i)
		}
	}
	if _, ok := packs.LayerOrder("kernel"); ok {
		t.Error(`LayerOrder("kernel") is ok`)
	}
}

func TestFindGetVersions(t *testing.T) {
	c := catalog(t)
	tests := []struct {
		name, version string
		found         bool
	}{
		{"kubernetes", "1.34.4", true},
		{"kubernetes", "1.33.8", true},
		{"ubuntu", "24.04", true},
		{"vsphere-arp-cache-cleaner", "1.0.0", true},
		{"kubernetes", "1.34", false},
		{"Kubernetes", "1.34.4", false},
		{"nope", "1.0.0", false},
	}
	for _, tt := range tests {
		p, ok := c.Find(tt.name, tt.version)
		if ok != tt.found {
			t.Errorf("Find(%q, %q) found = %v, want %v", tt.name, tt.version, ok, tt.found)
			continue
		}
		if !ok {
			continue
		}
		if p.Name != tt.name || p.Version != tt.version {
			t.Errorf("Find(%q, %q) = %s/%s", tt.name, tt.version, p.Name, p.Version)
		}
		if g, ok := c.Get(p.UID); !ok || g.Name != p.Name || g.Version != p.Version {
			t.Errorf("Get(%q) = %s/%s, %v", p.UID, g.Name, g.Version, ok)
		}
	}
	if _, ok := c.Get("000000000000000000000000"); ok {
		t.Error("Get of unknown uid found a pack")
	}

	versions := func(name string) []string {
		var vs []string
		for _, p := range c.Versions(name) {
			vs = append(vs, p.Version)
		}
		return vs
	}
	for name, want := range map[string][]string{
		"kubernetes": {"1.33.8", "1.34.4"},
		"ubuntu":     {"22.04", "24.04"},
		"cni-calico": {"3.30.3"},
		"missing":    nil,
	} {
		if got := versions(name); !slices.Equal(got, want) {
			t.Errorf("Versions(%q) = %v, want %v", name, got, want)
		}
	}
	if p, ok := c.Latest("kubernetes"); !ok || p.Version != "1.34.4" {
		t.Errorf("Latest(kubernetes) = %s, %v", p.Version, ok)
	}
}

func TestPackUIDIsStable(t *testing.T) {
	// Changing these breaks every stored cluster profile that references the packs.
	if got, want := packs.PackUID("kubernetes", "1.34.4"), "f6a51849b9f234c5771b50ca"; got != want {
		t.Fatalf("PackUID(kubernetes, 1.34.4) = %s, want %s", got, want)
	}
	if packs.PackUID("a", "1") == packs.PackUID("a", "2") {
		t.Fatal("PackUID collides across versions")
	}
	if packs.PackUID("kubernetes", "1.34.4") != packs.PackUID("kubernetes", "1.34.4") {
		t.Fatal("PackUID is not deterministic")
	}
}

func TestCatalogReturnsCopies(t *testing.T) {
	c := catalog(t)
	p, _ := c.Find("cni-calico", "3.30.3")
	p.CloudTypes[0] = "mutated"
	p.Manifests[0].Content = "mutated"
	again, _ := c.Find("cni-calico", "3.30.3")
	if again.CloudTypes[0] == "mutated" || again.Manifests[0].Content == "mutated" {
		t.Fatal("mutating a returned pack changed the catalog")
	}
}

func TestRenderMergesUserValues(t *testing.T) {
	c := catalog(t)
	tests := []struct {
		name, pack, version, values string
		want, notWant               []string
	}{
		{
			name: "nested value replaced, siblings kept",
			pack: "cni-calico", version: "3.30.3",
			values:  "calico:\n  podCIDR: 10.244.0.0/16\n",
			want:    []string{`value: "10.244.0.0/16"`, `calico_backend: "bird"`, `quay.io/calico/node:v3.30.3`},
			notWant: []string{"192.168.0.0/16"},
		},
		{
			name: "image override",
			pack: "cni-cilium", version: "1.18.2",
			values: "cilium:\n  image: registry.local/cilium:v1.18.2\n  k8sServiceHost: 10.0.0.10\n",
			want:   []string{`image: "registry.local/cilium:v1.18.2"`, `value: "10.0.0.10"`, "KUBERNETES_SERVICE_HOST"},
		},
		{
			name: "list replaced as a whole",
			pack: "csi-local-path", version: "0.0.32",
			values:  "localPath:\n  paths: [/data/a, /data/b]\n  storageClass:\n    default: false\n",
			want:    []string{`"paths": ["/data/a","/data/b"]`, `is-default-class: "false"`, `name: "local-path"`},
			notWant: []string{"/opt/local-path-provisioner"},
		},
		{
			name: "agent secret from values",
			pack: "easel-agent", version: "0.1.0",
			values: "agent:\n  hubURL: https://hub.example.com\n  clusterUID: abc123\n  token: s3cr3t\n",
			want:   []string{`hubURL: "https://hub.example.com"`, `clusterUID: "abc123"`, `token: "s3cr3t"`, `command: ["easel", "agent"]`},
		},
		{
			name: "agent pins a self-signed hub",
			pack: "easel-agent", version: "0.1.0",
			values:  "agent:\n  hubURL: https://10.0.0.5:8443\n  hubFingerprint: sha256:abcd\n",
			want:    []string{`hubFingerprint: "sha256:abcd"`, "name: EASEL_HUB_FINGERPRINT", `hubCA: ""`},
			notWant: []string{"--ca-file", "volumes:"},
		},
		{
			name: "agent verifies the hub with a CA bundle",
			pack: "easel-agent", version: "0.1.0",
			values: "agent:\n  hubURL: https://hub.example.com\n  hubCA: \"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n\"\n",
			want: []string{`hubCA: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"`, `- "--ca-file=/etc/easel/hub/ca.crt"`,
				"mountPath: /etc/easel/hub", "key: hubCA\n                path: ca.crt"},
		},
		{
			name: "watch namespaces joined",
			pack: "prometheus-operator", version: "0.85.0",
			values: "prometheusOperator:\n  namespace: observability\n  watchNamespaces: [a, b]\n  replicas: 2\n",
			want:   []string{`name: "observability"`, `"--namespaces=a,b"`, "replicas: 2"},
		},
		{
			name: "arp interval",
			pack: "vsphere-arp-cache-cleaner", version: "1.0.0",
			values:  "arpCacheCleaner:\n  intervalSeconds: 60\n",
			want:    []string{"sleep 60; done"},
			notWant: []string{"sleep 300"},
		},
		{
			name: "comments only means defaults",
			pack: "vsphere-arp-cache-cleaner", version: "1.0.0",
			values: "# nothing to change\n",
			want:   []string{"sleep 300; done"},
		},
		{
			name: "hostile string stays one scalar",
			pack: "easel-agent", version: "0.1.0",
			values: "agent:\n  token: \"x\\n---\\napiVersion: v1\\nkind: Secret\"\n",
			want:   []string{`token: "x\n---\napiVersion: v1\nkind: Secret"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := renderOne(t, c, tt.pack, tt.version, tt.values)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output still has %q", w)
				}
			}
		})
	}
}

func TestResolveValues(t *testing.T) {
	p, _ := catalog(t).Find("kubernetes", "1.34.4")
	v, err := p.ResolveValues("pack:\n  podCIDR: 10.244.0.0/16\nkubeadmconfig:\n  apiServer:\n    extraArgs:\n      profiling: null\n      v: \"2\"\n")
	if err != nil {
		t.Fatal(err)
	}
	pack := v["pack"].(map[string]any)
	if pack["podCIDR"] != "10.244.0.0/16" || pack["serviceCIDR"] != "10.96.0.0/12" {
		t.Errorf("pack = %v", pack)
	}
	args := v["kubeadmconfig"].(map[string]any)["apiServer"].(map[string]any)["extraArgs"].(map[string]any)
	if _, ok := args["profiling"]; ok {
		t.Error("null did not delete the default key")
	}
	if args["v"] != "2" || args["authorization-mode"] != "Node,RBAC" {
		t.Errorf("extraArgs = %v", args)
	}
	// The defaults are untouched.
	if !strings.Contains(p.Values, "podCIDR: 192.168.0.0/16") {
		t.Error("defaults changed")
	}
}

func TestRenderErrors(t *testing.T) {
	c := catalog(t)
	tests := []struct {
		name, pack, version, values string
		want                        []string
	}{
		{"invalid YAML", "cni-calico", "3.30.3", "calico:\n  podCIDR: 10.0.0.0/8\n  mtu: [1500\n", []string{"cni-calico/3.30.3", "line"}},
		{"error on the first line", "easel-agent", "0.1.0", "agent: x: y\n", []string{"easel-agent/0.1.0", "line 1"}},
		{"invalid UTF-8", "easel-agent", "0.1.0", "agent:\n  token: a\n  hubURL: \xc7m\n", []string{"line 3", "UTF-8"}},
		{"control character", "easel-agent", "0.1.0", "agent:\n  token: \"a\x01\"\n", []string{"line 2", "control character"}},
		{"tab indentation", "easel-agent", "0.1.0", "agent:\n\thubURL: x\n", []string{"easel-agent/0.1.0", "line 2"}},
		{"duplicate key", "easel-agent", "0.1.0", "agent:\n  token: a\n  token: b\n", []string{"line 3", "already defined"}},
		{"not a mapping", "easel-agent", "0.1.0", "- a\n- b\n", []string{"easel-agent/0.1.0", "mapping"}},
		{"two documents", "easel-agent", "0.1.0", "a: 1\n---\nb: 2\n", []string{"more than one"}},
		{"deleted key used by a template", "vsphere-arp-cache-cleaner", "1.0.0", "arpCacheCleaner:\n  image: null\n", []string{"manifest daemonset", "image"}},
		{"wrong type", "vsphere-arp-cache-cleaner", "1.0.0", "arpCacheCleaner: 5\n", []string{"vsphere-arp-cache-cleaner/1.0.0", "manifest daemonset"}},
		{"breaks an object", "cni-cilium", "1.18.2", "cilium:\n  operatorReplicas: .nan\n", []string{"manifest operator"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := c.Find(tt.pack, tt.version)
			_, err := p.Render(tt.values)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestARPCacheCleaner(t *testing.T) {
	out := renderOne(t, catalog(t), "vsphere-arp-cache-cleaner", "1.0.0", "")
	var ds map[string]any
	if err := yaml.Unmarshal([]byte(out), &ds); err != nil {
		t.Fatal(err)
	}
	if ds["kind"] != "DaemonSet" || ds["metadata"].(map[string]any)["namespace"] != "kube-system" {
		t.Fatalf("not a kube-system DaemonSet: %v", ds["metadata"])
	}
	spec := ds["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	if spec["hostNetwork"] != true {
		t.Error("not hostNetwork")
	}
	container := spec["containers"].([]any)[0].(map[string]any)
	if container["securityContext"].(map[string]any)["privileged"] != true {
		t.Error("not privileged")
	}
	script := container["args"].([]any)[0].(string)
	if want := "while true; do ip -s -s neigh flush all; sleep 300; done"; script != want {
		t.Errorf("script = %q, want %q", script, want)
	}
	for _, w := range []string{"neigh flush", "300"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
}

func TestCNIDaemonSetsTolerateEverything(t *testing.T) {
	c := catalog(t)
	for _, name := range []string{"cni-calico", "cni-cilium"} {
		p, _ := c.Latest(name)
		rendered, err := p.Render("")
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range rendered {
			for _, obj := range objects(t, r.Name, r.Content) {
				if obj["kind"] != "DaemonSet" {
					continue
				}
				found = true
				if ns := obj["metadata"].(map[string]any)["namespace"]; ns != "kube-system" {
					t.Errorf("%s: DaemonSet in %v", name, ns)
				}
				spec := obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
				tolerated := slices.ContainsFunc(spec["tolerations"].([]any), func(t any) bool {
					m := t.(map[string]any)
					return m["operator"] == "Exists" && m["key"] == nil
				})
				if !tolerated {
					t.Errorf("%s: DaemonSet does not tolerate every taint", name)
				}
			}
		}
		if !found {
			t.Errorf("%s has no DaemonSet", name)
		}
	}
}

func TestLoadRejectsBrokenPacks(t *testing.T) {
	good := fstest.MapFS{
		"demo/1.0.0/pack.yaml":            {Data: []byte("name: demo\ndisplayName: Demo\nlayer: addon\nversion: 1.0.0\ncloudTypes: [all]\n")},
		"demo/1.0.0/values.yaml":          {Data: []byte("name: x\n")},
		"demo/1.0.0/manifests/cm.yaml":    {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name | quote }}\n")},
		"demo/1.10.0/pack.yaml":           {Data: []byte("name: demo\ndisplayName: Demo\nlayer: addon\nversion: 1.10.0\ncloudTypes: [all]\n")},
		"demo/1.10.0/values.yaml":         {Data: []byte("name: y\n")},
		"demo/1.10.0/manifests/cm.yaml":   {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name | quote }}\n")},
		"demo/1.9.0/pack.yaml":            {Data: []byte("name: demo\ndisplayName: Demo\nlayer: addon\nversion: 1.9.0\ncloudTypes: [all]\n")},
		"demo/1.9.0/manifests/empty.yaml": {Data: []byte("{{/* nothing */}}\n")},
	}
	c, err := packs.Load(good)
	if err != nil {
		t.Fatalf("Load(good): %v", err)
	}
	var vs []string
	for _, p := range c.Versions("demo") {
		vs = append(vs, p.Version)
	}
	if !slices.Equal(vs, []string{"1.0.0", "1.9.0", "1.10.0"}) {
		t.Errorf("versions = %v", vs)
	}

	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"unknown layer", map[string]string{"pack.yaml": "name: x\ndisplayName: X\nlayer: kernel\nversion: 1.0.0\ncloudTypes: [all]\n"}, "unknown layer"},
		{"directory mismatch", map[string]string{"pack.yaml": "name: y\ndisplayName: X\nlayer: addon\nversion: 1.0.0\ncloudTypes: [all]\n"}, "names y/1.0.0"},
		{"unknown field", map[string]string{"pack.yaml": "name: x\ndisplayName: X\nlayer: addon\nversion: 1.0.0\ncloudTypes: [all]\nlogo: x\n"}, "not found"},
		{"no cloud types", map[string]string{"pack.yaml": "name: x\ndisplayName: X\nlayer: addon\nversion: 1.0.0\n"}, "cloudTypes"},
		{"bad values", map[string]string{"values.yaml": "a: [\n"}, "default values"},
		{"template syntax", map[string]string{"manifests/a.yaml": "{{ .Values.a "}, "manifest a"},
		{"missing key", map[string]string{"manifests/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.missing }}\n"}, "missing"},
		{"not an object", map[string]string{"manifests/a.yaml": "apiVersion: v1\nkind: ConfigMap\n"}, "metadata.name"},
		{"not YAML", map[string]string{"manifests/a.yaml": "a: b: c\n"}, "line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{
				"pack.yaml":   "name: x\ndisplayName: X\nlayer: addon\nversion: 1.0.0\ncloudTypes: [all]\n",
				"values.yaml": "a: 1\n",
			}
			for k, v := range tt.files {
				files[k] = v
			}
			fsys := fstest.MapFS{}
			for k, v := range files {
				fsys["x/1.0.0/"+k] = &fstest.MapFile{Data: []byte(v)}
			}
			_, err := packs.Load(fsys)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.34.4", "1.34.4", 0},
		{"1.33.8", "1.34.4", -1},
		{"1.9.0", "1.10.0", -1},
		{"22.04", "24.04", -1},
		{"v1.2.3", "1.2.4", -1},
		{"1.2", "1.2.0", -1},
		{"1.0.0-rc.1", "1.0.0", -1},
		{"1.0.0-alpha", "1.0.0-beta", -1},
		{"1.0.0-rc.2", "1.0.0-rc.10", -1},
		{"0.0.32", "0.0.4", 1},
		{"1.0.0+build1", "1.0.0", 1}, // equal precedence, ordered deterministically
		{"99999999999999999999999.0", "99999999999999999999998.0", 1},
	}
	for _, tt := range tests {
		if got := packs.CompareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := packs.CompareVersions(tt.b, tt.a); got != -tt.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

func FuzzRender(f *testing.F) {
	c, err := packs.Builtin()
	if err != nil {
		f.Fatal(err)
	}
	all := c.All()
	for i, p := range all {
		f.Add(uint8(i), p.Values)
		f.Add(uint8(i), "")
	}
	f.Add(uint8(4), "calico:\n  podCIDR: 10.244.0.0/16\n")
	f.Add(uint8(9), "arpCacheCleaner:\n  intervalSeconds: \"1; rm -rf /\"\n")
	f.Add(uint8(7), "agent: &a\n  x: *a\n")
	f.Add(uint8(7), "a: &a [*a, *a]\n")
	f.Add(uint8(8), "prometheusOperator:\n  resources: !!binary aGVsbG8=\n")
	f.Add(uint8(8), "? [a, b]\n: c\n1: 2\n")
	f.Add(uint8(2), "kubeadmconfig:\n  apiServer: ~\n")
	f.Fuzz(func(t *testing.T, i uint8, values string) {
		p := all[int(i)%len(all)]
		rendered, err := p.Render(values)
		if err != nil {
			if !strings.Contains(err.Error(), p.Name+"/"+p.Version) {
				t.Errorf("error does not name the pack: %v", err)
			}
			return
		}
		for _, r := range rendered {
			dec := yaml.NewDecoder(bytes.NewReader([]byte(r.Content)))
			for {
				var doc any
				err := dec.Decode(&doc)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("Render succeeded with invalid YAML in %s: %v", r.Name, err)
				}
			}
		}
	})
}
