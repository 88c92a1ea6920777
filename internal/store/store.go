// Package store keeps easel's state: API objects, events, audits and credentials. One interface,
// two implementations behind the same SQL: an embedded SQLite file (the default) and PostgreSQL
// (for several hub replicas). Every write runs in a transaction; spec updates are optimistic.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/easelhq/easel/internal/usage"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict is a stale update (the object changed since it was read) or a duplicate name.
	ErrConflict = errors.New("conflict")
)

// EventsKept is how many events are kept per object; older ones are dropped on insert.
const EventsKept = 1000

// Record is one stored object. Doc is the object's JSON document; the other fields are the columns
// lists filter and sort on.
type Record struct {
	Kind       string
	UID        string
	AltUID     string // a second identity (e.g. a cluster's cloud config uid)
	TenantUID  string
	ProjectUID string // empty for tenant-scoped objects
	Name       string
	Version    string
	State      string
	Category   string // e.g. a cluster's cloud type or a profile's type
	Doc        []byte
	// Generation counts spec changes; ResourceVersion counts every change and guards updates.
	Generation      int64
	ResourceVersion int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Field is a column a list can filter or sort on.
type Field string

// Fields of objects.
const (
	FieldName      Field = "name"
	FieldState     Field = "state"
	FieldCategory  Field = "category"
	FieldVersion   Field = "version"
	FieldCreatedAt Field = "created_at"
	FieldUpdatedAt Field = "updated_at"
)

// Match operators of a Condition.
const (
	OpEq         = "eq"
	OpBeginsWith = "beginsWith"
	OpContains   = "contains"
)

// Condition restricts a list to objects whose field matches one of the values.
type Condition struct {
	Field      Field
	Op         string
	Values     []string
	Negate     bool
	IgnoreCase bool
}

// ListOptions selects, orders and pages objects of one kind in one tenant.
type ListOptions struct {
	Kind      string
	TenantUID string
	// ProjectUIDs limits the list to these projects ("" is the tenant scope); nil means all.
	ProjectUIDs []string
	// Conditions are joined with AND; AnyOf groups are each joined with OR inside.
	Conditions []Condition
	AnyOf      [][]Condition
	OrderBy    Field
	Desc       bool
	Limit      int
	Offset     int
}

// Event is one entry of an object's event stream.
type Event struct {
	ID         int64
	UID        string
	TenantUID  string
	ProjectUID string
	ObjectKind string
	ObjectUID  string
	ObjectName string
	Reason     string
	Message    string
	Severity   string
	Component  string
	CreatedAt  time.Time
}

// Audit is one entry of the audit trail.
type Audit struct {
	UID          string
	TenantUID    string
	ProjectUID   string
	ActorType    string
	ActorUID     string
	ActorName    string
	Action       string
	ResourceKind string
	ResourceUID  string
	ResourceName string
	Message      string
	CreatedAt    time.Time
}

// AuditFilter selects audit entries of one tenant, newest first.
type AuditFilter struct {
	TenantUID   string
	ProjectUIDs []string // nil means all
	Limit       int
	Offset      int
}

// Credential kinds.
const (
	CredentialAPIKey  = "apikey"
	CredentialSession = "session"
	CredentialAgent   = "agent"
)

// Credential is an API key, a login session or an agent token. Only a hash of its secret is kept.
type Credential struct {
	UID         string
	Kind        string
	TenantUID   string
	UserUID     string // for agent tokens, the cluster uid
	Name        string
	Hash        string
	ExpiresAt   time.Time
	Active      bool
	Annotations map[string]string
	CreatedAt   time.Time
}

// LockMode is how LockObject holds the object it reads.
type LockMode int

const (
	// LockShare keeps the object from being changed or deleted until the transaction ends; other
	// transactions may share-lock it meanwhile (clusters created from one profile do not queue).
	LockShare LockMode = iota
	// LockExclusive also waits for every share lock to go and keeps new ones out: for a delete that
	// first checks that nothing uses the object.
	LockExclusive
)

// Queries are the reads and writes available both on the store and inside a transaction.
type Queries interface {
	GetObject(ctx context.Context, kind, uid string) (Record, error)
	// LockObject reads an object inside a transaction and locks it until the transaction ends, so
	// that what the transaction checked of it (it exists, nothing uses it) still holds at commit.
	// PostgreSQL runs READ COMMITTED, where a plain read guards nothing: there it is SELECT … FOR
	// SHARE or FOR UPDATE. SQLite's transactions are immediate (BEGIN takes the database's write
	// lock, so they run one at a time): there it is a plain read.
	LockObject(ctx context.Context, kind, uid string, mode LockMode) (Record, error)
	GetObjectByAltUID(ctx context.Context, kind, altUID string) (Record, error)
	// FindObject looks an object up by its unique name (and version) in a project.
	FindObject(ctx context.Context, kind, tenantUID, projectUID, name, version string) (Record, error)
	// ListObjects returns one page and the total number of matches.
	ListObjects(ctx context.Context, opts ListOptions) ([]Record, int, error)
	// CreateObject stores a new object; a duplicate name is ErrConflict.
	// ListUIDs returns the uid of every object of a kind, across tenants (for the engine's resync).
	ListUIDs(ctx context.Context, kind string) ([]string, error)
	CreateObject(ctx context.Context, rec *Record) error
	// UpdateObject replaces an object whose ResourceVersion is still rec.ResourceVersion; otherwise
	// ErrConflict. On success rec carries the new ResourceVersion and UpdatedAt.
	UpdateObject(ctx context.Context, rec *Record) error
	DeleteObject(ctx context.Context, kind, uid string) error

	// AddEvent appends an event and drops the object's events beyond the newest EventsKept.
	AddEvent(ctx context.Context, ev *Event) error
	// DeleteEvents drops all events of an object (when the object itself is deleted).
	DeleteEvents(ctx context.Context, objectUID string) error
	// ListEvents returns an object's events, newest first, and their total.
	ListEvents(ctx context.Context, objectUID string, limit, offset int) ([]Event, int, error)

	AddAudit(ctx context.Context, a *Audit) error
	GetAudit(ctx context.Context, uid string) (Audit, error)
	ListAudits(ctx context.Context, f AuditFilter) ([]Audit, int, error)

	CreateCredential(ctx context.Context, c *Credential) error
	GetCredential(ctx context.Context, uid string) (Credential, error)
	GetCredentialByHash(ctx context.Context, hash string) (Credential, error)
	// GetCredentialAndHolder is GetCredentialByHash with, in the same query, the object that holds
	// the credential, if it is of one of holderKinds; the zero Record when there is none (another
	// kind's credential, or a holder gone).
	GetCredentialAndHolder(ctx context.Context, hash string, holderKinds ...string) (Credential, Record, error)
	ListCredentials(ctx context.Context, tenantUID, kind string) ([]Credential, error)
	UpdateCredential(ctx context.Context, c *Credential) error
	DeleteCredential(ctx context.Context, uid string) error
	// DeleteCredentialsOf deletes every credential of one kind that one user (or, for agent
	// tokens, one cluster) holds; none is fine. It reads the owner's index, not the tenant's
	// credentials.
	DeleteCredentialsOf(ctx context.Context, tenantUID, kind, userUID string) error

	GetSetting(ctx context.Context, name string) (string, error)
	PutSetting(ctx context.Context, name, value string) error

	// RecordUsage adds one usage sample to the series it names; previous is when the cluster's
	// sample before it was taken (zero for its first).
	RecordUsage(ctx context.Context, clusterUID string, at, previous time.Time, samples map[string]usage.Values) error
	// UsagePoints returns a series' points at one resolution in [from, to), oldest first.
	UsagePoints(ctx context.Context, clusterUID, series string, step time.Duration, from, to time.Time) ([]UsagePoint, error)
	// DeleteUsage drops a cluster's series and its current usage.
	DeleteUsage(ctx context.Context, clusterUID string) error
	// PutCurrentUsage keeps a cluster's current usage (the agent's last sample and what is over
	// its threshold) in its row of its own, with the workers' figures that lists show.
	PutCurrentUsage(ctx context.Context, clusterUID string, st usage.State) error
	// DeleteLease deletes a cluster's lease (hub replicas, PostgreSQL) with the cluster.
	DeleteLease(ctx context.Context, clusterUID string) error
	// Serialize makes the transaction wait until no other holds name, and hold it until it ends:
	// for a check-then-create that must run once even with several hub replicas, and for writes
	// of many rows that must not interleave.
	Serialize(ctx context.Context, name string) error
	ReportQueries
	WorkloadQueries
	HeartbeatQueries
	SummaryQueries
	LoginFailures
}

// Store is the whole state of a hub.
type Store interface {
	Queries
	// Tx runs fn in one transaction: all of its writes land, or none do.
	Tx(ctx context.Context, fn func(q Queries) error) error
	// FencedTx is Tx for the writes of a reconcile holding fence: ErrLeaseLost, and nothing
	// written, once another hub replica has claimed the lease (replicas.go).
	FencedTx(ctx context.Context, fence Fence, fn func(q Queries) error) error
	Replicas
	// Dialect names the database: "sqlite" or "postgres".
	Dialect() string
	Close() error
}
