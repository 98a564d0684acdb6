package fs

import (
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// View is a read-only look at a union of layers without mounting it, for
// commands that compare or inspect images. It answers from the same
// merged directory indexes the FUSE nodes use (union.mergeDir), built on
// first use and kept until Close, so a path shows here exactly as it
// shows in a mount.
//
// Paths are slash-separated and relative to the view's root, with or
// without a leading slash; "" and "/" name the root. No symlink is ever
// followed: a path through a symlink fails with ENOTDIR. "." components
// are dropped and ".." ones go up a name (never above the root), by text
// alone.
type View struct {
	u    *union
	root entry

	mu   sync.Mutex
	dirs map[string][]entry // merged indexes by directory path
}

// Entry is one visible path of a view, with the attributes a mount shows.
type Entry struct {
	Name                string // the last component; "" for the root
	Mode                uint32 // file type and permission bits, as st_mode
	Uid, Gid            uint32
	Size                int64
	Blocks              int64  // 512-byte blocks allocated
	Rdev                uint64 // a device's number, as unix.Mkdev makes it (encodeDev's 32 bits are makedev's)
	Atime, Mtime, Ctime time.Time
	Nlink               uint32
	Ino                 uint64 // as the mount shows it: names of one inode of one layer share it
	Layer               int    // index in the layers given (top = 0) of the layer that shows it; the topmost for a merged directory
	LayerID             string // that layer's ID
}

// IsDir reports whether e is a directory.
func (e Entry) IsDir() bool { return e.Mode&unix.S_IFMT == unix.S_IFDIR }

// OpenView opens every layer (top first) for reading their union. Like
// Mount, it never writes to the layers. Problems met later in lower
// layers (one that went away) are logged to stderr and skipped, as a
// mount does.
func OpenView(layers []Layer) (*View, error) { return OpenViewWith(layers, nil) }

// Close releases the layers.
func (v *View) Close() error {
	v.u.close()
	return nil
}

// Layers returns the layers of the view, top first, then the sources of
// its binds (OpenViewWith): an Entry's Layer indexes this.
func (v *View) Layers() []Layer {
	out := make([]Layer, len(v.u.layers))
	for i, l := range v.u.layers {
		out[i] = Layer{ID: l.id, Dir: l.dir, Encoding: l.enc, Markers: l.markers}
		if l.tar != nil {
			out[i] = Layer{ID: l.id, Archive: l.archive}
		}
		if l.restore != nil {
			out[i].Restore = l.restore.from
		}
	}
	return out
}

// Indexed tells how many directories the view has merged so far: how
// much of the layers a caller made it read.
func (v *View) Indexed() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.dirs)
}

// splitPath turns a view path into its components.
func splitPath(p string) []string {
	var names []string
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "", ".":
		case "..":
			if len(names) > 0 {
				names = names[:len(names)-1]
			}
		default:
			names = append(names, c)
		}
	}
	return names
}

// index returns the merged index of the directory rel shown by e,
// building it once. v.mu must be held.
func (v *View) index(rel string, e *entry) ([]entry, error) {
	if ents, ok := v.dirs[rel]; ok {
		return ents, nil
	}
	sources := append([]int32{e.layer}, e.lowers...)
	ents, err := v.u.mergeDir(rel, sources)
	if err != nil {
		return nil, err
	}
	v.dirs[rel] = ents
	return ents, nil
}

// lookup walks names from the root through the merged indexes. It
// returns the entry and its path inside its layer. v.mu must be held.
func (v *View) lookup(op, p string) (*entry, string, error) {
	e, rel := &v.root, ""
	for _, name := range splitPath(p) {
		if e.attr.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil, "", &iofs.PathError{Op: op, Path: p, Err: syscall.ENOTDIR}
		}
		ents, err := v.index(rel, e)
		if err != nil {
			return nil, "", &iofs.PathError{Op: op, Path: p, Err: fmt.Errorf("reading directory /%s: %w", rel, err)}
		}
		if e = find(ents, name); e == nil {
			return nil, "", &iofs.PathError{Op: op, Path: p, Err: syscall.ENOENT}
		}
		if rel == "" {
			rel = name
		} else {
			rel += "/" + name
		}
	}
	return e, rel, nil
}

func (v *View) entryOf(e *entry) Entry {
	a := &e.attr
	return Entry{
		Name: e.name, Mode: a.Mode, Uid: a.Uid, Gid: a.Gid,
		Size: int64(a.Size), Blocks: int64(a.Blocks), Rdev: uint64(a.Rdev),
		Atime: time.Unix(int64(a.Atime), int64(a.Atimensec)),
		Mtime: time.Unix(int64(a.Mtime), int64(a.Mtimensec)),
		Ctime: time.Unix(int64(a.Ctime), int64(a.Ctimensec)),
		Nlink: a.Nlink, Ino: a.Ino, Layer: int(e.layer), LayerID: v.u.layers[e.layer].id,
	}
}

// Lookup returns the entry at p.
func (v *View) Lookup(p string) (Entry, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, _, err := v.lookup("lookup", p)
	if err != nil {
		return Entry{}, err
	}
	return v.entryOf(e), nil
}

// ReadDir returns the entries of directory p, sorted bytewise by name.
func (v *View) ReadDir(p string) ([]Entry, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, rel, err := v.lookup("readdir", p)
	if err != nil {
		return nil, err
	}
	if e.attr.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil, &iofs.PathError{Op: "readdir", Path: p, Err: syscall.ENOTDIR}
	}
	ents, err := v.index(rel, e)
	if err != nil {
		return nil, &iofs.PathError{Op: "readdir", Path: p, Err: err}
	}
	out := make([]Entry, len(ents))
	for i := range ents {
		out[i] = v.entryOf(&ents[i])
	}
	return out, nil
}

// Open opens the regular file p for reading, from the layer that shows
// it. Anything else is refused: opening a device or a fifo of an image
// would reach the host's device or block.
func (v *View) Open(p string) (io.ReadCloser, error) {
	e, rel, err := v.locked("open", p)
	if err != nil {
		return nil, err
	}
	if e.attr.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, &iofs.PathError{Op: "open", Path: p, Err: errors.New("not a regular file")}
	}
	l := v.u.layers[e.layer]
	f, err := l.openReader(v.u.layerRel(e.layer, rel), &e.attr)
	if err != nil {
		return nil, &iofs.PathError{Op: "open", Path: p, Err: fmt.Errorf("in layer %s: %w", l.dir, err)}
	}
	return f, nil
}

// Readlink returns the target of the symlink p, as written.
func (v *View) Readlink(p string) (string, error) {
	e, rel, err := v.locked("readlink", p)
	if err != nil {
		return "", err
	}
	if e.attr.Mode&unix.S_IFMT != unix.S_IFLNK {
		return "", &iofs.PathError{Op: "readlink", Path: p, Err: syscall.EINVAL}
	}
	l := v.u.layers[e.layer]
	target, err := l.readlink(v.u.layerRel(e.layer, rel), &e.attr)
	if err != nil {
		return "", &iofs.PathError{Op: "readlink", Path: p, Err: fmt.Errorf("in layer %s: %w", l.dir, err)}
	}
	return target, nil
}

// Xattrs returns the extended attributes of p as a mount shows them (not
// LayerXattr, nor the ones the layer's encoding keeps private). A
// filesystem without xattrs gives an empty map.
func (v *View) Xattrs(p string) (map[string][]byte, error) {
	e, rel, err := v.locked("listxattr", p)
	if err != nil {
		return nil, err
	}
	l := v.u.layers[e.layer]
	rel = v.u.layerRel(e.layer, rel)
	names, err := l.listXattrs(rel)
	if err != nil {
		return nil, &iofs.PathError{Op: "listxattr", Path: p, Err: fmt.Errorf("in layer %s: %w", l.dir, err)}
	}
	out := make(map[string][]byte, len(names))
	for _, name := range names {
		val, err := l.getXattr(rel, name)
		if errors.Is(err, unix.ENODATA) {
			continue // removed since listed
		}
		if err != nil {
			return nil, &iofs.PathError{Op: "getxattr " + name, Path: p, Err: err}
		}
		out[name] = val
	}
	return out, nil
}

// locked is lookup under v.mu.
func (v *View) locked(op, p string) (*entry, string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.lookup(op, p)
}

// parentOf is the directory part of a layer-relative path.
func parentOf(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return ""
}
