package fs

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// dirNode is a merged directory. Its index is built on first use and
// never changes: the layers are immutable while mounted.
type dirNode struct {
	node
	mu    sync.Mutex
	index atomic.Pointer[[]entry]
}

// entries returns the merged index, building it once.
func (d *dirNode) entries() ([]entry, syscall.Errno) {
	if p := d.index.Load(); p != nil {
		return *p, 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if p := d.index.Load(); p != nil {
		return *p, 0
	}
	sources := append([]int32{d.ent.layer}, d.ent.lowers...)
	ents, err := d.u.mergeDir(d.relPath(), sources)
	if err != nil {
		d.u.fault(d.layer(), err)
		if errGone(err) {
			return nil, syscall.ENOENT
		}
		return nil, syscall.EIO
	}
	d.index.Store(&ents)
	return ents, 0
}

var _ = (fs.NodeLookuper)((*dirNode)(nil))

func (d *dirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ents, errno := d.entries()
	if errno != 0 {
		return nil, errno
	}
	e := find(ents, name)
	if e == nil {
		return nil, syscall.ENOENT
	}
	out.Attr = e.attr
	if ch := d.GetChild(name); ch != nil {
		return ch, 0
	}
	return newChild(ctx, d, e), 0
}

var _ = (fs.NodeOpendirHandler)((*dirNode)(nil))

// OpendirHandle lets the kernel cache the listing (FOPEN_CACHE_DIR): it
// never changes while mounted.
func (d *dirNode) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	ents, errno := d.entries()
	if errno != 0 {
		return nil, 0, errno
	}
	return &dirHandle{d: d, ents: ents}, fuse.FOPEN_CACHE_DIR | fuse.FOPEN_KEEP_CACHE, 0
}

var _ = (fs.NodeStatfser)((*dirNode)(nil))

func (d *dirNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(d.u.layers[0].statfsFd(), &st); err != nil {
		return fs.ToErrno(err)
	}
	out.FromStatfsT(&st)
	return 0
}

// dirHandle streams an index: ".", "..", then the entries, with each
// entry's offset its position, so seekdir and interrupted reads resume.
type dirHandle struct {
	d    *dirNode
	ents []entry
	pos  uint64
}

var _ = (fs.FileReaddirenter)((*dirHandle)(nil))

func (h *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	var de fuse.DirEntry
	switch {
	case h.pos == 0:
		de = fuse.DirEntry{Name: ".", Mode: syscall.S_IFDIR, Ino: h.d.ent.attr.Ino}
	case h.pos == 1:
		// The parent: the view's directory above, or for the root of a
		// view in a tree (MountTree) the tree's directory holding it; the
		// root of a mount names itself.
		ino := h.d.ent.attr.Ino
		if h.d.parent != nil {
			ino = h.d.parent.ent.attr.Ino
		} else if _, up := h.d.Parent(); up != nil {
			ino = up.StableAttr().Ino
		}
		de = fuse.DirEntry{Name: "..", Mode: syscall.S_IFDIR, Ino: ino}
	case h.pos-2 < uint64(len(h.ents)):
		e := &h.ents[h.pos-2]
		de = fuse.DirEntry{Name: e.name, Mode: e.attr.Mode & syscall.S_IFMT, Ino: e.attr.Ino}
	default:
		return nil, 0
	}
	h.pos++
	de.Off = h.pos
	return &de, 0
}

var _ = (fs.FileSeekdirer)((*dirHandle)(nil))

func (h *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	h.pos = off
	return 0
}

var _ = (fs.FileLookuper)((*dirHandle)(nil))

// Lookup serves READDIRPLUS: name is the entry Readdirent just gave, so
// no search is needed.
func (h *dirHandle) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if h.pos < 3 || h.pos-3 >= uint64(len(h.ents)) || h.ents[h.pos-3].name != name {
		return h.d.Lookup(ctx, name, out)
	}
	e := &h.ents[h.pos-3]
	out.Attr = e.attr
	if ch := h.d.GetChild(name); ch != nil {
		return ch, 0
	}
	ch := newChild(ctx, h.d, e)
	if sub, ok := ch.Operations().(*dirNode); ok {
		h.d.u.pf.add(h.d, sub)
	}
	return ch, 0
}
