package layerstore

import (
	"sort"
	"strings"
)

// csLookup finds the image a name names in a containers/storage store,
// as Podman does: a name with a registry as written; a short name
// ("app:1", "team/app") as localhost/ first, then docker.io/, then any
// one image whose name ends in it ("quay.io/team/app:1"): more than one
// such is an *AmbiguousError listing them.
func (s *store) csLookup(ref string) (tagEntry, bool, error) {
	if !shortName(ref) {
		return s.tagOf(ref)
	}
	for _, cand := range []string{"localhost/" + ref, ref} {
		if e, ok, _ := s.tagOf(cand); ok {
			return e, true, nil
		}
	}
	local, err := normalizeRef("localhost/" + ref)
	if err != nil {
		return tagEntry{}, false, nil
	}
	tail := "/" + strings.TrimPrefix(local.String(), "localhost/")
	var found []tagEntry
	for key, e := range s.tags {
		if strings.HasSuffix(key, tail) {
			found = append(found, e)
		}
	}
	switch len(found) {
	case 0:
		return tagEntry{}, false, nil
	case 1:
		return found[0], true, nil
	}
	var cands []string
	for _, e := range found {
		cands = append(cands, e.display)
	}
	sort.Strings(cands)
	return tagEntry{}, false, &AmbiguousError{Ref: ref, Candidates: cands, Hint: "name the registry"}
}

// tagOf is the store's name that ref normalises to.
func (s *store) tagOf(ref string) (tagEntry, bool, error) {
	named, err := normalizeRef(ref)
	if err != nil {
		return tagEntry{}, false, nil
	}
	e, ok := s.tags[named.String()]
	return e, ok, nil
}

// shortName says whether a reference names no registry: its first
// component has no dot or colon and is not localhost, as Docker and
// Podman tell a registry from a path.
func shortName(ref string) bool {
	first, _, ok := strings.Cut(ref, "/")
	if !ok {
		return true
	}
	return !strings.ContainsAny(first, ".:") && first != "localhost"
}
