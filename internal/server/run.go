// Package server is easel's composition root: it builds the store, the API, the providers, the
// cluster controller and its engine, wires them through their constructors and serves until told
// to stop. Nothing else knows every part.
package server

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

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/atomicfile"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/console"
	"github.com/easelhq/easel/internal/controllers/cluster"
	"github.com/easelhq/easel/internal/engine"
	"github.com/easelhq/easel/internal/hub"
	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/provider"
	"github.com/easelhq/easel/internal/provider/generic"
	"github.com/easelhq/easel/internal/provider/local"
	clustersvc "github.com/easelhq/easel/internal/service/clusters"
	"github.com/easelhq/easel/internal/service/identity"
	profilesvc "github.com/easelhq/easel/internal/service/profiles"
	projectsvc "github.com/easelhq/easel/internal/service/projects"
	"github.com/easelhq/easel/internal/service/reports"
	"github.com/easelhq/easel/internal/service/troubleshooting"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/transport"
	"github.com/easelhq/easel/internal/wakeup"
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
	// AgentReportTurns is how many agent reports the hub applies at once; the others wait their
	// turn (default 2 per CPU).
	AgentReportTurns int
	// Resync is how often every cluster is reconciled again (default 10m): reconciles are woken by
	// changes and by their own deadlines; the resync only catches a lost wake-up.
	Resync time.Duration
	// AgentBinary is the easel binary that runs local clusters' agents (default: this executable).
	AgentBinary string
	// AgentHeartbeat is how often local clusters' agents send heartbeats (default 30s).
	AgentHeartbeat time.Duration
	// PublicURL is where agents of imported clusters reach the hub (default http(s)://<listen address>).
	PublicURL string
	// ReplicaURL is where the other hub replicas on the same PostgreSQL reach this one — to fetch a
	// log bundle it holds — and, without PublicURL, where agents do (default http(s)://<listen
	// address>, this machine's hostname when listening on every address). Behind a load balancer,
	// PublicURL is the balancer's and ReplicaURL this replica's own.
	ReplicaURL string
	// TLS is TLSAuto (the default when empty), TLSOn or TLSOff.
	TLS string
	// TLSCertFile and TLSKeyFile are the hub's certificate (PEM, the chain after the leaf) and
	// key; without them a TLS hub serves a self-signed certificate kept under DataDir.
	TLSCertFile, TLSKeyFile string
	// TLSCAFile is a PEM bundle that agents of imported clusters verify the hub with (written into
	// import manifests); without it they pin the self-signed certificate, or use their system roots.
	TLSCAFile string
	// DrainTimeout bounds how long an agent keeps trying to drain a node (default 15m).
	DrainTimeout time.Duration
	// HeartbeatTimeout is how long without a heartbeat makes a cluster unhealthy (default 10m).
	HeartbeatTimeout time.Duration
	// Lease is how long a hub replica on PostgreSQL keeps its clusters without renewing its
	// session (default 10s): a replica that dies loses them to its peers after this long.
	Lease time.Duration
	// HostGoneAfter is how long a replica may be gone before its local clusters say so in their
	// conditions (another replica observes them; default 2m).
	HostGoneAfter time.Duration
	// ProfilingListen, if set, is a loopback address to serve Go's runtime profiles on
	// (net/http/pprof, no sign-in; profiling.go).
	ProfilingListen string
}

// kubeconfigs reads kubeconfigs through the providers that built the clusters.
type kubeconfigs map[string]provider.Provider

func (k kubeconfigs) Kubeconfig(ctx context.Context, clusterUID, name string, cl clusters.Cluster) ([]byte, error) {
	prov, ok := k[cl.CloudType]
	if !ok {
		return nil, fmt.Errorf("%w: no provider for cloud type %q", clustersvc.ErrNoKubeconfigs, cl.CloudType)
	}
	data, err := prov.Kubeconfig(ctx, provider.Cluster{UID: clusterUID, Name: name, Spec: cl})
	if errors.Is(err, generic.ErrNoKubeconfig) {
		return nil, fmt.Errorf("%w: %w", clustersvc.ErrNoKubeconfigs, err)
	}
	return data, err
}

// clusterLogs gives the log bundles what the providers that run clusters' processes hold of their
// logs.
type clusterLogs map[string]provider.Provider

func (p clusterLogs) ClusterLogs(ctx context.Context, clusterUID, name string, cl clusters.Cluster, req v1.LogFetcherRequest, add func(string, io.Reader) error) error {
	if lr, ok := p[cl.CloudType].(provider.LogReporter); ok {
		return lr.Logs(ctx, provider.Cluster{UID: clusterUID, Name: name, Spec: cl}, req, add)
	}
	return nil
}

// Run opens the store, bootstraps an empty one, and serves until ctx ends, then shuts down
// gracefully (in-flight requests get ten seconds).
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := checkProfilingListen(cfg.ProfilingListen); err != nil {
		return err
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
	// One hub per data dir, whatever the store: the data dir holds local clusters' processes.
	dirLock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer dirLock.Close()
	catalog, err := packs.Builtin()
	if err != nil {
		return fmt.Errorf("loading the built-in pack catalog: %w", err)
	}
	serving, err := prepareTLS(cfg)
	if err != nil {
		return err
	}
	trust, err := agentTrust(serving, cfg.TLSCAFile)
	if err != nil {
		return err
	}
	var secrets initialSecrets
	boot, err := identity.BootstrapWith(ctx, st, cfg.AdminAPIKey, func(b *identity.Bootstrapped) (err error) {
		secrets, err = writeInitialSecrets(cfg.DataDir, b, cfg.AdminAPIKey != "")
		return err
	})
	if err != nil {
		return fmt.Errorf("bootstrapping the store: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	defer ln.Close() // on an early return; Serve's shutdown closes it otherwise
	if cfg.ProfilingListen != "" {
		stopProfiles, err := serveProfiles(cfg.ProfilingListen, log)
		if err != nil {
			return err
		}
		defer stopProfiles()
	}
	addr := ln.Addr().String()
	scheme := "http://"
	if serving != nil {
		scheme = "https://"
		log.Info("Serving TLS", "certificate", serving.certFile, "selfSigned", serving.selfSigned,
			"fingerprint", serving.fingerprint)
	}
	if cfg.Out != nil {
		if serving != nil && serving.generated && boot == nil {
			printGeneratedCertificate(cfg.Out, scheme+addr, serving)
		}
		if boot != nil {
			printWelcome(cfg.Out, scheme+addr, boot, secrets, serving)
		} else {
			fmt.Fprintf(cfg.Out, "easel is ready: the console is at %s/, the API at %s/v1/…\n", scheme+addr, scheme+addr)
		}
	}
	_, noBinaries := k8sbin.Find()
	if noBinaries != nil {
		log.Warn("Local clusters cannot be provisioned until the Kubernetes binaries are built", "err", noBinaries)
	}
	if cfg.LocalVCPULimit <= 0 {
		cfg.LocalVCPULimit = 16 * runtime.NumCPU()
	}
	if cfg.AgentBinary == "" {
		if cfg.AgentBinary, err = os.Executable(); err != nil {
			return fmt.Errorf("finding the easel binary to run agents with: %w", err)
		}
	}
	// With several hubs and no one URL in front of them (a load balancer's, --public-url),
	// import manifests list every live replica.
	listReplicas := cfg.PublicURL == ""
	if cfg.PublicURL == "" {
		cfg.PublicURL = scheme + addr
	}
	if cfg.ReplicaURL == "" {
		cfg.ReplicaURL = scheme + reachableAddress(addr)
	}
	localProvider := &local.Provider{Root: filepath.Join(cfg.DataDir, "clusters"), VCPULimit: cfg.LocalVCPULimit,
		Binaries: k8sbin.Find, Log: log, HubURL: scheme + addr, AgentBinary: cfg.AgentBinary, HeartbeatInterval: cfg.AgentHeartbeat}
	if serving != nil {
		// The agents beside their control planes dial this machine's address, which a certificate
		// of the operator's may not name: they pin what the hub serves, whatever its kind.
		localProvider.HubFingerprint = serving.fingerprint
	}
	providers := map[string]provider.Provider{v1.CloudTypeLocal: localProvider, v1.CloudTypeGeneric: generic.Provider{}}
	registry := prometheus.NewRegistry()
	waiters := &wakeup.Waiters{}
	controller := &cluster.Controller{Store: st, Providers: providers, Clock: clock.RealClock{}, Log: log,
		HeartbeatTimeout: cfg.HeartbeatTimeout, DrainTimeout: cfg.DrainTimeout, NodesChanged: waiters.Wake}
	listClusters := func(ctx context.Context) ([]string, error) { return st.ListUIDs(ctx, clusters.Kind) }
	var eng *engine.Engine
	enqueue := func(uid string) { eng.Enqueue(uid) }
	notify := enqueue
	var repl *replication // several hubs share a PostgreSQL store: each reconciles the clusters it leases
	if st.Dialect() == "postgres" {
		if repl, err = startReplication(ctx, cfg, st, log, registry, noBinaries == nil, selfSignedPin(serving), waiters, enqueue); err != nil {
			return err
		}
		controller.Leases, listClusters, notify = repl.rep, repl.rep.Held, repl.notify
	}
	eng = engine.New(controller, engine.Options{Name: "cluster", Workers: cfg.ReconcileWorkers, Resync: cfg.Resync,
		List: listClusters, Logger: log, Registerer: registry})
	engineDone, replicaDone := make(chan struct{}), make(chan struct{})
	engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	replicaCtx, stopReplica := context.WithCancel(context.WithoutCancel(ctx))
	go func() { eng.Run(engineCtx); close(engineDone) }()
	go func() {
		if repl != nil {
			repl.run(replicaCtx)
		}
		close(replicaDone)
	}()
	// The session ends once the engine has stopped: its leases are released when no reconcile
	// writes under them any more, and peers claim them at once.
	defer func() { stopEngine(); <-engineDone; stopReplica(); <-replicaDone }()
	var replicas func(context.Context) ([]string, []string, error)
	if repl != nil && listReplicas {
		replicas = repl.hubs
	}
	clusterService := clustersvc.New(st, catalog, clustersvc.Options{Notify: notify, Waiters: waiters,
		Kubeconfigs: kubeconfigs(providers), PublicURL: cfg.PublicURL, AgentTrust: trust, Replicas: replicas})
	agentService := reports.New(st, catalog, reports.Options{Notify: notify, Waiters: waiters, Registerer: registry,
		Logger: log, DrainTimeout: cfg.DrainTimeout})
	bundles := troubleshooting.Options{Waiters: waiters, Logger: log,
		BlobDir: filepath.Join(cfg.DataDir, "blobs", "logs"), ClusterLogs: clusterLogs(providers)}
	if repl != nil { // a bundle's record says which replica's data dir holds it
		bundles.HostID, bundles.Replica = repl.hostID, repl.name
	}
	troubleshootingService, err := troubleshooting.New(st, bundles)
	if err != nil {
		return err
	}
	// Downloads of a bundle another replica holds go on to it, trusted as agents trust the hub.
	forwarder := &transport.Forwarder{CAFile: cfg.TLSCAFile}
	go troubleshootingService.Run(engineCtx)
	identityService, projectService := identity.New(st, clock.RealClock{}), projectsvc.New(st, clock.RealClock{})
	profileService := profilesvc.New(st, catalog, clock.RealClock{})
	pages, err := console.New(console.Options{Identity: identityService, Clusters: clusterService, Projects: projectService,
		Profiles: profileService, Troubleshooting: troubleshootingService, Forwarder: forwarder, Logger: log, Secure: serving != nil})
	if err != nil {
		return err
	}
	api := hub.New(st, catalog, hub.Options{Logger: log, Notify: notify, Waiters: waiters, Registry: registry,
		Clusters: clusterService, Identity: identityService, Reports: agentService,
		Profiles: profileService, Projects: projectService,
		Troubleshooting: troubleshootingService, Forwarder: forwarder, Console: pages, AgentReportTurns: cfg.AgentReportTurns})

	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		HTTP2:             hub.HTTP2(),
		// The server's own messages are mostly TLS handshakes that clients refused (a wrong pin):
		// the client says why, so they are debug noise here.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	if serving != nil {
		srv.TLSConfig = serving.config
	}
	srv.RegisterOnShutdown(api.Stopping)
	log.Info("Serving the easel hub", "address", scheme+addr, "store", st.Dialect())
	errc := make(chan error, 1)
	go func() {
		if serving == nil {
			errc <- srv.Serve(ln)
			return
		}
		errc <- srv.ServeTLS(ln, "", "")
	}()
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

// Files the first start writes the admin's secrets to, under the data dir, readable by the hub's
// user only: secrets printed to stdout end up in terminal scrollback, CI logs and journald.
const (
	InitialPasswordFile = "initial-admin-password"
	InitialAPIKeyFile   = "initial-admin-api-key"
)

// initialSecrets are the files the first start wrote ("" for a secret it did not write).
type initialSecrets struct {
	passwordFile, apiKeyFile string
}

// writeInitialSecrets writes the first start's password, and its API key unless the operator gave
// it (EASEL_ADMIN_API_KEY), each to a 0600 file holding the secret and a newline.
func writeInitialSecrets(dataDir string, b *identity.Bootstrapped, keyFromEnv bool) (initialSecrets, error) {
	var out initialSecrets
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return out, fmt.Errorf("creating the data directory: %w", err)
	}
	out.passwordFile = filepath.Join(dataDir, InitialPasswordFile)
	if err := atomicfile.Write(out.passwordFile, []byte(b.AdminPassword+"\n"), 0o600); err != nil {
		return out, fmt.Errorf("writing the initial admin password: %w", err)
	}
	if keyFromEnv {
		return out, nil
	}
	out.apiKeyFile = filepath.Join(dataDir, InitialAPIKeyFile)
	if err := atomicfile.Write(out.apiKeyFile, []byte(b.APIKey+"\n"), 0o600); err != nil {
		return out, fmt.Errorf("writing the initial admin API key: %w", err)
	}
	return out, nil
}

// agentTrust is what import manifests tell agents to trust the hub with: the operator's CA
// bundle if given, else the pin of a self-signed certificate, else nothing (their system roots).
func agentTrust(serving *servingTLS, caFile string) (clustersvc.AgentTrust, error) {
	switch {
	case caFile != "":
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return clustersvc.AgentTrust{}, fmt.Errorf("reading --tls-ca-file: %w", err)
		}
		return clustersvc.AgentTrust{CAPEM: string(pem)}, nil
	}
	return clustersvc.AgentTrust{Fingerprint: selfSignedPin(serving)}, nil
}

// trustFlag is the CLI flag that makes a client trust the hub, for the printed commands.
func trustFlag(serving *servingTLS) string {
	if serving == nil || !serving.selfSigned {
		return "" // plain HTTP, or a certificate the operator's clients already trust
	}
	return " --hub-fingerprint " + serving.fingerprint
}

func printGeneratedCertificate(out io.Writer, url string, serving *servingTLS) {
	fmt.Fprintf(out, `
easel now serves %[1]s with a self-signed certificate it generated (%[2]s).
Its fingerprint, which clients pin:  %[3]s
Log the CLI in with:  easel login --hub %[1]s --hub-fingerprint %[3]s …

`, url, serving.certFile, serving.fingerprint)
}

func printWelcome(out io.Writer, url string, b *identity.Bootstrapped, secrets initialSecrets, serving *servingTLS) {
	key, keyArg := "in "+secrets.apiKeyFile, `"$(cat `+secrets.apiKeyFile+`)"`
	if secrets.apiKeyFile == "" {
		key, keyArg = "$EASEL_ADMIN_API_KEY", `"$EASEL_ADMIN_API_KEY"`
	}
	tlsLine := ""
	if serving != nil && serving.selfSigned {
		tlsLine = fmt.Sprintf("  TLS            self-signed certificate %s\n                 fingerprint %s (clients pin it)\n",
			serving.certFile, serving.fingerprint)
	}
	fmt.Fprintf(out, `
easel is ready at %[1]s — this is its first start, so it created:
  tenant admin   %[2]s  password in %[3]s
  API key        %[4]s
  project        %[5]s (%[6]s)
%[7]sThe password and key files are readable by you only; only the secrets' hashes are stored.
Keep them somewhere safe and delete the files.

Open the console: %[1]s/  (sign in as %[2]s with the password in %[3]s)
Log the CLI in:   easel login --hub %[1]s%[8]s --api-key %[9]s
Then try:         easel profile apply -f examples/profile.yaml --publish
                  easel cluster create -f examples/cluster.yaml
                  easel cluster list
API:              %[1]s/v1/…  (ApiKey header, ProjectUid header for a project)
Health, metrics:  %[1]s/healthz  %[1]s/metrics

`, url, b.AdminEmail, secrets.passwordFile, key, identity.DefaultProject, b.DefaultProjectUID, tlsLine, trustFlag(serving), keyArg)
}
