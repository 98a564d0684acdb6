package layertar

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// An Index is cached as a compact binary record, read back with one
// allocation for all its names: the view holds the index of every layer
// a copy damaged, and memory per entry is what a big image costs.

const indexMagic = "aufsmount index 5\n"

// MarshalBinary encodes x.
func (x *Index) MarshalBinary() ([]byte, error) {
	var b []byte
	str := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	uv := func(v uint64) { b = binary.AppendUvarint(b, v) }
	meta := func(m *Meta) {
		str(m.Name)
		uv(uint64(m.Mode))
		uv(uint64(m.UID))
		uv(uint64(m.GID))
		// Seconds, then nanoseconds (nearly always none): shorter than
		// nanoseconds since the epoch.
		b = binary.AppendVarint(b, m.Mtime/1e9)
		uv(uint64(m.Mtime % 1e9))
		b = binary.AppendVarint(b, m.Size)
		uv(m.Rdev)
		str(m.Link)
		b = binary.AppendVarint(b, m.Off)
		// Fragments, one more than there are; 0 for a file not sparse.
		if m.Sparse == nil {
			uv(0)
		} else {
			uv(uint64(len(m.Sparse)) + 1)
		}
		for _, f := range m.Sparse {
			b = binary.AppendVarint(b, f.Offset)
			b = binary.AppendVarint(b, f.Length)
			b = binary.AppendVarint(b, f.Stream)
		}
		str(m.Target)
		keys := make([]string, 0, len(m.Xattrs))
		for k := range m.Xattrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		uv(uint64(len(keys)))
		for _, k := range keys {
			str(k)
			str(m.Xattrs[k])
		}
	}
	b = append(b, indexMagic...)
	root := Meta{}
	if x.Root != nil {
		root = *x.Root
	}
	meta(&root)
	uv(uint64(len(x.Dirs)))
	for d, ms := range x.Dirs {
		str(d)
		uv(uint64(len(ms)))
		for i := range ms {
			meta(&ms[i])
		}
	}
	uv(uint64(len(x.Links)))
	for t, n := range x.Links {
		str(t)
		uv(uint64(n))
	}
	uv(uint64(len(x.Markers.Opaque)))
	for d := range x.Markers.Opaque {
		str(d)
	}
	uv(uint64(len(x.Markers.Whiteouts)))
	for d, names := range x.Markers.Whiteouts {
		str(d)
		uv(uint64(len(names)))
		for _, n := range names {
			str(n)
		}
	}
	uv(uint64(len(x.MarkerEntries)))
	for d, ms := range x.MarkerEntries {
		str(d)
		uv(uint64(len(ms)))
		for i := range ms {
			meta(&ms[i])
		}
	}
	return b, nil
}

// UnmarshalIndex decodes what MarshalBinary made; anything else is an
// error.
func UnmarshalIndex(data []byte) (*Index, error) {
	if len(data) < len(indexMagic) || string(data[:len(indexMagic)]) != indexMagic {
		return nil, errors.New("not an index")
	}
	d := &indexDecoder{s: string(data), off: len(indexMagic)}
	x := &Index{Links: map[string]uint32{}}
	root := d.meta()
	x.Root = &root
	nd := d.count()
	x.Dirs = make(map[string][]Meta, nd)
	for i := 0; i < nd && d.err == nil; i++ {
		dir := d.str()
		n := d.count()
		ms := make([]Meta, n)
		for j := range ms {
			ms[j] = d.meta()
		}
		x.Dirs[dir] = ms
	}
	for i, n := 0, d.count(); i < n && d.err == nil; i++ {
		t := d.str()
		x.Links[t] = uint32(d.uv())
	}
	for i, n := 0, d.count(); i < n && d.err == nil; i++ {
		if x.Markers.Opaque == nil {
			x.Markers.Opaque = map[string]bool{}
		}
		x.Markers.Opaque[d.str()] = true
	}
	for i, n := 0, d.count(); i < n && d.err == nil; i++ {
		if x.Markers.Whiteouts == nil {
			x.Markers.Whiteouts = map[string][]string{}
		}
		dir := d.str()
		names := make([]string, d.count())
		for j := range names {
			names[j] = d.str()
		}
		x.Markers.Whiteouts[dir] = names
	}
	for i, n := 0, d.count(); i < n && d.err == nil; i++ {
		if x.MarkerEntries == nil {
			x.MarkerEntries = map[string][]Meta{}
		}
		dir := d.str()
		ms := make([]Meta, d.count())
		for j := range ms {
			ms[j] = d.meta()
		}
		x.MarkerEntries[dir] = ms
	}
	if d.err == nil && d.off != len(d.s) {
		d.err = errors.New("trailing bytes")
	}
	if d.err != nil {
		return nil, fmt.Errorf("decoding an index: %w", d.err)
	}
	return x, nil
}

// indexDecoder reads an encoded index; names are slices of s, which
// holds them all.
type indexDecoder struct {
	s   string
	off int
	err error
}

func (d *indexDecoder) uv() uint64 {
	if d.err != nil {
		return 0
	}
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if d.off >= len(d.s) {
			break
		}
		c := d.s[d.off]
		d.off++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	d.err = errors.New("truncated or overlong number")
	return 0
}

func (d *indexDecoder) v() int64 {
	u := d.uv()
	return int64(u>>1) ^ -int64(u&1)
}

// count is a length that must fit in what is left.
func (d *indexDecoder) count() int {
	n := d.uv()
	if n > uint64(len(d.s)-d.off) {
		d.err = errors.New("count past the end")
		return 0
	}
	return int(n)
}

func (d *indexDecoder) str() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := d.s[d.off : d.off+n]
	d.off += n
	return s
}

func (d *indexDecoder) meta() Meta {
	m := Meta{Name: d.str(), Mode: uint32(d.uv()), UID: uint32(d.uv()), GID: uint32(d.uv())}
	m.Mtime = d.v() * 1e9
	m.Mtime += int64(d.uv())
	m.Size, m.Rdev, m.Link = d.v(), d.uv(), d.str()
	m.Off = d.v()
	if n := d.count(); n > 0 {
		m.Sparse = make([]Fragment, n-1)
		for i := range m.Sparse {
			m.Sparse[i] = Fragment{Offset: d.v(), Length: d.v(), Stream: d.v()}
		}
	}
	m.Target = d.str()
	if n := d.count(); n > 0 {
		m.Xattrs = make(map[string]string, n)
		for i := 0; i < n && d.err == nil; i++ {
			k := d.str()
			m.Xattrs[k] = d.str()
		}
	}
	return m
}

// Packed is an encoded Index as the view holds it: where each
// directory's entries are in the record, which stays where it is (a
// cache file, read a directory at a time when the view merges it), and
// the hard-link groups and the devices and fifos, which are few. A layer
// costs the view its directories' names, not an entry's worth each.
type Packed struct {
	r        io.ReaderAt
	root     Meta
	dirs     map[uint64]block // by dirKey: a name each would cost more than the rest
	links    map[string]uint32
	specials map[string][]Meta // directory -> its devices and fifos (LostKind)

	mu   sync.Mutex
	last *packedDir // the directory read last: a merge asks for its entries one by one
}

// block is where a directory's entries are in the record.
type block struct{ off, size uint32 }

// packedDir is one directory's entries, read.
type packedDir struct {
	dir  string
	d    indexDecoder
	offs []uint32
}

// Pack reads the encoded Index (MarshalBinary) that r holds, size bytes,
// and keeps where each directory is; r is read again for each directory
// looked up, and must not change. Its entries must be sorted by name in
// each directory, as MarshalBinary writes them.
func Pack(r io.ReaderAt, size int64) (*Packed, error) {
	if size > 1<<32-1 {
		return nil, errors.New("decoding an index: too big")
	}
	data := make([]byte, size)
	if _, err := r.ReadAt(data, 0); err != nil && !(err == io.EOF && size == 0) {
		return nil, fmt.Errorf("reading an index: %w", err)
	}
	if len(data) < len(indexMagic) || string(data[:len(indexMagic)]) != indexMagic {
		return nil, errors.New("not an index")
	}
	d := &indexDecoder{s: string(data), off: len(indexMagic)}
	p := &Packed{r: r, root: d.meta(), links: map[string]uint32{}}
	nd := d.count()
	p.dirs = make(map[uint64]block, nd)
	for i := 0; i < nd && d.err == nil; i++ {
		start := d.off
		dir := d.str()
		n := d.count()
		prev := ""
		for j := 0; j < n && d.err == nil; j++ {
			m := d.meta()
			if j > 0 && m.Name <= prev {
				d.err = fmt.Errorf("directory %q: entries out of order", dir)
			}
			prev = m.Name
			if LostKind(m.Mode & unix.S_IFMT) {
				if p.specials == nil {
					p.specials = map[string][]Meta{}
				}
				p.specials[strings.Clone(dir)] = append(p.specials[dir], cloneMeta(m))
			}
		}
		p.dirs[dirKey(dir)] = block{off: uint32(start), size: uint32(d.off - start)}
	}
	for i, n := 0, d.count(); i < n && d.err == nil; i++ {
		t := strings.Clone(d.str())
		p.links[t] = uint32(d.uv())
	}
	if d.err != nil {
		return nil, fmt.Errorf("decoding an index: %w", d.err)
	}
	p.root = cloneMeta(p.root)
	return p, nil
}

// dirKey is the key of directory dir in Packed.dirs.
func dirKey(dir string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(dir))
	return h.Sum64()
}

// cloneMeta is m with strings of its own, not of a record's buffer.
func cloneMeta(m Meta) Meta {
	m.Name, m.Link, m.Target = strings.Clone(m.Name), strings.Clone(m.Link), strings.Clone(m.Target)
	return m
}

// dir reads the entries of directory dir, or nil.
func (p *Packed) dir(dir string) *packedDir {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last != nil && p.last.dir == dir {
		return p.last
	}
	b, ok := p.dirs[dirKey(dir)]
	if !ok {
		return nil
	}
	data := make([]byte, b.size)
	if _, err := p.r.ReadAt(data, int64(b.off)); err != nil {
		return nil
	}
	// The block starts with the directory's name and count: another name
	// is a key shared by chance, and the directory is not there.
	pd := &packedDir{dir: dir, d: indexDecoder{s: string(data)}}
	if pd.d.str() != dir {
		return nil
	}
	pd.d.count()
	for pd.d.off < len(pd.d.s) && pd.d.err == nil {
		pd.offs = append(pd.offs, uint32(pd.d.off))
		pd.d.meta()
	}
	if pd.d.err != nil {
		return nil
	}
	p.last = pd
	return pd
}

// at decodes the entry at offset off.
func (pd *packedDir) at(off uint32) Meta {
	d := indexDecoder{s: pd.d.s, off: int(off)}
	return d.meta()
}

// nameAt is the name of the entry at offset off.
func (pd *packedDir) nameAt(off uint32) string {
	d := indexDecoder{s: pd.d.s, off: int(off)}
	return d.str()
}

// Lookup is the entry name of directory dir ("" the root).
func (p *Packed) Lookup(dir, name string) (Meta, bool) {
	if p == nil {
		return Meta{}, false
	}
	pd := p.dir(dir)
	if pd == nil {
		return Meta{}, false
	}
	i := sort.Search(len(pd.offs), func(i int) bool { return pd.nameAt(pd.offs[i]) >= name })
	if i < len(pd.offs) && pd.nameAt(pd.offs[i]) == name {
		return pd.at(pd.offs[i]), true
	}
	return Meta{}, false
}

// Root is the entry of the layer root (Index.Root).
func (p *Packed) Root() Meta { return p.root }

// Group is Index.Group.
func (p *Packed) Group(path string, m *Meta) (string, uint32) { return group(p.links, path, m) }

// Specials are the devices and fifos of directory dir.
func (p *Packed) Specials(dir string) []Meta { return p.specials[dir] }
