// Package troubleshooting is the troubleshooting service: cluster log bundles (Palette's log
// fetcher) and the doctor's node checks (design 005). Each is a request the hub records, with the
// cluster's list of open requests its agent long-polls; the agent carries it out and reports back
// (a log bundle's zip, the doctor's findings). The hub adds its own part to every bundle, so a
// cluster whose agent or API server is down still gets one, and a request the agent never finishes
// is closed after v1.RequestTimeout.
package troubleshooting

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"k8s.io/utils/clock"

	v1 "github.com/easelhq/easel/api/v1"
	cluster "github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/wakeup"
)

// Kinds of the stored requests; each record's Category is its cluster's uid and its Name its own
// uid.
const (
	KindLogFetcher = "logfetcher"
	KindDoctor     = "doctor"
)

// DefaultAgentGone is how long after its last heartbeat a cluster's agent counts as gone: a
// request made then is answered by the hub alone (three missed heartbeats).
const DefaultAgentGone = 90 * time.Second

// ClusterLogs is what the infrastructure holds of a cluster's logs, for its bundles: the local
// provider runs the control plane's processes and the agent, and simulates the machines, so their
// logs are its to give.
type ClusterLogs interface {
	// ClusterLogs adds files to a bundle for the request (its lines and node files): add writes
	// one, named by its path in the zip. An error is listed in the bundle's errors.txt.
	ClusterLogs(ctx context.Context, clusterUID, name string, cl cluster.Cluster, req v1.LogFetcherRequest, add func(name string, r io.Reader) error) error
}

// Options are the service's dependencies besides the store; zero values take defaults.
type Options struct {
	Clock clock.PassiveClock
	// Waiters are the agents' long-polls, woken when their cluster has a new request.
	Waiters *wakeup.Waiters
	// BlobDir is where bundles are kept (required); it is created if missing.
	BlobDir string
	// ClusterLogs adds the infrastructure's logs to bundles (default: none).
	ClusterLogs ClusterLogs
	Logger      *slog.Logger
	// AgentGone is DefaultAgentGone unless set.
	AgentGone time.Duration
	// HostID and Replica say which hub replica this is, on a store several replicas share
	// (docs/design/007-replicas.md): the host id of its data dir, whose BlobDir holds the bundles
	// it makes, and its name for people. A bundle's record keeps them, so that another replica
	// sends its download here. Empty for the one hub of a SQLite store.
	HostID, Replica string
}

// Service is the troubleshooting service.
type Service struct {
	records     service.Records
	store       store.Store
	clock       clock.PassiveClock
	waiters     *wakeup.Waiters
	blobs       string
	clusterLogs ClusterLogs
	log         *slog.Logger
	agentGone   time.Duration
	hostID      string
	replica     string
}

// New returns the troubleshooting service over st.
func New(st store.Store, o Options) (*Service, error) {
	if o.BlobDir == "" {
		return nil, errors.New("the troubleshooting service needs a directory for log bundles")
	}
	if err := os.MkdirAll(o.BlobDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the log bundles' directory: %w", err)
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Waiters == nil {
		o.Waiters = &wakeup.Waiters{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.AgentGone <= 0 {
		o.AgentGone = DefaultAgentGone
	}
	return &Service{records: service.Records{Store: st, Clock: o.Clock}, store: st, clock: o.Clock, waiters: o.Waiters,
		blobs: o.BlobDir, clusterLogs: o.ClusterLogs, log: o.Logger, agentGone: o.AgentGone,
		hostID: o.HostID, replica: o.Replica}, nil
}

// authorized returns the cluster the call acts on once the caller has perm in its project.
func (s *Service) authorized(ctx context.Context, c *service.Call, clusterUID string, perm service.Permission) (store.Record, cluster.Cluster, error) {
	rec, err := s.records.Object(ctx, c, cluster.Kind, clusterUID)
	if err != nil {
		return rec, cluster.Cluster{}, err
	}
	if err := c.Authorize(perm, rec.ProjectUID); err != nil {
		return rec, cluster.Cluster{}, err
	}
	cl, err := service.DecodeCluster(ctx, s.store, rec)
	return rec, cl, err
}

// request returns a cluster's request of kind; without a uid, its newest.
func (s *Service) request(ctx context.Context, clusterRec store.Record, kind, requestUID string) (store.Record, error) {
	if requestUID == "" {
		recs, err := s.requests(ctx, clusterRec, kind, 1)
		if err != nil || len(recs) == 0 {
			return store.Record{}, errors.Join(err, service.NotFound(kind+" request of cluster", clusterRec.UID))
		}
		return recs[0], nil
	}
	rec, err := s.store.GetObject(ctx, kind, requestUID)
	if errors.Is(err, store.ErrNotFound) || err == nil && rec.Category != clusterRec.UID {
		return rec, service.NotFound(kind+" request", requestUID)
	}
	return rec, err
}

// requests returns a cluster's newest requests of kind, at most limit, newest first.
func (s *Service) requests(ctx context.Context, clusterRec store.Record, kind string, limit int) ([]store.Record, error) {
	recs, _, err := s.store.ListObjects(ctx, store.ListOptions{Kind: kind, TenantUID: clusterRec.TenantUID,
		Conditions: []store.Condition{{Field: store.FieldCategory, Op: store.OpEq, Values: []string{clusterRec.UID}}},
		OrderBy:    store.FieldCreatedAt, Desc: true, Limit: limit})
	return recs, err
}

// open records a new request of the cluster and puts it on its agent's list, with an event and an
// audit entry, in one transaction; the cluster may have at most v1.MaxOpenRequests of each kind
// open. doc is the request's stored document.
func (s *Service) open(ctx context.Context, c *service.Call, clusterUID string, req v1.AgentRequest, doc []byte, what string) (store.Record, cluster.Cluster, error) {
	var rec store.Record
	var cl cluster.Cluster
	err := s.records.TxRetrying(ctx, func(q store.Queries) error {
		crec, err := q.GetObject(ctx, cluster.Kind, clusterUID)
		if err != nil {
			return err
		}
		if cl, err = cluster.Decode(crec.Doc); err != nil {
			return err
		}
		if cl.Status.State == v1.ClusterStateDeleting {
			return service.Conflict("cluster %s is being deleted", crec.Name)
		}
		if open := cl.OpenRequests(req.Kind); len(open) >= v1.MaxOpenRequests {
			return service.TooManyRequests(time.Minute, "cluster %s has %d %s open already (%v), the most it may have (MaxOpenRequests); wait for one to finish",
				crec.Name, len(open), what, open)
		}
		now := s.clock.Now()
		rec = store.Record{Kind: storeKind[req.Kind], UID: req.UID, TenantUID: crec.TenantUID, ProjectUID: crec.ProjectUID,
			Name: req.UID, Category: crec.UID, State: v1.LogStateRequested, Doc: doc, CreatedAt: now, UpdatedAt: now}
		if err := q.CreateObject(ctx, &rec); err != nil {
			return err
		}
		cl.OpenRequest(req)
		crec.Doc = cl.Encode()
		if err := q.UpdateObject(ctx, &crec); err != nil {
			return err
		}
		msg := fmt.Sprintf("Requested a %s (%s)", what, req.UID)
		if err := s.records.Event(ctx, q, &crec, v1.SeverityInfo, requestedReason[req.Kind], msg); err != nil {
			return err
		}
		return s.records.Audit(ctx, q, c, crec.ProjectUID, "create", cluster.Kind, crec.UID, crec.Name, msg)
	})
	if err == nil {
		s.waiters.Wake(clusterUID)
	}
	return rec, cl, err
}

// storeKind is the stored kind of a request, by its agent kind.
var storeKind = map[string]string{v1.AgentRequestLogs: KindLogFetcher, v1.AgentRequestDoctor: KindDoctor}

// requestedReason is the event reason of a new request, by kind.
var requestedReason = map[string]string{v1.AgentRequestLogs: "LogBundleRequested", v1.AgentRequestDoctor: "DoctorRequested"}

// agentConnected reports whether the cluster's agent has sent a heartbeat lately, and if not, why.
func (s *Service) agentConnected(cl cluster.Cluster) (bool, string) {
	last := cl.Status.Health.LastHeartbeat
	switch {
	case last.IsZero():
		return false, "the cluster's agent has never connected to the hub"
	case s.clock.Since(last) > s.agentGone:
		return false, fmt.Sprintf("the cluster's agent has sent no heartbeat since %s", last.UTC().Format(time.RFC3339))
	}
	return true, ""
}

// close takes a request off its cluster's agent list and records its final document and state, in
// one transaction with the event; it fails with a Conflict when the request is no longer open (it
// was finished meanwhile, by its agent or by the sweep).
func (s *Service) close(ctx context.Context, reqRec store.Record, state string, doc []byte, severity, reason, message string) error {
	err := s.records.TxRetrying(ctx, func(q store.Queries) error {
		rec, err := q.GetObject(ctx, reqRec.Kind, reqRec.UID)
		if err != nil {
			return err
		}
		if !isOpen(rec.State) {
			return service.Conflict("request %s is %s already", rec.UID, rec.State)
		}
		rec.State, rec.Doc = state, doc
		if err := q.UpdateObject(ctx, &rec); err != nil {
			return err
		}
		crec, err := q.GetObject(ctx, cluster.Kind, rec.Category)
		if errors.Is(err, store.ErrNotFound) {
			return nil // the cluster is gone; the sweep deletes its requests
		}
		if err != nil {
			return err
		}
		cl, err := cluster.Decode(crec.Doc)
		if err != nil {
			return err
		}
		if cl.CloseRequest(rec.UID) {
			crec.Doc = cl.Encode()
			if err := q.UpdateObject(ctx, &crec); err != nil {
				return err
			}
		}
		return s.records.Event(ctx, q, &crec, severity, reason, message)
	})
	if err == nil {
		s.waiters.Wake(reqRec.Category)
	}
	return err
}

// progress records that a request moved to an intermediate state, with its document.
func (s *Service) progress(ctx context.Context, reqRec store.Record, state string, doc func(rec store.Record) ([]byte, error)) error {
	return s.records.TxRetrying(ctx, func(q store.Queries) error {
		rec, err := q.GetObject(ctx, reqRec.Kind, reqRec.UID)
		if err != nil {
			return err
		}
		if !isOpen(rec.State) {
			return service.Conflict("request %s is %s already", rec.UID, rec.State)
		}
		if rec.Doc, err = doc(rec); err != nil {
			return err
		}
		rec.State = state
		return q.UpdateObject(ctx, &rec)
	})
}

// isOpen reports whether a request in state is still being carried out.
func isOpen(state string) bool {
	return state == v1.LogStateRequested || state == v1.LogStateCollecting || state == v1.LogStateUploading
}
