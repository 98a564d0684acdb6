package layerstore

import (
	"errors"
	"fmt"
	"sort"
)

// ResolveInspect finds ref as docker inspect does: among containers
// first, then among images; with only (KindImage or KindContainer) among
// those alone, and a ref that names the other kind says so.
func ResolveInspect(s Source, ref string, only Kind) (*Target, error) {
	var nf *NotFoundError
	if only != 0 {
		t, err := s.ResolveKind(ref, only)
		if errors.As(err, &nf) {
			if other, oerr := s.Resolve(ref); oerr == nil {
				return nil, fmt.Errorf("%s: no such %s (it names the %s %s)", ref, only, other.Kind, other.Name)
			}
		}
		return t, err
	}
	t, err := s.ResolveKind(ref, KindContainer)
	if errors.As(err, &nf) {
		return s.ResolveKind(ref, KindImage)
	}
	return t, err
}

// RefNames are the names of s that a user may type for a reference, each
// once and sorted: its images' names and its containers'.
func RefNames(s Source) []string {
	seen := map[string]bool{}
	var names []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, img := range s.Images() {
		for _, n := range img.Names {
			add(n)
		}
	}
	for _, ct := range s.Containers() {
		add(ct.Name)
	}
	sort.Strings(names)
	return names
}
