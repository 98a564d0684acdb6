package layertar

import (
	"archive/tar"
	"maps"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// Meta is what a layer's tar records of one entry: what a copy of the
// store can lose, and the view restores (docs/copies.md).
type Meta struct {
	Name  string `json:"n"` // the entry's name in its directory
	Mode  uint32 `json:"m"` // S_IFMT and permission bits
	UID   uint32 `json:"u,omitempty"`
	GID   uint32 `json:"g,omitempty"`
	Mtime int64  `json:"t"` // nanoseconds since the epoch
	Size  int64  `json:"s,omitempty"`
	Rdev  uint64 `json:"r,omitempty"`
	// Link is, for a hard link, the layer path of the entry it links to;
	// its attributes are then that entry's.
	Link   string            `json:"l,omitempty"`
	Xattrs map[string]string `json:"x,omitempty"`
	// Off is, in an index of a tar stream (IndexTar), where a regular
	// file's data starts in the stream (0 in an index of a tar-split);
	// Sparse, for a sparse file, where each run of its data is (Open
	// reads either); Target is a symlink's target.
	Off    int64      `json:"o,omitempty"`
	Sparse []Fragment `json:"sp,omitempty"`
	Target string     `json:"k,omitempty"`
}

// Index is every entry a layer's tar records, but its whiteouts and
// opaque markers (whiteout.Markers), by directory.
type Index struct {
	Dirs  map[string][]Meta // directory ("" for the root) -> entries by name
	Links map[string]uint32 // hard-link target path -> names its inode has
	// Markers are the layer's whiteouts and opaque directories.
	Markers whiteout.Markers
	// MarkerEntries are, for each directory, the entries of its markers
	// as the tar holds them (.wh.<name>, .wh..wh..opq), by name: what a
	// layer shown as stored lists (AsStored).
	MarkerEntries map[string][]Meta
	// Root is the tar's entry for the layer root or, where it has none,
	// what the engine makes: a directory 0755 of root's, as new as the
	// newest entry (unpacking leaves it at least that new).
	Root *Meta
}

// Len is how many entries x records.
func (x *Index) Len() int {
	n := 0
	for _, ms := range x.Dirs {
		n += len(ms)
	}
	return n
}

// Lookup is the entry name of directory dir, or nil.
func (x *Index) Lookup(dir, name string) *Meta {
	if x == nil {
		return nil
	}
	ms := x.Dirs[dir]
	i := sort.Search(len(ms), func(i int) bool { return ms[i].Name >= name })
	if i < len(ms) && ms[i].Name == name {
		return &ms[i]
	}
	return nil
}

// Group is the hard-link group of the entry at p that m records: the
// path whose inode the group shares, and how many names it has. A lone
// entry is its own group of one.
func (x *Index) Group(p string, m *Meta) (string, uint32) { return group(x.Links, p, m) }

// group is Group over the link counts of an index.
func group(links map[string]uint32, p string, m *Meta) (string, uint32) {
	if m.Link != "" {
		return m.Link, links[m.Link]
	}
	if n := links[p]; n > 0 {
		return p, n
	}
	return p, 1
}

// ReadIndex reads every header of the layer's tar-split into an Index.
// Later entries of a path replace earlier ones, as unpacking does.
func ReadIndex(l Layer) (*Index, error) {
	ts, err := l.OpenTarSplit()
	if err != nil {
		return nil, err
	}
	defer ts.Close()
	ix := newIndexer()
	if err := eachHeader(ts, func(hdr *tar.Header) { ix.add(hdr, 0) }); err != nil {
		return nil, err
	}
	return ix.finish(), nil
}

// indexer builds an Index header by header.
type indexer struct {
	x      *Index
	byPath map[string]Meta
	// kids are, for IndexTar, the paths recorded in each directory (some
	// perhaps gone since), so that a file over a directory removes what
	// it held without going through every path.
	kids map[string][]string
}

func newIndexer() *indexer {
	return &indexer{x: &Index{Dirs: map[string][]Meta{}, Links: map[string]uint32{}}, byPath: map[string]Meta{}}
}

// add records one header, whose data (if any) starts at off of the
// stream; it reports the entry's path, and false for a header that
// records nothing (a marker, bookkeeping, a kind not unpacked, a name
// outside the layer, a hard link to nothing).
func (ix *indexer) add(hdr *tar.Header, off int64) (string, bool) {
	x, byPath := ix.x, ix.byPath
	p, ok := tarPath(hdr.Name)
	if !ok {
		return "", false // names nothing inside the layer: verify says so
	}
	base := path.Base(p)
	if p != "" && x.Markers.Add(hdr.Name) {
		ix.addMarkerEntry(parentOf(p), base, hdr, off)
		return p, false
	}
	if k, _ := whiteout.Aufs.Classify(base, 0, 0); p != "" && k != whiteout.Plain {
		return p, false // aufs bookkeeping
	}
	m, ok := metaOf(hdr)
	if !ok {
		return p, false
	}
	switch {
	case hdr.Typeflag == tar.TypeLink:
		target, ok := tarPath(hdr.Linkname)
		t, found := byPath[target]
		if !ok || !found || t.Mode&unix.S_IFMT != unix.S_IFREG {
			return p, false
		}
		if t.Link != "" { // a link to a link: the group's file
			target = t.Link
			t = byPath[target]
		}
		if x.Links[target] == 0 {
			x.Links[target] = 1
		}
		x.Links[target]++
		// Unpacking applies a link header's mode, owner and mtime to the
		// inode it shares with its target (withoutLinkAttrs): the group
		// takes them; finish gives them to its other names.
		t.Mode = t.Mode&unix.S_IFMT | m.Mode&0o7777
		t.UID, t.GID, t.Mtime = m.UID, m.GID, m.Mtime
		byPath[target] = t
		m = t
		m.Link = target
	case m.Mode&unix.S_IFMT == unix.S_IFREG:
		m.Off = off
	case m.Mode&unix.S_IFMT == unix.S_IFLNK:
		m.Target = hdr.Linkname
	}
	if p == "" {
		x.Root = &m
		return p, true
	}
	m.Name = base
	byPath[p] = m
	return p, true
}

// finish files the entries by directory, with the root the tar gives or
// the engine makes.
func (ix *indexer) finish() *Index {
	x := ix.x
	if x.Root == nil {
		x.Root = &Meta{Mode: unix.S_IFDIR | 0o755}
		for _, m := range ix.byPath {
			x.Root.Mtime = max(x.Root.Mtime, m.Mtime)
		}
	}
	for p, m := range ix.byPath {
		if t, ok := ix.byPath[m.Link]; m.Link != "" && ok && t.Link == "" {
			m.Mode, m.UID, m.GID, m.Mtime = t.Mode, t.UID, t.GID, t.Mtime
			ix.byPath[p] = m
		}
	}
	x.setDirs(ix.byPath)
	return x
}

// addMarkerEntry records the marker hdr, whose data starts at off, as
// the entry name of dir, in name order; a later one of the same name replaces
// it, as unpacking would. Engines write a marker as an empty file; a
// regular file or a symlink is kept as it is, anything else (a hard
// link, a sparse file, a directory, which the listing has already) is
// not shown.
func (ix *indexer) addMarkerEntry(dir, name string, hdr *tar.Header, off int64) {
	m, ok := metaOf(hdr)
	if !ok || IsSparse(hdr) {
		return
	}
	switch {
	case hdr.Typeflag == tar.TypeLink:
		return
	case m.Mode&unix.S_IFMT == unix.S_IFREG:
		m.Off = off
	case m.Mode&unix.S_IFMT == unix.S_IFLNK:
		m.Target = hdr.Linkname
	default:
		return
	}
	m.Name = name
	x := ix.x
	if x.MarkerEntries == nil {
		x.MarkerEntries = map[string][]Meta{}
	}
	ms := x.MarkerEntries[dir]
	i := sort.Search(len(ms), func(i int) bool { return ms[i].Name >= m.Name })
	if i < len(ms) && ms[i].Name == m.Name {
		ms[i] = m
		return
	}
	ms = append(ms, Meta{})
	copy(ms[i+1:], ms[i:])
	ms[i] = m
	x.MarkerEntries[dir] = ms
}

// AsStored is x as the layer's tar stores it: every directory lists its
// markers' entries among its own, as plain names, and nothing is
// whited out (a layer shown raw, as a directory layer shows its
// encoding's whiteouts).
func (x *Index) AsStored() *Index {
	if len(x.MarkerEntries) == 0 {
		return x
	}
	y := *x
	y.Markers = whiteout.Markers{}
	y.Dirs = make(map[string][]Meta, len(x.Dirs))
	for d, ms := range x.Dirs {
		y.Dirs[d] = ms
	}
	for d, ms := range x.MarkerEntries {
		all := append(append(make([]Meta, 0, len(y.Dirs[d])+len(ms)), y.Dirs[d]...), ms...)
		sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
		y.Dirs[d] = all
	}
	return &y
}

// setDirs files the entries of byPath under their directories, by name.
func (x *Index) setDirs(byPath map[string]Meta) {
	x.Dirs = map[string][]Meta{}
	for p, m := range byPath {
		d := parentOf(p)
		x.Dirs[d] = append(x.Dirs[d], m)
	}
	for d := range x.Dirs {
		ms := x.Dirs[d]
		sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	}
}

// Merge is the index of a whole tree (a vfs layer, an overlay v1
// image's root/) from the indexes of its chain, top first: each layer's
// whiteouts and opaque directories remove what the layers below put
// there, and its entries replace theirs (docs/whiteouts.md). An entry a
// layer copies from below keeps the extended attributes keep says the
// driver copies.
func Merge(chain []*Index, keep func(xattr string) bool) *Index {
	if len(chain) == 1 {
		return chain[0]
	}
	out := &Index{Links: map[string]uint32{}}
	byPath := map[string]Meta{}
	for i := len(chain) - 1; i >= 0; i-- {
		x := chain[i]
		gone := map[string]bool{}  // paths removed with everything below them
		under := map[string]bool{} // directories emptied of the lower layers' entries
		for dir, names := range x.Markers.Whiteouts {
			for _, n := range names {
				gone[path.Join(dir, n)] = true
			}
		}
		for dir := range x.Markers.Opaque {
			under[dir] = true
		}
		for d, ms := range x.Dirs {
			for _, m := range ms {
				p := path.Join(d, m.Name)
				if old, ok := byPath[p]; ok && old.Mode&unix.S_IFMT == unix.S_IFDIR && m.Mode&unix.S_IFMT != unix.S_IFDIR {
					under[p] = true // a file over a directory hides what it held
				}
			}
		}
		for p, m := range byPath {
			if len(gone)+len(under) > 0 && removed(p, gone, under) {
				delete(byPath, p)
				continue
			}
			// Copied up into this layer's tree.
			if m, changed := keepXattrs(m, keep); changed {
				byPath[p] = m
			}
		}
		for d, ms := range x.Dirs {
			for _, m := range ms {
				byPath[path.Join(d, m.Name)] = m
			}
		}
	}
	// The groups as the tree has them: a name whited out above is not
	// one of them any more.
	for _, m := range byPath {
		if m.Link != "" {
			out.Links[m.Link]++
		}
	}
	for t := range out.Links {
		if _, ok := byPath[t]; ok {
			out.Links[t]++
		}
	}
	out.Root = chain[0].Root
	out.setDirs(byPath)
	return out
}

// keepXattrs is m with the extended attributes keep says alone; changed
// says some went (in a map of its own: m's may be shared).
func keepXattrs(m Meta, keep func(xattr string) bool) (_ Meta, changed bool) {
	for name := range m.Xattrs {
		if !keep(name) {
			m.Xattrs = maps.Clone(m.Xattrs)
			maps.DeleteFunc(m.Xattrs, func(k, _ string) bool { return !keep(k) })
			if len(m.Xattrs) == 0 {
				m.Xattrs = nil
			}
			return m, true
		}
	}
	return m, false
}

// KeepXattrs leaves each entry of x the extended attributes keep says
// alone: a layer served as an engine unpacks it, which may not apply
// every attribute its tar records (containerd: no trusted.*).
func (x *Index) KeepXattrs(keep func(xattr string) bool) {
	for _, ms := range x.Dirs {
		for i := range ms {
			ms[i], _ = keepXattrs(ms[i], keep)
		}
	}
	if x.Root != nil {
		*x.Root, _ = keepXattrs(*x.Root, keep)
	}
}

// removed tells whether p is, or is below, a path of gone, or is below a
// directory of under.
func removed(p string, gone, under map[string]bool) bool {
	if gone[p] {
		return true
	}
	for q := p; q != ""; {
		q = parentOf(q)
		if gone[q] && q != "" || under[q] {
			return true
		}
	}
	return false
}

// metaOf is the Meta of a header of a kind Docker unpacks.
func metaOf(hdr *tar.Header) (Meta, bool) {
	m := Meta{UID: uint32(hdr.Uid), GID: uint32(hdr.Gid), Mtime: hdr.ModTime.UnixNano(), Mode: uint32(hdr.Mode) & 0o7777}
	if hdr.Typeflag == tar.TypeLink {
		return m, true
	}
	t, ok := typeOf[hdr.Typeflag]
	if !ok {
		return m, false
	}
	m.Mode |= t
	switch t {
	case unix.S_IFREG:
		m.Size = hdr.Size
	case unix.S_IFCHR, unix.S_IFBLK:
		m.Rdev = unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	}
	for k, v := range hdr.PAXRecords {
		if name, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			if m.Xattrs == nil {
				m.Xattrs = map[string]string{}
			}
			m.Xattrs[name] = v
		}
	}
	return m, true
}
