package kernelview

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/internal/beneath"
)

// The items of a plan, and how they are packed into shims.

// items works out every entry the shims must hold (see doc.go).
func (p *Plan) items() ([]item, error) {
	var items []item
	markerDirs := map[string]bool{}
	for n, s := range p.scans {
		for _, dir := range sortedKeys(s.dirs) {
			m := s.dirs[dir]
			if len(m.dotNames) > 0 {
				markerDirs[dir] = true
			}
			st, err := p.stack(dir)
			if err != nil {
				return nil, err
			}
			pos := indexOf(st, n)
			if pos < 0 {
				continue // the view never reaches this directory of layer n
			}
			// Whiteouts: each hides its name below n, down to the first
			// layer that has an entry there; one that meets a whiteout
			// first, or nothing, hides nothing.
			for _, name := range m.whiteouts {
				for _, k := range st[pos+1:] {
					ev, _, err := p.eventAt(k, dir, name)
					if err != nil {
						return nil, err
					}
					if ev == evEntry {
						kind := itemWhiteout
						if sub, err := p.stack(join(dir, name)); err != nil {
							return nil, err
						} else if indexOf(sub, n) >= 0 {
							// n holds the directory too, and the view
							// shows it: an opaque directory below n hides
							// the same and keeps the directory merged.
							kind = itemOpaque
						}
						lo, err := p.whiteoutTop(st, pos, dir, name)
						if err != nil {
							return nil, err
						}
						items = append(items, item{kind: kind, path: join(dir, name), lo: lo, hi: k - 1})
					}
					if ev != evNone {
						break
					}
				}
			}
			if m.shimOpaque && pos == len(st)-1 {
				more, err := p.opaqueItems(n, dir)
				if err != nil {
					return nil, err
				}
				items = append(items, more...)
			}
			if m.devices && len(st) == 1 && dir != "" {
				items = append(items, p.mergeItem(n, dir))
			}
		}
	}
	// The .wh.* entries themselves: one whiteout for each name in each
	// directory, above the topmost layer of the directory's stack that
	// has it, and below the layer showing the directory where that is
	// another (then the shim's directory is not what the kernel shows).
	for _, dir := range sortedKeys(markerDirs) {
		st, err := p.stack(dir)
		if err != nil {
			return nil, err
		}
		if st == nil {
			continue
		}
		top := map[string]int{}
		for _, k := range st {
			if m := p.scans[k].dirs[dir]; m != nil {
				for _, name := range m.dotNames {
					if _, ok := top[name]; !ok {
						top[name] = k
					}
				}
			}
		}
		for _, name := range sortedKeys(top) {
			k, path := top[name], join(dir, name)
			e, err := p.shownAt(st, dir, name)
			switch {
			case err == nil:
				it, err := p.shownMarkerName(path, e, k)
				if err != nil {
					return nil, err
				}
				if it != nil {
					items = append(items, *it)
				}
				continue
			case !beneath.Gone(err):
				return nil, err
			}
			// Anywhere above k will do; above the directory's topmost
			// layer the shim's directory is what the kernel shows, with
			// the view's attributes copied onto it.
			items = append(items, item{kind: itemHide, path: path, lo: -1, hi: k - 1})
		}
	}
	return items, nil
}

// whiteoutTop is the highest gap a whiteout of name in dir, from layer
// st[pos], may take: below the nearest layer, that one or above, that
// has an entry there (the whiteout must not hide it), else below the
// directory's topmost layer (above it the shim's directory would show).
func (p *Plan) whiteoutTop(st []int, pos int, dir, name string) (int, error) {
	for j := pos; j >= 0; j-- {
		ev, _, err := p.eventAt(st[j], dir, name)
		if err != nil {
			return 0, err
		}
		if ev == evEntry {
			return st[j], nil
		}
	}
	return st[0], nil
}

// shownAt returns the view's entry name of directory dir (of stack st),
// failing with ENOENT without asking the view where only layers whose
// encoding takes every .wh.* name for a marker have it.
func (p *Plan) shownAt(st []int, dir, name string) (fs.Entry, error) {
	for _, k := range st {
		if encodingOf(p.layers[k]).DotFiles {
			continue
		}
		var s unix.Stat_t
		if err := p.lstat(k, join(dir, name), &s); err == nil {
			return p.view.Lookup(join(dir, name))
		}
	}
	return fs.Entry{}, unix.ENOENT
}

// shownMarkerName handles a .wh.* name that layer k (the topmost of its
// directory's stack to have it) holds as a marker, and that the view
// shows from a layer whose encoding has no markers (overlay, whole
// trees). A marker above that layer would show in its place: refused.
// A non-directory stops overlayfs as it stops the merge. A directory
// must not merge with the marker below it: an opaque directory in a
// shim between them stops overlayfs where the merge stops, unless the
// merge takes in more directories past a marker.
func (p *Plan) shownMarkerName(path string, e fs.Entry, k int) (*item, error) {
	conflict := func() error {
		return &RefusedError{Reason: NameConflict, Path: path,
			Detail: fmt.Sprintf("layer %s shows an entry of this name, which layer %s holds as an aufs marker", p.layers[e.Layer].Dir, p.layers[k].Dir)}
	}
	if k < e.Layer {
		return nil, conflict()
	}
	if !e.IsDir() {
		return nil, nil
	}
	st, err := p.stack(path)
	if err != nil {
		return nil, err
	}
	last := st[len(st)-1]
	if k < last {
		return nil, conflict()
	}
	return &item{kind: itemOpaque, path: path, lo: last, hi: k - 1}, nil
}

// mergeItem makes directory dir of layer n, which nothing merges with,
// a merged one for overlayfs, so that it leaves out the 0/0 devices it
// holds: an empty opaque directory just below n, or, where n stops
// overlayfs itself at dir or a directory above (an opaque attribute),
// a plain one just above n.
func (p *Plan) mergeItem(n int, dir string) item {
	for d := dir; d != ""; d, _ = splitDir(d) {
		if p.scans[n].dirs[d].nativeOpaque() {
			return item{kind: itemMergeAbove, path: dir, lo: n - 1, hi: n - 1}
		}
	}
	return item{kind: itemMerge, path: dir, lo: n, hi: n}
}

// opaqueItems stands for layer n's opaque marker on directory dir (n is
// the last of dir's stack). overlayfs honours opacity on directories
// below the root; a lower layer's root it always merges, so an opaque
// root becomes a whiteout of every name the roots below hold.
func (p *Plan) opaqueItems(n int, dir string) ([]item, error) {
	if dir == "" {
		var items []item
		seen := map[string]bool{}
		buf := make([]byte, 64<<10)
		for k := n + 1; k < len(p.layers); k++ {
			fd, err := p.roots[k].OpenDir("")
			if err != nil {
				return nil, fmt.Errorf("opening %s: %w", p.layers[k].Dir, err)
			}
			des, err := beneath.ReadDirents(fd, buf)
			unix.Close(fd)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", p.layers[k].Dir, err)
			}
			for _, de := range des {
				if !seen[de.Name] {
					seen[de.Name] = true
					items = append(items, item{kind: itemOpaqueRoot, path: de.Name, lo: n, hi: k - 1})
				}
			}
		}
		return items, nil
	}
	parent, name := splitDir(dir)
	if p.scans[n].dirs[parent].whitesOut(name) {
		return nil, nil // n whites the directory out below itself as well
	}
	st, err := p.stack(parent)
	if err != nil {
		return nil, err
	}
	pos := indexOf(st, n)
	if pos < 0 {
		return nil, fmt.Errorf("internal error: layer %d has /%s but not its parent", n, dir)
	}
	for _, k := range st[pos+1:] {
		ev, isDir, err := p.eventAt(k, parent, name)
		if err != nil {
			return nil, err
		}
		if ev == evEntry && isDir {
			return []item{{kind: itemOpaque, path: dir, lo: n, hi: k - 1}}, nil
		}
		if ev != evNone {
			break // a non-directory or a whiteout stops overlayfs as well
		}
	}
	return nil, nil
}

// pack puts the items into as few shims as their windows allow: sorted
// by the lowest gap each may take, each goes into the last shim opened
// if that one is within its window, else into a new shim at its lowest
// gap (the greedy that stabs intervals with the fewest points).
func (p *Plan) pack(items []item) error {
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].hi != items[j].hi {
			return items[i].hi < items[j].hi
		}
		return items[i].path < items[j].path
	})
	var cur *shim
	for _, it := range items {
		if cur == nil || it.lo > cur.gap {
			cur = &shim{gap: it.hi, root: newShimDir()}
			p.shims = append(p.shims, cur)
		}
		if err := cur.add(it); err != nil {
			return err
		}
		switch it.kind {
		case itemHide:
			p.stats.Hidden++
		case itemOpaque, itemOpaqueRoot:
			p.stats.Opaque++
		case itemMerge, itemMergeAbove:
			p.stats.Merged++
		default:
			p.stats.Whiteouts++
		}
	}
	// The shim directories the kernel shows are those no real layer
	// above their shim holds: they get the view's attributes.
	for _, s := range p.shims {
		if err := p.markCopies(s, s.root, ""); err != nil {
			return err
		}
	}
	sort.Strings(p.stats.Copied)
	return nil
}

func (p *Plan) markCopies(s *shim, d *shimDir, path string) error {
	st, err := p.stack(path)
	if err != nil {
		return err
	}
	if st == nil {
		return fmt.Errorf("internal error: shim %d has /%s, which is not a directory of the view", s.gap, path)
	}
	if st[0] > s.gap {
		d.copyFrom, d.copied = path, true
		p.stats.Copied = append(p.stats.Copied, path)
	}
	for name, c := range d.children {
		if err := p.markCopies(s, c, join(path, name)); err != nil {
			return err
		}
	}
	return nil
}

// add puts one item into the shim: its directories on the way, then
// the whiteout or the directory. An opaque directory also does what a
// whiteout of the same path would (a layer above holds the directory,
// or the item would not be there): the one takes the other's place.
func (s *shim) add(it item) error {
	names := strings.Split(it.path, "/")
	d := s.root
	for i, name := range names {
		last := i == len(names)-1
		isWhiteout := it.kind == itemWhiteout || it.kind == itemOpaqueRoot || it.kind == itemHide
		opaque := it.kind == itemOpaque || it.kind == itemMerge
		if last && isWhiteout {
			if c := d.children[name]; c != nil {
				if c.opaque {
					return nil
				}
				return fmt.Errorf("internal error: shim at gap %d needs /%s as a whiteout and as a directory", s.gap, it.path)
			}
			d.whiteouts[name] = true
			return nil
		}
		if d.whiteouts[name] {
			if !(last && opaque) {
				return fmt.Errorf("internal error: shim at gap %d needs /%s as a whiteout and as a directory", s.gap, strings.Join(names[:i+1], "/"))
			}
			delete(d.whiteouts, name)
		}
		c := d.children[name]
		if c == nil {
			c = newShimDir()
			d.children[name] = c
		}
		if last && opaque {
			c.opaque = true
		}
		d = c
	}
	return nil
}
