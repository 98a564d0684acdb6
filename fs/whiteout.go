package fs

import (
	"sort"
	"strings"
)

// The aufs whiteout names. aufs tells them by name alone: on a live branch
// a whiteout is a hard link of .wh..wh.aufs, in a layer unpacked from a
// tar it is a plain empty file; either way only the name counts.
const (
	// whPrefix starts a whiteout: ".wh.<name>" in a directory of layer n
	// hides <name> in that directory in every layer below n.
	whPrefix = ".wh."
	// whMetaPrefix starts aufs bookkeeping (.wh..wh.aufs, .wh..wh.plnk/,
	// .wh..wh.orph/): never shown, never merged, never descended into.
	whMetaPrefix = ".wh..wh."
	// whOpaque in a directory of layer n makes that directory opaque:
	// nothing of the same directory in the layers below shows.
	whOpaque = ".wh..wh..opq"
)

// nameKind is what a directory entry's name means to the union.
type nameKind int

const (
	namePlain    nameKind = iota // an ordinary entry, shown
	nameWhiteout                 // .wh.<target>: hides target below
	nameOpaque                   // .wh..wh..opq
	nameMeta                     // other .wh..wh.* bookkeeping
)

// classify tells what a name means; for a whiteout it also returns the
// name it hides, or "" when it hides nothing ("." , ".." or empty, or a
// name with a slash, which no directory can hold).
func classify(name string) (nameKind, string) {
	switch {
	case !strings.HasPrefix(name, whPrefix):
		return namePlain, ""
	case name == whOpaque:
		return nameOpaque, ""
	case strings.HasPrefix(name, whMetaPrefix):
		return nameMeta, ""
	}
	target := name[len(whPrefix):]
	if target == "" || target == "." || target == ".." || strings.Contains(target, "/") {
		return nameWhiteout, ""
	}
	return nameWhiteout, target
}

// dirent is one name of one layer's directory, as getdents gives it.
type dirent struct {
	name  string
	isDir bool
}

// merged is one visible name of a merged directory.
type merged struct {
	name   string
	layer  int   // index (top = 0) of the layer whose entry is shown
	isDir  bool  // the shown entry is a directory
	lowers []int // for a directory: the lower layers whose same-named directory merges into it, top first
	closed bool  // no further lower layer may merge into it
}

// merger applies the aufs rules to one directory, one layer at a time,
// top first. Feeding layers one by one lets the caller stat each winner
// while that layer's directory is still open.
type merger struct {
	raw    bool // show every name as stored: no whiteout is a whiteout
	byName map[string]*merged
	hidden map[string]bool // names whited out by a layer already seen
	opaque bool            // a layer already seen was opaque: stop
}

func newMerger() *merger {
	return &merger{byName: map[string]*merged{}, hidden: map[string]bool{}}
}

// add merges layer's listing of the directory and returns the entries
// this layer newly shows (the caller fills in their attributes). After a
// layer that makes the directory opaque, done reports true.
func (m *merger) add(layer int, ents []dirent) (shown []*merged) {
	if m.opaque {
		return nil
	}
	whited := map[string]bool{}
	if m.raw {
		return m.addPlain(layer, ents)
	}
	for _, e := range ents {
		switch k, target := classify(e.name); k {
		case nameOpaque:
			m.opaque = true
		case nameWhiteout:
			if target != "" {
				whited[target] = true
			}
		}
	}
	for _, e := range ents {
		if k, _ := classify(e.name); k != namePlain || m.hidden[e.name] {
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
	for name := range whited {
		m.hidden[name] = true
	}
	return shown
}

// addPlain is add for a raw view of one layer.
func (m *merger) addPlain(layer int, ents []dirent) (shown []*merged) {
	for _, e := range ents {
		if m.byName[e.name] == nil {
			me := &merged{name: e.name, layer: layer, isDir: e.isDir, closed: true}
			m.byName[e.name] = me
			shown = append(shown, me)
		}
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

// mergeListings merges the listings of one directory in each layer, top
// first; a nil listing means the layer does not have the directory.
func mergeListings(listings [][]dirent) []*merged {
	m := newMerger()
	for i, ents := range listings {
		if m.done() {
			break
		}
		m.add(i, ents)
	}
	return m.result()
}
