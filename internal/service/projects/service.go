// Package projects is the project service: creating, renaming and deleting a tenant's projects
// (tenant admins), reading them, and their cluster settings (usage thresholds and node
// auto-remediation, changed by project admins). Each write checks the caller's permission first,
// then validates, then stores the change with its audit entry in one transaction.
package projects

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"k8s.io/utils/clock"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/profiles"
	project "github.com/easelhq/easel/internal/projects"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
	"github.com/easelhq/easel/internal/usage"
	"github.com/easelhq/easel/internal/validate"
)

// Kinds of stored objects this service reads.
const (
	Kind        = project.Kind
	kindCluster = clusters.Kind
	kindProfile = profiles.Kind
)

// Service is the project service.
type Service struct {
	records service.Records
	store   store.Store
}

// New returns the project service over st; clk dates its records (nil: the real clock).
func New(st store.Store, clk clock.PassiveClock) *Service {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Service{records: service.Records{Store: st, Clock: clk}, store: st}
}

// Get returns the project uid names, if the caller has a role in it (or is a tenant admin).
func (s *Service) Get(ctx context.Context, c *service.Call, uid string) (store.Record, error) {
	rec, err := s.store.GetObject(ctx, Kind, uid)
	if errors.Is(err, store.ErrNotFound) || err == nil && (rec.TenantUID != c.TenantUID || !c.Sees(uid)) {
		return rec, service.NotFound(Kind, uid)
	}
	return rec, err
}

// List returns the projects of the caller's tenant it has a role in (all of them for a tenant
// admin).
func (s *Service) List(ctx context.Context, c *service.Call) ([]store.Record, error) {
	recs, _, err := s.store.ListObjects(ctx, store.ListOptions{Kind: Kind, TenantUID: c.TenantUID})
	if err != nil {
		return nil, err
	}
	out := []store.Record{}
	for _, rec := range recs {
		if c.Sees(rec.UID) {
			out = append(out, rec)
		}
	}
	return out, nil
}

// tenantAdmin refuses a caller who is no tenant admin: projects are the tenant's.
func tenantAdmin(c *service.Call, what string) error {
	if c.Can("", service.PermTenantAdmin) {
		return nil
	}
	return service.Forbidden("only a tenant admin may %s", what)
}

// Create stores a new project from a v1.ProjectEntity. It returns the project's uid.
func (s *Service) Create(ctx context.Context, c *service.Call, input service.Input) (string, error) {
	if err := tenantAdmin(c, "create projects"); err != nil {
		return "", err
	}
	var in v1.ProjectEntity
	if err := input(&in); err != nil {
		return "", err
	}
	if err := validate.Name("metadata.name", in.Metadata.Name); err != nil {
		return "", service.Invalid("%v", err)
	}
	rec := &store.Record{Kind: Kind, UID: uid.New(), TenantUID: c.TenantUID, Name: in.Metadata.Name, Doc: []byte(`{}`)}
	err := s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateObject(ctx, rec); err != nil {
			return err
		}
		return s.records.Audit(ctx, q, c, rec.UID, "create", Kind, rec.UID, rec.Name, "Created project "+rec.Name)
	})
	if err != nil {
		return "", err
	}
	return rec.UID, nil
}

// Rename renames a project (the name of a v1.ProjectEntity).
func (s *Service) Rename(ctx context.Context, c *service.Call, uid string, input service.Input) error {
	if err := tenantAdmin(c, "rename projects"); err != nil {
		return err
	}
	rec, err := s.Get(ctx, c, uid)
	if err != nil {
		return err
	}
	var in v1.ProjectEntity
	if err := input(&in); err != nil {
		return err
	}
	if err := validate.Name("metadata.name", in.Metadata.Name); err != nil {
		return service.Invalid("%v", err)
	}
	old := rec.Name
	rec.Name = in.Metadata.Name
	return s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.UpdateObject(ctx, &rec); err != nil {
			return err
		}
		return s.records.Audit(ctx, q, c, rec.UID, "update", Kind, rec.UID, rec.Name, "Renamed project "+old+" to "+rec.Name)
	})
}

// Delete deletes a project that holds no cluster and no profile.
func (s *Service) Delete(ctx context.Context, c *service.Call, uid string) error {
	if err := tenantAdmin(c, "delete projects"); err != nil {
		return err
	}
	rec, err := s.Get(ctx, c, uid)
	if err != nil {
		return err
	}
	return s.store.Tx(ctx, func(q store.Queries) error {
		// Locked before its contents are counted: a cluster or profile being created in it holds a
		// share lock (see service.LockProject), so it has committed when the lock is ours and is
		// counted.
		if err := service.LockToDelete(ctx, q, Kind, rec.UID); err != nil {
			return err
		}
		for _, kind := range []string{kindCluster, kindProfile} {
			_, n, err := q.ListObjects(ctx, store.ListOptions{Kind: kind, TenantUID: rec.TenantUID,
				ProjectUIDs: []string{rec.UID}, Limit: 1})
			if err != nil {
				return err
			}
			if n > 0 {
				return service.Conflict("project %s still holds %d %s object(s); delete them first", rec.Name, n, kind)
			}
		}
		if err := q.DeleteObject(ctx, Kind, rec.UID); err != nil {
			return err
		}
		return s.records.Audit(ctx, q, c, rec.UID, "delete", Kind, rec.UID, rec.Name, "Deleted project "+rec.Name)
	})
}

// ClusterSettings returns the cluster settings of the project uid names (the defaults where it
// sets none), if the caller sees it.
func (s *Service) ClusterSettings(ctx context.Context, c *service.Call, uid string) (project.Settings, error) {
	rec, err := s.Get(ctx, c, uid)
	if err != nil {
		return project.Settings{}, err
	}
	return project.Decode(rec.Doc)
}

// SetUsageThresholds sets a project's usage thresholds (a v1.UsageThresholds, easel's addition to
// the cluster settings); they apply from each cluster's next usage sample.
func (s *Service) SetUsageThresholds(ctx context.Context, c *service.Call, uid string, input service.Input) error {
	return s.changeSettings(ctx, c, uid, func(ps *project.Settings) (string, error) {
		var in v1.UsageThresholds
		if err := input(&in); err != nil {
			return "", err
		}
		if err := usage.ValidateThresholds(in); err != nil {
			return "", service.Invalid("%v", err)
		}
		ps.UsageThresholds = &in
		return fmt.Sprintf("Set usage thresholds (cpu %v%%, memory %v%%, disk %v%% for %ds)", in.CPUPercent, in.MemoryPercent, in.DiskPercent, in.PeriodSeconds), nil
	})
}

// SetAutoRemediation turns node auto-remediation on or off for a project's clusters (a
// v1.NodesAutoRemediationSettings, Palette's nodesAutoRemediationSetting).
func (s *Service) SetAutoRemediation(ctx context.Context, c *service.Call, uid string, input service.Input) error {
	return s.changeSettings(ctx, c, uid, func(ps *project.Settings) (string, error) {
		var in v1.NodesAutoRemediationSettings
		if err := input(&in); err != nil {
			return "", err
		}
		ps.NodesAutoRemediation = &in
		return fmt.Sprintf("Set node auto-remediation (isEnabled %t, disableNodesAutoRemediation %t)", in.IsEnabled, in.DisableNodesAutoRemediation), nil
	})
}

// changeSettings applies change to a project's settings (project admins only), audited with the
// message change returns; the caller's permission is checked before change reads their input.
func (s *Service) changeSettings(ctx context.Context, c *service.Call, uid string, change func(ps *project.Settings) (message string, err error)) error {
	rec, err := s.Get(ctx, c, uid)
	if err != nil {
		return err
	}
	if err := c.Authorize(service.PermProjectAdmin, rec.UID); err != nil {
		return err
	}
	ps, err := project.Decode(rec.Doc)
	if err != nil {
		return err
	}
	msg, err := change(&ps)
	if err != nil {
		return err
	}
	rec.Doc = ps.Encode()
	return s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.UpdateObject(ctx, &rec); err != nil {
			return err
		}
		return s.records.Audit(ctx, q, c, rec.UID, "update", Kind, rec.UID, rec.Name, msg+" of project "+rec.Name)
	})
}

// auditScope is what audits the caller may read: all (tenant admin), or those of the projects
// they administer.
func auditScope(c *service.Call) []string {
	if c.TenantAdmin {
		if c.Project != "" {
			return []string{c.Project}
		}
		return nil
	}
	out := []string{}
	for uid := range c.ProjectRoles {
		if c.Can(uid, service.PermProjectAdmin) && (c.Project == "" || c.Project == uid) {
			out = append(out, uid)
		}
	}
	return out
}

// Audits lists the audit entries the caller may read, newest first, a page at a time.
func (s *Service) Audits(ctx context.Context, c *service.Call, limit, offset int) ([]store.Audit, int, error) {
	return s.store.ListAudits(ctx, store.AuditFilter{TenantUID: c.TenantUID, ProjectUIDs: auditScope(c), Limit: limit, Offset: offset})
}

// Audit returns one audit entry, if the caller may read it.
func (s *Service) Audit(ctx context.Context, c *service.Call, auditUID string) (store.Audit, error) {
	a, err := s.store.GetAudit(ctx, auditUID)
	if errors.Is(err, store.ErrNotFound) {
		return a, service.NotFound("audit", auditUID)
	}
	if err != nil {
		return a, err
	}
	scope := auditScope(c)
	if a.TenantUID != c.TenantUID || scope != nil && !slices.Contains(scope, a.ProjectUID) {
		return store.Audit{}, service.NotFound("audit", auditUID)
	}
	return a, nil
}
