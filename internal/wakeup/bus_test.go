package wakeup_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/testenv/metrics"
	"github.com/easelhq/easel/internal/testenv/pgtest"
	"github.com/easelhq/easel/internal/testenv/poll"
	"github.com/easelhq/easel/internal/wakeup"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// replicaBus is one replica's bus over its own store on the shared database, with what its
// handlers received.
type replicaBus struct {
	bus       *wakeup.Bus
	reg       *prometheus.Registry
	mu        sync.Mutex
	got       map[string]map[string]int // channel → uid → times
	connected int
}

func (r *replicaBus) received(channel string) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.got[channel] {
		out[k] = v
	}
	return out
}

func startBus(t *testing.T, dsn string) *replicaBus {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &replicaBus{reg: prometheus.NewRegistry(), got: map[string]map[string]int{}}
	r.bus = wakeup.NewBus(st, slog.Default(), r.reg)
	for _, ch := range []string{wakeup.ChannelReconcile, wakeup.ChannelAgent} {
		r.bus.Handle(ch, func(uid string) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.got[ch] == nil {
				r.got[ch] = map[string]int{}
			}
			r.got[ch][uid]++
		})
	}
	r.bus.OnConnect(func() { r.mu.Lock(); r.connected++; r.mu.Unlock() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.bus.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	poll.Eventually(t, 10*time.Second, "the bus to listen", func() error {
		r.mu.Lock()
		defer r.mu.Unlock()
		return poll.Unless(r.connected == 1, "connected %d times", r.connected)
	})
	return r
}

// What one replica publishes reaches every replica's handlers, its own included, on the channel
// it was published on; a burst goes in a few notifications, each under PostgreSQL's payload limit.
func TestBusCarriesWakeUpsToEveryReplica(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := startBus(t, dsn), startBus(t, dsn)
	a.bus.Publish(wakeup.ChannelAgent, "c1")
	for name, r := range map[string]*replicaBus{"a": a, "b": b} {
		poll.Eventually(t, 10*time.Second, name+" to receive the agent wake-up", func() error {
			got := r.received(wakeup.ChannelAgent)
			return poll.Unless(got["c1"] == 1, "received %v", got)
		})
	}
	if got := b.received(wakeup.ChannelReconcile); len(got) != 0 {
		t.Fatalf("b's reconcile handler received %v; want nothing (the wake-up was for the agents)", got)
	}

	const burst = 1000
	for i := range burst {
		b.bus.Publish(wakeup.ChannelReconcile, fmt.Sprintf("%024x", i))
	}
	poll.Eventually(t, 10*time.Second, "a to receive the burst", func() error {
		got := a.received(wakeup.ChannelReconcile)
		return poll.Unless(len(got) == burst, "%d of %d clusters", len(got), burst)
	})
	// 1,000 uids of 24 characters with commas are 25,000 bytes: at least 4 notifications of at
	// most 7,999 bytes, and far fewer than one per uid.
	if n := metrics.Counter(t, b.reg, "easel_notify_sent_total", "channel", wakeup.ChannelReconcile); n < 4 || n >= 100 {
		t.Fatalf("b sent the burst of %d in %v notifications; want at least 4 (the payload limit) and fewer than 100", burst, n)
	}
	if got := a.received(wakeup.ChannelReconcile); got[fmt.Sprintf("%024x", 7)] != 1 {
		t.Fatalf("a received cluster 7 %d times; want once", got[fmt.Sprintf("%024x", 7)])
	}
}

// A listener whose connection drops connects again and says so (what was sent meanwhile is lost:
// the replica re-reads everything), then receives again.
func TestBusListensAgainAfterItsConnectionDrops(t *testing.T) {
	dsn := pgtest.DSN(t)
	a := startBus(t, dsn)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var killed int
	if err := db.QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %'`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminating the listener's connection: %d terminated, %v; want 1", killed, err)
	}
	poll.Eventually(t, 30*time.Second, "the bus to listen again", func() error {
		a.mu.Lock()
		defer a.mu.Unlock()
		return poll.Unless(a.connected == 2, "connected %d times", a.connected)
	})
	a.bus.Publish(wakeup.ChannelAgent, "after")
	poll.Eventually(t, 10*time.Second, "a wake-up after the reconnection", func() error {
		return poll.Unless(a.received(wakeup.ChannelAgent)["after"] == 1, "received %v", a.received(wakeup.ChannelAgent))
	})
}
