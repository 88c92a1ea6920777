package hub

import (
	"context"
	"net/http"
	"strings"

	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/profiles"
	"github.com/easelhq/easel/internal/service"
	identitysvc "github.com/easelhq/easel/internal/service/identity"
)

// Kinds of stored objects.
const (
	kindProfile = profiles.Kind
	kindCluster = clusters.Kind
)

// authenticate finds the caller of a request from its ApiKey or Authorization header.
func (s *Server) authenticate(ctx context.Context, r *http.Request) (service.Caller, error) {
	return s.identity.Authenticate(ctx, credentials(r))
}

// credentials are what the request authenticates with.
func credentials(r *http.Request) identitysvc.Credentials {
	return identitysvc.Credentials{APIKey: r.Header.Get("ApiKey"), Bearer: strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")}
}

// clientAddress is the address a request came from: the connection's peer, never a header the
// client could set (a hub behind a proxy counts the proxy).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
