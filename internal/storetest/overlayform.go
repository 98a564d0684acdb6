package storetest

import "strings"

// A description says what a layer holds the aufs way (docs/whiteouts.md):
// .wh.<name> whiteouts and .wh..wh..opq markers. The drivers of the
// overlay family keep the same layer in their own encoding, written here
// so that their view is the aufs one, whatever the driver.

// encoding is how a driver of the overlay family marks a layer's
// whiteouts and opaque directories.
type encoding struct {
	// devices: a whiteout is a 0/0 character device named as the name it
	// hides (else the empty file .wh.<name>).
	devices bool
	// opaque is the xattr, set to "y", of an opaque directory ("": the
	// empty file .wh..wh..opq in it).
	opaque string
}

// whiteoutOf is the name an aufs whiteout name hides: not an aufs
// bookkeeping name (.wh..wh.*), and never "", "." or "..".
func whiteoutOf(name string) (string, bool) {
	if !strings.HasPrefix(name, whPrefix) || strings.HasPrefix(name, metaPref) {
		return "", false
	}
	w := name[len(whPrefix):]
	return w, w != "" && w != "." && w != ".."
}

// hiddenDir says whether aufs never looks into dir: one of its components
// is a whiteout or bookkeeping name.
func hiddenDir(dir string) bool {
	return strings.HasPrefix(dir, whPrefix) || strings.Contains(dir, "/"+whPrefix)
}

// overlayForm is layer x as a driver of the overlay family keeps it: the
// names aufs shows, and its whiteouts and opaque directories in enc.
// What aufs would not show (bookkeeping names, anything under a whiteout
// name) is left out, since the overlay drivers would; a whiteout of a
// name the layer has is implied by the name, and makes a directory
// opaque (the aufs rule). kept counts, by inode (its first name in x),
// the names left.
//
// below, when not nil, is the view under a layer the kernel wrote (a
// container's): such a layer has whiteouts only of names below shows,
// and never an opaque root, since the kernel merges the roots of its
// layers whatever their marks; the names an opaque root hides are whited
// out one by one instead, as the kernel does. An image layer's opaque
// root is marked as Docker's untar marks it, and is lost to the kernel's
// view.
func overlayForm(x *expanded, enc encoding, below []Node) (y *expanded, kept map[string]int) {
	closed := map[string]bool{} // directories that hide the layers below
	markers := map[string]*raw{}
	for _, r := range x.order {
		dir, name := split(r.path)
		if r.path == rootPath || hiddenDir(dir) {
			continue
		}
		if name == opqName {
			closed[dir], markers[dir] = true, r
		} else if w, ok := whiteoutOf(name); ok {
			if t := x.byPath[join(dir, w)]; t != nil && t.e.Kind == Dir {
				closed[t.path] = true
			}
		}
	}
	if closed[rootPath] && below != nil {
		// Its directories hide those below, as the root would have.
		for _, b := range below {
			if r := x.byPath[b.Path]; r != nil && !strings.Contains(b.Path, "/") && r.e.Kind == Dir && b.Entry.Kind == Dir {
				closed[r.path] = true
			}
		}
	}
	shown := map[string]bool{} // what the kernel's whiteouts may hide
	for _, b := range below {
		shown[b.Path] = true
	}
	kept = map[string]int{}
	first := map[string]string{} // inode -> its first name kept
	for _, r := range x.order {
		dir, name := split(r.path)
		if hiddenDir(dir) {
			continue
		}
		if r.path != rootPath && strings.HasPrefix(name, whPrefix) {
			// The kernel writes none for a name nothing below shows (and
			// would list one in a directory it does not merge).
			w, ok := whiteoutOf(name)
			if ok && x.byPath[join(dir, w)] == nil && (below == nil || shown[join(dir, w)] && !closedAt(closed, dir)) {
				y.put(enc.whiteout(join(dir, w), r.e))
			}
			continue
		}
		n := &raw{path: r.path, e: r.e, origin: r.path}
		switch {
		case r.e.Kind == Dir:
		case first[r.origin] != "":
			n.e.Target, n.origin = first[r.origin], first[r.origin]
		default:
			// The inode's first name may be one left out.
			first[r.origin] = r.path
			n.e = x.byPath[r.origin].e
		}
		if r.path == rootPath && closed[r.path] && below != nil {
			y = newExpanded(n)
			for _, b := range below {
				if b.Path != rootPath && !strings.Contains(b.Path, "/") && x.byPath[b.Path] == nil {
					y.put(enc.whiteout(b.Path, markers[rootPath].e))
				}
			}
			continue
		}
		if closed[r.path] && enc.opaque != "" {
			n.e = n.e.WithXattr(enc.opaque, "y")
		}
		if r.path == rootPath {
			y = newExpanded(n)
		} else {
			y.put(n)
			kept[r.origin]++
		}
		if closed[r.path] && enc.opaque == "" {
			m := Entry{Kind: Opaque}.normalized()
			if o := markers[r.path]; o != nil {
				m = markerEntry(Opaque, o.e)
			}
			m.Path = join(r.path, opqName)
			y.put(&raw{path: m.Path, e: m, origin: m.Path})
		}
	}
	return y, kept
}

// closedAt says whether dir or a directory above it hides the layers
// below.
func closedAt(closed map[string]bool, dir string) bool {
	for ; ; dir, _ = split(dir) {
		if closed[dir] {
			return true
		}
		if dir == rootPath {
			return false
		}
	}
}

// whiteout is the marker that hides the name hidden, owned as the entry
// from that made it.
func (enc encoding) whiteout(hidden string, from Entry) *raw {
	if enc.devices {
		// Docker's untar makes it with mknod(S_IFCHR, 0) and chown; its
		// times are those of the entry, not of the untar, so that trees
		// are reproducible.
		e := markerEntry(CharDev, from)
		e.Mode = 0
		e.Path = hidden
		return &raw{path: hidden, e: e, origin: hidden}
	}
	dir, name := split(hidden)
	e := markerEntry(Whiteout, from)
	e.Path = join(dir, whPrefix+name)
	return &raw{path: e.Path, e: e, origin: e.Path}
}

// markerEntry is an empty marker of kind k with the attributes of from
// (normalized): its mode, owner and times.
func markerEntry(k Kind, from Entry) Entry {
	return Entry{Path: from.Path, Kind: k, Mode: from.Mode, UID: from.UID, GID: from.GID, Mtime: from.Mtime, Atime: from.Atime}
}
