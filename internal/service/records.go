package service

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"k8s.io/utils/clock"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/projects"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
)

// Records is what every service writes with: the store, and the clock its records are dated by.
type Records struct {
	Store store.Store
	Clock clock.PassiveClock
}

// Object returns an object the call may see; anything else is NotFound, so that the existence of
// other projects' objects does not leak.
func (r Records) Object(ctx context.Context, c *Call, kind, objectUID string) (store.Record, error) {
	return ObjectIn(ctx, r.Store, c, kind, objectUID)
}

// ObjectIn is Object read through q (inside a transaction).
func ObjectIn(ctx context.Context, q store.Queries, c *Call, kind, objectUID string) (store.Record, error) {
	rec, err := q.GetObject(ctx, kind, objectUID)
	if errors.Is(err, store.ErrNotFound) || err == nil && !c.Visible(rec) {
		return rec, NotFound(kind, objectUID)
	}
	return rec, err
}

// Audit records a write in the audit trail, inside the write's transaction.
func (r Records) Audit(ctx context.Context, q store.Queries, c *Call, project, action, kind, resourceUID, name, message string) error {
	return q.AddAudit(ctx, &store.Audit{UID: uid.New(), TenantUID: c.TenantUID, ProjectUID: project,
		ActorType: c.ActorType, ActorUID: c.UserUID, ActorName: c.Name, Action: action,
		ResourceKind: kind, ResourceUID: resourceUID, ResourceName: name, Message: message, CreatedAt: r.Clock.Now()})
}

// Event appends to an object's event stream, inside the caller's transaction.
func (r Records) Event(ctx context.Context, q store.Queries, rec *store.Record, severity, reason, message string) error {
	return q.AddEvent(ctx, &store.Event{UID: uid.New(), TenantUID: rec.TenantUID, ProjectUID: rec.ProjectUID,
		ObjectKind: rec.Kind, ObjectUID: rec.UID, ObjectName: rec.Name, Reason: reason, Message: message,
		Severity: severity, Component: "hub", CreatedAt: r.Clock.Now()})
}

// conflictAttempts bounds how often TxRetrying runs a transaction that keeps losing the race.
const conflictAttempts = 10

// TxRetrying runs fn in a transaction, again (after a short random pause) while it fails with
// store.ErrConflict: the engine and the agents' reports write clusters all the time, so a
// read-modify-write that lost the race reads again and applies its change again.
func (r Records) TxRetrying(ctx context.Context, fn func(q store.Queries) error) error {
	for attempt := 1; ; attempt++ {
		err := r.Store.Tx(ctx, fn)
		if !errors.Is(err, store.ErrConflict) || attempt == conflictAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(1+rand.IntN(2*attempt)) * time.Millisecond):
		}
	}
}

// DecodeCluster decodes a stored cluster with its agent's newest heartbeat and its current usage,
// which most heartbeats and every usage sample write in rows of their own instead of the cluster
// (reports.Service.Heartbeat and Usage).
func DecodeCluster(ctx context.Context, q store.Queries, rec store.Record) (clusters.Cluster, error) {
	cl, err := clusters.Decode(rec.Doc)
	if err != nil {
		return cl, err
	}
	live, err := q.Live(ctx, rec.UID)
	if err != nil {
		return cl, err
	}
	cl.Status.Health.ObserveHeartbeat(live.Heartbeat.At, live.Heartbeat.AgentVersion)
	if live.Usage != nil {
		cl.Status.Usage = *live.Usage
	}
	return cl, nil
}

// Version is an object's version as the ETag and If-Match headers carry it.
func Version(rec store.Record) string { return `"` + strconv.FormatInt(rec.ResourceVersion, 10) + `"` }

// CheckVersion refuses a write made against another version than the stored one (ifMatch, ""
// for none): the caller read the object, someone else changed it, and this write would undo
// their change.
func CheckVersion(rec store.Record, ifMatch string) error {
	if ifMatch == "" || ifMatch == Version(rec) {
		return nil
	}
	return Conflict("%s %s changed since you read it (version %s, you sent %s); read it again", rec.Kind, rec.Name, Version(rec), ifMatch)
}

// LockProject share-locks a project until the transaction ends ("" is the tenant scope: nothing to
// lock): a project deleted meanwhile is either not found here (NotFound), or its delete waits and
// then sees what this transaction added to it and refuses.
func LockProject(ctx context.Context, q store.Queries, project string) error {
	if project == "" {
		return nil
	}
	_, err := q.LockObject(ctx, projects.Kind, project, store.LockShare)
	if errors.Is(err, store.ErrNotFound) {
		return NotFound("project", project)
	}
	return err
}

// Meta is the metadata of a stored object as the API shows it.
func Meta(rec store.Record) v1.ObjectMeta {
	return v1.ObjectMeta{UID: rec.UID, Name: rec.Name, CreationTimestamp: rec.CreatedAt, LastModifiedTimestamp: rec.UpdatedAt}
}

// LockToDelete locks an object until the transaction ends, once every share lock on it is gone
// (LockProject's, the cluster service's on the profiles it attaches) and keeping new ones out: what
// a delete then counts of the object's users includes everything committed, and nothing can be
// added until it ends. An object deleted meanwhile is NotFound.
func LockToDelete(ctx context.Context, q store.Queries, kind, uid string) error {
	_, err := q.LockObject(ctx, kind, uid, store.LockExclusive)
	if errors.Is(err, store.ErrNotFound) {
		return NotFound(kind, uid)
	}
	return err
}

// Events lists an object's events, newest first, a page at a time, if the call may see the object.
func (r Records) Events(ctx context.Context, c *Call, kind, objectUID string, limit, offset int) ([]store.Event, int, error) {
	rec, err := r.Object(ctx, c, kind, objectUID)
	if err != nil {
		return nil, 0, err
	}
	return r.Store.ListEvents(ctx, rec.UID, limit, offset)
}
