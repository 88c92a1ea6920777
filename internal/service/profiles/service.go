// Package profiles is the cluster profile service: creating profiles (from the API's entity, or
// from an exported file, as a draft or published at once), changing drafts, publishing them,
// deleting those no cluster uses, and reading them (a profile with its versions and the clusters
// using it, the list, a pack's manifests, the export). Each write checks the caller's permission
// first, then validates, then stores the change with its event and audit entry in one transaction.
package profiles

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/utils/clock"
	"sigs.k8s.io/yaml"

	cluster "github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/packs"
	profile "github.com/easelhq/easel/internal/profiles"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// Kinds of stored objects this service reads.
const (
	Kind        = profile.Kind
	kindCluster = cluster.Kind
)

// Service is the cluster profile service.
type Service struct {
	records service.Records
	store   store.Store
	catalog *packs.Catalog
}

// New returns the profile service over st, validating packs against catalog; clk dates its records
// (nil: the real clock).
func New(st store.Store, catalog *packs.Catalog, clk clock.PassiveClock) *Service {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Service{records: service.Records{Store: st, Clock: clk}, store: st, catalog: catalog}
}

// Get returns the profile uid names, if the call may see it.
func (s *Service) Get(ctx context.Context, c *service.Call, uid string) (store.Record, profile.Profile, error) {
	rec, err := s.records.Object(ctx, c, Kind, uid)
	if err != nil {
		return rec, profile.Profile{}, err
	}
	p, err := profile.Decode(rec.Doc)
	return rec, p, err
}

// authorized returns the profile uid names once the caller may change it.
func (s *Service) authorized(ctx context.Context, c *service.Call, uid string) (store.Record, profile.Profile, error) {
	rec, p, err := s.Get(ctx, c, uid)
	if err != nil {
		return rec, p, err
	}
	return rec, p, c.Authorize(service.PermWriteProfiles, rec.ProjectUID)
}

// Described is a profile as its page shows it: with every version of it (its name in its
// project, in version order) and the clusters it is attached to.
type Described struct {
	Record   store.Record
	Profile  profile.Profile
	Versions []store.Record
	UsedBy   []string
}

// Describe returns the profile uid names with its versions and users, if the call may see it.
func (s *Service) Describe(ctx context.Context, c *service.Call, uid string) (Described, error) {
	rec, p, err := s.Get(ctx, c, uid)
	if err != nil {
		return Described{}, err
	}
	versions, _, err := s.store.ListObjects(ctx, store.ListOptions{Kind: Kind, TenantUID: rec.TenantUID,
		ProjectUIDs: []string{rec.ProjectUID}, Conditions: []store.Condition{{Field: store.FieldName, Values: []string{rec.Name}}},
		OrderBy: store.FieldVersion})
	if err != nil {
		return Described{}, err
	}
	users, err := clustersUsing(ctx, s.store, rec)
	if err != nil {
		return Described{}, err
	}
	return Described{Record: rec, Profile: p, Versions: versions, UsedBy: users}, nil
}

// clustersUsing lists the clusters that have the profile attached.
func clustersUsing(ctx context.Context, q store.Queries, rec store.Record) ([]string, error) {
	opts := store.ListOptions{Kind: kindCluster, TenantUID: rec.TenantUID}
	if rec.ProjectUID != "" {
		opts.ProjectUIDs = []string{rec.ProjectUID}
	}
	recs, _, err := q.ListObjects(ctx, opts)
	if err != nil {
		return nil, err
	}
	uids := []string{}
	for _, cr := range recs {
		cl, err := cluster.Decode(cr.Doc)
		if err != nil {
			return nil, err
		}
		for _, ref := range cl.Profiles {
			if ref.UID == rec.UID {
				uids = append(uids, cr.UID)
			}
		}
	}
	return uids, nil
}

// Listed is a profile of a list.
type Listed struct {
	Record  store.Record
	Profile profile.Profile
}

// List returns the profiles of the call's scope: its project's and the tenant's, or, when it names
// no project, those of every project the caller sees and the tenant's.
func (s *Service) List(ctx context.Context, c *service.Call) ([]Listed, error) {
	recs, _, err := s.store.ListObjects(ctx, store.ListOptions{Kind: Kind, TenantUID: c.TenantUID, ProjectUIDs: listScope(c)})
	if err != nil {
		return nil, err
	}
	out := make([]Listed, 0, len(recs))
	for _, rec := range recs {
		p, err := profile.Decode(rec.Doc)
		if err != nil {
			return nil, err
		}
		out = append(out, Listed{rec, p})
	}
	return out, nil
}

// listScope is the projects a list in the call's scope covers ("" being the tenant scope); nil
// means all of them (a tenant admin naming no project).
func listScope(c *service.Call) []string {
	if c.Project != "" {
		return []string{c.Project, ""}
	}
	if ps := c.Projects(); ps != nil {
		return append(ps, "")
	}
	return nil
}

// Pack returns the pack of the profile uid names called name, if the call may see the profile.
func (s *Service) Pack(ctx context.Context, c *service.Call, uid, name string) (profile.Pack, error) {
	_, p, err := s.Get(ctx, c, uid)
	if err != nil {
		return profile.Pack{}, err
	}
	pk, ok := p.FindPack(name)
	if !ok {
		return profile.Pack{}, service.NotFound("pack", name+" in profile "+p.Name)
	}
	return pk, nil
}

// Export returns the profile uid names as the body that would create it, in format (json, the
// default, or yaml), and the name of the file to save it as.
func (s *Service) Export(ctx context.Context, c *service.Call, uid, format string) (data []byte, filename string, err error) {
	_, p, err := s.Get(ctx, c, uid)
	if err != nil {
		return nil, "", err
	}
	data, err = json.MarshalIndent(p.Entity(), "", "  ")
	if err != nil {
		return nil, "", fmt.Errorf("encoding profile %s: %w", p.Name, err)
	}
	ext := "json"
	switch format {
	case "", "json":
	case "yaml":
		if data, err = yaml.JSONToYAML(data); err != nil {
			return nil, "", fmt.Errorf("encoding profile %s as YAML: %w", p.Name, err)
		}
		ext = "yaml"
	default:
		return nil, "", service.Invalid("format %q must be json or yaml", format)
	}
	return data, p.Name + "-" + p.Version + "." + ext, nil
}
