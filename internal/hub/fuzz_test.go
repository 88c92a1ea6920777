package hub

import (
	"encoding/json"
	"net/http"
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
)

// badRequest fails the fuzz run unless err is nil or a 400: a body an agent or a client sends must
// never be answered with a 500, nor panic the hub.
func badRequest(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if ae, _ := toAPIError(err); ae.status != http.StatusBadRequest {
		t.Fatalf("%s: %v is not a 400", what, err)
	}
}

// FuzzSearchOptions feeds arbitrary cluster search bodies through the filter's translation: it
// never panics, refuses with a 400, and what it accepts has at most MaxFilterValues values of
// MaxFilterValueLength.
func FuzzSearchOptions(f *testing.F) {
	f.Add(`{"filter":{"conjunction":"and","filterGroups":[{"conjunction":"and","filters":[{"property":"clusterName","type":"string","condition":{"string":{"operator":"contains","ignoreCase":true,"match":{"conjunction":"or","values":["web","db"]}}}}]}]},"sort":[{"field":"clusterName","order":"desc"}]}`)
	f.Add(`{"filter":{"filterGroups":[{"conjunction":"or","filters":[{"property":"isDeleted","condition":{"bool":{"value":false}}},{"property":"clusterState","condition":{"string":{"match":{"conjunction":"and","values":["Running","Pending"]}}}}]}]}}`)
	f.Add(`{"filter":{"filterGroups":[{"filters":[{"property":"environment","condition":{"string":{"operator":"beginsWith","negation":true,"match":{"values":[""]}}}}]}]}}`)
	f.Fuzz(func(t *testing.T, body string) {
		var spec v1.SearchFilterSummarySpec
		if err := service.DecodeJSON([]byte(body), &spec); err != nil {
			badRequest(t, "decoding", err)
			return
		}
		opts, _, err := searchOptions(spec)
		badRequest(t, "search options", err)
		if err != nil {
			return
		}
		values := 0
		for _, c := range opts.Conditions {
			values += len(c.Values)
		}
		for _, group := range opts.AnyOf {
			for _, c := range group {
				values += len(c.Values)
			}
		}
		if values > v1.MaxFilterValues {
			b, _ := json.Marshal(opts)
			t.Fatalf("%d values accepted: %s", values, b)
		}
		for _, c := range append(opts.Conditions, flatten(opts.AnyOf)...) {
			for _, v := range c.Values {
				if len(v) > v1.MaxFilterValueLength {
					t.Fatalf("a value of %d characters accepted", len(v))
				}
			}
		}
	})
}

func flatten[T any](groups [][]T) []T {
	var out []T
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}
