package layerstore

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"
)

// A reference may name an image of an archive or layout on the command
// line, in skopeo's transports (docs/archives.md), wherever a reference
// of the store is taken:
//
//	docker-archive:FILE[:NAME:TAG | :@N]
//	oci-archive:FILE[:REF | :@N]
//	oci:DIR[:REF | :@N]
//
// FILE or DIR ends at the first colon, as skopeo splits it. NAME:TAG is a
// Docker reference among the archive's RepoTags (a bare NAME is
// NAME:latest); REF an org.opencontainers.image.ref.name of index.json;
// @N the Nth entry of manifest.json or index.json, from 0. Without them
// the archive must hold one image.

// TransportRef is a reference in one of skopeo's transports.
type TransportRef struct {
	Kind string // KindDockerArchive, KindOCIArchive or KindOCILayout
	Path string // the archive or layout directory, as given
	// Name is, for docker-archive, the NAME:TAG as Docker shows it
	// ("app:v1", "busybox:latest"); for the OCI kinds the REF as given;
	// "" for none.
	Name string
	// Index is the N of @N; -1 for none.
	Index int
}

// transportKinds are the transports' names, as a reference starts with
// them.
var transportKinds = []string{KindDockerArchive, KindOCIArchive, KindOCILayout}

// registryPort is what follows the first colon of a Docker reference
// whose registry has a port ("oci:5000/app:1"): never a transport's.
var registryPort = regexp.MustCompile(`^[0-9]+/`)

var digits = regexp.MustCompile(`^[0-9]+$`)

// ociRefName is what the OCI image spec allows as a ref name (its
// annotations' grammar): components of alphanumerics joined by one of
// -._:@+ or "--", separated by slashes.
var ociRefName = regexp.MustCompile(`^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$`)

// ParseTransport parses ref as a transport reference. A ref that is none
// gives nil and no error: one that does not start with a transport's
// name and a colon, or a Docker reference whose registry is so named and
// has a port (oci:5000/app:1). An image of the store called oci,
// oci-archive or docker-archive is therefore named in full
// (docker.io/library/oci:latest) or by id. A malformed transport
// reference is an error naming it.
func ParseTransport(ref string) (*TransportRef, error) {
	var kind, rest string
	for _, k := range transportKinds {
		if r, ok := strings.CutPrefix(ref, k+":"); ok {
			kind, rest = k, r
		}
	}
	if kind == "" || registryPort.MatchString(rest) {
		return nil, nil
	}
	path, sel, _ := strings.Cut(rest, ":")
	tr := &TransportRef{Kind: kind, Path: path, Index: -1}
	what := "FILE"
	if kind == KindOCILayout {
		what = "DIR"
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s (%s)", ref, fmt.Sprintf(format, args...), transportUsage(kind))
	}
	if path == "" {
		return nil, bad("no %s", what)
	}
	switch {
	case sel == "":
	case sel[0] == '@':
		n, err := strconv.Atoi(sel[1:])
		if err != nil || !digits.MatchString(sel[1:]) {
			return nil, bad("@%s is not an image's index (0, 1, ...)", sel[1:])
		}
		tr.Index = n
	case kind == KindDockerArchive:
		named, err := reference.ParseNormalizedNamed(sel)
		if err != nil {
			return nil, bad("%s is not a NAME:TAG: %v", sel, err)
		}
		tagged, ok := reference.TagNameOnly(named).(reference.NamedTagged)
		if !ok {
			return nil, bad("%s names a digest: an archive's images are named by tag", sel)
		}
		tr.Name = reference.FamiliarString(tagged)
	default:
		if !ociRefName.MatchString(sel) {
			return nil, bad("%q is not an OCI ref name", sel)
		}
		tr.Name = sel
	}
	return tr, nil
}

// transportUsage is the form of kind's references.
func transportUsage(kind string) string {
	switch kind {
	case KindDockerArchive:
		return "docker-archive:FILE[:NAME:TAG|:@N]"
	case KindOCIArchive:
		return "oci-archive:FILE[:REF|:@N]"
	}
	return "oci:DIR[:REF|:@N]"
}

// arcEntry is one entry of an archive's manifest.json or index.json, in
// its order: the image it gives, and the names a transport reference
// takes for it (RepoTags; a ref name), or why it could not be read.
type arcEntry struct {
	id    string
	names []string
	err   error
}

// arcSelect is the image of the archive tr names: its id and the name
// it was found by ("": none).
func (s *store) arcSelect(tr *TransportRef) (id, name string, err error) {
	switch {
	case tr.Index >= 0:
		if tr.Index >= len(s.arcOrder) {
			return "", "", fmt.Errorf("no image @%d in %s: it has %s", tr.Index, s.root, s.arcIndexes())
		}
		e := s.arcOrder[tr.Index]
		return e.id, "", e.err
	case tr.Name != "":
		return s.arcNamed(tr)
	}
	if ids := s.arcIDs(); len(ids) != 1 {
		return "", "", fmt.Errorf("%s holds %d images: name one (%s)", s.root, len(ids), s.arcHolds())
	}
	e := s.arcOrder[0]
	return e.id, "", e.err
}

// arcNamed is the image of tr's name: a tag of a docker save; for the
// OCI kinds a ref name, or failing that a name as the archive gives it
// (Docker 25 names an image in full beside its bare tag).
func (s *store) arcNamed(tr *TransportRef) (string, string, error) {
	if tr.Kind != KindDockerArchive {
		var hits []int
		seen := map[string]bool{}
		for i, e := range s.arcOrder {
			if slices.Contains(e.names, tr.Name) && (e.id == "" || !seen[e.id]) {
				seen[e.id] = true
				hits = append(hits, i)
			}
		}
		switch {
		case len(hits) == 1:
			e := s.arcOrder[hits[0]]
			return e.id, tr.Name, e.err
		case len(hits) > 1:
			at := make([]string, len(hits))
			for i, h := range hits {
				at[i] = "@" + strconv.Itoa(h)
			}
			return "", "", fmt.Errorf("%s names %d images in %s: name one by its index (%s)", tr.Name, len(hits), s.root, strings.Join(at, ", "))
		}
	}
	if e, ok, _ := s.arcLookup(tr.Name); ok && e.err == nil {
		return e.id, e.display, nil
	}
	return "", "", fmt.Errorf("no image %s in %s (it holds %s)", tr.Name, s.root, s.arcHolds())
}

// arcIDs are the images of the archive's entries, each once: an entry
// that could not be read counts as one ("").
func (s *store) arcIDs() []string {
	var ids []string
	seen := map[string]bool{}
	for _, e := range s.arcOrder {
		if e.err != nil || !seen[e.id] {
			seen[e.id] = true
			ids = append(ids, e.id)
		}
	}
	return ids
}

// arcHolds lists what a transport reference may name in the archive:
// its entries' names, and @N for an entry that has none.
func (s *store) arcHolds() string {
	var out []string
	seen := map[string]bool{}
	for i, e := range s.arcOrder {
		if len(e.names) == 0 {
			out = append(out, "@"+strconv.Itoa(i))
		}
		for _, n := range e.names {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return strings.Join(out, ", ")
}

// arcIndexes says which @N the archive has.
func (s *store) arcIndexes() string {
	switch n := len(s.arcOrder); n {
	case 0:
		return "no entries"
	case 1:
		return "@0 alone"
	default:
		return fmt.Sprintf("@0 to @%d", n-1)
	}
}

// nonEmpty is s alone, or none for "".
func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
