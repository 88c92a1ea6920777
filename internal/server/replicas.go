package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/atomicfile"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/filelock"
	"github.com/easelhq/easel/internal/replica"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
	"github.com/easelhq/easel/internal/wakeup"
)

// replication is what a hub on PostgreSQL runs to share the fleet with the other hub replicas
// (docs/design/007-replicas.md): its session and leases, and the bus that carries wake-ups
// between the replicas.
type replication struct {
	// hostID and name are this replica's: its data dir's host id and its name for people.
	hostID, name string
	rep          *replica.Replica
	bus          *wakeup.Bus
	enqueue      func(clusterUID string)
	st           store.Store
}

// startReplication registers this hub's session and wires the bus: the long-polls' wake-ups
// (waiters) and the engine's (enqueue) reach every replica, and a replica enqueues only the
// clusters it holds.
func startReplication(ctx context.Context, cfg Config, st store.Store, log *slog.Logger, reg prometheus.Registerer,
	runsLocal bool, fingerprint string, waiters *wakeup.Waiters, enqueue func(clusterUID string)) (*replication, error) {
	hostID, err := readHostID(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	bus := wakeup.NewBus(st, log, reg)
	name := replicaName(cfg.DataDir)
	rep, err := replica.Start(ctx, replica.Options{Store: st, Name: name, HostID: hostID,
		URL: cfg.ReplicaURL, Fingerprint: fingerprint, Lease: cfg.Lease, HostGoneAfter: cfg.HostGoneAfter, Kind: clusters.Kind, PinnedCategory: v1.CloudTypeLocal, RunsPinned: runsLocal,
		Claimed: enqueue, Released: func() { bus.Publish(wakeup.ChannelLeases, "") }, Logger: log, Registerer: reg})
	if err != nil {
		return nil, fmt.Errorf("joining the hub replicas: %w", err)
	}
	waiters.Publish = func(uid string) { bus.Publish(wakeup.ChannelAgent, uid) }
	bus.Handle(wakeup.ChannelAgent, waiters.WakeHere)
	bus.Handle(wakeup.ChannelReconcile, func(uid string) {
		if rep.Holds(uid) {
			enqueue(uid)
		}
	})
	bus.Handle(wakeup.ChannelLeases, func(string) { rep.Kick() })
	bus.OnConnect(func() {
		held, _ := rep.Held(ctx)
		for _, uid := range held {
			enqueue(uid)
		}
		waiters.WakeAll()
	})
	return &replication{hostID: hostID, name: name, rep: rep, bus: bus, enqueue: enqueue, st: st}, nil
}

// hubs lists the live replicas' URLs and certificate pins, oldest first, for import manifests.
func (r *replication) hubs(ctx context.Context) (urls, fingerprints []string, err error) {
	live, err := r.st.LiveSessions(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, se := range live {
		if !slices.Contains(urls, se.URL) {
			urls = append(urls, se.URL)
		}
		if se.Fingerprint != "" && !slices.Contains(fingerprints, se.Fingerprint) {
			fingerprints = append(fingerprints, se.Fingerprint)
		}
	}
	return urls, fingerprints, nil
}

// selfSignedPin is the pin agents need for a self-signed certificate, "" for anything else.
func selfSignedPin(serving *servingTLS) string {
	if serving == nil || !serving.selfSigned {
		return ""
	}
	return serving.fingerprint
}

// notify asks for the cluster to be reconciled by whichever replica holds it (this one at once,
// if it is a new cluster: it claims it).
func (r *replication) notify(clusterUID string) {
	r.enqueue(clusterUID)
	r.bus.Publish(wakeup.ChannelReconcile, clusterUID)
}

// run keeps the session and the bus until ctx ends; the session ends first (releasing the
// leases), then the bus sends the release and stops.
func (r *replication) run(ctx context.Context) {
	busCtx, stopBus := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.bus.Run(busCtx) }()
	r.rep.Run(ctx)
	stopBus()
	wg.Wait()
}

// lockDataDir holds the data dir for this hub until the returned file is closed: it holds local
// clusters' processes and blobs, which two hubs must not share (on SQLite the store's own lock
// refuses the second hub first, with its own message).
func lockDataDir(dataDir string) (*os.File, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	f, err := filelock.Lock(filepath.Join(dataDir, "hub.lock"))
	if held := (*filelock.HeldError)(nil); errors.As(err, &held) {
		return nil, fmt.Errorf("the data directory %s is in use by another easel server (%s): each hub, replicas "+
			"included, needs a data directory of its own", dataDir, held)
	}
	return f, err
}

// readHostID returns the data dir's host id, creating it at the first start: the local clusters a
// hub replica starts belong to the host with this id (their processes and files live there).
func readHostID(dataDir string) (string, error) {
	name := filepath.Join(dataDir, "host-id")
	b, err := os.ReadFile(name)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading the host id: %w", err)
	}
	id := uid.New()
	if err := atomicfile.Write(name, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing the host id: %w", err)
	}
	return id, nil
}

// replicaName names this replica for people: its host name and data dir.
func replicaName(dataDir string) string {
	host, _ := os.Hostname()
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	return host + ":" + dataDir
}
