package packs

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	v1 "github.com/easelhq/easel/api/v1"
)

// StringMatch is a condition on a string with the semantics of Palette's FilterString: every
// non-empty operand must hold, and IgnoreCase makes all of them case-insensitive. The zero
// StringMatch matches everything.
type StringMatch struct {
	Eq, Ne, BeginsWith, Contains string
	IgnoreCase                   bool
}

// Match reports whether s satisfies m.
func (m StringMatch) Match(s string) bool {
	eq, ne, begins, contains := m.Eq, m.Ne, m.BeginsWith, m.Contains
	if m.IgnoreCase {
		s, eq, ne = strings.ToLower(s), strings.ToLower(eq), strings.ToLower(ne)
		begins, contains = strings.ToLower(begins), strings.ToLower(contains)
	}
	return (eq == "" || s == eq) &&
		(ne == "" || s != ne) &&
		strings.HasPrefix(s, begins) &&
		strings.Contains(s, contains)
}

// Filter selects packs. A zero field matches every pack; the values of a list field are
// alternatives; all fields must match.
type Filter struct {
	// Name and DisplayName are conditions on Pack.Name and Pack.DisplayName.
	Name, DisplayName StringMatch
	// Names, UIDs and Versions match exactly.
	Names, UIDs, Versions []string
	// Layers, AddonTypes, AddonSubTypes and Types match case-insensitively. Built-in packs have
	// type "spectro" and no add-on sub-type (they match ""); os and k8s packs have add-on type "".
	Layers, AddonTypes, AddonSubTypes, Types []string
	// CloudTypes match case-insensitively, and "all" is a wildcard on either side: a pack for
	// "all" suits every cloud type, and the cloud type "all" accepts every pack.
	CloudTypes []string
	// RegistryUIDs are registries; built-in packs live in RegistryUID.
	RegistryUIDs []string
	// FIPS selects FIPS-compliant packs only. No built-in pack is.
	FIPS bool
}

// Match reports whether p satisfies f.
func (f Filter) Match(p Pack) bool {
	anyFold := func(alts []string, v string) bool {
		return len(alts) == 0 || slices.ContainsFunc(alts, func(a string) bool { return strings.EqualFold(a, v) })
	}
	exact := func(alts []string, v string) bool { return len(alts) == 0 || slices.Contains(alts, v) }
	return !f.FIPS &&
		f.Name.Match(p.Name) &&
		f.DisplayName.Match(p.DisplayName) &&
		exact(f.Names, p.Name) &&
		exact(f.UIDs, p.UID) &&
		exact(f.Versions, p.Version) &&
		exact(f.RegistryUIDs, RegistryUID) &&
		anyFold(f.Layers, p.Layer) &&
		anyFold(f.AddonTypes, p.AddonType) &&
		anyFold(f.AddonSubTypes, "") &&
		anyFold(f.Types, v1.PackTypeSpectro) &&
		matchCloudTypes(f.CloudTypes, p.CloudTypes)
}

func matchCloudTypes(want, have []string) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		for _, h := range have {
			if strings.EqualFold(w, h) || strings.EqualFold(w, "all") || strings.EqualFold(h, "all") {
				return true
			}
		}
	}
	return false
}

// Check refuses a filter that gives more than v1.MaxFilterValues values, or a value longer than
// v1.MaxFilterValueLength: every value is compared with every pack, so a search costs their number.
func (f Filter) Check() error {
	n := 0
	for _, list := range [][]string{f.Names, f.UIDs, f.Versions, f.Layers, f.AddonTypes, f.AddonSubTypes, f.Types, f.CloudTypes, f.RegistryUIDs} {
		for _, v := range list {
			if len(v) > v1.MaxFilterValueLength {
				return fmt.Errorf("filter value %.40q… is longer than %d characters (MaxFilterValueLength)", v, v1.MaxFilterValueLength)
			}
		}
		n += len(list)
	}
	for _, m := range []StringMatch{f.Name, f.DisplayName} {
		for _, v := range []string{m.Eq, m.Ne, m.BeginsWith, m.Contains} {
			if len(v) > v1.MaxFilterValueLength {
				return fmt.Errorf("filter value %.40q… is longer than %d characters (MaxFilterValueLength)", v, v1.MaxFilterValueLength)
			}
			if v != "" {
				n++
			}
		}
	}
	if n > v1.MaxFilterValues {
		return fmt.Errorf("the filter gives %d values; at most %d (MaxFilterValues)", n, v1.MaxFilterValues)
	}
	return nil
}

// Search returns the packs that match f, in the order of All.
func (c *Catalog) Search(f Filter) []Pack {
	var out []Pack
	for _, p := range c.packs {
		if f.Match(p) {
			out = append(out, p.clone())
		}
	}
	return out
}

// FilterFromSpec converts the filter of POST /v1/packs/search. A nil spec matches every pack.
// The spec's source and state conditions are ignored: built-in packs have neither.
func FilterFromSpec(spec *v1.PackFilterSpec) Filter {
	if spec == nil {
		return Filter{}
	}
	return Filter{
		Name:          stringMatch(spec.Name),
		DisplayName:   stringMatch(spec.DisplayName),
		Layers:        spec.Layer,
		AddonTypes:    spec.AddOnType,
		AddonSubTypes: spec.AddOnSubType,
		Types:         spec.Type,
		CloudTypes:    spec.Environment,
		RegistryUIDs:  spec.RegistryUID,
		FIPS:          spec.IsFips,
	}
}

func stringMatch(fs *v1.FilterString) StringMatch {
	if fs == nil {
		return StringMatch{}
	}
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return StringMatch{
		Eq:         deref(fs.Eq),
		Ne:         deref(fs.Ne),
		BeginsWith: deref(fs.BeginsWith),
		Contains:   deref(fs.Contains),
		IgnoreCase: fs.IgnoreCase != nil && *fs.IgnoreCase,
	}
}

var andSep = regexp.MustCompile(`\s*AND\s*`)

// ParseFilters parses the "filters" query parameter of GET /v1/packs, as Palette clients send it:
// conditions joined by AND (spaces optional), each "field=value" or "field_in_v1,v2". Fields are
// metadata.uid, metadata.name, spec.name, spec.displayName, spec.version, spec.layer,
// spec.cloudTypes, spec.addonType, spec.type and spec.registryUid. For example:
//
//	spec.name=kubernetesANDspec.version=1.34.4ANDspec.cloudTypes_in_edge-native,all
func ParseFilters(expr string) (Filter, error) {
	var f Filter
	if strings.TrimSpace(expr) == "" {
		return f, nil
	}
	for _, cond := range andSep.Split(strings.TrimSpace(expr), -1) {
		field, value, ok := strings.Cut(cond, "=")
		var values []string
		if ok {
			values = []string{strings.TrimSpace(value)}
		} else if field, value, ok = strings.Cut(cond, "_in_"); ok {
			if n := strings.Count(value, ",") + 1; n > v1.MaxFilterValues { // refused before it is split
				return Filter{}, fmt.Errorf("filters: %s gives %d values; at most %d (MaxFilterValues)", strings.TrimSpace(field), n, v1.MaxFilterValues)
			}
			values = strings.Split(value, ",")
			for i := range values {
				values[i] = strings.TrimSpace(values[i])
			}
		} else {
			return Filter{}, fmt.Errorf("filters: condition %q is neither field=value nor field_in_values", cond)
		}
		field = strings.TrimSpace(field)
		var dst *[]string
		switch field {
		case "metadata.uid":
			dst = &f.UIDs
		case "metadata.name", "spec.name":
			dst = &f.Names
		case "spec.displayName":
			if len(values) != 1 || f.DisplayName.Eq != "" {
				return Filter{}, fmt.Errorf("filters: spec.displayName takes one value")
			}
			f.DisplayName.Eq = values[0]
			continue
		case "spec.version":
			dst = &f.Versions
		case "spec.layer":
			dst = &f.Layers
		case "spec.cloudTypes":
			dst = &f.CloudTypes
		case "spec.addonType":
			dst = &f.AddonTypes
		case "spec.type":
			dst = &f.Types
		case "spec.registryUid":
			dst = &f.RegistryUIDs
		default:
			return Filter{}, fmt.Errorf("filters: unknown field %q", field)
		}
		if *dst != nil {
			return Filter{}, fmt.Errorf("filters: field %q given twice", field)
		}
		*dst = values
	}
	if err := f.Check(); err != nil {
		return Filter{}, fmt.Errorf("filters: %w", err)
	}
	return f, nil
}
