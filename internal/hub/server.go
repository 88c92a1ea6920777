// Package hub is easel's API server: the Palette v1 REST API over the store, with authentication,
// project scoping, RBAC, validation and the audit trail.
package hub

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/utils/clock"

	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/service"
	clustersvc "github.com/easelhq/easel/internal/service/clusters"
	identitysvc "github.com/easelhq/easel/internal/service/identity"
	profilesvc "github.com/easelhq/easel/internal/service/profiles"
	projectsvc "github.com/easelhq/easel/internal/service/projects"
	"github.com/easelhq/easel/internal/service/reports"
	"github.com/easelhq/easel/internal/service/troubleshooting"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/transport"
	"github.com/easelhq/easel/internal/uid"
	"github.com/easelhq/easel/internal/wakeup"
)

// Server serves the /v1 API, /healthz, /readyz and /metrics.
type Server struct {
	records         service.Records
	catalog         *packs.Catalog
	log             *slog.Logger
	clock           clock.PassiveClock
	clusters        *clustersvc.Service
	identity        *identitysvc.Service
	reports         *reports.Service
	profiles        *profilesvc.Service
	projects        *projectsvc.Service
	troubleshooting *troubleshooting.Service
	forwarder       *transport.Forwarder
	console         http.Handler
	// stopping is closed when the hub shuts down, so that long-polls end at once.
	stopping     chan struct{}
	stoppingOnce sync.Once

	// reportTurns bounds the agent reports applied at once (turns.go).
	reportTurns *turns

	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// Options configure a Server; zero values take defaults.
type Options struct {
	Logger *slog.Logger
	Clock  clock.PassiveClock
	// Notify wakes the engine for a cluster whose spec changed (default: nothing; the API then
	// only stores).
	Notify func(clusterUID string)
	// Waiters are the agents' long-polls, woken by the API's writes (default: the hub's own).
	Waiters *wakeup.Waiters
	// Clusters is the cluster service (default: one over st with this hub's clock, Notify and
	// Waiters, which reads no kubeconfig and writes no import manifest).
	Clusters *clustersvc.Service
	// Identity is the identity service (default: one over st with this hub's clock).
	Identity *identitysvc.Service
	// Reports is the agent service (default: one over st with this hub's clock, Notify, Waiters and
	// registry).
	Reports *reports.Service
	// Profiles and Projects are the profile and project services (default: over st with this
	// hub's catalog and clock).
	Profiles *profilesvc.Service
	Projects *projectsvc.Service
	// Console serves the web console's pages under / (default: none; / is then a 404).
	Console http.Handler
	// Troubleshooting is the log bundle and doctor service (default: none; those operations then
	// answer 501, as it needs a directory for the bundles).
	Troubleshooting *troubleshooting.Service
	// Forwarder sends a log bundle's download on to the hub replica that holds it (default: one
	// that trusts replicas by their pins and the system's roots).
	Forwarder *transport.Forwarder
	// Registry is where the hub's metrics go, served at /metrics with everything else registered
	// there (default: a registry of its own).
	Registry *prometheus.Registry
	// AgentReportTurns is how many agent reports are applied at once; the others wait their turn
	// (default DefaultAgentReportTurns per CPU).
	AgentReportTurns int
}

// New returns a Server over st and the built-in pack catalog.
func New(st store.Store, catalog *packs.Catalog, o Options) *Server {
	s := &Server{catalog: catalog, log: o.Logger, clock: o.Clock, registry: o.Registry,
		clusters: o.Clusters, identity: o.Identity, reports: o.Reports,
		profiles: o.Profiles, projects: o.Projects, troubleshooting: o.Troubleshooting, forwarder: o.Forwarder, console: o.Console}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	s.stopping = make(chan struct{})
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.clock == nil {
		s.clock = clock.RealClock{}
	}
	s.records = service.Records{Store: st, Clock: s.clock}
	if o.Waiters == nil {
		o.Waiters = &wakeup.Waiters{} // one set, so that the default services' wake-ups reach the long-polls
	}
	if s.reports == nil {
		s.reports = reports.New(st, catalog, reports.Options{Clock: s.clock, Notify: o.Notify, Waiters: o.Waiters,
			Registerer: s.registry, Logger: s.log})
	}
	if s.identity == nil {
		s.identity = identitysvc.New(st, s.clock)
	}
	if s.clusters == nil {
		s.clusters = clustersvc.New(st, catalog, clustersvc.Options{Clock: s.clock, Notify: o.Notify, Waiters: o.Waiters})
	}
	if s.profiles == nil {
		s.profiles = profilesvc.New(st, catalog, s.clock)
	}
	if s.projects == nil {
		s.projects = projectsvc.New(st, s.clock)
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "easel_http_requests_total", Help: "API requests by route and status code.",
	}, []string{"method", "route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "easel_http_request_duration_seconds", Help: "API request latency by route.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
	}, []string{"method", "route"})
	s.reportTurns = newTurns(o.AgentReportTurns, s.registry)
	s.registry.MustRegister(s.requests, s.latency,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return s
}

// Stopping ends the long-polls in flight: the hub is shutting down and their agents should come
// back later (to this hub or another replica).
func (s *Server) Stopping() { s.stoppingOnce.Do(func() { close(s.stopping) }) }

// call is what an API handler gets besides the request: who is calling in which scope (the
// ProjectUid header's project, already checked to exist and to be visible to the caller), and the
// permission its route needs.
type call struct {
	service.Call
	perm service.Permission
	// projectName is the name of the ProjectUid header's project (Call.Project), if any.
	projectName string
}

// authorize checks that the caller has the route's permission in projectUID, the project of the
// object the route acts on ("" for the tenant scope).
func (c *call) authorize(projectUID string) error { return c.Authorize(c.perm, projectUID) }

type handler func(w http.ResponseWriter, r *http.Request, c *call) error

// Route is one operation of the API and the permission it needs.
type Route struct {
	Pattern    string // method and path, as net/http patterns write them
	Permission string
}

// Routes lists every authenticated operation with its permission, in the order of routes.go.
func (s *Server) Routes() []Route {
	var out []Route
	s.routes(func(pattern string, perm service.Permission, _ handler) {
		out = append(out, Route{pattern, perm.String()})
	},
		func(pattern string, _ agentHandler) { out = append(out, Route{pattern, service.PermAgent.String()}) })
	return out
}

// Handler returns the HTTP handler of the whole API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("POST /v1/auth/authenticate", s.wrapPublic(s.authenticateHandler))
	s.routes(func(pattern string, perm service.Permission, h handler) { mux.HandleFunc(pattern, s.wrap(perm, h)) },
		func(pattern string, h agentHandler) { mux.HandleFunc(pattern, s.wrapAgent(h)) })
	mux.HandleFunc("/v1/", s.wrapPublic(func(w http.ResponseWriter, r *http.Request) error {
		// Echoed in part only: the answer must not grow with what the client made up.
		return &apiError{http.StatusNotFound, "ResourceNotFound", "no such API operation: " + truncate(r.Method, 16) + " " + truncate(r.URL.Path, 512)}
	}))
	if s.console != nil {
		mux.Handle("/", s.console)
	}
	return s.instrument(mux)
}

// methodLabel is the request's method as a metric label: the methods the API serves by name, any
// other one as "other", so that a client cannot grow the metrics with methods of its own making.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// instrument limits request bodies, recovers from panics and records metrics for every request.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r.Body = http.MaxBytesReader(w, r.Body, bodyLimit(r))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("Handler panicked", "method", methodLabel(r.Method), "path", r.URL.Path, "panic", v)
				writeError(sw, &apiError{http.StatusInternalServerError, "InternalError", "internal error"}, "")
			}
			route := r.Pattern // a registered pattern, or "": never the client's own path
			if route == "" {
				route = "unmatched"
			}
			method := methodLabel(r.Method)
			s.requests.WithLabelValues(method, route, strconv.Itoa(sw.status)).Inc()
			s.latency.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap authenticates, checks what can be checked before the handler reads the object (who is a
// user, who is a tenant admin), resolves the project scope and answers errors in Palette's shape.
// Project-scoped permissions are checked by the handler through call.authorize once it knows the
// object's project.
func (s *Server) wrap(perm service.Permission, h handler) http.HandlerFunc {
	return s.wrapPublic(func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.authenticate(r.Context(), r)
		if err != nil {
			return err
		}
		if p.ActorType == "agent" {
			return service.Forbidden("an agent token works only on its cluster's agent endpoints")
		}
		if perm == service.PermTenantAdmin && !p.TenantAdmin {
			return service.Forbidden("only a tenant admin may do this")
		}
		c := &call{Call: service.Call{Caller: p}, perm: perm}
		if project := r.Header.Get("ProjectUid"); project != "" {
			rec, err := s.projects.Get(r.Context(), &c.Call, project)
			if err != nil {
				return err
			}
			c.Project, c.projectName = project, rec.Name
		}
		return h(w, r, c)
	})
}

// agentHandler serves an agent-facing operation for the cluster the path names.
type agentHandler func(w http.ResponseWriter, r *http.Request, p service.Caller, rec store.Record) error

// wrapAgent lets only the agent of the path's cluster in; another cluster's token is 403 and an
// audit entry (a leaked or misconfigured token is worth an operator's attention).
func (s *Server) wrapAgent(h agentHandler) http.HandlerFunc {
	return s.wrapPublic(func(w http.ResponseWriter, r *http.Request) error {
		p, held, err := s.identity.AuthenticateHolder(r.Context(), credentials(r))
		if err != nil {
			return err
		}
		rec, err := s.reports.Agent(r.Context(), p, held, r.PathValue("uid"), r.PathValue("configUid"))
		if err != nil {
			return err
		}
		return h(w, r, p, rec)
	})
}

func (s *Server) wrapPublic(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil || r.Context().Err() != nil {
			return // done, or the client hung up and nobody reads the answer
		}
		ae, known := toAPIError(err)
		var refused *service.Error
		if errors.As(err, &refused) && refused.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(refused.RetryAfter.Round(time.Second).Seconds())))
		}
		ref := uid.New()
		if !known {
			s.log.Error("Request failed", "method", r.Method, "path", r.URL.Path, "ref", ref, "err", err)
		}
		writeError(w, ae, ref)
	}
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.identity.Ready(ctx); err != nil {
		http.Error(w, "store not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ok\n"))
}
