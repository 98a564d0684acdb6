package fs

import (
	"sort"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// The merge rules (docs/whiteouts.md), the same for every encoding: what
// each name means comes from the layer's encoding (layerDir.read), the
// merge only sees plain entries, whiteouts and opaque directories.

// merged is one visible name of a merged directory.
type merged struct {
	name   string
	layer  int   // index (top = 0) of the layer whose entry is shown
	isDir  bool  // the shown entry is a directory
	lowers []int // for a directory: the lower layers whose same-named directory merges into it, top first
	closed bool  // no further lower layer may merge into it
}

// merger applies the rules to one directory, one layer at a time, top
// first. Feeding layers one by one lets the caller stat each winner while
// that layer's directory is still open.
type merger struct {
	byName map[string]*merged
	hidden map[string]bool // names whited out by a layer already seen
	opaque bool            // a layer already seen was opaque: stop
}

func newMerger() *merger {
	return &merger{byName: map[string]*merged{}, hidden: map[string]bool{}}
}

// add merges layer's listing of the directory (opaque: the directory is
// opaque in this layer) and returns the entries this layer newly shows
// (the caller fills in their attributes). After a layer that makes the
// directory opaque, done reports true.
func (m *merger) add(layer int, ents []dirent, opaque bool) (shown []*merged) {
	if m.opaque {
		return nil
	}
	m.opaque = opaque
	var whited []string
	for _, e := range ents {
		switch e.kind {
		case whiteout.Whiteout:
			if e.target != "" {
				whited = append(whited, e.target)
			}
			continue
		case whiteout.Opaque, whiteout.Meta:
			continue
		}
		if m.hidden[e.name] {
			continue
		}
		if up := m.byName[e.name]; up != nil {
			// An upper entry owns the name: only an open upper directory
			// takes in a lower directory; anything else closes it (no
			// merging through a file).
			if up.isDir && !up.closed && e.isDir {
				up.lowers = append(up.lowers, layer)
			} else {
				up.closed = true
			}
			continue
		}
		// A whiteout of the name in this same layer needs nothing here:
		// it hides the name below, which makes this directory opaque.
		me := &merged{name: e.name, layer: layer, isDir: e.isDir, closed: !e.isDir}
		m.byName[e.name] = me
		shown = append(shown, me)
	}
	for _, name := range whited {
		m.hidden[name] = true
	}
	return shown
}

// done reports whether no lower layer can add anything.
func (m *merger) done() bool { return m.opaque }

// result returns the visible entries sorted bytewise by name: a stable
// order for readdir and binary search for lookup.
func (m *merger) result() []*merged {
	out := make([]*merged, 0, len(m.byName))
	for _, me := range m.byName {
		out = append(out, me)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}
