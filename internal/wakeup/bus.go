package wakeup

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/easelhq/easel/internal/store"
)

// The channels hub replicas wake each other on; each payload is a comma-separated list of
// cluster uids.
const (
	// ChannelReconcile: a cluster's desired state changed, or a report the engine acts on arrived.
	ChannelReconcile = "easel_reconcile"
	// ChannelAgent: a cluster's desired state, node operations or requests changed (Waiters.Wake).
	ChannelAgent = "easel_agent"
	// ChannelLeases: a replica released leases or stopped; the others claim now.
	ChannelLeases = "easel_leases"
)

// batchWindow is how long the bus gathers what is published before it sends: one notification
// per channel for a burst.
const batchWindow = 10 * time.Millisecond

// Transport sends and receives notifications (the PostgreSQL store).
type Transport interface {
	Notify(ctx context.Context, channel, payload string) error
	Listen(ctx context.Context, l store.Listener) error
}

// Bus carries wake-ups between the hub replicas on one PostgreSQL (LISTEN/NOTIFY): what one
// replica publishes reaches the handlers of every replica, its own included (a session receives
// its own notifications), after the sender's write committed. A notification can be lost (a
// replica that dies between its commit and the send, a listener reconnecting); the resync and
// the re-read on every (re)connection repair it.
type Bus struct {
	t         Transport
	log       *slog.Logger
	handlers  map[string]func(clusterUID string)
	connected func()

	mu      sync.Mutex
	pending map[string]map[string]struct{} // channel → uids to send
	kick    chan struct{}

	sent, received *prometheus.CounterVec
	reconnects     prometheus.Counter
}

// NewBus returns a bus over t; register its handlers with Handle and OnConnect, then Run it.
func NewBus(t Transport, log *slog.Logger, reg prometheus.Registerer) *Bus {
	b := &Bus{t: t, log: log, handlers: map[string]func(string){}, pending: map[string]map[string]struct{}{},
		kick: make(chan struct{}, 1), connected: func() {},
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "easel_notify_sent_total",
			Help: "Notifications this hub replica sent to the others, by channel."}, []string{"channel"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "easel_notify_received_total",
			Help: "Notifications this hub replica received, its own included, by channel."}, []string{"channel"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{Name: "easel_listen_reconnects_total",
			Help: "Times the replica's listener connected again after its connection failed."}),
	}
	if reg != nil {
		reg.MustRegister(b.sent, b.received, b.reconnects)
	}
	return b
}

// Handle calls fn with each cluster uid received on channel.
func (b *Bus) Handle(channel string, fn func(clusterUID string)) { b.handlers[channel] = fn }

// OnConnect calls fn each time the bus listens again, after a lost connection too: what was
// published meanwhile is lost, so fn treats everything as changed.
func (b *Bus) OnConnect(fn func()) { b.connected = fn }

// Publish sends clusterUID on channel to every replica, soon (what is published within a few
// milliseconds goes in one notification). It never blocks.
func (b *Bus) Publish(channel, clusterUID string) {
	b.mu.Lock()
	if b.pending[channel] == nil {
		b.pending[channel] = map[string]struct{}{}
	}
	b.pending[channel][clusterUID] = struct{}{}
	b.mu.Unlock()
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// Run listens and sends until ctx ends.
func (b *Bus) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		first := true
		b.t.Listen(ctx, store.Listener{
			Channels: []string{ChannelReconcile, ChannelAgent, ChannelLeases},
			Connected: func() {
				if !first {
					b.reconnects.Inc()
					b.log.Info("Listening to the other hub replicas again; everything is looked at again")
				}
				first = false
				b.connected()
			},
			Received: b.deliver,
			Failed: func(err error) {
				b.log.Warn("Listening to the other hub replicas failed; connecting again", "err", err)
			},
		})
	}()
	for {
		select {
		case <-ctx.Done():
			b.flush(context.WithoutCancel(ctx)) // what was published last, e.g. a stopping replica's release
			wg.Wait()
			return
		case <-b.kick:
		}
		select { // gather the burst
		case <-ctx.Done():
		case <-time.After(batchWindow):
		}
		b.flush(context.WithoutCancel(ctx))
	}
}

func (b *Bus) deliver(channel, payload string) {
	b.received.WithLabelValues(channel).Inc()
	fn := b.handlers[channel]
	if fn == nil {
		return
	}
	for _, uid := range strings.Split(payload, ",") {
		fn(uid)
	}
}

// flush sends what is pending, one notification per channel and per payload's worth of uids.
func (b *Bus) flush(ctx context.Context) {
	b.mu.Lock()
	pending := b.pending
	b.pending = map[string]map[string]struct{}{}
	b.mu.Unlock()
	for channel, uids := range pending {
		var payload strings.Builder
		send := func() {
			if err := b.t.Notify(ctx, channel, payload.String()); err != nil {
				b.log.Warn("Notifying the other hub replicas failed; their resync catches up", "channel", channel, "err", err)
				return
			}
			b.sent.WithLabelValues(channel).Inc()
		}
		n := 0
		for uid := range uids {
			if n > 0 && payload.Len()+1+len(uid) > store.MaxNotifyPayload {
				send()
				payload.Reset()
				n = 0
			}
			if n > 0 {
				payload.WriteByte(',')
			}
			payload.WriteString(uid)
			n++
		}
		send()
	}
}
