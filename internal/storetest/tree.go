package storetest

import "slices"

// The overlay (v1) and vfs drivers keep whole trees: a layer's directory
// is the merged view of its chain so far. They are written from the
// model, Merge, rather than by applying each layer to a copy of its
// parent as Docker does: the result is the same, without Docker's slips
// (its copy makes a socket a fifo, recreates symlinks, devices and fifos
// where overlay links regular files, and keeps of the xattrs it copies
// only security.capability: here every xattr is kept).

// inodeKey names an inode of a view: nodes with the same Layer and
// Origin are one inode.
type inodeKey struct {
	layer  int
	origin string
}

func keyOf(n Node) inodeKey { return inodeKey{n.Layer, n.Origin} }

// treeOf lays out a view as one tree, each inode once: its other names
// are hard links of the first. With below set, the names that come from
// a layer under the top one are hard links of the same names in the tree
// below (overlay: the parent's root/, the same inodes); otherwise every
// inode is new (vfs: a full copy).
func treeOf(view []Node, below string) *expanded {
	x := newExpanded(&raw{path: rootPath, e: view[0].Entry, origin: rootPath})
	first := map[inodeKey]string{}
	for _, n := range view[1:] {
		r := &raw{path: n.Path, e: n.Entry, origin: n.Path}
		switch {
		case n.Entry.Kind == Dir:
		case below != "" && n.Layer > 0:
			r.link = below + "/" + n.Path
		default:
			share(first, n, r)
		}
		x.put(r)
	}
	return x
}

// share makes r, which shows the non-directory n, a hard link of the
// first name of n's inode in first, or that first name.
func share(first map[inodeKey]string, n Node, r *raw) {
	if p := first[keyOf(n)]; p != "" {
		r.origin = p
		r.e = Entry{Path: n.Path, Kind: Hardlink, Target: p}.normalized()
	} else {
		first[keyOf(n)] = n.Path
	}
}

// upperOf is the upper directory that, over the tree of the view lower,
// shows view, whose layers above lower's are the first top of xs: what
// those layers change, with overlay whiteouts (only for names lower has)
// and opaque directories (only where lower has a directory to hide; the
// kernel, which wrote it, merges the roots: an opaque root is a whiteout
// of every name lower's has).
func upperOf(view []Node, top int, lower []Node, xs []*expanded, enc encoding) *expanded {
	kids := func(nodes []Node) map[string][]Node {
		m := map[string][]Node{}
		for _, n := range nodes[1:] {
			dir, _ := split(n.Path)
			m[dir] = append(m[dir], n)
		}
		return m
	}
	viewKids, lowerKids := kids(view), kids(lower)
	inView := map[string]bool{}
	for _, n := range view {
		inView[n.Path] = true
	}
	lowerDirs := map[string]bool{}
	for _, n := range lower {
		lowerDirs[n.Path] = n.Entry.Kind == Dir
	}
	x := newExpanded(&raw{path: rootPath, e: view[0].Entry, origin: rootPath})
	first := map[inodeKey]string{}
	var dir func(n Node, r *raw)
	dir = func(n Node, r *raw) {
		merged := slices.ContainsFunc(n.Layers, func(l int) bool { return l >= top })
		if lowerDirs[n.Path] && !merged && n.Path != rootPath {
			r.e = r.e.WithXattr(enc.opaque, "y")
		}
		for _, c := range viewKids[n.Path] {
			if c.Layer >= top {
				continue // shown from lower, as it is there
			}
			cr := &raw{path: c.Path, e: c.Entry, origin: c.Path}
			if c.Entry.Kind != Dir {
				share(first, c, cr)
			}
			x.put(cr)
			if c.Entry.Kind == Dir {
				dir(c, cr)
			}
		}
		if !merged && n.Path != rootPath {
			return
		}
		for _, l := range lowerKids[n.Path] {
			if !inView[l.Path] {
				x.put(enc.whiteout(l.Path, whiteoutEntry(xs[:top], l.Path)))
			}
		}
	}
	dir(view[0], x.byPath[rootPath])
	return x
}

// whiteoutEntry is the aufs whiteout of hidden in the topmost of xs that
// has one.
func whiteoutEntry(xs []*expanded, hidden string) Entry {
	dir, name := split(hidden)
	for _, x := range xs {
		if r := x.byPath[join(dir, whPrefix+name)]; r != nil {
			return r.e
		}
	}
	return Entry{Kind: Whiteout}.normalized() // not reached: a name hidden from below is whited out above
}
