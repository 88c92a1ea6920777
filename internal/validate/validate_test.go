package validate_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/easelhq/easel/internal/validate"
)

func TestName(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{"web-1", ""},
		{"a", ""},
		{"", "name is required"},
		{"Web", "must be lower-case"},
		{"-web", "must be lower-case"},
		{"web_1", "must be lower-case"},
		{strings.Repeat("a", 64), "longer than 63"},
	}
	for _, tt := range tests {
		err := validate.Name("name", tt.in)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("Name(%q) = %v, want error containing %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestYAMLNamesTheLine(t *testing.T) {
	err := validate.YAML("values", "a: 1\nb:\n  c: 2\n d: [\n")
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.HasPrefix(err.Error(), "values: ") {
		t.Fatalf("err = %v, want one naming the field and line 3", err)
	}
	docs, err := validate.YAMLDocuments("a: 1\n---\n---\nb: 2\n")
	if err != nil || len(docs) != 2 {
		t.Fatalf("YAMLDocuments = %d docs, %v; want 2", len(docs), err)
	}
}

func TestLabels(t *testing.T) {
	many := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("k%d", i)] = "v"
		}
		return m
	}
	tests := []struct {
		name    string
		labels  map[string]string
		wantErr string
	}{
		{"kubernetes labels", map[string]string{"app": "web", "easel.dev/pool": "gpu-1", "tier": "", "A_b.c": "X.y_z"}, ""},
		{"64 labels", many(64), ""},
		{"65 labels", many(65), "65 labels; at most 64 (MaxLabels)"},
		{"name of 63", map[string]string{strings.Repeat("k", 63): "v"}, ""},
		{"name of 64", map[string]string{strings.Repeat("k", 64): "v"}, "longer than 63 characters (MaxLabelNameLength)"},
		{"prefix of 253", map[string]string{strings.Repeat("p", 253) + "/k": "v"}, ""},
		{"prefix of 254", map[string]string{strings.Repeat("p", 254) + "/k": "v"}, "longer than 253 characters (MaxLabelKeyPrefixLength)"},
		{"value of 63", map[string]string{"k": strings.Repeat("v", 63)}, ""},
		{"value of 64", map[string]string{"k": strings.Repeat("v", 64)}, "longer than 63 characters (MaxLabelValueLength)"},
		{"empty key", map[string]string{"": "v"}, "must be [prefix/]name"},
		{"empty name", map[string]string{"easel.dev/": "v"}, "must be [prefix/]name"},
		{"upper-case prefix", map[string]string{"Easel.dev/k": "v"}, "must be a DNS subdomain"},
		{"space in value", map[string]string{"k": "a b"}, "must be letters, digits"},
		{"value ends with a dash", map[string]string{"k": "a-"}, "must be letters, digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validate.Labels("metadata.labels", tt.labels)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Labels = %v, want error containing %q", err, tt.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "metadata.labels: ") {
				t.Fatalf("error %q does not name the field", err)
			}
		})
	}
}

func TestAnnotations(t *testing.T) {
	many := map[string]string{}
	for i := range 65 {
		many[fmt.Sprintf("a%d", i)] = "v"
	}
	tests := []struct {
		name        string
		annotations map[string]string
		wantErr     string
	}{
		{"free-form values", map[string]string{"description": "Any text: even\nnew lines, and more than 63 characters of it, which labels cannot have."}, ""},
		{"256 KiB in all", map[string]string{"note": strings.Repeat("a", 256<<10-4)}, ""},
		{"one byte more", map[string]string{"note": strings.Repeat("a", 256<<10-3)}, "262145 bytes of annotations; at most 262144 (MaxAnnotationBytes)"},
		{"65 annotations", many, "65 annotations; at most 64 (MaxAnnotations)"},
		{"bad key", map[string]string{"a b": "v"}, "must be [prefix/]name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validate.Annotations("metadata.annotations", tt.annotations)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Annotations = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}
