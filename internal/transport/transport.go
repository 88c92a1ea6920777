// Package transport is what the two HTTP transports over the services — the API (internal/hub)
// and the console (internal/console) — do alike: answer a service's refusal with the same status,
// know the client's address the same way (the login throttle counts by it), and serve a log
// bundle the same way, sent on to the hub replica that holds it if need be (forward.go).
package transport

import (
	"io"
	"net"
	"net/http"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
)

var byKind = map[service.Kind]struct {
	status int
	code   string
}{
	service.KindInvalid:         {http.StatusBadRequest, "InvalidArgument"},
	service.KindUnauthorized:    {http.StatusUnauthorized, "Unauthorized"},
	service.KindForbidden:       {http.StatusForbidden, "Forbidden"},
	service.KindNotFound:        {http.StatusNotFound, "ResourceNotFound"},
	service.KindConflict:        {http.StatusConflict, "Conflict"},
	service.KindTooManyRequests: {http.StatusTooManyRequests, "TooManyRequests"},
	service.KindNotImplemented:  {http.StatusNotImplemented, "NotImplemented"},
	service.KindTooLarge:        {http.StatusRequestEntityTooLarge, "RequestEntityTooLarge"},
	service.KindUnavailable:     {http.StatusServiceUnavailable, "ServiceUnavailable"},
}

// Status is the HTTP status and Palette error code of a kind of refusal; ok is false for 0 (a
// failure, not a refusal: the transport answers 500).
func Status(kind service.Kind) (status int, code string, ok bool) {
	s, ok := byKind[kind]
	return s.status, s.code, ok
}

// ClientAddress is the address a request came from, without its port.
func ClientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// serveLogBundle serves a ready log bundle as Palette does: application/octet-stream (its SDK
// refuses anything else), named spectro_logs.zip; ranges are served, so a cut download resumes.
func serveLogBundle(w http.ResponseWriter, r *http.Request, modTime time.Time, content io.ReadSeeker) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+v1.LogBundleFileName+`"`)
	http.ServeContent(w, r, v1.LogBundleFileName, modTime, content)
}
