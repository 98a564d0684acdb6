package storetest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
)

// Names aufs gives its markers.
const (
	whPrefix = ".wh."
	metaPref = ".wh..wh."
	opqName  = ".wh..wh..opq"
	aufsBase = ".wh..wh.aufs"
	aufsPlnk = ".wh..wh.plnk"
	aufsOrph = ".wh..wh.orph"
	rootPath = ""
)

// raw is one name of a layer directory as it is on disk.
type raw struct {
	path     string // on-disk path relative to the layer root ("" for the root)
	e        Entry  // normalized; Path is the on-disk path
	implicit bool   // a parent directory no entry named
	origin   string // for a hard link: the path of the inode's first name; else path
	// link, when set, is an existing name elsewhere on disk that this
	// name becomes a hard link of (the shared inodes of overlay trees).
	link string
}

// expanded is a layer description turned into the names of its directory.
type expanded struct {
	order    []*raw            // creation order: parents before children
	byPath   map[string]*raw   // every name, the root as ""
	children map[string][]*raw // directory path -> its names, in creation order
	nlink    map[string]int    // origin -> number of names
}

// expand checks a layer description and lays out its names.
func expand(l *Layer) (*expanded, error) {
	if l == nil {
		return nil, errors.New("nil layer")
	}
	if l.Empty && len(l.Entries) > 0 {
		return nil, errors.New("an Empty layer has entries")
	}
	x := newExpanded(&raw{path: rootPath, e: Entry{Kind: Dir}.normalized(), implicit: true, origin: rootPath})
	for i := range l.Entries {
		if err := x.add(l.Entries[i]); err != nil {
			return nil, fmt.Errorf("entry %d %q: %w", i, l.Entries[i].Path, err)
		}
	}
	return x, nil
}

// newExpanded is a layer holding only its root.
func newExpanded(root *raw) *expanded {
	return &expanded{
		order:    []*raw{root},
		byPath:   map[string]*raw{rootPath: root},
		children: map[string][]*raw{},
		nlink:    map[string]int{},
	}
}

// put adds r, whose parent directory is already there.
func (x *expanded) put(r *raw) {
	x.byPath[r.path] = r
	x.order = append(x.order, r)
	dir, _ := split(r.path)
	x.children[dir] = append(x.children[dir], r)
	x.nlink[r.origin]++
}

func (x *expanded) add(e Entry) error {
	p, err := diskPath(e)
	if err != nil {
		return err
	}
	if e.Kind == Dir {
		if old := x.byPath[p]; old != nil {
			if !old.implicit || old.e.Kind != Dir {
				return fmt.Errorf("%q given twice", p)
			}
			// A directory named after its children were: take its attributes.
			e.Path = p
			old.e = e.normalized()
			old.implicit = false
			return nil
		}
	}
	if x.byPath[p] != nil {
		return fmt.Errorf("%q given twice", p)
	}
	if err := x.parents(p); err != nil {
		return err
	}
	r := &raw{path: p, origin: p}
	switch e.Kind {
	case File, Dir, CharDev, BlockDev, Fifo, Socket, Whiteout, Opaque:
	case Symlink:
		if e.Target == "" || strings.IndexByte(e.Target, 0) >= 0 {
			return fmt.Errorf("bad symlink target %q", e.Target)
		}
	case Hardlink:
		t := x.byPath[e.Target]
		if t == nil || t.path == rootPath {
			return fmt.Errorf("hard link to %q, which is not an earlier entry of the layer", e.Target)
		}
		if t.e.Kind == Dir {
			return fmt.Errorf("hard link to the directory %q", e.Target)
		}
		r.origin = t.origin
	default:
		return fmt.Errorf("unknown kind %v", e.Kind)
	}
	if e.Kind != File && (len(e.Data) > 0 || e.Size > 0 || e.Sparse) {
		return fmt.Errorf("%v with content", e.Kind)
	}
	if e.Size < 0 {
		return fmt.Errorf("negative size %d", e.Size)
	}
	e.Path = p
	r.e = e.normalized()
	x.put(r)
	return nil
}

// parents makes the missing parent directories of p, and refuses a
// parent that is not a directory (writing through a symlink would leave
// the layer).
func (x *expanded) parents(p string) error {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		d := p[:i]
		if r := x.byPath[d]; r != nil {
			if r.e.Kind != Dir {
				return fmt.Errorf("parent %q is a %v", d, r.e.Kind)
			}
			continue
		}
		x.put(&raw{path: d, e: Entry{Path: d, Kind: Dir}.normalized(), implicit: true, origin: d})
	}
	return nil
}

// diskPath is the path an entry writes, checked.
func diskPath(e Entry) (string, error) {
	p := e.Path
	switch e.Kind {
	case Whiteout:
		if strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
			return "", fmt.Errorf("bad path %q (want relative, clean, no leading or trailing slash)", p)
		}
		dir, name := split(p)
		if name == "" {
			return "", errors.New("whiteout of nothing")
		}
		p = join(dir, whPrefix+name)
	case Opaque:
		p = join(p, opqName)
	case Dir:
		if p == rootPath {
			return p, nil
		}
	}
	if p == rootPath {
		return "", fmt.Errorf("a %v cannot be the layer root", e.Kind)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", errors.New("NUL in path")
	}
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." || c == ".." {
			return "", fmt.Errorf("bad path %q (want relative, clean, no leading or trailing slash)", p)
		}
	}
	return p, nil
}

func split(p string) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return rootPath, p
	}
	return p[:i], p[i+1:]
}

func join(dir, name string) string {
	if dir == rootPath {
		return name
	}
	return dir + "/" + name
}

// digestLayer is "sha256:<hex>" of a canonical encoding of the layer's
// entries: unlike its diff id, it keeps what a tar does not (atimes,
// parts of seconds, sockets). It names pre-1.10 layers, and tells apart
// two descriptions with the same tar.
func digestLayer(l *Layer) string {
	h := sha256.New()
	enc := encoder{h: h}
	enc.int(int64(len(l.Entries)))
	for i := range l.Entries {
		enc.entry(&l.Entries[i])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// encoder writes length-prefixed fields so that different descriptions
// never encode alike.
type encoder struct {
	h   hash.Hash
	buf [8]byte
}

func (c *encoder) int(v int64) {
	binary.BigEndian.PutUint64(c.buf[:], uint64(v))
	c.h.Write(c.buf[:])
}

func (c *encoder) bytes(b []byte) {
	c.int(int64(len(b)))
	c.h.Write(b)
}

func (c *encoder) str(s string) {
	c.int(int64(len(s)))
	io.WriteString(c.h, s)
}

func (c *encoder) entry(e *Entry) {
	n := e.normalized()
	c.str(n.Path)
	c.int(int64(n.Kind))
	c.int(int64(n.Mode))
	c.int(int64(n.UID))
	c.int(int64(n.GID))
	c.bytes(n.Data)
	c.int(n.Size)
	if n.Sparse {
		c.int(1)
	} else {
		c.int(0)
	}
	c.str(n.Target)
	c.int(int64(n.Major))
	c.int(int64(n.Minor))
	keys := make([]string, 0, len(n.Xattrs))
	for k := range n.Xattrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	c.int(int64(len(keys)))
	for _, k := range keys {
		c.str(k)
		c.str(n.Xattrs[k])
	}
	c.int(n.Mtime.UnixNano())
	c.int(n.Atime.UnixNano())
}
