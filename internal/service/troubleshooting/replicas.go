package troubleshooting

import (
	"context"
	"fmt"

	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// Log bundles with several hub replicas on one PostgreSQL (docs/design/007-replicas.md): a bundle
// is a file in the blob directory of the replica that made it, and its record says which one (the
// host id of that replica's data dir). A download that reaches another replica is sent on to it
// by the transport (transport.Forwarder), so only the replica that serves the file audits it.

// HeldElsewhere is the answer of Download for a bundle whose file another hub replica holds: the
// caller may have it, and Replica, the live session of the host that holds it, serves it.
type HeldElsewhere struct {
	Request string
	Replica store.Session
}

func (e *HeldElsewhere) Error() string {
	return fmt.Sprintf("log bundle %s is held by hub replica %s at %s", e.Request, e.Replica.Replica, e.Replica.URL)
}

// holds reports whether this replica's blob directory holds the bundle of d: it made it, or the
// bundle was made where no host is named (the one hub of a SQLite store, or before replicas
// recorded it).
func (s *Service) holds(d logDoc) bool {
	return d.Host == "" || d.Host == s.hostID
}

// heldElsewhere says where the bundle of request d is: the newest live session of its host (a
// replica killed and started again may have its old session live for a lease more), or, with
// none, that it comes back with that replica.
func (s *Service) heldElsewhere(ctx context.Context, requestUID string, d logDoc) error {
	live, err := s.store.LiveSessions(ctx)
	if err != nil {
		return fmt.Errorf("finding the hub replica that holds log bundle %s: %w", requestUID, err)
	}
	for i := len(live) - 1; i >= 0; i-- {
		if live[i].HostID == d.Host {
			return &HeldElsewhere{Request: requestUID, Replica: live[i]}
		}
	}
	return service.Unavailable("log bundle %s is kept by hub replica %s (host %s), which is not running: it can be "+
		"downloaded once that replica runs again, or request a new bundle", requestUID, d.Replica, d.Host)
}
