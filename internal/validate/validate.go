// Package validate holds the checks shared by every API input: names and YAML documents.
package validate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"

	"gopkg.in/yaml.v3"
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
