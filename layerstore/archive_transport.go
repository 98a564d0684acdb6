package layerstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// A Store resolves a transport reference (archive_ref.go) by opening the
// archive or layout it names as one more store of its own, on demand
// and once, beside the store of its root: so "diff
// docker-archive:app.tar:app:v1 app:v1" compares an image of the archive
// with the store's. The Target carries where it came from (Archive), and
// the methods that take a Target read it from that archive.

// arcOpened is an archive a transport reference named, as opened.
type arcOpened struct {
	p   *store
	err error
}

// transported says whether any of refs is a transport reference.
func transported(refs []string) bool {
	return slices.ContainsFunc(refs, func(r string) bool {
		tr, err := ParseTransport(r)
		return tr != nil || err != nil
	})
}

// resolveTransport resolves ref, the transport reference tr, among the
// images of the archive it names; errors name ref.
func (s *Store) resolveTransport(ref string, tr *TransportRef, only Kind) (*Target, error) {
	if only == KindContainer {
		return nil, &NotFoundError{Ref: ref} // an archive holds images alone
	}
	p, err := s.openTransport(tr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	id, name, err := p.arcSelect(tr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	t, err := p.imageTarget(ref, name, id)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	t.Archive = p.root
	return t, nil
}

// openTransport opens the archive tr names, or gives the one opened
// before.
func (s *Store) openTransport(tr *TransportRef) (*store, error) {
	abs, err := filepath.Abs(tr.Path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", tr.Path, err)
	}
	key := tr.Kind + ":" + abs
	s.arcMu.Lock()
	defer s.arcMu.Unlock()
	if o, ok := s.arcs[key]; ok {
		return o.p, o.err
	}
	p, err := openArchiveAs(abs, tr.Kind, s.opts)
	if s.arcs == nil {
		s.arcs = map[string]arcOpened{}
	}
	s.arcs[key] = arcOpened{p, err}
	return p, err
}

// archivePart is the archive a transport reference named that holds t,
// or nil.
func (s *Store) archivePart(t *Target) *store {
	if t.Archive == "" {
		return nil
	}
	s.arcMu.Lock()
	defer s.arcMu.Unlock()
	for _, o := range s.arcs {
		if o.p != nil && o.p.drv == t.drv {
			return o.p
		}
	}
	return nil
}

// kindNames are the kinds of archive as a message names them.
var kindNames = map[string]string{
	KindDockerArchive: "a docker save archive",
	KindOCIArchive:    "an oci-archive",
	KindOCILayout:     "an OCI layout directory",
}

// openArchiveAs opens abs as an archive of kind: what it holds must be
// one, or the error says what it is and how to name it. A Docker 25 save
// is an oci-archive too (its OCI layout beside manifest.json).
func openArchiveAs(abs, kind string, o Options) (*store, error) {
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", abs, bare(err))
	}
	found, err := detectArchive(given(abs), st.IsDir(), o)
	var na *notArchiveError
	switch {
	case errors.As(err, &na):
		return nil, fmt.Errorf("%s is not %s: %w", abs, kindNames[kind], na.why)
	case err != nil:
		return nil, fmt.Errorf("opening %s: %w", abs, err)
	case len(found) == 0:
		return nil, fmt.Errorf("%s is a directory, not %s (it has no oci-layout and index.json)", abs, kindNames[kind])
	}
	drv := found[0].drv.(arcDriver)
	if got := drv.a.kind; got != kind {
		if kind != KindOCIArchive || got != KindDockerArchive || !drv.a.has("index.json") || !drv.a.has("oci-layout") {
			return nil, fmt.Errorf("%s is %s, not %s: name it %s:%s", abs, kindNames[got], kindNames[kind], got, abs)
		}
		drv.a.kind = KindOCIArchive
	}
	p, err := openDriver(abs, drv, LayoutArchive)
	if err != nil {
		return nil, err
	}
	return p, nil
}
