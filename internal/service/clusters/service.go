// Package clusters is the cluster service: creating and importing clusters, changing their specs
// (profiles, machine pools), deleting them, their day-2 requests (repave approval, certificate
// renewal, maintenance mode) and their credentials (kubeconfigs, the import manifest's agent
// token). Each method checks the caller's permission first, then validates, then writes the change
// with its event and audit entry in one transaction, and wakes the engine and the cluster's agent.
package clusters

import (
	"context"
	"errors"

	"k8s.io/utils/clock"

	v1 "github.com/easelhq/easel/api/v1"
	cluster "github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/profiles"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/wakeup"
)

// Kinds of stored objects this service reads.
const (
	Kind        = cluster.Kind
	kindProfile = profiles.Kind
)

// Kubeconfigs reads a cluster's cluster-admin kubeconfig from whatever built the cluster.
type Kubeconfigs interface {
	Kubeconfig(ctx context.Context, clusterUID, name string, cl cluster.Cluster) ([]byte, error)
}

// ErrNoKubeconfigs is what Kubeconfigs returns for a cluster whose kubeconfig this hub cannot read.
var ErrNoKubeconfigs = errors.New("this hub cannot read the cluster's kubeconfig")

// AgentTrust is what an import manifest tells the agent to trust the hub's TLS certificate with:
// a CA bundle (PEM), or the pin of the hub's self-signed certificate; neither means the agent's
// system roots (or a plain-HTTP hub).
type AgentTrust struct {
	CAPEM       string
	Fingerprint string
}

// Options are the service's dependencies besides the store and the catalog; zero values take
// defaults.
type Options struct {
	Clock clock.PassiveClock
	// Notify wakes the engine for a cluster whose spec changed (default: nothing).
	Notify func(clusterUID string)
	// Waiters are the agents' long-polls, woken when their cluster changes.
	Waiters *wakeup.Waiters
	// Kubeconfigs reads kubeconfigs (default: none, no provider).
	Kubeconfigs Kubeconfigs
	// PublicURL is where agents reach the hub, written into import manifests.
	PublicURL string
	// AgentTrust is how import manifests tell agents to trust the hub's certificate.
	AgentTrust AgentTrust
	// Replicas, with several hub replicas and no one URL in front of them, lists the live ones
	// for import manifests: their URLs (the agent fails over between them) and the pins of their
	// self-signed certificates. Nil is this hub alone: PublicURL and AgentTrust.
	Replicas func(ctx context.Context) (urls, fingerprints []string, err error)
}

// Service is the cluster service.
type Service struct {
	records     service.Records
	store       store.Store
	catalog     *packs.Catalog
	clock       clock.PassiveClock
	notify      func(clusterUID string)
	waiters     *wakeup.Waiters
	kubeconfigs Kubeconfigs
	publicURL   string
	agentTrust  AgentTrust
	replicas    func(ctx context.Context) (urls, fingerprints []string, err error)
}

// New returns the cluster service over st and the pack catalog.
func New(st store.Store, catalog *packs.Catalog, o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Notify == nil {
		o.Notify = func(string) {}
	}
	if o.Waiters == nil {
		o.Waiters = &wakeup.Waiters{}
	}
	return &Service{records: service.Records{Store: st, Clock: o.Clock}, store: st, catalog: catalog, clock: o.Clock,
		notify: o.Notify, waiters: o.Waiters, kubeconfigs: o.Kubeconfigs, publicURL: o.PublicURL, agentTrust: o.AgentTrust,
		replicas: o.Replicas}
}

// Target names the cluster an operation acts on — by its uid, or by its cloud config's uid (and
// the cloud type the caller named, "" for any: tools built on the SDK fall back to routes that
// name none) — and, in IfMatch, the version the caller last read ("" for any).
type Target struct {
	UID            string
	CloudConfigUID string
	CloudType      string
	IfMatch        string
}

// ByUID targets the cluster uid names.
func ByUID(uid string) Target { return Target{UID: uid} }

// ByCloudConfig targets the cluster whose cloud config configUID names.
func ByCloudConfig(cloudType, configUID string) Target {
	return Target{CloudConfigUID: configUID, CloudType: cloudType}
}

// read returns the targeted cluster if the call may see it, through q; anything else is NotFound.
func (t Target) read(ctx context.Context, q store.Queries, c *service.Call) (store.Record, cluster.Cluster, error) {
	var (
		rec store.Record
		err error
	)
	if t.CloudConfigUID == "" {
		if rec, err = service.ObjectIn(ctx, q, c, Kind, t.UID); err != nil {
			return rec, cluster.Cluster{}, err
		}
	} else {
		rec, err = q.GetObjectByAltUID(ctx, Kind, t.CloudConfigUID)
		if err != nil || !c.Visible(rec) || t.CloudType != "" && rec.Category != t.CloudType {
			if err == nil || errors.Is(err, store.ErrNotFound) {
				err = service.NotFound("cloud config", t.CloudConfigUID)
			}
			return rec, cluster.Cluster{}, err
		}
	}
	cl, err := service.DecodeCluster(ctx, q, rec)
	return rec, cl, err
}

// Get returns the targeted cluster, if the call may see it.
func (s *Service) Get(ctx context.Context, c *service.Call, t Target) (store.Record, cluster.Cluster, error) {
	return t.read(ctx, s.store, c)
}

// authorized returns the targeted cluster once the caller has perm in its project.
func (s *Service) authorized(ctx context.Context, c *service.Call, t Target, perm service.Permission) (store.Record, cluster.Cluster, error) {
	rec, cl, err := s.Get(ctx, c, t)
	if err != nil {
		return rec, cl, err
	}
	return rec, cl, c.Authorize(perm, rec.ProjectUID)
}

// Changed tells the engine and the cluster's waiting agent that the cluster changed.
func (s *Service) Changed(clusterUID string) {
	s.notify(clusterUID)
	s.waiters.Wake(clusterUID)
}

// change applies fn to the cluster's spec as a new spec generation, with an event (reason) and an
// audit entry of the message fn returns; an fn that returns no message changed nothing and writes
// nothing. fn gets the transaction, to read in it what it checks. The record is read in the
// transaction that writes it; the engine and the agents' reports write it all the time, so unless
// the caller named a version (IfMatch) a conflict re-reads the record and applies fn again.
func (s *Service) change(ctx context.Context, c *service.Call, t Target, reason string,
	fn func(q store.Queries, cl *cluster.Cluster) (message string, err error)) error {
	var changed store.Record
	err := s.records.TxRetrying(ctx, func(q store.Queries) error {
		rec, cl, err := t.read(ctx, q, c)
		if err != nil {
			return err
		}
		if err := c.Authorize(service.PermWriteClusters, rec.ProjectUID); err != nil {
			return err
		}
		if err := service.CheckVersion(rec, t.IfMatch); err != nil {
			return err
		}
		if cl.Status.State == v1.ClusterStateDeleting {
			return service.Conflict("cluster %s is being deleted", rec.Name)
		}
		message, err := fn(q, &cl)
		if err != nil || message == "" {
			return err
		}
		rec.Doc = cl.Encode()
		rec.Generation++
		if err := q.UpdateObject(ctx, &rec); err != nil {
			if errors.Is(err, store.ErrConflict) && t.IfMatch != "" {
				return service.Conflict("%s %s changed since you read it; read it again", rec.Kind, rec.Name)
			}
			return err
		}
		if err := s.records.Event(ctx, q, &rec, v1.SeverityInfo, reason, message); err != nil {
			return err
		}
		changed = rec
		return s.records.Audit(ctx, q, c, rec.ProjectUID, "update", Kind, rec.UID, rec.Name, message)
	})
	if err == nil && changed.UID != "" {
		s.Changed(changed.UID)
	}
	return err
}

// written is what a status change records: its event, and its audit entry (action and message).
// A change with no reason writes nothing.
type written struct {
	severity, reason, event string
	action, audit           string
}

// changeStatus is one read-modify-write of the stored cluster's status (no new spec generation)
// with the event and audit entry fn returns, retried when the engine or a report changed the
// cluster meanwhile.
func (s *Service) changeStatus(ctx context.Context, c *service.Call, clusterUID string, fn func(cl *cluster.Cluster) (written, error)) error {
	return s.records.TxRetrying(ctx, func(q store.Queries) error {
		rec, err := q.GetObject(ctx, Kind, clusterUID)
		if err != nil {
			return err
		}
		cl, err := cluster.Decode(rec.Doc)
		if err != nil {
			return err
		}
		w, err := fn(&cl)
		if err != nil || w.reason == "" {
			return err
		}
		rec.Doc, rec.State = cl.Encode(), cl.Status.State
		if err := q.UpdateObject(ctx, &rec); err != nil {
			return err
		}
		if err := s.records.Event(ctx, q, &rec, w.severity, w.reason, w.event); err != nil {
			return err
		}
		return s.records.Audit(ctx, q, c, rec.ProjectUID, w.action, Kind, rec.UID, rec.Name, w.audit)
	})
}

// profileResolver finds profiles a cluster in the call's project may use, reading them through q
// (the transaction that attaches them) and share-locking them until it ends: a profile deleted
// meanwhile is either not found here, or its delete waits for this transaction and then sees the
// cluster that uses it and refuses.
func profileResolver(ctx context.Context, q store.Queries, c *service.Call) cluster.ProfileResolver {
	return func(uid string) (profiles.Profile, bool) {
		rec, err := q.LockObject(ctx, kindProfile, uid, store.LockShare)
		if err != nil || !c.Visible(rec) {
			return profiles.Profile{}, false
		}
		p, err := profiles.Decode(rec.Doc)
		return p, err == nil
	}
}

// Attached is a profile attached to a cluster, with its packs as the cluster has them.
type Attached struct {
	Record  store.Record
	Profile profiles.Profile
	Packs   []v1.PackRef
}

// AttachedProfile reads a profile attached to a cluster, with its packs as the cluster has them
// (the cluster's values in place of the profile's where it gives some).
func (s *Service) AttachedProfile(ctx context.Context, ref cluster.ProfileRef) (Attached, error) {
	rec, err := s.store.GetObject(ctx, kindProfile, ref.UID)
	if err != nil {
		return Attached{}, err
	}
	p, err := profiles.Decode(rec.Doc)
	if err != nil {
		return Attached{}, err
	}
	packs := p.PackRefs()
	for i := range packs {
		if v := ref.Values(packs[i].Name); v != "" {
			packs[i].Values = v
		}
	}
	return Attached{rec, p, packs}, nil
}
