package changes

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"sort"
	"syscall"

	"github.com/aufsmount/aufsmount/fs"
)

// Between lists what differs from view a to view b, sorted by path: a
// path b has and a does not is Added, one a has and b does not Deleted,
// and one both have Modified when its content, type, mode bits, owner,
// symlink target, device number or extended attributes differ (not its
// times, link count or inode number). A directory one of them has alone
// comes with everything below it.
//
// The layers at the bottom of both views that are the same directories
// are shared: a path that no other layer touches shows the same in both,
// so only the touched ones are looked at, and two images that differ by a
// small layer compare at once whatever their size. a and b are views of
// stacks alone (fs.OpenView, no binds).
func Between(a, b *fs.View) ([]Change, error) {
	la, lb := a.Layers(), b.Layers()
	shared := sharedLayers(la, lb)
	return between(a, b, len(la)-shared, len(lb)-shared)
}

// Full lists what Between lists, by comparing every path of the two
// views: at the cost of reading both trees whole, whatever they share.
func Full(a, b *fs.View) ([]Change, error) {
	d := newDiffer(a, b)
	ea, err := a.Lookup("")
	if err != nil {
		return nil, err
	}
	eb, err := b.Lookup("")
	if err != nil {
		return nil, err
	}
	if err := d.path("", &ea, &eb, true); err != nil {
		return nil, err
	}
	return sorted(d.out), nil
}

// sharedLayers counts the layers at the bottom of both stacks (top
// first) that are the same directories or blobs (fs.Layer.Key): their
// longest common suffix.
func sharedLayers(a, b []fs.Layer) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n].Key() == b[len(b)-1-n].Key() {
		n++
	}
	return n
}

// between compares two views whose layers below the top unsharedA of a
// and unsharedB of b are the same directories: every path an unshared
// layer holds, and its parents; and below every path an unshared layer
// whites out or makes opaque, and below every directory that only one
// side has, the whole subtree.
func between(a, b *fs.View, unsharedA, unsharedB int) ([]Change, error) {
	touched := map[string]bool{} // path -> compare its whole subtree
	for _, s := range []struct {
		v *fs.View
		n int
	}{{a, unsharedA}, {b, unsharedB}} {
		for i := 0; i < s.n; i++ {
			// The parents of every path come too: a layer's directory
			// holds the directories its entries and whiteouts are in.
			err := s.v.WalkLayer(i, func(p string, kind fs.ChangeKind, isDir bool) error {
				touched[p] = touched[p] || kind != fs.Holds
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	paths := make([]string, 0, len(touched))
	for p := range touched {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	d := newDiffer(a, b)
	for _, p := range paths {
		if d.coveredBy(p) {
			continue
		}
		ea, err := lookupIn(a, p)
		if err != nil {
			return nil, err
		}
		eb, err := lookupIn(b, p)
		if err != nil {
			return nil, err
		}
		if err := d.path(p, ea, eb, touched[p]); err != nil {
			return nil, err
		}
	}
	return sorted(d.out), nil
}

// differ is one comparison of two views.
type differ struct {
	a, b       *fs.View
	dirA, dirB []string        // layers' keys (fs.Layer.Key: a directory, an archive's blob) by index
	out        map[string]Kind // path (no leading slash) -> what became of it
	covered    map[string]bool // paths whose whole subtree was compared
	buf        [2][]byte       // content comparison buffers
}

func newDiffer(a, b *fs.View) *differ {
	d := &differ{a: a, b: b, out: map[string]Kind{}, covered: map[string]bool{}}
	for _, l := range a.Layers() {
		d.dirA = append(d.dirA, l.Key())
	}
	for _, l := range b.Layers() {
		d.dirB = append(d.dirB, l.Key())
	}
	return d
}

// coveredBy says whether p lies in a subtree already compared whole.
func (d *differ) coveredBy(p string) bool {
	for q := p; q != ""; {
		q = parentPath(q)
		if d.covered[q] {
			return true
		}
	}
	return false
}

// path compares p, shown as ea in a and eb in b (nil: absent); with
// subtree, everything below a directory both have too.
func (d *differ) path(p string, ea, eb *fs.Entry, subtree bool) error {
	switch {
	case ea == nil && eb == nil:
		return nil
	case ea == nil:
		return d.only(side{d.b, Added}, p, eb)
	case eb == nil:
		return d.only(side{d.a, Deleted}, p, ea)
	}
	same, err := d.same(p, ea, eb)
	if err != nil {
		return err
	}
	if !same {
		d.out[p] = Modified
	}
	switch {
	case ea.IsDir() && eb.IsDir():
		if subtree {
			return d.dirs(p)
		}
	case ea.IsDir():
		return d.below(side{d.a, Deleted}, p)
	case eb.IsDir():
		return d.below(side{d.b, Added}, p)
	}
	return nil
}

// side is one view of the comparison and what became of what only it
// has.
type side struct {
	v    *fs.View
	kind Kind
}

// only records p, which one side only has, with everything below it.
func (d *differ) only(s side, p string, e *fs.Entry) error {
	d.out[p] = s.kind
	if e.IsDir() {
		return d.below(s, p)
	}
	return nil
}

func (d *differ) below(s side, p string) error {
	d.covered[p] = true
	ents, err := s.v.ReadDir(p)
	if err != nil {
		return err
	}
	for i := range ents {
		if err := d.only(s, join(p, ents[i].Name), &ents[i]); err != nil {
			return err
		}
	}
	return nil
}

// dirs compares the entries of directory p, which both sides have, and
// everything below them.
func (d *differ) dirs(p string) error {
	d.covered[p] = true
	as, err := d.a.ReadDir(p)
	if err != nil {
		return err
	}
	bs, err := d.b.ReadDir(p)
	if err != nil {
		return err
	}
	for i, j := 0, 0; i < len(as) || j < len(bs); {
		var ea, eb *fs.Entry
		switch {
		case j == len(bs) || i < len(as) && as[i].Name < bs[j].Name:
			ea, i = &as[i], i+1
		case i == len(as) || bs[j].Name < as[i].Name:
			eb, j = &bs[j], j+1
		default:
			ea, eb, i, j = &as[i], &bs[j], i+1, j+1
		}
		name := ""
		if ea != nil {
			name = ea.Name
		} else {
			name = eb.Name
		}
		if err := d.path(join(p, name), ea, eb, true); err != nil {
			return err
		}
	}
	return nil
}

// same says whether p shows the same in both: type, mode bits, owner,
// content, symlink target, device number and xattrs; not times, link
// counts or inode numbers.
func (d *differ) same(p string, ea, eb *fs.Entry) (bool, error) {
	if d.dirA[ea.Layer] == d.dirB[eb.Layer] && ea.Ino == eb.Ino {
		return true, nil // one inode of one layer directory
	}
	if ea.Mode != eb.Mode || ea.Uid != eb.Uid || ea.Gid != eb.Gid {
		return false, nil
	}
	switch ea.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		if ea.Size != eb.Size {
			return false, nil
		}
		if eq, err := d.sameContent(p); !eq || err != nil {
			return false, err
		}
	case syscall.S_IFLNK:
		ta, err := d.a.Readlink(p)
		if err != nil {
			return false, err
		}
		tb, err := d.b.Readlink(p)
		if err != nil || ta != tb {
			return false, err
		}
	case syscall.S_IFCHR, syscall.S_IFBLK:
		if ea.Rdev != eb.Rdev {
			return false, nil
		}
	}
	xa, err := d.a.Xattrs(p)
	if err != nil {
		return false, err
	}
	xb, err := d.b.Xattrs(p)
	if err != nil {
		return false, err
	}
	return maps.EqualFunc(xa, xb, bytes.Equal), nil
}

func (d *differ) sameContent(p string) (bool, error) {
	fa, err := d.a.Open(p)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := d.b.Open(p)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	if d.buf[0] == nil {
		d.buf = [2][]byte{make([]byte, 256<<10), make([]byte, 256<<10)}
	}
	for {
		na, errA := io.ReadFull(fa, d.buf[0])
		nb, errB := io.ReadFull(fb, d.buf[1])
		if !bytes.Equal(d.buf[0][:na], d.buf[1][:nb]) {
			return false, nil
		}
		endA := errA == io.EOF || errA == io.ErrUnexpectedEOF
		endB := errB == io.EOF || errB == io.ErrUnexpectedEOF
		switch {
		case errA != nil && !endA:
			return false, fmt.Errorf("reading %s: %w", p, errA)
		case errB != nil && !endB:
			return false, fmt.Errorf("reading %s: %w", p, errB)
		case endA || endB:
			return endA == endB, nil
		}
	}
}
