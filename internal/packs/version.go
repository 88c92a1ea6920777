package packs

import (
	"cmp"
	"strings"
)

// CompareVersions orders pack versions such as "1.34.4", "22.04" or "v0.0.32-rc.1" the way
// semantic versioning does, but tolerates any number of components and leading zeros: a leading
// "v" and "+build" metadata are ignored, dot-separated components compare numerically when both
// are numbers, and a pre-release ("-rc.1") sorts before its release. It returns -1, 0 or +1.
// Distinct strings never compare equal, so sorting with it is deterministic.
func CompareVersions(a, b string) int {
	ra, pa, hasPreA := strings.Cut(stripVersion(a), "-")
	rb, pb, hasPreB := strings.Cut(stripVersion(b), "-")
	if c := compareDotted(ra, rb); c != 0 {
		return c
	}
	switch {
	case hasPreA && !hasPreB:
		return -1
	case !hasPreA && hasPreB:
		return 1
	}
	if c := compareDotted(pa, pb); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func stripVersion(v string) string {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	v, _, _ = strings.Cut(v, "+")
	return v
}

func compareDotted(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range min(len(as), len(bs)) {
		if c := compareIdentifier(as[i], bs[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(as), len(bs))
}

// compareIdentifier compares numbers numerically (of any length), numbers before words, and
// words lexically.
func compareIdentifier(x, y string) int {
	xn, yn := isDigits(x), isDigits(y)
	switch {
	case xn && yn:
		x, y = strings.TrimLeft(x, "0"), strings.TrimLeft(y, "0")
		return cmp.Or(cmp.Compare(len(x), len(y)), strings.Compare(x, y))
	case xn:
		return -1
	case yn:
		return 1
	}
	return strings.Compare(x, y)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
