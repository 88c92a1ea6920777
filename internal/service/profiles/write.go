package profiles

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"

	"sigs.k8s.io/yaml"

	v1 "github.com/easelhq/easel/api/v1"
	profile "github.com/easelhq/easel/internal/profiles"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
)

// Create stores a new draft profile in the call's scope from a v1.ClusterProfileEntity. It returns
// the profile's uid.
func (s *Service) Create(ctx context.Context, c *service.Call, input service.Input) (string, error) {
	project, err := c.WriteScope(service.PermWriteProfiles, "create profiles")
	if err != nil {
		return "", err
	}
	var in v1.ClusterProfileEntity
	if err := input(&in); err != nil {
		return "", err
	}
	return s.storeNew(ctx, c, project, in, false)
}

// Import stores a new profile in the call's scope from an exported file (JSON or YAML, which
// content reads), published at once when publish is set. It returns the profile's uid.
func (s *Service) Import(ctx context.Context, c *service.Call, publish bool, content func() ([]byte, error)) (string, error) {
	project, err := c.WriteScope(service.PermWriteProfiles, "create profiles")
	if err != nil {
		return "", err
	}
	data, err := content()
	if err != nil {
		return "", err
	}
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		if data, err = yaml.YAMLToJSON(data); err != nil {
			return "", service.Invalid("importFile is neither JSON nor YAML: %v", err)
		}
	}
	var in v1.ClusterProfileEntity
	if err := json.Unmarshal(data, &in); err != nil {
		return "", service.Invalid("importFile is not a cluster profile: %v", err)
	}
	return s.storeNew(ctx, c, project, in, publish)
}

// storeNew validates and stores a new profile in project (published at once when publish is set),
// with its Created event and audit entry.
func (s *Service) storeNew(ctx context.Context, c *service.Call, project string, in v1.ClusterProfileEntity, publish bool) (string, error) {
	p, err := profile.FromEntity(in, s.catalog)
	if err != nil {
		return "", err
	}
	p.Published = publish
	rec := &store.Record{Kind: Kind, UID: uid.New(), TenantUID: c.TenantUID, ProjectUID: project,
		Name: p.Name, Version: p.Version, State: state(p), Category: p.Type}
	p.AssignManifestUIDs(rec.UID)
	rec.Doc = p.Encode()
	err = s.store.Tx(ctx, func(q store.Queries) error {
		if err := service.LockProject(ctx, q, project); err != nil {
			return err
		}
		if err := q.CreateObject(ctx, rec); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return service.Conflict("profile %s version %s already exists; give the new one another spec.version", p.Name, p.Version)
			}
			return err
		}
		if err := s.records.Event(ctx, q, rec, v1.SeverityInfo, "Created", "Profile "+p.Name+" "+p.Version+" created as "+state(p)); err != nil {
			return err
		}
		return s.records.Audit(ctx, q, c, project, "create", Kind, rec.UID, rec.Name, "Created cluster profile "+p.Name+" "+p.Version)
	})
	if err != nil {
		return "", err
	}
	return rec.UID, nil
}

// state is a profile's stored state, what lists filter on.
func state(p profile.Profile) string {
	if p.Published {
		return "published"
	}
	return "draft"
}

// Update replaces a draft profile with a v1.ClusterProfileEntity (its name and version kept where
// the entity gives none); ifMatch is the version the caller last read ("" for any). A published
// profile cannot change: a new version of it is a new profile.
func (s *Service) Update(ctx context.Context, c *service.Call, uid, ifMatch string, input service.Input) error {
	rec, old, err := s.authorized(ctx, c, uid)
	if err != nil {
		return err
	}
	if err := service.CheckVersion(rec, ifMatch); err != nil {
		return err
	}
	if old.Published {
		return service.Conflict("profile %s %s is published and cannot change; create a new version (same name, another spec.version)", old.Name, old.Version)
	}
	var in v1.ClusterProfileEntity
	if err := input(&in); err != nil {
		return err
	}
	if in.Metadata.Name == "" {
		in.Metadata.Name = old.Name
	}
	if in.Spec.Version == "" {
		in.Spec.Version = old.Version
	}
	p, err := profile.FromEntity(in, s.catalog)
	if err != nil {
		return err
	}
	p.AssignManifestUIDs(rec.UID)
	rec.Name, rec.Version, rec.Category, rec.Doc = p.Name, p.Version, p.Type, p.Encode()
	rec.Generation++
	return s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.UpdateObject(ctx, &rec); err != nil {
			return err
		}
		if err := s.records.Event(ctx, q, &rec, v1.SeverityInfo, "Updated", "Profile draft updated"); err != nil {
			return err
		}
		return s.records.Audit(ctx, q, c, rec.ProjectUID, "update", Kind, rec.UID, rec.Name, "Updated cluster profile "+p.Name+" "+p.Version)
	})
}

// Publish makes a draft profile published: clusters may use it, and it can no longer change.
// Publishing a published profile changes nothing.
func (s *Service) Publish(ctx context.Context, c *service.Call, uid string) error {
	rec, p, err := s.authorized(ctx, c, uid)
	if err != nil || p.Published {
		return err
	}
	p.Published = true
	rec.Doc, rec.State = p.Encode(), state(p)
	return s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.UpdateObject(ctx, &rec); err != nil {
			return err
		}
		if err := s.records.Event(ctx, q, &rec, v1.SeverityInfo, "Published", "Profile "+p.Name+" "+p.Version+" published; it can no longer change"); err != nil {
			return err
		}
		return s.records.Audit(ctx, q, c, rec.ProjectUID, "publish", Kind, rec.UID, rec.Name, "Published cluster profile "+p.Name+" "+p.Version)
	})
}

// Delete deletes a profile that no cluster uses.
func (s *Service) Delete(ctx context.Context, c *service.Call, uid string) error {
	rec, p, err := s.authorized(ctx, c, uid)
	if err != nil {
		return err
	}
	return s.store.Tx(ctx, func(q store.Queries) error {
		// Locked before its users are listed: a cluster that attaches it meanwhile (holding a share
		// lock, see the cluster service's profileResolver) has committed when the lock is ours, so
		// the list shows it.
		if err := service.LockToDelete(ctx, q, Kind, rec.UID); err != nil {
			return err
		}
		users, err := clustersUsing(ctx, q, rec)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return service.Conflict("profile %s %s is used by %d cluster(s) (%s); detach it first", p.Name, p.Version, len(users), strings.Join(users, ", "))
		}
		if err := q.DeleteObject(ctx, Kind, rec.UID); err != nil {
			return err
		}
		return s.records.Audit(ctx, q, c, rec.ProjectUID, "delete", Kind, rec.UID, rec.Name, "Deleted cluster profile "+p.Name+" "+p.Version)
	})
}
