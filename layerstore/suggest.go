package layerstore

import (
	"sort"
	"strings"

	"github.com/distribution/reference"
)

// maxSuggestions is how many names a *NotFoundError offers.
const maxSuggestions = 3

// maxCompare bounds the strings compared, so that a pathological ref
// costs no more than a fixed amount per known name.
const maxCompare = 256

// suggest returns up to maxSuggestions known names (image names and
// container names) nearest to ref by edit distance, nearest first. Names
// are compared whole and without their tags, so "busybx" finds
// "busybox:latest"; on a tie the nearer whole name comes first.
func (s *store) suggest(ref string) []string {
	ref = strings.TrimPrefix(ref, "/")
	if ref == "" || len(ref) > maxCompare {
		return nil
	}
	qFull, qName := []string{ref}, ""
	if named, err := normalizeRef(ref); err == nil {
		qFull = append(qFull, reference.FamiliarString(named))
		qName = reference.FamiliarName(named)
	}
	type cand struct {
		name        string
		near, whole int // best distance of any form; of the whole name
	}
	best := map[string]cand{}
	consider := func(display, name string) {
		c := cand{name: display, near: -1, whole: -1}
		for _, q := range qFull {
			if d := EditDistance(q, display); d <= limit(q) && (c.whole < 0 || d < c.whole) {
				c.whole = d
			}
		}
		c.near = c.whole
		if qName != "" && name != "" {
			if d := EditDistance(qName, name); d <= limit(qName) && (c.near < 0 || d < c.near) {
				c.near = d
			}
			// "app:v1" for "team/app:v1", "team/app" for
			// "registry:5000/team/app": the same name under another
			// namespace or registry.
			if strings.HasSuffix(name, "/"+qName) && (c.near < 0 || c.near > 1) {
				c.near = 1
				if c.whole < 0 {
					c.whole = EditDistance(qFull[len(qFull)-1], display)
				}
			}
		}
		if c.near < 0 {
			return
		}
		if c.whole < 0 {
			c.whole = maxCompare
		}
		if prev, ok := best[display]; !ok || c.near < prev.near || c.near == prev.near && c.whole < prev.whole {
			best[display] = c
		}
	}
	for _, e := range s.tags {
		if e.err != nil || len(e.display) > maxCompare {
			continue
		}
		name := ""
		if named, err := normalizeRef(e.display); err == nil {
			name = reference.FamiliarName(named)
		}
		consider(e.display, name)
	}
	for name := range s.names {
		if len(name) <= maxCompare {
			consider(name, "")
		}
	}
	cands := make([]cand, 0, len(best))
	for _, c := range best {
		cands = append(cands, c)
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.near != b.near {
			return a.near < b.near
		}
		if a.whole != b.whole {
			return a.whole < b.whole
		}
		return a.name < b.name
	})
	var out []string
	for _, c := range cands {
		if len(out) == maxSuggestions {
			break
		}
		out = append(out, c.name)
	}
	return out
}

// limit is how many edits still make a name near q: about a third of its
// length, and at least 2. Farther names are noise.
func limit(q string) int {
	return max(2, len(q)/3)
}

// EditDistance is the Levenshtein distance between a and b, in bytes:
// how near a mistyped name is to a known one.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
