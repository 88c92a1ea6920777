package logbundle

import (
	"strings"
	"testing"
)

// The tail buffer keeps the newest bytes whatever the sizes of the writes, and lastLines keeps
// whole lines only.
func TestTail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		size   int64
		writes []string
		lines  int64
		want   string
		cut    bool
	}{
		{"small file whole", 100, []string{"a\nb\n"}, 0, "a\nb\n", false},
		{"last lines", 100, []string{"a\nb\nc\n"}, 2, "b\nc\n", false},
		{"last lines without final newline", 100, []string{"a\nb\nc"}, 2, "b\nc", false},
		{"more lines asked than there are", 100, []string{"a\nb\n"}, 5, "a\nb\n", false},
		{"wraps across writes", 8, []string{"one\n", "two\n", "three\n", "four\n"}, 0, "four\n", true},
		{"one write larger than the buffer", 8, []string{"one\ntwo\nthree\nfour\n"}, 0, "four\n", true},
		{"cut mid-line drops the partial line", 10, []string{"aaaa\nbbbb\ncccc\n"}, 0, "cccc\n", true},
		{"exactly the size counts as cut", 4, []string{"a\nb\n"}, 0, "b\n", true},
		{"no newline in the kept part", 4, []string{"abcdefgh"}, 0, "", true},
		{"many small writes", 6, strings.Split("1\n2\n3\n4\n5\n6\n7\n", ""), 2, "6\n7\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := newTailBuffer(tc.size)
			for _, w := range tc.writes {
				if n, err := tb.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if tb.cut() != tc.cut {
				t.Errorf("cut() = %v, want %v", tb.cut(), tc.cut)
			}
			if got := string(lastLines(tb.bytes(), tb.cut(), tc.lines)); got != tc.want {
				t.Errorf("kept %q, want %q", got, tc.want)
			}
		})
	}
}
