// Package validate holds the checks shared by every API input: names, labels and annotations,
// and YAML documents.
package validate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	v1 "github.com/easelhq/easel/api/v1"
)

var dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Name checks that s is a DNS-1123 label (lower-case alphanumerics and '-', at most 63
// characters), the rule Kubernetes applies to the names easel turns into objects.
func Name(field, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is required", field)
	case len(s) > 63:
		return fmt.Errorf("%s %q is longer than 63 characters", field, s)
	case !dns1123Label.MatchString(s):
		return fmt.Errorf("%s %q must be lower-case letters, digits and '-', starting and ending with a letter or digit", field, s)
	}
	return nil
}

// YAML checks that s is a stream of well-formed YAML documents; the error names the line.
func YAML(field, s string) error {
	_, err := YAMLDocuments(s)
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	return nil
}

// YAMLDocuments parses a stream of YAML documents into generic values, skipping empty ones.
func YAMLDocuments(s string) ([]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader([]byte(s)))
	var docs []any
	for {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("invalid YAML: %w", err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

var (
	labelName  = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	dnsSubname = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// Labels checks labels as Kubernetes does — each key an optional DNS-subdomain prefix and a name
// (LabelKey), each value at most v1.MaxLabelValueLength characters of the same alphabet as a
// name, or empty — and that there are at most v1.MaxLabels of them.
func Labels(field string, labels map[string]string) error {
	if len(labels) > v1.MaxLabels {
		return fmt.Errorf("%s: %d labels; at most %d (MaxLabels)", field, len(labels), v1.MaxLabels)
	}
	for _, k := range sortedKeys(labels) {
		if err := LabelKey(field, k); err != nil {
			return err
		}
		v := labels[k]
		switch {
		case len(v) > v1.MaxLabelValueLength:
			return fmt.Errorf("%s: the value of label %s is longer than %d characters (MaxLabelValueLength)", field, k, v1.MaxLabelValueLength)
		case v != "" && !labelName.MatchString(v):
			return fmt.Errorf("%s: the value %q of label %s must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit", field, v, k)
		}
	}
	return nil
}

// Annotations checks annotations as Kubernetes does: keys as label keys, the keys and values
// together at most v1.MaxAnnotationBytes, and at most v1.MaxAnnotations of them.
func Annotations(field string, annotations map[string]string) error {
	if len(annotations) > v1.MaxAnnotations {
		return fmt.Errorf("%s: %d annotations; at most %d (MaxAnnotations)", field, len(annotations), v1.MaxAnnotations)
	}
	size := 0
	for _, k := range sortedKeys(annotations) {
		if err := LabelKey(field, k); err != nil {
			return err
		}
		size += len(k) + len(annotations[k])
	}
	if size > v1.MaxAnnotationBytes {
		return fmt.Errorf("%s: %d bytes of annotations; at most %d (MaxAnnotationBytes)", field, size, v1.MaxAnnotationBytes)
	}
	return nil
}

// LabelKey checks a label or annotation key "[prefix/]name": the prefix a DNS subdomain of at
// most v1.MaxLabelKeyPrefixLength characters, the name at most v1.MaxLabelNameLength
// alphanumerics, '-', '_' and '.', starting and ending with an alphanumeric.
func LabelKey(field, key string) error {
	prefix, name, hasPrefix := strings.Cut(key, "/")
	if !hasPrefix {
		prefix, name = "", key
	}
	switch {
	case hasPrefix && len(prefix) > v1.MaxLabelKeyPrefixLength:
		return fmt.Errorf("%s: the prefix of key %.80q… is longer than %d characters (MaxLabelKeyPrefixLength)", field, key, v1.MaxLabelKeyPrefixLength)
	case hasPrefix && !dnsSubname.MatchString(prefix):
		return fmt.Errorf("%s: the prefix of key %q must be a DNS subdomain (lower-case letters, digits, '-' and '.')", field, key)
	case len(name) > v1.MaxLabelNameLength:
		return fmt.Errorf("%s: the name of key %.80q… is longer than %d characters (MaxLabelNameLength)", field, key, v1.MaxLabelNameLength)
	case !labelName.MatchString(name):
		return fmt.Errorf("%s: key %q must be [prefix/]name, the name letters, digits, '-', '_' and '.', starting and ending with a letter or digit", field, key)
	}
	return nil
}

// sortedKeys makes the first problem reported the same at every try.
func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
