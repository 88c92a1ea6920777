// Package servicetest is what the services' tests share: a fresh store of each kind to run on,
// a caller's input that tells whether the service read it, and the audit trail as a reader sees it.
// A test package that uses it runs pgtest.Main from its TestMain.
package servicetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testenv/pgtest"
)

// EachStore runs fn as a subtest on a fresh SQLite store and on a fresh PostgreSQL database.
func EachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	pgtest.EachStore(t, func(t *testing.T, url string) {
		st, err := store.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
}

// JSONInput is a caller's input as JSON; read records whether the service read it.
func JSONInput(doc string, read *bool) service.Input {
	return func(into any) error {
		*read = true
		return json.Unmarshal([]byte(doc), into)
	}
}

// Audits returns the tenant's audit entries, newest first, each as "action by actor: message".
func Audits(t *testing.T, st store.Store, tenant string) []string {
	t.Helper()
	audits, _, err := st.ListAudits(context.Background(), store.AuditFilter{TenantUID: tenant, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range audits {
		out = append(out, a.Action+" by "+a.ActorName+": "+a.Message)
	}
	return out
}
