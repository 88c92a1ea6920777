package store_test

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testenv/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// eachStore runs a test against a fresh SQLite file and a fresh PostgreSQL database.
func eachStore(t *testing.T, fn func(t *testing.T, s store.Store)) {
	t.Helper()
	pgtest.EachStore(t, func(t *testing.T, url string) {
		name := path.Base(t.Name()) // the subtest: sqlite or postgres
		s, err := store.Open(context.Background(), url)
		if err != nil {
			t.Fatalf("opening %s store: %v", name, err)
		}
		t.Cleanup(func() { s.Close() })
		if s.Dialect() != name {
			t.Fatalf("Dialect() = %q, want %q", s.Dialect(), name)
		}
		fn(t, s)
	})
}

func cluster(uid, project, name string) *store.Record {
	return &store.Record{Kind: "cluster", UID: uid, TenantUID: "t1", ProjectUID: project, Name: name,
		State: "Pending", Category: "local", Doc: []byte(`{"name":"` + name + `"}`)}
}

func TestObjectLifecycle(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		rec := cluster("c1", "p1", "alpha")
		rec.AltUID = "cc1"
		if err := s.CreateObject(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if rec.ResourceVersion != 1 || rec.Generation != 1 {
			t.Fatalf("new record rv=%d gen=%d, want 1 and 1", rec.ResourceVersion, rec.Generation)
		}
		got, err := s.GetObject(ctx, "cluster", "c1")
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Doc) != `{"name":"alpha"}` || got.State != "Pending" || !got.CreatedAt.Equal(rec.CreatedAt) {
			t.Fatalf("read back %+v, want what was written %+v", got, rec)
		}
		if byAlt, err := s.GetObjectByAltUID(ctx, "cluster", "cc1"); err != nil || byAlt.UID != "c1" {
			t.Fatalf("GetObjectByAltUID = %v, %v; want c1", byAlt.UID, err)
		}
		if found, err := s.FindObject(ctx, "cluster", "t1", "p1", "alpha", ""); err != nil || found.UID != "c1" {
			t.Fatalf("FindObject = %v, %v; want c1", found.UID, err)
		}

		// Same name in the same project is a conflict; in another project it is fine.
		if err := s.CreateObject(ctx, cluster("c2", "p1", "alpha")); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate name: err = %v, want ErrConflict", err)
		}
		if err := s.CreateObject(ctx, cluster("c3", "p2", "alpha")); err != nil {
			t.Fatalf("same name in another project: %v", err)
		}

		// Optimistic concurrency: two writers read version 1; the second one loses.
		first, second := got, got
		first.State = "Running"
		if err := s.UpdateObject(ctx, &first); err != nil {
			t.Fatal(err)
		}
		if first.ResourceVersion != 2 {
			t.Fatalf("after update rv = %d, want 2", first.ResourceVersion)
		}
		second.State = "Deleting"
		if err := s.UpdateObject(ctx, &second); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale update: err = %v, want ErrConflict", err)
		}
		if now, _ := s.GetObject(ctx, "cluster", "c1"); now.State != "Running" {
			t.Fatalf("stale update changed the record: state %q", now.State)
		}

		if err := s.DeleteObject(ctx, "cluster", "c1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetObject(ctx, "cluster", "c1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: err = %v, want ErrNotFound", err)
		}
		if err := s.DeleteObject(ctx, "cluster", "c1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: err = %v, want ErrNotFound", err)
		}
		stale := first
		if err := s.UpdateObject(ctx, &stale); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of deleted: err = %v, want ErrNotFound", err)
		}
	})
}

func TestListObjects(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		names := []string{"web-1", "web-2", "db-1", "Web-3", "cache_1"}
		for i, n := range names {
			rec := cluster(fmt.Sprintf("u%d", i), []string{"p1", "p2"}[i%2], n)
			if n == "db-1" {
				rec.State = "Running"
			}
			if err := s.CreateObject(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
		list := func(o store.ListOptions) ([]string, int) {
			t.Helper()
			o.Kind, o.TenantUID = "cluster", "t1"
			recs, total, err := s.ListObjects(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, r.Name)
			}
			return got, total
		}
		tests := []struct {
			name  string
			opts  store.ListOptions
			want  string
			total int
		}{
			{"all by name", store.ListOptions{}, "[Web-3 cache_1 db-1 web-1 web-2]", 5},
			{"one project", store.ListOptions{ProjectUIDs: []string{"p2"}}, "[Web-3 web-2]", 2},
			{"no projects", store.ListOptions{ProjectUIDs: []string{}}, "[]", 0},
			{"page", store.ListOptions{Limit: 2, Offset: 1}, "[cache_1 db-1]", 5},
			{"offset only", store.ListOptions{Offset: 3}, "[web-1 web-2]", 5},
			{"desc", store.ListOptions{Desc: true, Limit: 1}, "[web-2]", 5},
			{"prefix", store.ListOptions{Conditions: []store.Condition{{Field: store.FieldName, Op: store.OpBeginsWith, Values: []string{"web"}}}}, "[web-1 web-2]", 2},
			{"prefix ignore case", store.ListOptions{Conditions: []store.Condition{{Field: store.FieldName, Op: store.OpBeginsWith, Values: []string{"WEB"}, IgnoreCase: true}}}, "[Web-3 web-1 web-2]", 3},
			{"underscore is literal", store.ListOptions{Conditions: []store.Condition{{Field: store.FieldName, Op: store.OpContains, Values: []string{"_"}}}}, "[cache_1]", 1},
			{"state eq", store.ListOptions{Conditions: []store.Condition{{Field: store.FieldState, Values: []string{"Running"}}}}, "[db-1]", 1},
			{"negated", store.ListOptions{Conditions: []store.Condition{{Field: store.FieldState, Values: []string{"Running"}, Negate: true}}}, "[Web-3 cache_1 web-1 web-2]", 4},
			{"any of", store.ListOptions{AnyOf: [][]store.Condition{{{Field: store.FieldName, Values: []string{"db-1"}}, {Field: store.FieldName, Values: []string{"web-2"}}}}}, "[db-1 web-2]", 2},
		}
		for _, tt := range tests {
			got, total := list(tt.opts)
			if fmt.Sprint(got) != tt.want && !(tt.want == "[]" && got == nil) || total != tt.total {
				t.Errorf("%s: got %v (total %d), want %s (total %d)", tt.name, got, total, tt.want, tt.total)
			}
		}
		other := cluster("z9", "p1", "other-tenant")
		other.TenantUID = "t2"
		if err := s.CreateObject(ctx, other); err != nil {
			t.Fatal(err)
		}
		if uids, err := s.ListUIDs(ctx, "cluster"); err != nil || fmt.Sprint(uids) != "[u0 u1 u2 u3 u4 z9]" {
			t.Errorf("ListUIDs = %v, %v; want every cluster of every tenant", uids, err)
		}
		if _, _, err := s.ListObjects(ctx, store.ListOptions{Kind: "cluster", TenantUID: "t1",
			Conditions: []store.Condition{{Field: "doc", Values: []string{"x"}}}}); err == nil {
			t.Error("filtering on an unknown field: no error")
		}
	})
}

func TestTxRollsBackEverything(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := s.Tx(ctx, func(q store.Queries) error {
			if err := q.CreateObject(ctx, cluster("c1", "p1", "alpha")); err != nil {
				return err
			}
			if err := q.AddAudit(ctx, &store.Audit{UID: "a1", TenantUID: "t1", ActorType: "user", Action: "create",
				ResourceKind: "cluster", ResourceUID: "c1", Message: "created"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx err = %v, want boom", err)
		}
		if _, err := s.GetObject(ctx, "cluster", "c1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("object of a failed transaction was stored (err %v)", err)
		}
		if _, total, _ := s.ListAudits(ctx, store.AuditFilter{TenantUID: "t1", Limit: 10}); total != 0 {
			t.Fatalf("audit of a failed transaction was stored (%d)", total)
		}
	})
}

func TestEventsKeepNewest1000(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		err := s.Tx(ctx, func(q store.Queries) error {
			for i := range 1005 {
				if err := q.AddEvent(ctx, &store.Event{UID: fmt.Sprint("e", i), TenantUID: "t1", ObjectKind: "cluster",
					ObjectUID: "c1", Reason: "Step", Message: fmt.Sprint("message ", i), Severity: "Info"}); err != nil {
					return err
				}
			}
			return q.AddEvent(ctx, &store.Event{UID: "other", TenantUID: "t1", ObjectKind: "cluster", ObjectUID: "c2",
				Reason: "Step", Message: "other object", Severity: "Info"})
		})
		if err != nil {
			t.Fatal(err)
		}
		page, total, err := s.ListEvents(ctx, "c1", 3, 0)
		if err != nil {
			t.Fatal(err)
		}
		if total != 1000 {
			t.Fatalf("kept %d events, want 1000", total)
		}
		if page[0].Message != "message 1004" || page[2].Message != "message 1002" {
			t.Fatalf("first page = %q…%q, want newest first (1004…1002)", page[0].Message, page[2].Message)
		}
		last, _, _ := s.ListEvents(ctx, "c1", 10, 995)
		if len(last) != 5 || last[4].Message != "message 5" {
			t.Fatalf("oldest kept = %q (%d on last page), want message 5 (5)", last[len(last)-1].Message, len(last))
		}
		if _, other, _ := s.ListEvents(ctx, "c2", 10, 0); other != 1 {
			t.Fatalf("other object's events: %d, want 1", other)
		}
		if err := s.DeleteEvents(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		if _, left, _ := s.ListEvents(ctx, "c1", 10, 0); left != 0 {
			t.Fatalf("%d events left after DeleteEvents", left)
		}
		if _, other, _ := s.ListEvents(ctx, "c2", 10, 0); other != 1 {
			t.Fatalf("DeleteEvents touched another object's events (%d left)", other)
		}
	})
}

func TestCredentialsAndSettings(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		c := &store.Credential{UID: "k1", Kind: store.CredentialAPIKey, TenantUID: "t1", UserUID: "u1", Name: "ci",
			Hash: "h1", Active: true, Annotations: map[string]string{"team": "platform"}}
		if err := s.CreateCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
		dup := *c
		dup.UID = "k2"
		if err := s.CreateCredential(ctx, &dup); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("same hash twice: err = %v, want ErrConflict", err)
		}
		got, err := s.GetCredentialByHash(ctx, "h1")
		if err != nil || got.UID != "k1" || got.Annotations["team"] != "platform" || !got.Active {
			t.Fatalf("GetCredentialByHash = %+v, %v", got, err)
		}
		got.Active = false
		if err := s.UpdateCredential(ctx, &got); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.GetCredential(ctx, "k1"); again.Active {
			t.Fatal("deactivation not stored")
		}
		if list, _ := s.ListCredentials(ctx, "t1", store.CredentialAPIKey); len(list) != 1 {
			t.Fatalf("ListCredentials = %d, want 1", len(list))
		}
		if err := s.DeleteCredential(ctx, "k1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetCredentialByHash(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted credential still found: %v", err)
		}

		if _, err := s.GetSetting(ctx, "tenant"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing setting: err = %v", err)
		}
		s.PutSetting(ctx, "tenant", "a")
		s.PutSetting(ctx, "tenant", "b")
		if v, _ := s.GetSetting(ctx, "tenant"); v != "b" {
			t.Fatalf("setting = %q, want b", v)
		}
	})
}

// A credential is read with what holds it, in one query: a user's key with the user, an agent's
// token with its cluster; one whose holder is gone, or of another kind than asked, with none.
func TestCredentialAndHolder(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		user := &store.Record{Kind: "user", UID: "u1", TenantUID: "t1", Name: "ada@example.com", Doc: []byte(`{"email":"ada@example.com"}`)}
		if err := s.CreateObject(ctx, user); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateObject(ctx, cluster("c1", "p1", "web")); err != nil {
			t.Fatal(err)
		}
		for _, c := range []store.Credential{
			{UID: "k1", Kind: store.CredentialAPIKey, TenantUID: "t1", UserUID: "u1", Hash: "h-user", Active: true},
			{UID: "k2", Kind: store.CredentialAgent, TenantUID: "t1", UserUID: "c1", Hash: "h-agent", Active: true},
		} {
			if err := s.CreateCredential(ctx, &c); err != nil {
				t.Fatal(err)
			}
		}
		cred, holder, err := s.GetCredentialAndHolder(ctx, "h-user", "user", "cluster")
		if err != nil || cred.UID != "k1" || holder.UID != "u1" || holder.Kind != "user" || holder.TenantUID != "t1" ||
			string(holder.Doc) != `{"email":"ada@example.com"}` {
			t.Fatalf("the user's key = %+v held by %+v, %v; want k1 held by u1 with its document", cred, holder, err)
		}
		stored, err := s.GetObject(ctx, "cluster", "c1")
		if err != nil {
			t.Fatal(err)
		}
		if cred, holder, err := s.GetCredentialAndHolder(ctx, "h-agent", "user", "cluster"); err != nil || cred.UID != "k2" ||
			!reflect.DeepEqual(holder, stored) {
			t.Fatalf("the agent's token = %+v held by %+v, %v; want k2 held by its cluster %+v", cred, holder, err, stored)
		}
		if cred, holder, err := s.GetCredentialAndHolder(ctx, "h-agent", "user"); err != nil || cred.UID != "k2" || holder.UID != "" {
			t.Fatalf("the agent's token, asking for users only = %+v held by %+v, %v; want k2 and no holder", cred, holder, err)
		}
		if _, _, err := s.GetCredentialAndHolder(ctx, "h-none", "user"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an unknown hash: %v, want ErrNotFound", err)
		}
		if err := s.DeleteObject(ctx, "user", "u1"); err != nil {
			t.Fatal(err)
		}
		if cred, holder, err := s.GetCredentialAndHolder(ctx, "h-user", "user"); err != nil || cred.UID != "k1" || holder.UID != "" {
			t.Fatalf("the key of a deleted user = %+v held by %+v, %v; want k1 and no user", cred, holder, err)
		}
	})
}

// Concurrent writers on one store all land (SQLite serialises them; nobody sees "database is locked").
func TestConcurrentWriters(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.Tx(ctx, func(q store.Queries) error {
					if err := q.CreateObject(ctx, cluster(fmt.Sprint("c", i), "p1", fmt.Sprint("c", i))); err != nil {
						return err
					}
					return q.AddEvent(ctx, &store.Event{UID: fmt.Sprint("e", i), TenantUID: "t1", ObjectKind: "cluster",
						ObjectUID: "shared", Reason: "Created", Message: "m", Severity: "Info"})
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, total, _ := s.ListObjects(ctx, store.ListOptions{Kind: "cluster", TenantUID: "t1"}); total != 40 {
			t.Fatalf("%d clusters stored, want 40", total)
		}
	})
}

// Reopening a store keeps its data and does not re-apply migrations.
func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	for _, url := range []string{filepath.Join(t.TempDir(), "easel.db"), pgtest.DSN(t)} {
		s, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateObject(ctx, cluster("c1", "p1", "alpha")); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s, err = store.Open(ctx, url)
		if err != nil {
			t.Fatalf("reopening: %v", err)
		}
		if _, err := s.GetObject(ctx, "cluster", "c1"); err != nil {
			t.Fatalf("%s after reopen: %v", s.Dialect(), err)
		}
		s.Close()
	}
}

// LockObject makes check-then-write transactions exclusive: a child is created only while its
// parent, share-locked, exists; the parent is deleted, exclusively locked, only when it has no
// child. Raced many times, no child ever outlives its parent, on either store.
func TestLockObjectSerializesCheckThenWrite(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		errGone := errors.New("parent gone")
		errUsed := errors.New("parent has a child")
		for round := range 30 {
			parent := &store.Record{Kind: "parent", UID: fmt.Sprintf("p%d", round), TenantUID: "t1", Name: fmt.Sprintf("p%d", round), Doc: []byte(`{}`)}
			if err := s.CreateObject(ctx, parent); err != nil {
				t.Fatal(err)
			}
			var createErr, deleteErr error
			var wg sync.WaitGroup
			start := make(chan struct{})
			wg.Add(2)
			go func() {
				defer wg.Done()
				<-start
				createErr = s.Tx(ctx, func(q store.Queries) error {
					if _, err := q.LockObject(ctx, "parent", parent.UID, store.LockShare); errors.Is(err, store.ErrNotFound) {
						return errGone
					} else if err != nil {
						return err
					}
					return q.CreateObject(ctx, &store.Record{Kind: "child", UID: "c" + parent.UID, TenantUID: "t1",
						ProjectUID: parent.UID, Name: "c" + parent.UID, Doc: []byte(`{}`)})
				})
			}()
			go func() {
				defer wg.Done()
				<-start
				deleteErr = s.Tx(ctx, func(q store.Queries) error {
					if _, err := q.LockObject(ctx, "parent", parent.UID, store.LockExclusive); err != nil {
						return err
					}
					_, n, err := q.ListObjects(ctx, store.ListOptions{Kind: "child", TenantUID: "t1", ProjectUIDs: []string{parent.UID}})
					if err != nil {
						return err
					}
					if n > 0 {
						return errUsed
					}
					return q.DeleteObject(ctx, "parent", parent.UID)
				})
			}()
			close(start)
			wg.Wait()
			created, deleted := createErr == nil, deleteErr == nil
			if created == deleted || !created && !errors.Is(createErr, errGone) || !deleted && !errors.Is(deleteErr, errUsed) {
				t.Fatalf("round %d: create: %v, delete: %v; want exactly one to succeed and the other to see it", round, createErr, deleteErr)
			}
		}
	})
}

// Deleting an owner's credentials of one kind leaves every other owner's, and the owner's other
// kinds, alone.
func TestDeleteCredentialsOf(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		for i, c := range []struct{ kind, tenant, owner string }{
			{store.CredentialAgent, "t1", "c1"}, {store.CredentialAgent, "t1", "c1"}, {store.CredentialAgent, "t1", "c2"},
			{store.CredentialAPIKey, "t1", "c1"}, {store.CredentialAgent, "t2", "c1"},
		} {
			if err := s.CreateCredential(ctx, &store.Credential{UID: fmt.Sprint("k", i), Kind: c.kind, TenantUID: c.tenant,
				UserUID: c.owner, Hash: fmt.Sprint("h", i), Active: true}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteCredentialsOf(ctx, "t1", store.CredentialAgent, "c1"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteCredentialsOf(ctx, "t1", store.CredentialAgent, "nobody"); err != nil {
			t.Fatalf("deleting the credentials of an owner without any: %v", err)
		}
		for uid, want := range map[string]bool{"k0": false, "k1": false, "k2": true, "k3": true, "k4": true} {
			if _, err := s.GetCredential(ctx, uid); (err == nil) != want {
				t.Errorf("credential %s: err %v; want kept %t", uid, err, want)
			}
		}
	})
}
