package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"k8s.io/utils/clock"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/controllers/cluster"
	"github.com/easelhq/easel/internal/engine"
	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/provider"
	"github.com/easelhq/easel/internal/provider/generic"
	"github.com/easelhq/easel/internal/provider/local"
	"github.com/easelhq/easel/internal/store"
)

// Config is how `easel server` runs.
type Config struct {
	Listen  string // address to listen on, e.g. 127.0.0.1:8080
	DataDir string // where the SQLite store (and later blobs) live
	DB      string // store URL; empty means SQLite under DataDir
	// AdminAPIKey, if set, is the API key the first start gives the tenant admin.
	AdminAPIKey string
	// Out is where the first start prints how to log in.
	Out    io.Writer
	Logger *slog.Logger
	// Ready, if set, receives the listening address once the hub serves.
	Ready func(addr string)
	// LocalVCPULimit bounds the vCPUs of all local clusters' machines together (default 16 per host CPU).
	LocalVCPULimit int
	// ReconcileWorkers is how many clusters are reconciled at once (default 4).
	ReconcileWorkers int
	// Resync is how often every cluster is reconciled again (default 1m).
	Resync time.Duration
	// APIOnly serves the API without reconciling clusters: nothing is provisioned (used to measure
	// the API and the store alone).
	APIOnly bool
	// AgentBinary is the easel binary that runs local clusters' agents (default: this executable).
	AgentBinary string
	// AgentHeartbeat is how often local clusters' agents send heartbeats (default 30s).
	AgentHeartbeat time.Duration
	// PublicURL is where agents of imported clusters reach the hub (default http://<listen address>).
	PublicURL string
	// DrainTimeout bounds how long an agent keeps trying to drain a node (default 15m).
	DrainTimeout time.Duration
	// HeartbeatTimeout is how long without a heartbeat makes a cluster unhealthy (default 10m).
	HeartbeatTimeout time.Duration
}

// Run opens the store, bootstraps an empty one, and serves until ctx ends, then shuts down
// gracefully (in-flight requests get ten seconds).
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	url := cfg.DB
	if url == "" {
		url = filepath.Join(cfg.DataDir, "easel.db")
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	defer st.Close()
	catalog, err := packs.Builtin()
	if err != nil {
		return fmt.Errorf("loading the built-in pack catalog: %w", err)
	}
	boot, err := Bootstrap(ctx, st, cfg.AdminAPIKey)
	if err != nil {
		return fmt.Errorf("bootstrapping the store: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	defer ln.Close() // on an early return; Serve's shutdown closes it otherwise
	addr := ln.Addr().String()
	if boot != nil && cfg.Out != nil {
		printWelcome(cfg.Out, addr, boot, cfg.AdminAPIKey != "")
	}
	if _, err := k8sbin.Find(); err != nil {
		log.Warn("Local clusters cannot be provisioned until the Kubernetes binaries are built", "err", err)
	}
	if cfg.LocalVCPULimit <= 0 {
		cfg.LocalVCPULimit = 16 * runtime.NumCPU()
	}
	if cfg.AgentBinary == "" {
		if cfg.AgentBinary, err = os.Executable(); err != nil {
			return fmt.Errorf("finding the easel binary to run agents with: %w", err)
		}
	}
	localProvider := &local.Provider{Root: filepath.Join(cfg.DataDir, "clusters"), VCPULimit: cfg.LocalVCPULimit,
		Binaries: k8sbin.Find, Log: log, HubURL: "http://" + addr, AgentBinary: cfg.AgentBinary, HeartbeatInterval: cfg.AgentHeartbeat}
	providers := map[string]provider.Provider{v1.CloudTypeLocal: localProvider, generic.CloudType: generic.Provider{}}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + addr
	}
	controller := &cluster.Controller{Store: st, Providers: providers, Clock: clock.RealClock{}, Log: log,
		HeartbeatTimeout: cfg.HeartbeatTimeout, DrainTimeout: cfg.DrainTimeout}
	hub := New(st, catalog, Options{Logger: log, Providers: providers, PublicURL: cfg.PublicURL,
		DrainTimeout: cfg.DrainTimeout})
	eng := engine.New(controller, engine.Options{Name: "cluster", Workers: cfg.ReconcileWorkers, Resync: cfg.Resync,
		List:   func(ctx context.Context) ([]string, error) { return st.ListUIDs(ctx, kindCluster) },
		Logger: log, Registerer: hub.Registry()})
	if !cfg.APIOnly {
		hub.notify = eng.Enqueue
		controller.NodesChanged = hub.waiting.wake
		engineDone := make(chan struct{})
		engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
		go func() { eng.Run(engineCtx); close(engineDone) }()
		defer func() { stopEngine(); <-engineDone }()
	}

	srv := &http.Server{
		Handler:           hub.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	srv.RegisterOnShutdown(hub.Stopping)
	log.Info("Serving the easel hub", "address", "http://"+addr, "store", st.Dialect())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if cfg.Ready != nil {
		cfg.Ready(addr)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("Shutting down the easel hub")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

func printWelcome(out io.Writer, addr string, b *Bootstrapped, keyFromEnv bool) {
	key := b.APIKey
	if keyFromEnv {
		key = "$EASEL_ADMIN_API_KEY"
	}
	fmt.Fprintf(out, `
easel is ready at http://%[1]s — this is its first start, so it created:
  tenant admin   %[2]s  password: %[3]s
  API key        %[4]s
  project        %[5]s (%[6]s)
These secrets are shown once; only their hashes are stored.

Log the CLI in:   easel login --hub http://%[1]s --api-key "%[4]s"
Then try:         easel profile apply -f examples/profile.yaml --publish
                  easel cluster create -f examples/cluster.yaml
                  easel cluster list
API:              http://%[1]s/v1/…  (ApiKey header, ProjectUid header for a project)
Health, metrics:  http://%[1]s/healthz  http://%[1]s/metrics

`, addr, b.AdminEmail, b.AdminPassword, key, DefaultProject, b.DefaultProjectUID)
}
