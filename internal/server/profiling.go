package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// Go's runtime profiles of the hub (CPU, heap, goroutines, allocations, blocking, mutexes and
// execution traces, as net/http/pprof serves them) are served on a listener of their own when the
// operator names an address (--profiling-listen): where a large fleet's hub spends its CPU and
// memory is read from them (docs/scaling.md). They need no sign-in, so the address must be a
// loopback one; from another machine they are reached through an SSH tunnel. The command line,
// which may carry a store URL's password, is not among them.

// maxProfileWrite bounds how long one profiling request may take: a CPU profile or a trace of a
// longer ?seconds= is refused.
const maxProfileWrite = 10 * time.Minute

// checkProfilingListen refuses an address other machines could reach; "" (not served) is fine.
func checkProfilingListen(addr string) error {
	if addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("--profiling-listen %q: %w", addr, err)
	}
	if !loopbackOnly(addr) {
		return fmt.Errorf("--profiling-listen %q: the profiles need no sign-in, so they are served on a loopback address only "+
			"(such as 127.0.0.1:6060); from another machine, reach them through an SSH tunnel", addr)
	}
	return nil
}

// profilingHandler serves the profiles under /debug/pprof/ (an index there); unknown names,
// cmdline among them, are 404.
func profilingHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// serveProfiles serves the profiles on addr (checked already) until stop is called.
func serveProfiles(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serving the runtime profiles: %w", err)
	}
	srv := &http.Server{Handler: profilingHandler(), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: maxProfileWrite,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("Serving the runtime profiles stopped", "error", err)
		}
	}()
	log.Info("Serving Go's runtime profiles", "address", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close() // a CPU profile being taken ends now
		}
		<-done
	}, nil
}
