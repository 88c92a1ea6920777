package hub

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// searchProperties maps the cluster search properties easel filters on to stored fields.
var searchProperties = map[string]store.Field{
	"clusterName":  store.FieldName,
	"clusterState": store.FieldState,
	"environment":  store.FieldCategory, // the cloud type
}

// searchSortFields maps sort fields to stored fields; other sort fields are ignored.
var searchSortFields = map[string]store.Field{
	"clusterName":           store.FieldName,
	"clusterState":          store.FieldState,
	"environment":           store.FieldCategory,
	"creationTimestamp":     store.FieldCreatedAt,
	"lastModifiedTimestamp": store.FieldUpdatedAt,
}

// searchOptions turns a Palette search filter into list options. It reports none=true when the
// filter can match no cluster (e.g. isDeleted=true: deleted clusters are not kept).
func searchOptions(spec v1.SearchFilterSummarySpec) (opts store.ListOptions, none bool, err error) {
	for _, so := range spec.Sort {
		if f, ok := searchSortFields[so.Field]; ok {
			opts.OrderBy, opts.Desc = f, so.Order == "desc"
			break
		}
	}
	if spec.Filter == nil {
		return opts, false, nil
	}
	var nonEmpty int
	for _, g := range spec.Filter.FilterGroups {
		if len(g.Filters) > 0 {
			nonEmpty++
		}
	}
	if strings.EqualFold(spec.Filter.Conjunction, "or") && nonEmpty > 1 {
		return opts, false, service.Invalid("filter.conjunction \"or\" between filter groups is not supported; join groups with \"and\"")
	}
	values := 0 // every value is a condition of the query: they are bounded together
	for gi, g := range spec.Filter.FilterGroups {
		var group []store.Condition
		for fi, item := range g.Filters {
			field := fmt.Sprintf("filter.filterGroups[%d].filters[%d]", gi, fi)
			values++
			if sc := item.Condition.String; sc != nil {
				values += len(sc.Match.Values) - 1
				if err := checkFilterValues(field+".condition.string.match.values", sc.Match.Values); err != nil {
					return opts, false, err
				}
			}
			if values > v1.MaxFilterValues {
				return opts, false, service.Invalid("the filter gives more than %d values (MaxFilterValues)", v1.MaxFilterValues)
			}
			if item.Property == "isDeleted" {
				if item.Condition.Bool == nil {
					return opts, false, service.Invalid("%s: isDeleted needs a bool condition", field)
				}
				if item.Condition.Bool.Value {
					none = true
				}
				continue
			}
			col, ok := searchProperties[item.Property]
			if !ok {
				return opts, false, service.Invalid("%s: cannot filter on property %q (supported: clusterName, clusterState, environment, isDeleted)", field, item.Property)
			}
			sc := item.Condition.String
			if sc == nil {
				return opts, false, service.Invalid("%s: property %s needs a string condition", field, item.Property)
			}
			op := sc.Operator
			if op == "" {
				op = store.OpEq
			}
			if !slices.Contains([]string{store.OpEq, store.OpBeginsWith, store.OpContains}, op) {
				return opts, false, service.Invalid("%s: operator %q must be eq, beginsWith or contains", field, op)
			}
			if len(sc.Match.Values) == 0 {
				return opts, false, service.Invalid("%s: condition.string.match.values is empty", field)
			}
			cond := store.Condition{Field: col, Op: op, Values: sc.Match.Values, Negate: sc.Negation, IgnoreCase: sc.IgnoreCase}
			if strings.EqualFold(sc.Match.Conjunction, "and") {
				for _, v := range sc.Match.Values {
					one := cond
					one.Values = []string{v}
					group = append(group, one)
				}
			} else {
				group = append(group, cond)
			}
		}
		if strings.EqualFold(g.Conjunction, "or") {
			opts.AnyOf = append(opts.AnyOf, group)
		} else {
			opts.Conditions = append(opts.Conditions, group...)
		}
	}
	return opts, none, nil
}

// checkFilterValues refuses a filter's list of values over v1.MaxFilterValues, or with a value
// over v1.MaxFilterValueLength.
func checkFilterValues(field string, values []string) error {
	if len(values) > v1.MaxFilterValues {
		return service.Invalid("%s gives %d values; at most %d (MaxFilterValues)", field, len(values), v1.MaxFilterValues)
	}
	for i, v := range values {
		if len(v) > v1.MaxFilterValueLength {
			return service.Invalid("%s[%d] is longer than %d characters (MaxFilterValueLength)", field, i, v1.MaxFilterValueLength)
		}
	}
	return nil
}

func (s *Server) searchClusters(w http.ResponseWriter, r *http.Request, c *call) error {
	var spec v1.SearchFilterSummarySpec
	if r.ContentLength != 0 {
		if err := decode(r, &spec); err != nil {
			return err
		}
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	opts, none, err := searchOptions(spec)
	if err != nil {
		return err
	}
	out := v1.SpectroClustersSummary{Items: []v1.SpectroClusterSummary{}}
	if none {
		out.Listmeta = pg.listMeta(0, 0)
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	opts.Limit, opts.Offset = pg.limit, pg.offset
	sums, total, err := s.clusters.Summaries(r.Context(), &c.Call, opts)
	if err != nil {
		return err
	}
	projectNames, err := s.projectNames(r, c)
	if err != nil {
		return err
	}
	for _, cs := range sums {
		rec, cl := cs.Record, cs.Summary
		var sum v1.SpectroClusterSummary
		sum.Metadata = clusterMeta(rec, cl.Labels, cl.Annotations)
		sum.SpecSummary.CloudConfig = cloudConfigMeta(cl.CloudConfigUID, cl.CloudType, cl.Pools)
		sum.SpecSummary.ProjectMeta = v1.ObjectEntity{UID: rec.ProjectUID, Name: projectNames[rec.ProjectUID]}
		sum.SpecSummary.ClusterProfileTemplates = templateMetas(cl.Profiles, cl.CloudType)
		sum.Status.State = cl.State
		sum.Status.Health = healthWire(cl.Health)
		sum.Status.Metrics = cl.Metrics
		out.Items = append(out.Items, sum)
	}
	out.Listmeta = pg.listMeta(len(sums), total)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// projectNames are the names of the projects whose clusters the call lists: its project's, read
// with the call, or every project the caller sees.
func (s *Server) projectNames(r *http.Request, c *call) (map[string]string, error) {
	if c.Project != "" {
		return map[string]string{c.Project: c.projectName}, nil
	}
	recs, err := s.projects.List(r.Context(), &c.Call)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(recs))
	for _, rec := range recs {
		names[rec.UID] = rec.Name
	}
	return names, nil
}
