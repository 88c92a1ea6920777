package transport

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/easelhq/easel/internal/hubtrust"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/service/troubleshooting"
)

// ForwardedHeader marks a download one hub replica sent on to another. The replica that receives
// it serves the bundle from its own blob directory or says it is not found, and never sends it on
// again: a download crosses at most one hop, whatever the records say, and a client that sets the
// header gains nothing (it only loses the forwarding).
const ForwardedHeader = "X-Easel-Forwarded"

// forwardTimeout bounds reaching the other replica and its answer's headers, not the transfer
// (a bundle is up to v1.MaxLogBundleBytes).
const forwardTimeout = 15 * time.Second

// What a forwarded download carries: the caller's credentials (the API's headers, the console's
// session cookie), its project scope and its range; and what of the answer comes back.
var (
	forwardedRequestHeaders = []string{"Authorization", "ApiKey", "ProjectUid", "Cookie", "Range", "If-Range"}
	forwardedAnswerHeaders  = []string{"Content-Type", "Content-Disposition", "Content-Length", "Content-Range",
		"Accept-Ranges", "Last-Modified", "Retry-After", "Location"}
)

// Forwarder serves log bundle downloads on a hub of several replicas, where a bundle is a file in
// the data dir of the replica that made it (docs/design/007-replicas.md): a download that reaches
// another replica is sent on to that one, with the caller's credentials, and its answer streamed
// back. The replica that serves the file checks the caller again and audits the download; the
// forwarding one audits nothing. The zero Forwarder (and nil) verifies a replica's self-signed
// certificate by the pin of its session and any other with the system's roots.
type Forwarder struct {
	// CAFile, if set, verifies replicas that serve a certificate an operator's CA signed
	// (easel server --tls-ca-file) instead of the system's roots.
	CAFile string
}

// LogBundle answers a download with what troubleshooting.Service.Download returned: the bundle,
// the download sent on to the replica that holds it, or err.
func (f *Forwarder) LogBundle(w http.ResponseWriter, r *http.Request, b *troubleshooting.Bundle, err error) error {
	var away *troubleshooting.HeldElsewhere
	switch {
	case errors.As(err, &away):
		return f.forward(w, r, away)
	case err != nil:
		return err
	}
	defer b.File.Close()
	serveLogBundle(w, r, b.ModTime, b.File)
	return nil
}

// forward sends r on to the replica that holds the bundle and streams its answer back, whatever
// its status (the other replica's refusals are the caller's answer too).
func (f *Forwarder) forward(w http.ResponseWriter, r *http.Request, away *troubleshooting.HeldElsewhere) error {
	if r.Header.Get(ForwardedHeader) != "" {
		return &service.Error{Kind: service.KindNotFound, Message: fmt.Sprintf("log bundle file of request %s not found "+
			"on this hub replica (a download another replica sent here is not sent on again)", away.Request)}
	}
	to := away.Replica
	trust := hubtrust.Options{Fingerprint: to.Fingerprint}
	if f != nil && to.Fingerprint == "" {
		trust.CAFile = f.CAFile
	}
	tlsConfig, err := trust.TLSConfig()
	if err != nil {
		return fmt.Errorf("trusting hub replica %s: %w", to.Replica, err)
	}
	tr := &http.Transport{TLSClientConfig: tlsConfig, DialContext: (&net.Dialer{Timeout: forwardTimeout}).DialContext,
		TLSHandshakeTimeout: forwardTimeout, ResponseHeaderTimeout: forwardTimeout}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(r.Context(), r.Method, strings.TrimSuffix(to.URL, "/")+r.URL.RequestURI(), nil)
	if err != nil {
		return fmt.Errorf("sending the download of log bundle %s to hub replica %s at %q: %w", away.Request, to.Replica, to.URL, err)
	}
	for _, h := range forwardedRequestHeaders {
		for _, v := range r.Header.Values(h) {
			req.Header.Add(h, v)
		}
	}
	req.Header.Set(ForwardedHeader, "true")
	// The bytes as they are stored: Go's client would otherwise ask for gzip and drop the
	// answer's Content-Length while it decompresses.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return service.Unavailable("log bundle %s is kept by hub replica %s, which did not answer at %s (%v): try again "+
			"in a minute, once that replica runs again, or request a new bundle", away.Request, to.Replica, to.URL, err)
	}
	defer resp.Body.Close()
	for _, h := range forwardedAnswerHeaders {
		if v := resp.Header.Values(h); len(v) > 0 {
			w.Header()[http.CanonicalHeaderKey(h)] = v
		}
	}
	w.WriteHeader(resp.StatusCode)
	// A transfer cut off midway has nothing left to say it with: the caller sees fewer bytes than
	// Content-Length promised, as when http.ServeContent's copy fails.
	io.Copy(w, resp.Body)
	return nil
}
