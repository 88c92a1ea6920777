// Package reports is the agent service: what a cluster's agent reports (heartbeats, the packs it
// applied, conditions, services, nodes, usage, workloads, the progress of node operations) and
// what it asks for (its desired state, by long-poll) — each only for the agent's own cluster, and
// each report checked against the limits before anything is stored.
package reports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"

	v1 "github.com/easelhq/easel/api/v1"
	cluster "github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/desired"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/profiles"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
	"github.com/easelhq/easel/internal/wakeup"
)

// Kinds of stored objects this service reads.
const (
	kindCluster = cluster.Kind
	kindProfile = profiles.Kind
)

// Long-poll bounds for the desired state.
const (
	DefaultDesiredWait = 30 * time.Second
	MaxDesiredWait     = 60 * time.Second
)

// ErrShuttingDown ends a long-poll when the hub shuts down: the agent should ask again later (this
// hub, or another replica).
var ErrShuttingDown = errors.New("the hub is shutting down; ask again")

// Options are the service's dependencies besides the store and the catalog; zero values take
// defaults.
type Options struct {
	Clock clock.PassiveClock
	// Notify wakes the engine for a cluster whose reports change what it judges (default: nothing).
	Notify func(clusterUID string)
	// Waiters are the agents' long-polls.
	Waiters *wakeup.Waiters
	// Registerer takes the service's metrics (default: none kept).
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// DrainTimeout bounds how long an agent keeps trying to drain a node (default
	// clusters.DefaultDrainTimeout).
	DrainTimeout time.Duration
}

// Service is the agent service.
type Service struct {
	records      service.Records
	store        store.Store
	catalog      *packs.Catalog
	clock        clock.PassiveClock
	notify       func(clusterUID string)
	waiters      *wakeup.Waiters
	log          *slog.Logger
	drainTimeout time.Duration
	// reportPageBytes is the size of each page of an agent report received, reportPages the number
	// of pages of each report applied, by report.
	reportPageBytes, reportPages *prometheus.HistogramVec
}

// New returns the agent service over st and the pack catalog.
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
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = cluster.DefaultDrainTimeout
	}
	s := &Service{records: service.Records{Store: st, Clock: o.Clock}, store: st, catalog: catalog, clock: o.Clock,
		notify: o.Notify, waiters: o.Waiters, log: o.Logger, drainTimeout: o.DrainTimeout}
	s.reportPageBytes = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "easel_agent_report_page_bytes", Help: "Size of each page of an agent report received, by report.",
		Buckets: prometheus.ExponentialBuckets(1024, 4, 6), // 1 KiB to 1 MiB, the limit
	}, []string{"report"})
	s.reportPages = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "easel_agent_report_pages", Help: "Pages of each agent report applied, by report.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 10),
	}, []string{"report"})
	if o.Registerer != nil {
		o.Registerer.MustRegister(s.reportPageBytes, s.reportPages)
	}
	return s
}

// Agent returns the cluster an agent's operation names — by uid, or by its cloud config's uid —
// once the caller is that cluster's agent. Another cluster's token is refused and is an audit
// entry (a leaked or misconfigured token is worth an operator's attention). held is what holds the
// caller's credentials, read with them (identity.Service.AuthenticateHolder): the agent's cluster,
// not read again.
func (s *Service) Agent(ctx context.Context, c service.Caller, held store.Record, clusterUID, configUID string) (store.Record, error) {
	if c.ActorType != "agent" {
		return store.Record{}, service.Forbidden("this operation is for the cluster's agent; it needs the agent's token")
	}
	if clusterUID == "" { // a machine's operation names the cluster by its cloud config
		cc, err := s.store.GetObjectByAltUID(ctx, kindCluster, configUID)
		if errors.Is(err, store.ErrNotFound) {
			return store.Record{}, service.NotFound("cloud config", configUID)
		}
		if err != nil {
			return store.Record{}, err
		}
		clusterUID = cc.UID
	}
	if c.AgentCluster != clusterUID {
		audit := &store.Audit{UID: uid.New(), TenantUID: c.TenantUID, ActorType: "agent", ActorUID: c.AgentCluster,
			ActorName: c.Name, Action: "denied", ResourceKind: kindCluster, ResourceUID: clusterUID,
			Message: "The agent of cluster " + c.AgentCluster + " used its token on cluster " + clusterUID, CreatedAt: s.clock.Now()}
		if err := s.store.AddAudit(ctx, audit); err != nil {
			return store.Record{}, err
		}
		return store.Record{}, service.Forbidden("this agent token belongs to another cluster")
	}
	if held.Kind == kindCluster && held.UID == clusterUID {
		return held, nil
	}
	rec, err := s.store.GetObject(ctx, kindCluster, clusterUID)
	if errors.Is(err, store.ErrNotFound) {
		return rec, service.NotFound(kindCluster, clusterUID)
	}
	return rec, err
}

// updateStatus applies fn to the stored cluster, retrying when the engine or an API write changed
// it meanwhile.
func (s *Service) updateStatus(ctx context.Context, clusterUID string, fn func(cl *cluster.Cluster) error) error {
	return s.records.TxRetrying(ctx, func(q store.Queries) error { return updateClusterStatus(ctx, q, clusterUID, fn) })
}

// updateClusterStatus is one read-modify-write of the stored cluster; store.ErrConflict when it
// changed since it was read.
func updateClusterStatus(ctx context.Context, q store.Queries, clusterUID string, fn func(cl *cluster.Cluster) error) error {
	rec, err := q.GetObject(ctx, kindCluster, clusterUID)
	if err != nil {
		return err
	}
	cl, err := cluster.Decode(rec.Doc)
	if err != nil {
		return err
	}
	if err := fn(&cl); err != nil {
		return err
	}
	rec.Doc = cl.Encode()
	return q.UpdateObject(ctx, &rec)
}

// Heartbeat records that the agent is alive (v1.Heartbeat); the hub's receive time counts, not the
// agent's clock. Most heartbeats write a row of their own (store.Heartbeat), a few bytes, not the
// cluster's document; the first one, one after the heartbeats had stopped and one from a new agent
// version change the document and wake the engine (clusters.Health.HeartbeatMatters).
func (s *Service) Heartbeat(ctx context.Context, rec store.Record, body []byte) error {
	var in v1.Heartbeat
	if err := service.DecodeJSON(body, &in); err != nil {
		return err
	}
	if len(in.AgentVersion) > 64 {
		return service.Invalid("agentVersion is longer than 64 characters")
	}
	now := s.clock.Now()
	view, err := cluster.DecodeAgentView(rec.Doc)
	if err != nil {
		return err
	}
	if !view.Health.HeartbeatMatters(in.AgentVersion) {
		// Nothing the engine judges changes: the heartbeat's own row is written, not the cluster.
		return s.store.PutHeartbeat(ctx, store.Heartbeat{ClusterUID: rec.UID, At: now, AgentVersion: in.AgentVersion})
	}
	wake := false
	err = s.updateStatus(ctx, rec.UID, func(cl *cluster.Cluster) error {
		// The engine waits for the first sign of life, and judges health again when it is back.
		wake = cl.Status.Health.State != cluster.HealthHealthy
		cl.Status.Health.LastHeartbeat, cl.Status.Health.AgentVersion = now, in.AgentVersion
		return nil
	})
	if err == nil && wake {
		s.notify(rec.UID)
	}
	return err
}

// Have is the desired state an agent has applied: the cluster's spec generation, nodes revision
// and requests revision.
type Have struct {
	Generation, Nodes, Requests int64
}

// Desired answers the agent's long-poll: the desired packs, node operations and troubleshooting
// requests as soon as the cluster's spec generation, nodes revision or requests revision differs
// from what the agent has, else nil once wait is over (at most MaxDesiredWait). stopping ends the wait with ErrShuttingDown.
func (s *Service) Desired(ctx context.Context, rec store.Record, have Have, wait time.Duration, stopping <-chan struct{}) (*v1.AgentDesired, error) {
	deadline := time.NewTimer(min(wait, MaxDesiredWait))
	defer deadline.Stop()
	uid := rec.UID
	for {
		// The wait begins before the cluster is read, so a change committed after the read wakes it
		// (the record the transport read may be older than the wait).
		woken := s.waiters.Wait(uid)
		rec, err := s.store.GetObject(ctx, kindCluster, uid)
		if err != nil {
			return nil, err
		}
		view, err := cluster.DecodeAgentView(rec.Doc)
		if err != nil {
			return nil, err
		}
		if rec.Generation != have.Generation || view.NodesRevision != have.Nodes || view.RequestsRevision != have.Requests {
			cl, err := cluster.Decode(rec.Doc)
			if err != nil {
				return nil, err
			}
			return s.render(ctx, rec, cl)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err() // the agent hung up (it stopped, or the cluster is being deleted)
		case <-deadline.C:
			return nil, nil
		case <-stopping:
			return nil, ErrShuttingDown
		case <-woken: // by this hub's writes, or another replica's (wakeup.Bus)
		}
	}
}

// render is the cluster's desired packs, node operations and requests for its agent.
func (s *Service) render(ctx context.Context, rec store.Record, cl cluster.Cluster) (*v1.AgentDesired, error) {
	out, err := desired.Render(cl, rec.Generation, func(uid string) (profiles.Profile, error) {
		prec, err := s.store.GetObject(ctx, kindProfile, uid)
		if err != nil {
			return profiles.Profile{}, err
		}
		return profiles.Decode(prec.Doc)
	}, s.catalog)
	if err != nil {
		return nil, fmt.Errorf("rendering the desired packs of %s: %w", rec.Name, err)
	}
	out.NodesRevision = cl.Status.NodesRevision
	out.RequestsRevision, out.Requests = cl.Status.RequestsRevision, cl.AgentRequests()
	out.Nodes = cl.NodeOperations(s.drainTimeout, func(m *cluster.Machine) string {
		return fmt.Sprintf("/v1/cloudconfigs/%s/%s/machinePools/%s/machines/%s/maintenance/status", rec.Category, cl.CloudConfigUID, m.Pool, m.UID)
	})
	return &out, nil
}

// Packs records the agent's per-pack report for the generation it applied (v1.AgentPackReport).
func (s *Service) Packs(ctx context.Context, rec store.Record, body []byte) error {
	in, err := decodePackReport(body)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	err = s.updateStatus(ctx, rec.UID, func(cl *cluster.Cluster) error {
		if in.Generation < cl.Status.PacksGeneration {
			return nil // a late report of an older generation changes nothing
		}
		cl.Status.PacksGeneration = in.Generation
		cl.Status.Packs = in.Packs
		for i := range cl.Status.Packs {
			cl.Status.Packs[i].UpdatedAt = now
		}
		return nil
	})
	if err == nil {
		s.notify(rec.UID)
	}
	return err
}

// Conditions sets conditions the agent observes inside the cluster (Palette's PATCH of
// status/conditions); each change is an event.
func (s *Service) Conditions(ctx context.Context, rec store.Record, body []byte) error {
	in, err := decodeConditions(body)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	var changed []v1.ClusterCondition
	err = s.updateStatus(ctx, rec.UID, func(cl *cluster.Cluster) error {
		if err := checkAgentConditions(cl.Status.Conditions, in); err != nil {
			return err
		}
		changed = changed[:0]
		for _, c := range in {
			if cl.Status.SetCondition(c.Type, c.Status, c.Reason, c.Message, now) {
				changed = append(changed, c)
			}
		}
		return nil
	})
	if err != nil || len(changed) == 0 {
		return err
	}
	return s.store.Tx(ctx, func(q store.Queries) error {
		for _, c := range changed {
			severity := v1.SeverityInfo
			if c.Status != "True" {
				severity = v1.SeverityWarning
			}
			if err := s.records.Event(ctx, q, &rec, severity, c.Reason, c.Type+": "+c.Message); err != nil {
				return err
			}
		}
		return nil
	})
}

// Services records the cluster's application services as the agent sees them.
func (s *Service) Services(ctx context.Context, rec store.Record, body []byte) error {
	in, err := decodeServices(body)
	if err != nil {
		return err
	}
	return s.updateStatus(ctx, rec.UID, func(cl *cluster.Cluster) error {
		cl.Status.Services = in
		return nil
	})
}

// Nodes records one page of the agent's report of every node; the engine judges health from it.
// applied says whether the report is whole and applied (false: the page is held for the others).
func (s *Service) Nodes(ctx context.Context, rec store.Record, body []byte) (applied bool, err error) {
	in, err := decodeNodePage(body)
	if err != nil {
		return false, err
	}
	changed := false
	applied, err = receivePage(ctx, s, rec.UID, reportNodes, in.ReportPage, in, body, nil, func(q store.Queries, each eachPage[v1.AgentNodeReport]) error {
		nodes := []v1.NodeReport{}
		err := each(func(pg v1.AgentNodeReport) error {
			if err := checkNodes(pg.Nodes, len(nodes)); err != nil { // the pages together: the bound
				return err
			}
			nodes = append(nodes, pg.Nodes...)
			return nil
		})
		if err != nil {
			return err
		}
		return updateClusterStatus(ctx, q, rec.UID, func(cl *cluster.Cluster) error {
			changed = !slices.Equal(cluster.NodeProblems(cl.Status.Nodes), cluster.NodeProblems(nodes))
			cl.Status.Nodes = nodes
			return nil
		})
	})
	if err == nil && changed {
		s.notify(rec.UID) // the health verdict may change; reports that change nothing else wake no one
	}
	return applied, err
}

// MaintenanceStatus records the agent's progress on a machine's node operation (Palette's
// agent-facing PUT …/machines/{machineUid}/maintenance/status, v1.MachineMaintenanceStatus); each
// step is an event.
func (s *Service) MaintenanceStatus(ctx context.Context, rec store.Record, cloudType, pool, machineUID string, body []byte) error {
	var in v1.MachineMaintenanceStatus
	if err := service.DecodeJSON(body, &in); err != nil {
		return err
	}
	switch {
	case in.Action != v1.MaintenanceCordon && in.Action != v1.MaintenanceUncordon:
		return service.Invalid("action %q must be %s or %s", in.Action, v1.MaintenanceCordon, v1.MaintenanceUncordon)
	case in.State != v1.MaintenanceInitiated && in.State != v1.MaintenanceCompleted && in.State != v1.MaintenanceFailed:
		return service.Invalid("state %q must be %s, %s or %s", in.State, v1.MaintenanceInitiated, v1.MaintenanceCompleted, v1.MaintenanceFailed)
	case len(in.Message) > 4096 || len(in.BlockedBy) > 512:
		return service.Invalid("message is at most 4096 characters and blockedBy 512")
	}
	if rec.Category != cloudType {
		return service.NotFound("cloud config", rec.AltUID)
	}
	now := s.clock.Now()
	deleting := false
	err := s.records.TxRetrying(ctx, func(q store.Queries) error {
		var reason, severity, message string
		err := updateClusterStatus(ctx, q, rec.UID, func(cl *cluster.Cluster) error {
			m, ok := cl.FindMachine(machineUID)
			if !ok || m.Pool != pool {
				return service.NotFound("machine", machineUID)
			}
			reason, severity, message = cl.RecordMaintenance(m, in, now)
			deleting = m.Deleting()
			return nil
		})
		if err != nil || reason == "" {
			return err
		}
		return s.records.Event(ctx, q, &rec, severity, reason, message)
	})
	if err == nil && deleting {
		s.notify(rec.UID) // the engine deletes the machine once its node is drained
	}
	return err
}
