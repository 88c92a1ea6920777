package packs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"text/template"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Rendered is one manifest of a pack rendered with concrete values.
type Rendered struct {
	// Name is the Manifest's name.
	Name string
	// Content is multi-document YAML; every document is a Kubernetes object with apiVersion, kind
	// and metadata.name.
	Content string
}

// templateData is what manifest templates see as ".".
type templateData struct {
	Values map[string]any
	Pack   packInfo
}

type packInfo struct {
	Name, Version, UID string
}

// ResolveValues returns the pack's effective values: each layer of user values, a YAML mapping
// (empty means none), merged over the pack's defaults and the layers before it (a profile's values,
// then a cluster's). Maps merge key by key, recursively; any other value replaces the one below; a
// null value deletes the key. Invalid YAML yields an error naming the pack and the line.
func (p Pack) ResolveValues(layers ...string) (map[string]any, error) {
	merged, err := parseValues(p.Values)
	if err != nil {
		return nil, fmt.Errorf("pack %s/%s: default values: %w", p.Name, p.Version, err)
	}
	for _, layer := range layers {
		overrides, err := parseValues(layer)
		if err != nil {
			return nil, fmt.Errorf("pack %s/%s: values: %w", p.Name, p.Version, err)
		}
		merged = mergeValues(merged, overrides)
	}
	return merged, nil
}

// Render renders every manifest of the pack with the layers of values (see ResolveValues) merged
// over the defaults, in manifest order. Manifests that render to nothing but whitespace are left
// out. Errors name the pack and the manifest; YAML errors carry the line number.
func (p Pack) Render(layers ...string) ([]Rendered, error) {
	merged, err := p.ResolveValues(layers...)
	if err != nil {
		return nil, err
	}
	data := templateData{Values: merged, Pack: packInfo{Name: p.Name, Version: p.Version, UID: p.UID}}
	out := make([]Rendered, 0, len(p.Manifests))
	for _, m := range p.Manifests {
		content, err := renderManifest(m, data)
		if err != nil {
			return nil, fmt.Errorf("pack %s/%s: manifest %s: %w", p.Name, p.Version, m.Name, err)
		}
		if strings.TrimSpace(content) == "" {
			continue
		}
		out = append(out, Rendered{Name: m.Name, Content: content})
	}
	return out, nil
}

func renderManifest(m Manifest, data templateData) (string, error) {
	tmpl, err := template.New(m.Name).Option("missingkey=error").Funcs(funcs).Parse(m.Content)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return "", err
	}
	if err := checkObjects(buf.Bytes()); err != nil {
		return "", fmt.Errorf("rendered YAML: %w", err)
	}
	return buf.String(), nil
}

// checkObjects verifies that src is a stream of Kubernetes objects.
func checkObjects(src []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for i := 1; ; i++ {
		var obj struct {
			APIVersion any `yaml:"apiVersion"`
			Kind       any `yaml:"kind"`
			Metadata   struct {
				Name any `yaml:"name"`
			} `yaml:"metadata"`
		}
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return withLine(err)
		}
		if len(node.Content) == 0 || node.Content[0].Tag == "!!null" {
			continue // empty document
		}
		if node.Content[0].Kind != yaml.MappingNode {
			return fmt.Errorf("line %d: document %d is not a mapping", node.Content[0].Line, i)
		}
		if err := node.Decode(&obj); err != nil {
			return fmt.Errorf("document %d: %w", i, err)
		}
		for _, f := range []struct {
			name string
			v    any
		}{{"apiVersion", obj.APIVersion}, {"kind", obj.Kind}, {"metadata.name", obj.Metadata.Name}} {
			if s, ok := f.v.(string); !ok || s == "" {
				return fmt.Errorf("line %d: document %d has no %s", node.Content[0].Line, i, f.name)
			}
		}
	}
}

// parseValues parses a values document. Empty input, comments only or null mean no values.
func parseValues(src string) (map[string]any, error) {
	if err := checkText(src); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(strings.NewReader(src))
	var doc any
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, withLine(err)
	}
	for {
		var extra any
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, withLine(err)
		}
		if extra != nil {
			return nil, errors.New("values hold more than one YAML document")
		}
	}
	switch doc := normalize(doc).(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return doc, nil
	default:
		return nil, fmt.Errorf("values must be a YAML mapping, not %T", doc)
	}
}

// yaml.v3 leaves the line number out of syntax errors on the first line of the input. withLine
// puts it back, so that every syntax error names its line. Errors that are not about a position
// (anchors, aliasing, bad values) are returned unchanged.
func withLine(err error) error {
	msg := err.Error()
	if !strings.HasPrefix(msg, "yaml: ") || strings.Contains(msg, "line ") {
		return err
	}
	for _, s := range []string{"anchor", "aliasing", "base64", "map key", "map merge", "unknown kind", "invalid array", "end of stream",
		"UTF-8", "UTF-16", "control characters", "Unicode"} {
		if strings.Contains(msg, s) {
			return err
		}
	}
	return firstLineError{err}
}

// checkText rejects the characters the YAML reader rejects, naming their line (the reader itself
// does not).
func checkText(src string) error {
	line := 1
	for i, r := range src {
		switch {
		case r == '\n':
			line++
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(src[i:]); size == 1 {
				return fmt.Errorf("yaml: line %d: invalid UTF-8", line)
			}
		case !yamlPrintable(r):
			return fmt.Errorf("yaml: line %d: control character %U is not allowed", line, r)
		}
	}
	return nil
}

// yamlPrintable reports whether YAML 1.2 allows r in a document.
func yamlPrintable(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0x7e) || r == 0x85 ||
		(r >= 0xa0 && r <= 0xd7ff) || (r >= 0xe000 && r <= 0xfffd) || (r >= 0x10000 && r <= 0x10ffff)
}

type firstLineError struct{ err error }

func (e firstLineError) Error() string {
	return "yaml: line 1: " + strings.TrimPrefix(e.err.Error(), "yaml: ")
}

func (e firstLineError) Unwrap() error { return e.err }

// normalize turns the map[any]any that YAML yields for non-string keys into map[string]any, so
// that templates and JSON encoding see one map type.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = normalize(e)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = normalize(e)
		}
		return v
	}
	return v
}

// mergeValues returns base with over merged into it; neither argument is modified.
func mergeValues(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]any{}
	}
	for k, ov := range over {
		if ov == nil {
			delete(out, k)
			continue
		}
		om, oIsMap := ov.(map[string]any)
		bm, bIsMap := out[k].(map[string]any)
		if oIsMap && bIsMap {
			out[k] = mergeValues(bm, om)
			continue
		}
		out[k] = ov
	}
	return out
}

// funcs are the functions manifest templates may call, named after their Helm counterparts.
var funcs = template.FuncMap{
	// quote renders any value as a double-quoted YAML (JSON) string.
	"quote": func(v any) string {
		if v == nil {
			return `""`
		}
		s, _ := jsonString(fmt.Sprint(v))
		return s
	},
	// toJson renders a value as compact JSON, which YAML reads as a flow value.
	"toJson": jsonString,
	// toYaml renders a value as block YAML without a trailing newline.
	"toYaml": func(v any) (string, error) {
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return "", err
		}
		if err := enc.Close(); err != nil {
			return "", err
		}
		return strings.TrimSuffix(buf.String(), "\n"), nil
	},
	"indent":  indent,
	"nindent": func(n int, s string) string { return "\n" + indent(n, s) },
	// join joins the elements of a list with sep.
	"join": func(sep string, v any) (string, error) {
		switch l := v.(type) {
		case []string:
			return strings.Join(l, sep), nil
		case []any:
			parts := make([]string, len(l))
			for i, e := range l {
				parts[i] = fmt.Sprint(e)
			}
			return strings.Join(parts, sep), nil
		}
		return "", fmt.Errorf("join: %T is not a list", v)
	},
	"b64enc": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
}

func jsonString(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

func indent(n int, s string) string {
	if n < 0 {
		n = 0
	}
	pad := strings.Repeat(" ", min(n, 256))
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}
