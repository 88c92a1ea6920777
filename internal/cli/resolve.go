package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/client"
	"github.com/easelhq/easel/internal/packs"
)

// notFoundError is a lookup by name that found nothing; it matches client.ErrNotFound, so callers
// treat it like the hub's 404.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string        { return e.msg }
func (e *notFoundError) Is(target error) bool { return target == client.ErrNotFound }

func notFound(format string, args ...any) error {
	return &notFoundError{fmt.Sprintf(format, args...)}
}

// DefaultProfileVersion is the version the hub gives a profile whose spec.version is empty; apply
// looks the profile up under it so that applying such a file twice updates rather than conflicts.
const DefaultProfileVersion = "1.0.0"

// ErrProfilePublished is returned by ApplyProfile for a file whose name and version are those of a
// published profile.
var ErrProfilePublished = errors.New("published profiles are immutable")

// ParseProfileRef splits NAME@VERSION; a ref without "@" is a name or a uid.
func ParseProfileRef(ref string) (name, version string) {
	name, version, _ = strings.Cut(ref, "@")
	return name, version
}

// FindProfile resolves a profile reference (UID, NAME or NAME@VERSION) among the profiles in scope.
func FindProfile(ctx context.Context, c *client.Client, ref string) (v1.ClusterProfileMetadata, error) {
	list, err := c.ListProfiles(ctx)
	if err != nil {
		return v1.ClusterProfileMetadata{}, fmt.Errorf("listing profiles: %w", err)
	}
	for _, p := range list.Items {
		if p.Metadata.UID == ref {
			return p, nil
		}
	}
	name, version := ParseProfileRef(ref)
	return findProfile(list.Items, name, version)
}

// findProfile picks the profile of that name and version; an empty version is fine while the name
// has only one.
func findProfile(items []v1.ClusterProfileMetadata, name, version string) (v1.ClusterProfileMetadata, error) {
	var matches []v1.ClusterProfileMetadata
	var versions []string
	for _, p := range items {
		if p.Metadata.Name != name {
			continue
		}
		versions = append(versions, p.Spec.Version)
		if version == "" || p.Spec.Version == version {
			matches = append(matches, p)
		}
	}
	slices.SortFunc(versions, packs.CompareVersions)
	switch {
	case len(matches) == 1:
		return matches[0], nil
	case len(versions) == 0:
		return v1.ClusterProfileMetadata{}, notFound("profile %q not found; `easel profile list` shows the profiles in scope", name)
	case len(matches) == 0:
		return v1.ClusterProfileMetadata{}, notFound("profile %s has no version %s (versions: %s)", name, version, strings.Join(versions, ", "))
	case version == "":
		return v1.ClusterProfileMetadata{}, fmt.Errorf("profile %s has versions %s; name one, e.g. %s@%s", name, strings.Join(versions, ", "), name, versions[len(versions)-1])
	}
	var uids []string
	for _, m := range matches {
		uids = append(uids, m.Metadata.UID)
	}
	return v1.ClusterProfileMetadata{}, fmt.Errorf("%d profiles are named %s %s (the project's and the tenant's); name one by uid: %s", len(matches), name, version, strings.Join(uids, ", "))
}

// ListProfiles returns the profiles in scope in full, ordered by name and version. The metadata
// list the hub offers lacks the type and the state, so each profile is read.
func ListProfiles(ctx context.Context, c *client.Client) ([]v1.ClusterProfile, error) {
	list, err := c.ListProfiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing profiles: %w", err)
	}
	out := make([]v1.ClusterProfile, 0, len(list.Items))
	for _, m := range list.Items {
		p, err := c.GetProfile(ctx, m.Metadata.UID)
		if client.IsNotFound(err) {
			continue // deleted since the list was read
		}
		if err != nil {
			return nil, fmt.Errorf("reading profile %s: %w", m.Metadata.Name, err)
		}
		out = append(out, *p)
	}
	slices.SortStableFunc(out, func(a, b v1.ClusterProfile) int {
		if c := strings.Compare(a.Metadata.Name, b.Metadata.Name); c != 0 {
			return c
		}
		return packs.CompareVersions(a.Spec.Version, b.Spec.Version)
	})
	return out, nil
}

// ProfileTemplate is the draft or the published template of a profile, whichever it holds.
func ProfileTemplate(p *v1.ClusterProfile) v1.ClusterProfileTemplate {
	switch {
	case p.Spec.Published != nil:
		return *p.Spec.Published
	case p.Spec.Draft != nil:
		return *p.Spec.Draft
	}
	return v1.ClusterProfileTemplate{}
}

// ProfileState is "published" or "draft".
func ProfileState(p *v1.ClusterProfile) string {
	if p.Status.IsPublished {
		return "published"
	}
	return "draft"
}

// ApplyResult says what ApplyProfile did.
type ApplyResult struct {
	UID     string
	Name    string
	Version string
	Created bool // false: an existing draft was updated
}

// ApplyProfile creates the profile, or updates the draft of the same name and version; a
// published one is refused with ErrProfilePublished. With publish it then publishes the profile.
func ApplyProfile(ctx context.Context, c *client.Client, e v1.ClusterProfileEntity, publish bool) (ApplyResult, error) {
	res := ApplyResult{Name: e.Metadata.Name, Version: e.Spec.Version}
	if res.Version == "" {
		res.Version = DefaultProfileVersion
	}
	list, err := c.ListProfiles(ctx)
	if err != nil {
		return res, fmt.Errorf("listing profiles: %w", err)
	}
	existing, err := findProfile(list.Items, res.Name, res.Version)
	switch {
	case client.IsNotFound(err):
		if res.UID, err = c.CreateProfile(ctx, e); err != nil {
			return res, fmt.Errorf("creating profile %s %s: %w", res.Name, res.Version, err)
		}
		res.Created = true
	case err != nil:
		return res, err
	default:
		res.UID = existing.Metadata.UID
		p, err := c.GetProfile(ctx, res.UID)
		if err != nil {
			return res, fmt.Errorf("reading profile %s %s: %w", res.Name, res.Version, err)
		}
		if p.Status.IsPublished {
			return res, fmt.Errorf("profile %s %s is published, and %w; bump spec.version to apply your changes as a new version", res.Name, res.Version, ErrProfilePublished)
		}
		if err := c.UpdateProfile(ctx, res.UID, e); err != nil {
			return res, fmt.Errorf("updating profile %s %s: %w", res.Name, res.Version, err)
		}
	}
	if publish {
		if err := c.PublishProfile(ctx, res.UID); err != nil {
			return res, fmt.Errorf("publishing profile %s %s: %w", res.Name, res.Version, err)
		}
	}
	return res, nil
}

// ResolveClusterProfiles fills in the uid of every profile the cluster file names by name and
// version, so that the entity sent is the one Palette's API takes.
func ResolveClusterProfiles(ctx context.Context, c *client.Client, f *ClusterFile) error {
	var list *v1.ClusterProfilesMetadata
	for i, ref := range f.Profiles {
		if ref.UID != "" {
			continue
		}
		if list == nil {
			var err error
			if list, err = c.ListProfiles(ctx); err != nil {
				return fmt.Errorf("listing profiles: %w", err)
			}
		}
		p, err := findProfile(list.Items, ref.Name, ref.Version)
		if err != nil {
			return fmt.Errorf("spec.profiles[%d]: %w", i, err)
		}
		f.Entity.Spec.Profiles[i].UID = p.Metadata.UID
	}
	return nil
}

// ClusterRef is a cluster found by name or uid.
type ClusterRef struct {
	UID, Name string
}

// FindCluster resolves a cluster name or uid in scope.
func FindCluster(ctx context.Context, c *client.Client, ref string) (ClusterRef, error) {
	spec, err := nameFilter(ref)
	if err != nil {
		return ClusterRef{}, err
	}
	items, err := c.AllClusters(ctx, spec)
	if err != nil {
		return ClusterRef{}, fmt.Errorf("looking up cluster %s: %w", ref, err)
	}
	switch len(items) {
	case 0:
	case 1:
		return ClusterRef{UID: items[0].Metadata.UID, Name: items[0].Metadata.Name}, nil
	default:
		var where []string
		for _, it := range items {
			where = append(where, fmt.Sprintf("%s in project %s", it.Metadata.UID, it.SpecSummary.ProjectMeta.Name))
		}
		return ClusterRef{}, fmt.Errorf("%d clusters are named %s (%s); set --project or name one by uid", len(items), ref, strings.Join(where, ", "))
	}
	cl, err := c.GetCluster(ctx, ref)
	if client.IsNotFound(err) {
		return ClusterRef{}, notFound("cluster %q not found: no cluster in scope has that name or uid", ref)
	}
	if err != nil {
		return ClusterRef{}, fmt.Errorf("reading cluster %s: %w", ref, err)
	}
	return ClusterRef{UID: cl.Metadata.UID, Name: cl.Metadata.Name}, nil
}

// nameFilter is the search for clusters named exactly name. It goes through JSON because the
// filter's condition is an anonymous struct in the wire types.
func nameFilter(name string) (v1.SearchFilterSummarySpec, error) {
	raw := map[string]any{"filter": map[string]any{"conjunction": "and", "filterGroups": []any{
		map[string]any{"conjunction": "and", "filters": []any{map[string]any{
			"property": "clusterName", "type": "string",
			"condition": map[string]any{"string": map[string]any{
				"operator": "eq", "match": map[string]any{"conjunction": "or", "values": []string{name}}}},
		}}},
	}}}
	var spec v1.SearchFilterSummarySpec
	b, err := json.Marshal(raw)
	if err == nil {
		err = json.Unmarshal(b, &spec)
	}
	if err != nil {
		return spec, fmt.Errorf("building the cluster name filter: %w", err)
	}
	return spec, nil
}
