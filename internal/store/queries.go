package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/easelhq/easel/internal/clusters"
)

// execer is what both *sql.DB and *sql.Tx offer.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries implements Queries over a database or a transaction.
type queries struct {
	ex execer
	d  dialect
	// summaries are the store's decoded cluster summaries; nil in a transaction (summaries.go).
	summaries *summaryCache
}

func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// now is truncated to what the store keeps, so a returned record equals a re-read one.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func (q queries) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return q.ex.ExecContext(ctx, q.d.rebind(query), args...)
}

func (q queries) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.ex.QueryContext(ctx, q.d.rebind(query), args...)
}

func (q queries) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return q.ex.QueryRowContext(ctx, q.d.rebind(query), args...)
}

const objectColumns = `kind, uid, alt_uid, tenant_uid, project_uid, name, version, state, category, doc,
	generation, resource_version, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanRecord(s scanner) (Record, error) {
	var (
		r                Record
		doc              string
		created, updated int64
	)
	err := s.Scan(&r.Kind, &r.UID, &r.AltUID, &r.TenantUID, &r.ProjectUID, &r.Name, &r.Version, &r.State,
		&r.Category, &doc, &r.Generation, &r.ResourceVersion, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, err
	}
	r.Doc = []byte(doc)
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	return r, nil
}

func (q queries) GetObject(ctx context.Context, kind, uid string) (Record, error) {
	return scanRecord(q.queryRow(ctx, `SELECT `+objectColumns+` FROM objects WHERE kind = ? AND uid = ?`, kind, uid))
}

func (q queries) LockObject(ctx context.Context, kind, uid string, mode LockMode) (Record, error) {
	lock := ""
	if q.d.name == "postgres" {
		lock = " FOR SHARE"
		if mode == LockExclusive {
			lock = " FOR UPDATE"
		}
	}
	return scanRecord(q.queryRow(ctx, `SELECT `+objectColumns+` FROM objects WHERE kind = ? AND uid = ?`+lock, kind, uid))
}

func (q queries) GetObjectByAltUID(ctx context.Context, kind, altUID string) (Record, error) {
	if altUID == "" {
		return Record{}, ErrNotFound
	}
	return scanRecord(q.queryRow(ctx, `SELECT `+objectColumns+` FROM objects WHERE kind = ? AND alt_uid = ?`, kind, altUID))
}

func (q queries) FindObject(ctx context.Context, kind, tenantUID, projectUID, name, version string) (Record, error) {
	return scanRecord(q.queryRow(ctx, `SELECT `+objectColumns+` FROM objects
		WHERE kind = ? AND tenant_uid = ? AND project_uid = ? AND name = ? AND version = ?`,
		kind, tenantUID, projectUID, name, version))
}

var listFields = map[Field]bool{
	FieldName: true, FieldState: true, FieldCategory: true, FieldVersion: true,
	FieldCreatedAt: true, FieldUpdatedAt: true,
}

// conditionSQL renders one condition; the field is checked against listFields, values are bound.
func conditionSQL(d dialect, c Condition, args *[]any) (string, error) {
	if !listFields[c.Field] || c.Field == FieldCreatedAt || c.Field == FieldUpdatedAt {
		return "", fmt.Errorf("cannot filter on %q", c.Field)
	}
	if len(c.Values) == 0 {
		return "", fmt.Errorf("filter on %q has no values", c.Field)
	}
	col := string(c.Field)
	if c.IgnoreCase {
		col = "LOWER(" + col + ")"
	}
	var parts []string
	for _, v := range c.Values {
		if c.IgnoreCase {
			v = strings.ToLower(v)
		}
		switch c.Op {
		case OpEq, "":
			parts = append(parts, col+" = ?")
			*args = append(*args, v)
		case OpBeginsWith:
			// Not LIKE: SQLite's LIKE ignores case and both treat % and _ as wildcards.
			parts = append(parts, "SUBSTR("+col+", 1, ?) = ?")
			*args = append(*args, utf8.RuneCountInString(v), v)
		case OpContains:
			parts = append(parts, d.position(col)+" > 0")
			*args = append(*args, v)
		default:
			return "", fmt.Errorf("unknown operator %q", c.Op)
		}
	}
	expr := "(" + strings.Join(parts, " OR ") + ")"
	if c.Negate {
		expr = "NOT " + expr
	}
	return expr, nil
}

func (q queries) ListObjects(ctx context.Context, o ListOptions) ([]Record, int, error) {
	l, err := q.list("objects", o)
	if err != nil || l.none {
		return nil, 0, err
	}
	var total int
	if err := q.queryRow(ctx, "SELECT COUNT(*)"+l.from, l.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting %s: %w", o.Kind, err)
	}
	rows, err := q.query(ctx, "SELECT "+objectColumns+l.from+l.order, l.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("listing %s: %w", o.Kind, err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// listQuery is a list rendered as SQL: its FROM … WHERE, its bound values, and its ORDER BY with
// the page. none: the list can match nothing (no project is visible).
type listQuery struct {
	// from is " FROM table" and where; order is the ORDER BY, LIMIT and OFFSET.
	from, where, order string
	args               []any
	none               bool
}

// list renders o as a query over table, which has the columns of objects that lists filter and
// sort on (objects itself, or cluster_summaries, which holds one kind only: kind is matched on
// objects alone).
func (q queries) list(table string, o ListOptions) (listQuery, error) {
	var l listQuery
	where := []string{"tenant_uid = ?"}
	l.args = []any{o.TenantUID}
	if table == "objects" {
		where = append([]string{"kind = ?"}, where...)
		l.args = append([]any{o.Kind}, l.args...)
	}
	if o.ProjectUIDs != nil {
		if len(o.ProjectUIDs) == 0 {
			l.none = true
			return l, nil
		}
		where = append(where, "project_uid IN (?"+strings.Repeat(", ?", len(o.ProjectUIDs)-1)+")")
		for _, p := range o.ProjectUIDs {
			l.args = append(l.args, p)
		}
	}
	for _, c := range o.Conditions {
		expr, err := conditionSQL(q.d, c, &l.args)
		if err != nil {
			return l, err
		}
		where = append(where, expr)
	}
	for _, group := range o.AnyOf {
		var ors []string
		for _, c := range group {
			expr, err := conditionSQL(q.d, c, &l.args)
			if err != nil {
				return l, err
			}
			ors = append(ors, expr)
		}
		if len(ors) > 0 {
			where = append(where, "("+strings.Join(ors, " OR ")+")")
		}
	}
	l.where = " WHERE " + strings.Join(where, " AND ")
	l.from = " FROM " + table + l.where

	order := o.OrderBy
	if order == "" {
		order = FieldName
	}
	if !listFields[order] {
		return l, fmt.Errorf("cannot sort on %q", order)
	}
	dir := " ASC"
	if o.Desc {
		dir = " DESC"
	}
	l.order = " ORDER BY " + string(order) + dir + ", uid" + dir
	switch {
	case o.Limit > 0:
		l.order += fmt.Sprintf(" LIMIT %d", o.Limit)
	case o.Offset > 0 && q.d.name == "sqlite":
		l.order += " LIMIT -1" // SQLite has no OFFSET without LIMIT
	}
	if o.Offset > 0 {
		l.order += fmt.Sprintf(" OFFSET %d", o.Offset)
	}
	return l, nil
}

func (q queries) ListUIDs(ctx context.Context, kind string) ([]string, error) {
	rows, err := q.query(ctx, `SELECT uid FROM objects WHERE kind = ? ORDER BY uid`, kind)
	if err != nil {
		return nil, fmt.Errorf("listing %s uids: %w", kind, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var uid string
		if err := rows.Scan(&uid); err != nil {
			return nil, err
		}
		out = append(out, uid)
	}
	return out, rows.Err()
}

func (q queries) CreateObject(ctx context.Context, r *Record) error {
	if r.Kind == "" || r.UID == "" || r.TenantUID == "" || r.Name == "" {
		return fmt.Errorf("creating object: kind, uid, tenant and name are required")
	}
	t := now()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = t
	}
	r.UpdatedAt = t
	r.ResourceVersion = 1
	if r.Generation == 0 {
		r.Generation = 1
	}
	_, err := q.exec(ctx, `INSERT INTO objects (`+objectColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Kind, r.UID, r.AltUID, r.TenantUID, r.ProjectUID, r.Name, r.Version, r.State, r.Category, string(r.Doc),
		r.Generation, r.ResourceVersion, micros(r.CreatedAt), micros(r.UpdatedAt))
	if q.d.isUniqueViolation(err) {
		return fmt.Errorf("%s %q already exists: %w", r.Kind, r.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("creating %s %s: %w", r.Kind, r.Name, err)
	}
	if r.Kind == clusters.Kind {
		return q.insertSummary(ctx, r)
	}
	return nil
}

func (q queries) UpdateObject(ctx context.Context, r *Record) error {
	t := now()
	res, err := q.exec(ctx, `UPDATE objects SET alt_uid = ?, project_uid = ?, name = ?, version = ?, state = ?,
		category = ?, doc = ?, generation = ?, resource_version = resource_version + 1, updated_at = ?
		WHERE kind = ? AND uid = ? AND resource_version = ?`,
		r.AltUID, r.ProjectUID, r.Name, r.Version, r.State, r.Category, string(r.Doc), r.Generation, micros(t),
		r.Kind, r.UID, r.ResourceVersion)
	if q.d.isUniqueViolation(err) {
		return fmt.Errorf("%s %q already exists: %w", r.Kind, r.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("updating %s %s: %w", r.Kind, r.UID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := q.GetObject(ctx, r.Kind, r.UID); err != nil {
			return err
		}
		return fmt.Errorf("%s %s was changed by someone else; read it again: %w", r.Kind, r.UID, ErrConflict)
	}
	r.ResourceVersion++
	r.UpdatedAt = t
	if r.Kind == clusters.Kind {
		return q.updateSummary(ctx, r)
	}
	return nil
}

func (q queries) DeleteObject(ctx context.Context, kind, uid string) error {
	res, err := q.exec(ctx, `DELETE FROM objects WHERE kind = ? AND uid = ?`, kind, uid)
	if err != nil {
		return fmt.Errorf("deleting %s %s: %w", kind, uid, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	if kind == clusters.Kind {
		return q.deleteSummary(ctx, uid)
	}
	return nil
}

func (q queries) AddEvent(ctx context.Context, ev *Event) error {
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = now()
	}
	_, err := q.exec(ctx, `INSERT INTO events (uid, tenant_uid, project_uid, object_kind, object_uid, object_name,
		reason, message, severity, component, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.UID, ev.TenantUID, ev.ProjectUID, ev.ObjectKind, ev.ObjectUID, ev.ObjectName, ev.Reason, ev.Message,
		ev.Severity, ev.Component, micros(ev.CreatedAt))
	if err != nil {
		return fmt.Errorf("adding event to %s %s: %w", ev.ObjectKind, ev.ObjectUID, err)
	}
	_, err = q.exec(ctx, fmt.Sprintf(`DELETE FROM events WHERE object_uid = ? AND id < (
		SELECT id FROM events WHERE object_uid = ? ORDER BY id DESC LIMIT 1 OFFSET %d)`, EventsKept-1),
		ev.ObjectUID, ev.ObjectUID)
	if err != nil {
		return fmt.Errorf("dropping old events of %s: %w", ev.ObjectUID, err)
	}
	return nil
}

func (q queries) DeleteEvents(ctx context.Context, objectUID string) error {
	if _, err := q.exec(ctx, `DELETE FROM events WHERE object_uid = ?`, objectUID); err != nil {
		return fmt.Errorf("deleting events of %s: %w", objectUID, err)
	}
	return nil
}

func (q queries) ListEvents(ctx context.Context, objectUID string, limit, offset int) ([]Event, int, error) {
	var total int
	if err := q.queryRow(ctx, `SELECT COUNT(*) FROM events WHERE object_uid = ?`, objectUID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting events: %w", err)
	}
	rows, err := q.query(ctx, fmt.Sprintf(`SELECT id, uid, tenant_uid, project_uid, object_kind, object_uid, object_name,
		reason, message, severity, component, created_at FROM events WHERE object_uid = ?
		ORDER BY id DESC LIMIT %d OFFSET %d`, limit, offset), objectUID)
	if err != nil {
		return nil, 0, fmt.Errorf("listing events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var (
			e  Event
			at int64
		)
		if err := rows.Scan(&e.ID, &e.UID, &e.TenantUID, &e.ProjectUID, &e.ObjectKind, &e.ObjectUID, &e.ObjectName,
			&e.Reason, &e.Message, &e.Severity, &e.Component, &at); err != nil {
			return nil, 0, err
		}
		e.CreatedAt = fromMicros(at)
		out = append(out, e)
	}
	return out, total, rows.Err()
}

const auditColumns = `uid, tenant_uid, project_uid, actor_type, actor_uid, actor_name, action, resource_kind,
	resource_uid, resource_name, message, created_at`

func scanAudit(s scanner) (Audit, error) {
	var (
		a  Audit
		at int64
	)
	err := s.Scan(&a.UID, &a.TenantUID, &a.ProjectUID, &a.ActorType, &a.ActorUID, &a.ActorName, &a.Action,
		&a.ResourceKind, &a.ResourceUID, &a.ResourceName, &a.Message, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	a.CreatedAt = fromMicros(at)
	return a, err
}

func (q queries) AddAudit(ctx context.Context, a *Audit) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now()
	}
	_, err := q.exec(ctx, `INSERT INTO audits (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.UID, a.TenantUID, a.ProjectUID, a.ActorType, a.ActorUID, a.ActorName, a.Action, a.ResourceKind,
		a.ResourceUID, a.ResourceName, a.Message, micros(a.CreatedAt))
	if err != nil {
		return fmt.Errorf("adding audit entry: %w", err)
	}
	return nil
}

func (q queries) GetAudit(ctx context.Context, uid string) (Audit, error) {
	return scanAudit(q.queryRow(ctx, `SELECT `+auditColumns+` FROM audits WHERE uid = ?`, uid))
}

func (q queries) ListAudits(ctx context.Context, f AuditFilter) ([]Audit, int, error) {
	where := " FROM audits WHERE tenant_uid = ?"
	args := []any{f.TenantUID}
	if f.ProjectUIDs != nil {
		if len(f.ProjectUIDs) == 0 {
			return nil, 0, nil
		}
		where += " AND project_uid IN (?" + strings.Repeat(", ?", len(f.ProjectUIDs)-1) + ")"
		for _, p := range f.ProjectUIDs {
			args = append(args, p)
		}
	}
	var total int
	if err := q.queryRow(ctx, "SELECT COUNT(*)"+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting audits: %w", err)
	}
	rows, err := q.query(ctx, fmt.Sprintf("SELECT "+auditColumns+where+" ORDER BY id DESC LIMIT %d OFFSET %d",
		f.Limit, f.Offset), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("listing audits: %w", err)
	}
	defer rows.Close()
	var out []Audit
	for rows.Next() {
		a, err := scanAudit(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, a)
	}
	return out, total, rows.Err()
}

const credentialColumns = `uid, kind, tenant_uid, user_uid, name, hash, expires_at, active, annotations, created_at`

func scanCredential(s scanner) (Credential, error) {
	var (
		c                Credential
		expires, created int64
		annotations      string
	)
	err := s.Scan(&c.UID, &c.Kind, &c.TenantUID, &c.UserUID, &c.Name, &c.Hash, &expires, &c.Active, &annotations, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, err
	}
	c.ExpiresAt, c.CreatedAt = fromMicros(expires), fromMicros(created)
	if err := json.Unmarshal([]byte(annotations), &c.Annotations); err != nil {
		return c, fmt.Errorf("credential %s annotations: %w", c.UID, err)
	}
	return c, nil
}

func (q queries) CreateCredential(ctx context.Context, c *Credential) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now()
	}
	annotations, _ := json.Marshal(c.Annotations)
	_, err := q.exec(ctx, `INSERT INTO credentials (`+credentialColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.UID, c.Kind, c.TenantUID, c.UserUID, c.Name, c.Hash, micros(c.ExpiresAt), c.Active, string(annotations),
		micros(c.CreatedAt))
	if q.d.isUniqueViolation(err) {
		return fmt.Errorf("credential already exists: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("creating credential: %w", err)
	}
	return nil
}

func (q queries) GetCredential(ctx context.Context, uid string) (Credential, error) {
	return scanCredential(q.queryRow(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE uid = ?`, uid))
}

func (q queries) GetCredentialByHash(ctx context.Context, hash string) (Credential, error) {
	return scanCredential(q.queryRow(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE hash = ?`, hash))
}

// Each authenticated call reads its credential and its holder (a user, or an agent's cluster): one
// query, not two.
func (q queries) GetCredentialAndHolder(ctx context.Context, hash string, holderKinds ...string) (Credential, Record, error) {
	var (
		kind, uid, altUID, tenant, project, name, version, state, category, doc sql.NullString
		generation, resourceVersion, created, updated                           sql.NullInt64
		holder                                                                  Record
	)
	args := []any{}
	for _, k := range holderKinds {
		args = append(args, k)
	}
	row := q.queryRow(ctx, `SELECT c.uid, c.kind, c.tenant_uid, c.user_uid, c.name, c.hash, c.expires_at, c.active,
		c.annotations, c.created_at, o.kind, o.uid, o.alt_uid, o.tenant_uid, o.project_uid, o.name, o.version, o.state,
		o.category, o.doc, o.generation, o.resource_version, o.created_at, o.updated_at
		FROM credentials c LEFT JOIN objects o ON o.uid = c.user_uid AND o.kind IN (`+placeholders("?", len(holderKinds))+`)
		WHERE c.hash = ?`, append(args, hash)...)
	cred, err := scanCredential(scanAlso{row, []any{&kind, &uid, &altUID, &tenant, &project, &name, &version, &state,
		&category, &doc, &generation, &resourceVersion, &created, &updated}})
	if err != nil || !kind.Valid {
		return cred, holder, err
	}
	holder = Record{Kind: kind.String, UID: uid.String, AltUID: altUID.String, TenantUID: tenant.String, ProjectUID: project.String,
		Name: name.String, Version: version.String, State: state.String, Category: category.String, Doc: []byte(doc.String),
		Generation: generation.Int64, ResourceVersion: resourceVersion.Int64, CreatedAt: fromMicros(created.Int64),
		UpdatedAt: fromMicros(updated.Int64)}
	return cred, holder, nil
}

// scanAlso scans the columns a scan function knows, then the extra ones after them.
type scanAlso struct {
	scanner
	extra []any
}

func (s scanAlso) Scan(dest ...any) error { return s.scanner.Scan(append(dest, s.extra...)...) }

func (q queries) ListCredentials(ctx context.Context, tenantUID, kind string) ([]Credential, error) {
	rows, err := q.query(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE tenant_uid = ? AND kind = ?
		ORDER BY created_at, uid`, tenantUID, kind)
	if err != nil {
		return nil, fmt.Errorf("listing credentials: %w", err)
	}
	defer rows.Close()
	var out []Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (q queries) UpdateCredential(ctx context.Context, c *Credential) error {
	annotations, _ := json.Marshal(c.Annotations)
	res, err := q.exec(ctx, `UPDATE credentials SET name = ?, expires_at = ?, active = ?, annotations = ? WHERE uid = ?`,
		c.Name, micros(c.ExpiresAt), c.Active, string(annotations), c.UID)
	if err != nil {
		return fmt.Errorf("updating credential: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func (q queries) DeleteCredential(ctx context.Context, uid string) error {
	res, err := q.exec(ctx, `DELETE FROM credentials WHERE uid = ?`, uid)
	if err != nil {
		return fmt.Errorf("deleting credential: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func (q queries) DeleteCredentialsOf(ctx context.Context, tenantUID, kind, userUID string) error {
	if _, err := q.exec(ctx, `DELETE FROM credentials WHERE tenant_uid = ? AND kind = ? AND user_uid = ?`, tenantUID, kind, userUID); err != nil {
		return fmt.Errorf("deleting the %s credentials of %s: %w", kind, userUID, err)
	}
	return nil
}

func (q queries) GetSetting(ctx context.Context, name string) (string, error) {
	var v string
	err := q.queryRow(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return v, err
}

func (q queries) PutSetting(ctx context.Context, name, value string) error {
	_, err := q.exec(ctx, `INSERT INTO settings (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	if err != nil {
		return fmt.Errorf("saving setting %s: %w", name, err)
	}
	return nil
}
