package profiles_test

import (
	"encoding/json"
	"errors"
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/profiles"
)

// FuzzFromEntity feeds arbitrary JSON bodies through profile validation: it must never panic, and
// every profile it accepts must survive a store round trip and re-validate as itself.
func FuzzFromEntity(f *testing.F) {
	f.Add(`{"metadata":{"name":"base"},"spec":{"version":"1.0.0","template":{"type":"cluster","cloudType":"local","packs":[{"name":"ubuntu","tag":"24.04"},{"name":"kubernetes","tag":"1.34.4","values":"a: 1"}]}}}`)
	f.Add(`{"metadata":{"name":"x"},"spec":{"template":{"type":"add-on","packs":[{"name":"m","type":"manifest","manifests":[{"name":"cm","content":"kind: ConfigMap\n"}]}]}}}`)
	f.Add(`{"spec":{"template":{"packs":[{"name":"kubernetes","tag":"1.34.4","values":"{{"}]}}}`)
	catalog := packs.MustBuiltin()
	f.Fuzz(func(t *testing.T, body string) {
		var e v1.ClusterProfileEntity
		if json.Unmarshal([]byte(body), &e) != nil {
			return
		}
		p, err := profiles.FromEntity(e, catalog)
		if err != nil {
			if !errors.Is(err, profiles.ErrInvalid) {
				t.Fatalf("error is not ErrInvalid: %v", err)
			}
			return
		}
		back, err := profiles.Decode(p.Encode())
		if err != nil {
			t.Fatal(err)
		}
		again, err := profiles.FromEntity(back.Entity(), catalog)
		if err != nil {
			t.Fatalf("an accepted profile's export is refused: %v", err)
		}
		if string(again.Encode()) != string(p.Encode()) {
			t.Fatalf("export/import changed the profile:\n%s\n%s", p.Encode(), again.Encode())
		}
	})
}
