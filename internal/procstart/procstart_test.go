package procstart_test

import (
	"slices"
	"testing"

	"github.com/easelhq/easel/internal/procstart"
)

func TestWithStackSetting(t *testing.T) {
	for _, tc := range []struct {
		name        string
		environ     []string
		want        []string
		wantChanged bool
	}{
		{"no GODEBUG", []string{"HOME=/root"}, []string{"HOME=/root", "GODEBUG=adaptivestackstart=0"}, true},
		{"empty GODEBUG", []string{"GODEBUG=", "HOME=/root"}, []string{"GODEBUG=adaptivestackstart=0", "HOME=/root"}, true},
		{"other settings kept", []string{"GODEBUG=http2debug=1,gctrace=1"}, []string{"GODEBUG=http2debug=1,gctrace=1,adaptivestackstart=0"}, true},
		{"the operator's choice kept", []string{"GODEBUG=gctrace=1,adaptivestackstart=1"}, []string{"GODEBUG=gctrace=1,adaptivestackstart=1"}, false},
		{"already set", []string{"GODEBUG=adaptivestackstart=0"}, []string{"GODEBUG=adaptivestackstart=0"}, false},
		{"a name with a space is no setting to Go", []string{"GODEBUG=gctrace=1, adaptivestackstart=1"}, []string{"GODEBUG=gctrace=1, adaptivestackstart=1,adaptivestackstart=0"}, true},
		{"a longer name is another setting", []string{"GODEBUG=adaptivestackstartx=1"}, []string{"GODEBUG=adaptivestackstartx=1,adaptivestackstart=0"}, true},
		{"GODEBUG as part of another name", []string{"XGODEBUG=adaptivestackstart=1"}, []string{"XGODEBUG=adaptivestackstart=1", "GODEBUG=adaptivestackstart=0"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.environ)
			got, changed := procstart.WithStackSetting(in)
			if !slices.Equal(got, tc.want) || changed != tc.wantChanged {
				t.Errorf("WithStackSetting(%q) = %q, %v; want %q, %v", tc.environ, got, changed, tc.want, tc.wantChanged)
			}
			if !slices.Equal(in, tc.environ) {
				t.Errorf("WithStackSetting changed its input to %q", in)
			}
		})
	}
}
