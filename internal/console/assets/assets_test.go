package assets_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"

	"github.com/easelhq/easel/internal/console/assets"
)

// TestVendoredAssets checks the embedded files against vendor/VERSIONS, which
// hack/console-assets.sh writes: every listed file is there with its sha256, and every file
// there is listed, so neither a hand edit nor a hand-added file slips in.
func TestVendoredAssets(t *testing.T) {
	versions, err := fs.ReadFile(assets.Vendor, "vendor/VERSIONS")
	if err != nil {
		t.Fatalf("reading VERSIONS: %v", err)
	}
	listed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(versions))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 5 {
			t.Fatalf("VERSIONS line %q: want 5 tab-separated fields (package, version, integrity, sha256, file)", line)
		}
		pkg, version, want, name := fields[0], fields[1], fields[3], fields[4]
		listed[name] = true
		data, err := fs.ReadFile(assets.Vendor, "vendor/"+name)
		if err != nil {
			t.Errorf("%s (%s %s): %v", name, pkg, version, err)
			continue
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s (%s %s): sha256 %s, VERSIONS says %s; re-run hack/console-assets.sh instead of editing it",
				name, pkg, version, got, want)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading VERSIONS: %v", err)
	}
	for _, want := range []string{"htmx.min.js", "uPlot.iife.min.js", "uPlot.min.css"} {
		if !listed[want] {
			t.Errorf("VERSIONS does not list %s, which the console serves", want)
		}
	}

	err = fs.WalkDir(assets.Vendor, "vendor", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == "vendor/VERSIONS" {
			return err
		}
		if name := strings.TrimPrefix(path, "vendor/"); !listed[name] {
			t.Errorf("%s is not listed in VERSIONS: vendor/ holds only what hack/console-assets.sh writes", path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking vendor: %v", err)
	}
}
