// Package console is easel's web console (design 006): pages rendered on the server with
// html/template, over the same services as the API, so that it can do nothing the API would
// refuse. Parts of a page update themselves by polling a fragment (htmx); without JavaScript every
// page still renders and every form still posts. Nothing it serves loads anything from elsewhere.
package console

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"k8s.io/utils/clock"

	"github.com/easelhq/easel/internal/console/assets"
	"github.com/easelhq/easel/internal/service"
	clustersvc "github.com/easelhq/easel/internal/service/clusters"
	"github.com/easelhq/easel/internal/service/identity"
	profilesvc "github.com/easelhq/easel/internal/service/profiles"
	projectsvc "github.com/easelhq/easel/internal/service/projects"
	"github.com/easelhq/easel/internal/service/troubleshooting"
	"github.com/easelhq/easel/internal/transport"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Options are the console's dependencies: the services it calls.
type Options struct {
	Identity        *identity.Service
	Clusters        *clustersvc.Service
	Projects        *projectsvc.Service
	Profiles        *profilesvc.Service
	Troubleshooting *troubleshooting.Service
	// Forwarder sends a log bundle's download on to the hub replica that holds it (nil: one that
	// trusts replicas by their pins and the system's roots).
	Forwarder *transport.Forwarder
	Logger    *slog.Logger
	Clock     clock.PassiveClock
	// Secure marks the session cookie Secure: the hub serves TLS.
	Secure bool
}

// Console serves the pages.
type Console struct {
	o     Options
	pages map[string]*template.Template
	mux   *http.ServeMux
}

// New parses the templates and routes the pages.
func New(o Options) (*Console, error) {
	if o.Identity == nil || o.Clusters == nil || o.Projects == nil || o.Profiles == nil || o.Troubleshooting == nil {
		return nil, errors.New("the console needs the identity, cluster, project, profile and troubleshooting services")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	c := &Console{o: o, pages: map[string]*template.Template{}, mux: http.NewServeMux()}
	funcs := template.FuncMap{"age": func(t time.Time) string { return age(t, c.o.Clock.Now()) }, "percent": percent,
		"inc": func(n int) int { return n + 1 }, "dec": func(n int) int { return n - 1 }, "failed": failed}
	for _, page := range []string{"login", "clusters", "overview", "nodes", "settings", "create", "profiles", "profile", "audit", "apikeys", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("parsing the console's %s page: %w", page, err)
		}
		c.pages[page] = t
	}
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	vendor, err := fs.Sub(assets.Vendor, "vendor")
	if err != nil {
		return nil, err
	}
	c.mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(time.Hour, http.FileServerFS(static))))
	c.mux.Handle("GET /static/vendor/", http.StripPrefix("/static/vendor/", cacheFor(24*time.Hour, http.FileServerFS(vendor))))
	c.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/clusters", http.StatusSeeOther) })
	c.mux.HandleFunc("GET /login", c.loginPage)
	c.mux.HandleFunc("POST /login", c.login)
	c.mux.HandleFunc("POST /logout", c.page(c.logout))
	c.mux.HandleFunc("GET /clusters", c.page(c.clusters))
	c.mux.HandleFunc("GET /clusters/new", c.page(c.newCluster))
	c.mux.HandleFunc("POST /clusters/new", c.page(c.createCluster))
	c.mux.HandleFunc("GET /clusters/{uid}", c.page(c.overview))
	c.mux.HandleFunc("GET /clusters/{uid}/usage.json", c.page(c.usageJSON))
	c.mux.HandleFunc("GET /clusters/{uid}/nodes", c.page(c.nodes))
	c.mux.HandleFunc("GET /clusters/{uid}/pools/{pool}/machines/{machine}/maintenance", c.page(c.confirmMaintenance))
	c.mux.HandleFunc("POST /clusters/{uid}/pools/{pool}/machines/{machine}/maintenance", c.page(c.setMaintenance))
	c.mux.HandleFunc("POST /clusters/{uid}/nodes/doctor", c.page(c.runDoctor))
	c.mux.HandleFunc("GET /audit", c.page(c.audit))
	c.mux.HandleFunc("GET /apikeys", c.page(c.apiKeys))
	c.mux.HandleFunc("POST /apikeys", c.page(c.createAPIKey))
	c.mux.HandleFunc("POST /apikeys/{uid}/delete", c.page(c.deleteAPIKey))
	c.mux.HandleFunc("GET /profiles", c.page(c.profiles))
	c.mux.HandleFunc("POST /profiles", c.page(c.createProfile))
	c.mux.HandleFunc("GET /profiles/{uid}", c.page(c.profile))
	c.mux.HandleFunc("POST /profiles/{uid}/publish", c.page(c.publishProfile))
	c.mux.HandleFunc("GET /clusters/{uid}/settings", c.page(c.settings))
	c.mux.HandleFunc("POST /clusters/{uid}/settings/pools/{pool}", c.page(c.scalePool))
	c.mux.HandleFunc("POST /clusters/{uid}/settings/profiles/attach", c.page(c.attachProfile))
	c.mux.HandleFunc("POST /clusters/{uid}/settings/profiles/{profile}/upgrade", c.page(c.upgradeProfile))
	c.mux.HandleFunc("POST /clusters/{uid}/settings/profiles/{profile}/detach", c.page(c.detachProfile))
	c.mux.HandleFunc("POST /clusters/{uid}/settings/repave/approve", c.page(c.approveRepave))
	c.mux.HandleFunc("POST /clusters/{uid}/settings/certificates/renew", c.page(c.renewCertificates))
	c.mux.HandleFunc("POST /clusters/{uid}/settings/logs", c.page(c.requestLogs))
	c.mux.HandleFunc("GET /clusters/{uid}/logs/{request}/download", c.page(c.downloadLogs))
	c.mux.HandleFunc("POST /clusters/{uid}/settings/delete", c.page(c.deleteCluster))
	return c, nil
}

// ServeHTTP serves a page with the headers every page carries: nothing may load from elsewhere,
// nothing may frame it, no referrer leaves it.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	c.mux.ServeHTTP(w, r)
}

func cacheFor(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("private, max-age=%d", int(d.Seconds())))
		next.ServeHTTP(w, r)
	})
}

// render writes a page; fragment names a template of the page to render alone (an htmx request's
// part of the page), "" for the whole page.
func (c *Console) render(w http.ResponseWriter, status int, page, fragment string, data any) {
	t, ok := c.pages[page]
	name := "layout.html"
	if fragment != "" {
		name = fragment
	}
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, name, data); err != nil {
		c.o.Logger.Error("Rendering a console page failed", "page", page, "err", err)
	}
}

// age says how long ago t was, as a person reads it.
func age(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "-"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// percent is part of total as a whole percentage, "-" without a total.
func percent(part, total float64) string {
	if total <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*part/total)
}

// formInput is a form's values, gathered into the body the API's operation takes, as the service's
// input: the service validates it as it does the API's.
func formInput[T any](v T) service.Input {
	return func(into any) error {
		p, ok := into.(*T)
		if !ok {
			return fmt.Errorf("the console gave a %T where the service reads a %T", v, into)
		}
		*p = v
		return nil
	}
}
