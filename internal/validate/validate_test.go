package validate_test

import (
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
