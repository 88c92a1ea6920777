package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// An agent may be given several hub URLs: the replicas of one hub on one PostgreSQL
// (docs/design/007-replicas.md, "Agents know every replica"). It sticks to one and moves to the
// next, wrapping around, when that one is not serving: no answer (the connection was refused or
// reset, the TLS handshake failed, the call timed out), a gateway's 502, 503 or 504, or a long-poll
// that failed twice in a row whatever the reason. A call that meets an unserving hub tries the
// next ones at once, each at most once, before its caller's backoff: the request had no
// acknowledgement, so sending it to another replica repeats nothing the hub acknowledged, and a
// paged report goes on from the page that failed, not from its first page.

// MaxHubURLs bounds how many hub URLs an agent takes: the replicas of one hub, not a fleet.
const MaxHubURLs = 16

// pollFailuresToSwitch is how many long-polls in a row may fail on one hub before the agent moves
// to the next: one failure may be the hub restarting its long-polls, two say it is not serving.
const pollFailuresToSwitch = 2

// ParseHubURLs checks the hub URLs an agent is given, each entry one URL or several separated by
// commas (how the environment carries a list; a single URL is a list of one): each must be an
// absolute http or https URL with a host, no user info (it would end up in the logs), no query
// nor fragment (the agent appends its paths). Empty entries are dropped; a URL listed twice, none,
// or more than MaxHubURLs is refused. The error names the URL at fault.
func ParseHubURLs(entries []string) ([]string, error) {
	var urls []string
	for _, e := range entries {
		for _, raw := range strings.Split(e, ",") {
			raw = strings.TrimSpace(raw)
			if raw == "" {
				continue
			}
			u, err := url.Parse(raw)
			switch {
			case err != nil:
				return nil, fmt.Errorf("hub URL %q: %w", raw, err)
			case u.Scheme != "http" && u.Scheme != "https":
				return nil, fmt.Errorf("hub URL %q must be an absolute http:// or https:// URL", raw)
			case u.Host == "":
				return nil, fmt.Errorf("hub URL %q has no host", raw)
			case u.User != nil:
				return nil, fmt.Errorf("hub URL %q must not carry user info: the agent authenticates with its token", u.Redacted())
			case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#"):
				return nil, fmt.Errorf("hub URL %q must have no query nor fragment: the agent appends its paths to it", raw)
			}
			base := strings.TrimSuffix(raw, "/")
			if slices.Contains(urls, base) {
				return nil, fmt.Errorf("hub URL %q is listed twice", raw)
			}
			urls = append(urls, base)
		}
	}
	switch {
	case len(urls) == 0:
		return nil, errors.New("the agent needs the hub URL")
	case len(urls) > MaxHubURLs:
		return nil, fmt.Errorf("%d hub URLs given; at most %d (MaxHubURLs)", len(urls), MaxHubURLs)
	}
	return urls, nil
}

// hubs is the agent's hub URLs and the one it calls now; the agent's loops share it.
type hubs struct {
	log  *slog.Logger
	urls []string // without a trailing slash

	mu           sync.Mutex
	cur          int
	pollFailures int // long-polls failed in a row on urls[cur]
}

func newHubs(urls []string, log *slog.Logger) *hubs { return &hubs{urls: urls, log: log} }

// current is the hub to call and its index, which the caller hands back with what happened.
func (h *hubs) current() (int, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur, h.urls[h.cur]
}

// leave moves from hub i to the next, unless the agent is on another hub already: calls that
// fail together on one hub move the agent once, not once each.
func (h *hubs) leave(i int, why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.leaveLocked(i, why)
}

func (h *hubs) leaveLocked(i int, why string) {
	if i != h.cur || len(h.urls) == 1 {
		return
	}
	h.cur, h.pollFailures = (i+1)%len(h.urls), 0
	h.log.Info("Switching hub", "from", h.urls[i], "to", h.urls[h.cur], "why", why)
}

// polled counts how a long-poll on hub i ended; the pollFailuresToSwitch-th failure in a row
// moves the agent to the next hub.
func (h *hubs) polled(i int, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case i != h.cur:
	case err == nil:
		h.pollFailures = 0
	default:
		if h.pollFailures++; h.pollFailures >= pollFailuresToSwitch {
			h.leaveLocked(i, fmt.Sprintf("the long-poll failed %d times in a row: %v", h.pollFailures, err))
		}
	}
}

// unserving says why a call's outcome shows its hub is not serving, "" when the hub answered.
// err is the transport's (no answer) when status is 0.
func unserving(status int, err error) string {
	switch {
	case status == 0 && err != nil:
		return "no answer: " + err.Error()
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		return fmt.Sprintf("it answered %d %s", status, http.StatusText(status))
	}
	return ""
}
