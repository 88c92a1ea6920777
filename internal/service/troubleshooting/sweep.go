package troubleshooting

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	cluster "github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/store"
)

// SweepInterval is how often Run sweeps: a request the agent never finishes is closed at most this
// long after v1.RequestTimeout.
const SweepInterval = time.Minute

// strayAge is how old a file of the blob directory that no request names must be before the sweep
// deletes it (an upload cut off by a crash, a bundle whose request was deleted).
const strayAge = time.Hour

// Run sweeps every SweepInterval until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(SweepInterval)
	defer t.Stop()
	for {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("Sweeping troubleshooting requests failed; the next sweep tries again", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep closes the requests their agent did not finish within v1.RequestTimeout (a log bundle is
// made of the hub's part, a doctor run fails), deletes requests past their retention and those of
// clusters that are gone, and removes stray files from the blob directory.
func (s *Service) Sweep(ctx context.Context) error {
	blobs := map[string]bool{}
	clusters := map[string]*store.Record{} // nil: the cluster is gone
	var errs []error
	for _, kind := range []string{KindLogFetcher, KindDoctor} {
		uids, err := s.store.ListUIDs(ctx, kind)
		if err != nil {
			return err
		}
		for _, id := range uids {
			rec, err := s.store.GetObject(ctx, kind, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			crec, seen := clusters[rec.Category]
			if !seen {
				c, err := s.store.GetObject(ctx, cluster.Kind, rec.Category)
				switch {
				case err == nil:
					crec = &c
				case !errors.Is(err, store.ErrNotFound):
					return err
				}
				clusters[rec.Category] = crec
			}
			if err := s.sweepOne(ctx, rec, crec, blobs); err != nil {
				errs = append(errs, fmt.Errorf("request %s: %w", rec.UID, err))
			}
		}
	}
	for _, crec := range clusters {
		if crec == nil {
			continue
		}
		for _, kind := range []string{KindLogFetcher, KindDoctor} {
			errs = append(errs, s.retain(ctx, *crec, kind))
		}
	}
	errs = append(errs, s.removeStrays(blobs))
	return errors.Join(errs...)
}

// sweepOne deletes a request of a cluster that is gone (crec nil) and closes one open past its
// timeout; blobs collects the bundle files that requests name.
func (s *Service) sweepOne(ctx context.Context, rec store.Record, crec *store.Record, blobs map[string]bool) error {
	if crec == nil {
		return s.deleteRequest(ctx, rec)
	}
	if rec.Kind == KindLogFetcher {
		if d, err := decodeLogDoc(rec); err == nil && d.Blob != "" {
			blobs[d.Blob] = true
		}
	}
	if !isOpen(rec.State) || s.clock.Since(rec.CreatedAt) < v1.RequestTimeout {
		return nil
	}
	why := fmt.Sprintf("the agent did not finish within %s (it was %s)", v1.RequestTimeout, rec.State)
	s.log.Warn("Closing a request its agent did not finish", "cluster", crec.Name, "request", rec.UID, "kind", rec.Kind, "state", rec.State)
	if rec.Kind == KindLogFetcher {
		return s.finishBundle(ctx, rec, "", why+"; this bundle holds only what the hub knows")
	}
	d, err := decodeDoctor(rec)
	if err != nil {
		return err
	}
	d.Status.Message = why
	return s.close(ctx, rec, v1.LogStateFailed, encodeDoctor(d), v1.SeverityWarning, "DoctorFailed", "Doctor run "+rec.UID+" failed: "+why)
}

// removeStrays deletes the blob directory's files that no request names, once they are older than
// strayAge (younger ones may be a bundle being made or received).
func (s *Service) removeStrays(named map[string]bool) error {
	entries, err := os.ReadDir(s.blobs)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || named[e.Name()] || e.IsDir() || s.clock.Since(info.ModTime()) < strayAge {
			continue
		}
		if strings.HasSuffix(e.Name(), ".zip") || strings.HasSuffix(e.Name(), ".tmp") || strings.HasSuffix(e.Name(), uploadSuffix) {
			errs = append(errs, os.Remove(filepath.Join(s.blobs, e.Name())))
		}
	}
	return errors.Join(errs...)
}
