// Package client is a small typed client of easel's /v1 API (the Palette v1 REST API as the hub
// serves it). The easel CLI is its first user; it speaks the wire types of api/v1 unchanged.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds every request unless WithHTTPClient or WithTimeout says otherwise; the
// hub answers in milliseconds, so a minute only ever trips on a hung connection.
const DefaultTimeout = time.Minute

// maxResponseBytes caps what is read of an answer, so a misbehaving server cannot exhaust memory.
const maxResponseBytes = 64 << 20

// Client calls one hub as one identity, optionally in one project. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	apiKey    string
	token     string
	project   string
	http      *http.Client
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithProject scopes requests to a project (the ProjectUid header); empty means the tenant scope.
func WithProject(uid string) Option { return func(c *Client) { c.project = uid } }

// WithToken authenticates with a session token from Authenticate (the Authorization header)
// instead of an API key; an API key, when also given, wins.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient sends requests through hc (its Timeout applies).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithTLSConfig verifies the hub's certificate with cfg (hubtrust.Options.TLSConfig); nil keeps
// Go's defaults. It replaces the transport, so give it before WithHTTPClient, not with it.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(c *Client) {
		if cfg == nil {
			return
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = cfg
		hc := *c.http
		hc.Transport = t
		c.http = &hc
	}
}

// WithTimeout bounds each request; zero means no bound beyond the context's.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		hc := *c.http
		hc.Timeout = d
		c.http = &hc
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the hub at hubURL (e.g. http://127.0.0.1:8080) that authenticates with
// apiKey (the ApiKey header); apiKey may be empty for Authenticate or with WithToken.
func New(hubURL, apiKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(hubURL), "/"))
	if err != nil {
		return nil, fmt.Errorf("hub URL %q: %w", hubURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("hub URL %q must be http:// or https:// and name a host, e.g. http://127.0.0.1:8080", hubURL)
	}
	c := &Client{base: u, apiKey: apiKey, http: &http.Client{Timeout: DefaultTimeout}, userAgent: "easel-cli"}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// HubURL is the hub this client calls.
func (c *Client) HubURL() string { return c.base.String() }

// Project is the project uid requests are scoped to ("" for the tenant scope).
func (c *Client) Project() string { return c.project }

// InProject returns a copy of c scoped to the project uid ("" for the tenant scope).
func (c *Client) InProject(uid string) *Client {
	cp := *c
	cp.project = uid
	return &cp
}

// do sends one request and decodes a JSON answer into out (when out is not nil). Any answer
// other than 2xx is an *APIError.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	_, err := c.exchange(ctx, method, path, query, nil, in, out)
	return err
}

// exchange is do with headers: it sends header with the request and returns the answer's.
func (c *Client) exchange(ctx context.Context, method, path string, query url.Values, header http.Header, in, out any) (http.Header, error) {
	resp, err := c.send(ctx, method, path, query, header, in)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, newAPIError(resp.StatusCode, data)
	}
	if out == nil {
		return resp.Header, nil
	}
	if raw, ok := out.(*[]byte); ok { // a download, not JSON
		*raw = data
		return resp.Header, nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s %s: the hub answered %d with an empty body; expected JSON", method, path, resp.StatusCode)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return nil, fmt.Errorf("decoding the answer of %s %s: %w", method, path, err)
	}
	return resp.Header, nil
}

// stream GETs a download and copies it to w as it arrives (a log bundle may be larger than
// what do reads of an answer), returning how many bytes it wrote.
func (c *Client) stream(ctx context.Context, path string, query url.Values, w io.Writer) (int64, error) {
	resp, err := c.send(ctx, "GET", path, query, nil, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
		return 0, newAPIError(resp.StatusCode, data)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("downloading %s: %w", path, err)
	}
	return n, nil
}

// send sends one request with the client's credentials and scope, and header; the caller closes
// the answer's body.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, header http.Header, in any) (*http.Response, error) {
	// path is already escaped (uidPath), so it is appended rather than set as URL.Path.
	target := c.base.String() + path
	if q := query.Encode(); q != "" {
		target += "?" + q
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encoding the request to %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, fmt.Errorf("building the request %s %s: %w", method, path, err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.apiKey != "":
		req.Header.Set("ApiKey", c.apiKey)
	case c.token != "":
		req.Header.Set("Authorization", c.token)
	}
	if c.project != "" {
		req.Header.Set("ProjectUid", c.project)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("calling the hub at %s: %w", c.base, err)
	}
	return resp, nil
}

// uidPath joins path segments, escaping each, onto a prefix.
func uidPath(prefix string, segments ...string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// errEmptyUID guards methods that would otherwise call a collection path with an empty uid.
var errEmptyUID = errors.New("uid is empty")
