// Package replica is this hub's part of several hub replicas on one PostgreSQL
// (docs/design/007-replicas.md): it keeps the replica's session alive, claims its share of the
// clusters' leases, gives them back when peers join or when it stops, and tells the cluster
// controller which clusters it may reconcile and with which fence.
//
// What makes it safe is the store, not this package: every write of a reconcile runs in
// store.FencedTx, which refuses it once the lease is gone. This package only keeps the writes
// that would be refused, and the provider actions around them, from being attempted.
package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"

	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
)

// Defaults of Options.
const (
	DefaultLease      = 10 * time.Second
	DefaultClaimEvery = 2 * time.Second
	// DefaultHostGoneAfter is how long a host's local clusters wait for it before another replica
	// says in their conditions that it is gone.
	DefaultHostGoneAfter = 2 * time.Minute
	// MinLease is the shortest lease accepted: renewals every lease/3 must fit round trips.
	MinLease = 3 * time.Second
	// claimBatch caps the leases claimed or released in one transaction; a round that claimed a
	// full batch runs again at once, so a big takeover is several short transactions in a row.
	claimBatch = 200
)

// Options configure a Replica.
type Options struct {
	Store store.Store
	// Name, HostID, URL and Fingerprint describe the replica in its session (see store.Session).
	Name, HostID, URL, Fingerprint string
	// Lease is how long the session lives without a renewal (default 10s, at least 3s).
	Lease time.Duration
	// ClaimEvery is how often the replica claims or releases leases (default 2s, jittered).
	ClaimEvery time.Duration
	// Kind is the kind of the objects with leases; PinnedCategory is the category (cloud type)
	// of those that stay on the host that claims them first, and RunsPinned whether this
	// replica may run them (local clusters need the Kubernetes binaries).
	Kind, PinnedCategory string
	RunsPinned           bool
	// HostGoneAfter is how long a host may have no live session before another replica observes
	// its pinned clusters (default 2m).
	HostGoneAfter time.Duration
	// Claimed is told of every cluster this replica claimed in a round, to reconcile it.
	Claimed func(clusterUID string)
	// Released is told when this replica gave leases back, for the others to claim at once
	// (Kick).
	Released func()
	Logger   *slog.Logger
	// Registerer, if set, gets the replica's metrics.
	Registerer prometheus.Registerer
	// Clock times the rounds and the local deadline (default the real clock).
	Clock clock.WithTicker
}

// Replica is one hub's session and the leases it holds.
type Replica struct {
	o   Options
	log *slog.Logger

	rounds sync.Mutex // held by the claim round in progress

	mu sync.Mutex
	// session is the live session's id; ctx ends when it is lost.
	session string
	ctx     context.Context
	cancel  context.CancelFunc
	// deadline is when the session may have expired for all this replica knows: the last
	// renewal's start plus the lease, less a margin for the round trip. Past it, nothing new is
	// started under the leases (client-go's RenewDeadline); fencing is what makes writes safe.
	deadline time.Time
	held     map[string]store.Lease // by cluster uid
	// claimedNow are the leases Hold claimed since the claim round in progress began: the round
	// may have read the held leases before, and must not drop them.
	claimedNow map[string]store.Lease
	kick       chan struct{}

	heldGauge, liveGauge prometheus.Gauge
	claims, releases     *prometheus.CounterVec
	refused              prometheus.Counter
	renewSeconds         prometheus.Histogram
}

// Start registers the replica's session; Run keeps it.
func Start(ctx context.Context, o Options) (*Replica, error) {
	if o.Lease == 0 {
		o.Lease = DefaultLease
	}
	if o.Lease < MinLease {
		return nil, fmt.Errorf("the lease duration %s is shorter than the minimum %s", o.Lease, MinLease)
	}
	if o.ClaimEvery <= 0 {
		o.ClaimEvery = DefaultClaimEvery
	}
	if o.HostGoneAfter <= 0 {
		o.HostGoneAfter = DefaultHostGoneAfter
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	r := &Replica{o: o, log: o.Logger.With("replica", o.Name), held: map[string]store.Lease{}, claimedNow: map[string]store.Lease{}, kick: make(chan struct{}, 1),
		heldGauge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "easel_replica_leases_held",
			Help: "Clusters whose lease this hub replica holds."}),
		liveGauge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "easel_replica_sessions_live",
			Help: "Live hub replica sessions, as this replica last saw them."}),
		claims: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "easel_lease_claims_total",
			Help: "Cluster leases this replica claimed, by why: new (a cluster no replica had), free (released by a peer or expired)."}, []string{"reason"}),
		releases: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "easel_lease_releases_total",
			Help: "Cluster leases this replica gave up, by why: rebalance, shutdown, session_expired."}, []string{"reason"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "easel_fenced_writes_refused_total",
			Help: "Writes of reconciles refused because their lease had been lost: 0 in a healthy fleet."}),
		renewSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "easel_session_renew_seconds",
			Help: "How long renewing the replica's session took.", Buckets: prometheus.ExponentialBuckets(0.001, 3, 10)}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(r.heldGauge, r.liveGauge, r.claims, r.releases, r.refused, r.renewSeconds)
	}
	if err := r.register(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// register starts a new session; the caller holds no lock.
func (r *Replica) register(ctx context.Context) error {
	started := r.o.Clock.Now()
	se, err := r.o.Store.RegisterSession(ctx, store.Session{ID: uid.New(), Replica: r.o.Name, HostID: r.o.HostID, URL: r.o.URL,
		Fingerprint: r.o.Fingerprint}, r.o.Lease)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(context.Background())
	r.mu.Lock()
	r.session, r.ctx, r.cancel = se.ID, sctx, cancel
	r.deadline = started.Add(r.margin())
	r.held, r.claimedNow = map[string]store.Lease{}, map[string]store.Lease{}
	r.mu.Unlock()
	r.heldGauge.Set(0)
	r.log.Info("Registered the hub session", "session", se.ID, "host", r.o.HostID, "lease", r.o.Lease)
	return nil
}

// margin is how long after a renewal starts the session is surely still live here: the lease
// less a third of it for the round trip and the database's clock.
func (r *Replica) margin() time.Duration { return r.o.Lease - r.o.Lease/3 }

// Run renews the session every lease/3 and claims or releases leases every ClaimEvery until ctx
// ends; then it gives every lease back and ends the session, so peers take the clusters over at
// once instead of after the lease.
func (r *Replica) Run(ctx context.Context) {
	// Renewals run on their own: a slow claim round must not delay them past the lease.
	renewed := make(chan struct{})
	go func() { defer close(renewed); r.keepSession(ctx) }()
	r.round(ctx)
	claim := r.o.Clock.NewTimer(r.jittered())
	defer claim.Stop()
	for {
		select {
		case <-ctx.Done():
			<-renewed
			r.stop()
			return
		case <-claim.C():
			r.round(ctx)
			claim.Reset(r.jittered())
		case <-r.kick:
			r.round(ctx)
		}
	}
}

// keepSession renews the session every lease/3 until ctx ends.
func (r *Replica) keepSession(ctx context.Context) {
	t := r.o.Clock.NewTicker(r.o.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			r.renew(ctx)
		}
	}
}

func (r *Replica) jittered() time.Duration {
	return r.o.ClaimEvery*3/4 + rand.N(r.o.ClaimEvery/2+1)
}

func (r *Replica) renew(ctx context.Context) {
	r.mu.Lock()
	id := r.session
	r.mu.Unlock()
	started := r.o.Clock.Now()
	err := r.o.Store.RenewSession(ctx, id, r.o.Lease)
	r.renewSeconds.Observe(r.o.Clock.Since(started).Seconds())
	switch {
	case err == nil:
		r.mu.Lock()
		r.deadline = started.Add(r.margin())
		r.mu.Unlock()
	case errors.Is(err, store.ErrSessionExpired):
		r.lost(ctx)
	case ctx.Err() == nil:
		r.log.Warn("Renewing the hub session failed; retrying", "session", id, "err", err)
	}
}

// lost handles a session that expired under this replica (it was paused or cut off past its
// lease): every reconcile under it stops, its leases are forgotten (peers may hold them now), and
// a new session starts.
func (r *Replica) lost(ctx context.Context) {
	r.mu.Lock()
	id, n := r.session, len(r.held)
	r.cancel()
	r.held = map[string]store.Lease{}
	r.mu.Unlock()
	r.heldGauge.Set(0)
	r.releases.WithLabelValues("session_expired").Add(float64(n))
	r.log.Warn("The hub session expired; its reconciles stop and a new session starts", "session", id, "leases", n)
	if err := r.register(ctx); err != nil && ctx.Err() == nil {
		r.log.Error("Registering a new hub session failed; retrying", "err", err)
		return // the next renewal tick finds the old session expired again and retries
	}
	r.round(ctx)
}

// round claims this replica's share of the leases or gives back what is beyond it. Rounds run one
// at a time: each replaces the held set with what it read and claimed.
func (r *Replica) round(ctx context.Context) {
	r.rounds.Lock()
	defer r.rounds.Unlock()
	if err := r.balance(ctx); err != nil && ctx.Err() == nil {
		r.log.Warn("Claiming cluster leases failed; retrying", "err", err)
	}
}

func (r *Replica) balance(ctx context.Context) error {
	r.mu.Lock()
	id, alive := r.session, r.o.Clock.Now().Before(r.deadline)
	r.claimedNow = map[string]store.Lease{} // from here on, what the round reads includes them
	r.mu.Unlock()
	if !alive {
		return nil // the renewal decides first whether the session is still ours
	}
	live, err := r.o.Store.LiveSessions(ctx)
	if err != nil {
		return err
	}
	r.liveGauge.Set(float64(len(live)))
	movable, err := r.o.Store.CountMovable(ctx, r.o.Kind, r.o.PinnedCategory)
	if err != nil {
		return err
	}
	leases, err := r.o.Store.HeldLeases(ctx, id, r.o.HostID, r.o.PinnedCategory)
	if err != nil {
		return err
	}
	// This host's local clusters, whatever the share: no other host may run them; and, to say
	// so, those of hosts gone for HostGoneAfter.
	c := r.claim(id, "", claimBatch)
	c.Pinned, c.HostGoneAfter = true, r.o.HostGoneAfter
	claimed, err := r.o.Store.ClaimLeases(ctx, c)
	if err != nil {
		return err
	}
	leases = append(leases, claimed...)
	// The imported clusters are shared out evenly among the live replicas.
	share := (movable + len(live) - 1) / max(len(live), 1)
	heldMovable := 0
	for _, l := range leases {
		if !l.Pinned {
			heldMovable++
		}
	}
	if want := min(share-heldMovable, claimBatch); want > 0 {
		more, err := r.o.Store.ClaimLeases(ctx, r.claim(id, "", want))
		if err != nil {
			return err
		}
		leases, claimed = append(leases, more...), append(claimed, more...)
		if len(more) == claimBatch {
			r.Kick() // more to take (a dead peer's share): the next batch right away, not in a round's time
		}
	}
	held := make(map[string]store.Lease, len(leases))
	for _, l := range leases {
		held[l.ClusterUID] = l
	}
	var released []string
	if surplus := heldMovable - share; surplus > share/10 {
		released = r.surplus(held, min(surplus, claimBatch))
		if err := r.o.Store.ReleaseLeases(ctx, id, released); err != nil {
			return err
		}
		for _, u := range released {
			delete(held, u)
		}
		if r.o.Released != nil {
			r.o.Released()
		}
	}
	r.mu.Lock()
	if r.session != id { // lost meanwhile: what was read belongs to the old session
		r.mu.Unlock()
		return nil
	}
	for u, l := range r.claimedNow { // claimed by Hold since the round began: perhaps after it read
		held[u] = l
	}
	r.held, r.claimedNow = held, map[string]store.Lease{}
	n := len(held)
	r.mu.Unlock()
	r.heldGauge.Set(float64(n))
	r.claims.WithLabelValues("free").Add(float64(len(claimed)))
	r.releases.WithLabelValues("rebalance").Add(float64(len(released)))
	if len(claimed) > 0 || len(released) > 0 {
		r.log.Info("Balanced cluster leases", "claimed", len(claimed), "released", len(released), "held", n,
			"share", share, "replicas", len(live))
	}
	for _, l := range claimed {
		if r.o.Claimed != nil {
			r.o.Claimed(l.ClusterUID)
		}
	}
	return nil
}

// surplus picks n of the held leases that move freely to give back: the same ones every round
// (the highest uids).
func (r *Replica) surplus(held map[string]store.Lease, n int) []string {
	var uids []string
	for u, l := range held {
		if !l.Pinned {
			uids = append(uids, u)
		}
	}
	slices.Sort(uids)
	return uids[len(uids)-n:]
}

func (r *Replica) claim(session, clusterUID string, want int) store.Claim {
	return store.Claim{Session: session, HostID: r.o.HostID, Kind: r.o.Kind, PinnedCategory: r.o.PinnedCategory,
		RunsPinned: r.o.RunsPinned, UID: clusterUID, Want: want}
}

// stop gives every lease back and ends the session (a graceful shutdown: peers claim at once).
func (r *Replica) stop() {
	r.mu.Lock()
	id, n := r.session, len(r.held)
	r.cancel()
	r.held = map[string]store.Lease{}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.o.Store.EndSession(ctx, id); err != nil {
		r.log.Warn("Ending the hub session failed; peers take its clusters when it expires", "session", id, "err", err)
		return
	}
	r.releases.WithLabelValues("shutdown").Add(float64(n))
	if r.o.Released != nil {
		r.o.Released()
	}
	r.log.Info("Ended the hub session and released its leases", "session", id, "leases", n)
}

// ErrNotRenewed is a lease asked for while the session's renewal is overdue: the session may have
// expired, so nothing new starts under it until the renewal says.
var ErrNotRenewed = errors.New("the hub session's renewal is overdue")

// Hold returns the cluster's lease and a context that ends when this replica loses its session,
// with ok true when this replica holds the lease (as its owner, or as an observer of a gone host's
// cluster: lease.Observed). A cluster no replica ever held (a
// new one) is claimed on the spot, so it is reconciled at once by the replica that created it;
// any other lease moves only in the claim rounds.
func (r *Replica) Hold(ctx context.Context, clusterUID string) (lease store.Lease, lost context.Context, ok bool, err error) {
	r.mu.Lock()
	id, sctx := r.session, r.ctx
	held, ok := r.held[clusterUID]
	overdue := !r.o.Clock.Now().Before(r.deadline)
	r.mu.Unlock()
	if overdue {
		return store.Lease{}, nil, false, ErrNotRenewed
	}
	if ok {
		return held, sctx, true, nil
	}
	// Only a new cluster's (or one a claim round in progress just took): a lease a peer holds
	// stays there, and one given back (by a peer, or by this replica's rebalancing) is given out
	// by the claim rounds, or it would come straight back.
	got, err := r.o.Store.ClaimLeases(ctx, r.claim(id, clusterUID, 1))
	if err != nil || len(got) == 0 {
		return store.Lease{}, nil, false, err
	}
	r.mu.Lock()
	if r.session != id {
		r.mu.Unlock()
		return store.Lease{}, nil, false, nil
	}
	r.held[clusterUID], r.claimedNow[clusterUID] = got[0], got[0]
	n := len(r.held)
	r.mu.Unlock()
	r.heldGauge.Set(float64(n))
	r.claims.WithLabelValues("new").Inc()
	return got[0], sctx, true, nil
}

// Lost tells the replica that a write under fence was refused: the lease is gone.
func (r *Replica) Lost(fence store.Fence) {
	r.refused.Inc()
	r.mu.Lock()
	if r.held[fence.ClusterUID].Fence == fence {
		delete(r.held, fence.ClusterUID)
	}
	r.mu.Unlock()
	r.log.Warn("A write under a lost cluster lease was refused; the cluster's new holder goes on",
		"cluster", fence.ClusterUID, "epoch", fence.Epoch)
}

// Held lists the clusters this replica holds, for the engine's resync.
func (r *Replica) Held(context.Context) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.held))
	for u := range r.held {
		out = append(out, u)
	}
	return out, nil
}

// Holds says whether this replica holds the cluster's lease now.
func (r *Replica) Holds(clusterUID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.held[clusterUID]
	return ok
}

// Kick runs a claim round now (a peer released leases).
func (r *Replica) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}
