package fs

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"log"
	"os"
	"sort"
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
func OpenView(layers []Layer) (*View, error) {
	u, err := newUnion(layers, log.New(os.Stderr, "aufsmount: ", 0))
	if err != nil {
		return nil, err
	}
	root, err := u.rootEntry()
	if err != nil {
		u.close()
		return nil, err
	}
	return &View{u: u, dirs: map[string][]entry{}, root: *root}, nil
}

// Close releases the layers.
func (v *View) Close() error {
	v.u.close()
	return nil
}

// Layers returns the layers of the view, top first.
func (v *View) Layers() []Layer {
	out := make([]Layer, len(v.u.layers))
	for i, l := range v.u.layers {
		out[i] = Layer{ID: l.id, Dir: l.dir}
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
func (v *View) Open(p string) (*os.File, error) {
	v.mu.Lock()
	e, rel, err := v.lookup("open", p)
	v.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if e.attr.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, &iofs.PathError{Op: "open", Path: p, Err: errors.New("not a regular file")}
	}
	l := v.u.layers[e.layer]
	fd, err := l.open(rel, unix.O_RDONLY)
	if err != nil {
		return nil, &iofs.PathError{Op: "open", Path: p, Err: fmt.Errorf("in layer %s: %w", l.dir, err)}
	}
	// The file must be the one the index saw (as fileNode.Open checks).
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || !sameFile(l, &st, &e.attr) {
		unix.Close(fd)
		return nil, &iofs.PathError{Op: "open", Path: p, Err: fmt.Errorf("layer %s changed since it was read", l.dir)}
	}
	return os.NewFile(uintptr(fd), "/"+rel), nil
}

// Readlink returns the target of the symlink p, as written.
func (v *View) Readlink(p string) (string, error) {
	v.mu.Lock()
	e, rel, err := v.lookup("readlink", p)
	v.mu.Unlock()
	if err != nil {
		return "", err
	}
	if e.attr.Mode&unix.S_IFMT != unix.S_IFLNK {
		return "", &iofs.PathError{Op: "readlink", Path: p, Err: syscall.EINVAL}
	}
	l := v.u.layers[e.layer]
	fd, err := l.open(parentOf(rel), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return "", &iofs.PathError{Op: "readlink", Path: p, Err: fmt.Errorf("in layer %s: %w", l.dir, err)}
	}
	defer unix.Close(fd)
	for size := int(e.attr.Size) + 1; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(fd, e.name, buf)
		if err != nil {
			return "", &iofs.PathError{Op: "readlink", Path: p, Err: err}
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// Xattrs returns the extended attributes of p as its layer has them
// (what listxattr and getxattr show in a mount: not LayerXattr). A
// filesystem without xattrs gives an empty map.
func (v *View) Xattrs(p string) (map[string][]byte, error) {
	v.mu.Lock()
	e, rel, err := v.lookup("listxattr", p)
	v.mu.Unlock()
	if err != nil {
		return nil, err
	}
	l := v.u.layers[e.layer]
	// As node.xattrPath: the parent opened safely, reached through
	// /proc/self/fd, then the entry's own name, not followed by l*xattr.
	fd, err := l.open(parentOf(rel), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, &iofs.PathError{Op: "listxattr", Path: p, Err: fmt.Errorf("in layer %s: %w", l.dir, err)}
	}
	defer unix.Close(fd)
	path := fmt.Sprintf("/proc/self/fd/%d/%s", fd, e.name)
	if rel == "" {
		path = fmt.Sprintf("/proc/self/fd/%d/.", fd)
	}
	names, err := listXattr(path)
	if err != nil {
		return nil, &iofs.PathError{Op: "listxattr", Path: p, Err: err}
	}
	out := make(map[string][]byte, len(names))
	for _, name := range names {
		val, err := getXattr(path, name)
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

// parentOf is the directory part of a layer-relative path.
func parentOf(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return ""
}

func listXattr(path string) ([]string, error) {
	for {
		sz, err := unix.Llistxattr(path, nil)
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		if err != nil || sz == 0 {
			return nil, err
		}
		buf := make([]byte, sz)
		sz, err = unix.Llistxattr(path, buf)
		if err == unix.ERANGE {
			continue // grew since sized
		}
		if err != nil {
			return nil, err
		}
		var names []string
		for _, n := range strings.Split(string(buf[:sz]), "\x00") {
			if n != "" {
				names = append(names, n)
			}
		}
		return names, nil
	}
}

func getXattr(path, name string) ([]byte, error) {
	for {
		sz, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, sz)
		sz, err = unix.Lgetxattr(path, name, buf)
		if err == unix.ERANGE {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:sz], nil
	}
}

// Reason tells what a layer's entry at a path does in the view.
type Reason int

const (
	// Shown: this layer's entry is the one the view shows.
	Shown Reason = iota
	// Merged: a lower directory merged into the one shown; its entries
	// show, its attributes do not.
	Merged
	// WhitedOut: a whiteout in layer By hides the path At (the path
	// itself or one of its parents) in every layer below By.
	WhitedOut
	// UnderOpaque: directory At is opaque in layer By: nothing of it from
	// the layers below shows.
	UnderOpaque
	// Shadowed: layer By has another entry at At (the path or a parent)
	// that does not merge with this one: a non-directory over anything,
	// or a directory over a non-directory.
	Shadowed
)

var reasonNames = [...]string{"shown", "merged", "whited out", "under opaque directory", "shadowed"}

func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Provider is one layer that has an entry at a path, and what becomes of it.
type Provider struct {
	Layer   int    // index in the view's layers, top = 0
	LayerID string // that layer's ID
	Dir     string // that layer's directory
	Entry   Entry  // the entry as this layer has it (for a merged directory, its own attributes)
	Reason  Reason
	By      int    // the layer that hides it, for WhitedOut, UnderOpaque and Shadowed; else Layer
	At      string // where it is hidden, with a leading "/": the path, a parent, or the opaque directory
}

// Hidden reports whether the view does not show this layer's entry.
func (p Provider) Hidden() bool { return p.Reason != Shown && p.Reason != Merged }

// Which returns every layer that has an entry at p, top first: the one
// the view shows (Reason Shown), for a directory the lower ones merged
// into it, and every other one with the reason it is hidden. When p is
// not in the view every provider is hidden; when no layer has it, Which
// fails with ENOENT. It reuses the union's merge (merger.add) on each
// directory of the path, fed with only the names that decide p: the name
// itself, its whiteout and the opaque marker.
func (v *View) Which(p string) ([]Provider, error) {
	names := splitPath(p)
	for _, n := range names {
		if k, _ := classify(n); k != namePlain {
			// A whiteout or bookkeeping name is never in the view.
			return nil, &iofs.PathError{Op: "which", Path: p, Err: syscall.ENOENT}
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	w := &which{v: v, names: names}
	if err := w.walk(); err != nil {
		return nil, &iofs.PathError{Op: "which", Path: p, Err: err}
	}
	if len(w.out) == 0 {
		return nil, &iofs.PathError{Op: "which", Path: p, Err: syscall.ENOENT}
	}
	// Layers hidden at a parent were found before those of the path itself.
	sort.SliceStable(w.out, func(i, j int) bool { return w.out[i].Layer < w.out[j].Layer })
	return w.out, nil
}

// which is one Which: the path's components and what was found.
type which struct {
	v     *View
	names []string
	out   []Provider
}

// walk goes down the path one directory at a time. At each level the
// sources are the layers whose directory merges into the view's (as
// mergeDir takes them); a layer whose entry for the next name is hidden
// drops out there, and is reported if it has the whole path.
func (w *which) walk() error {
	v := w.v
	dir, rel := &v.root, ""
	sources := append([]int32{dir.layer}, dir.lowers...)
	if len(w.names) == 0 {
		// Every layer has a root: the top one shows, the rest merge.
		for _, li := range sources {
			pr := Provider{Layer: int(li), By: int(li), At: "/", Reason: Merged}
			if li == dir.layer {
				pr.Reason = Shown
			}
			if err := w.report(pr, true); err != nil {
				return err
			}
		}
	}
	for k, name := range w.names {
		last := k == len(w.names)-1
		crel := name
		if rel != "" {
			crel = rel + "/" + name
		}
		m := newMerger()
		whBy, opqBy, closer := -1, -1, -1
		for _, li := range sources {
			lst, has, err := w.probe(li, rel, name)
			if err != nil {
				return err
			}
			up := m.byName[name]
			closedBefore := up != nil && up.closed
			lowersBefore := 0
			if up != nil {
				lowersBefore = len(up.lowers)
			}
			wasOpaque, wasHidden := m.done(), m.hidden[name]
			shown := m.add(int(li), lst)
			if up != nil && !closedBefore && up.closed {
				closer = int(li)
			}
			if has {
				pr := Provider{Layer: int(li), By: int(li), At: "/" + crel}
				switch {
				case wasOpaque:
					pr.Reason, pr.By, pr.At = UnderOpaque, opqBy, "/"+rel
				case wasHidden:
					pr.Reason, pr.By = WhitedOut, whBy
				case len(shown) > 0:
					pr.Reason = Shown
				case up != nil && len(up.lowers) > lowersBefore:
					pr.Reason = Merged
				case up != nil:
					pr.Reason, pr.By = Shadowed, up.layer
					if closedBefore && closer >= 0 {
						pr.By = closer // no merging through that layer's non-directory
					}
				}
				if err := w.report(pr, last); err != nil {
					return err
				}
			}
			if m.done() && opqBy < 0 {
				opqBy = int(li)
			}
			if m.hidden[name] && whBy < 0 {
				whBy = int(li)
			}
		}
		// Go on only where the view does: into a directory it shows.
		ents, err := v.index(rel, dir)
		if err != nil {
			return fmt.Errorf("reading directory /%s: %w", rel, err)
		}
		next := find(ents, name)
		if next == nil || next.attr.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil
		}
		dir, rel = next, crel
		sources = append([]int32{dir.layer}, dir.lowers...)
	}
	// The path is a directory the view shows: the merged lower ones below
	// an opaque marker do not show (mergeDir stops there).
	opq := -1
	for i := range w.out {
		pr := &w.out[i]
		if pr.Reason != Shown && pr.Reason != Merged {
			continue
		}
		if opq >= 0 {
			pr.Reason, pr.By, pr.At = UnderOpaque, opq, "/"+rel
			continue
		}
		_, has, err := w.probe(int32(pr.Layer), rel, whOpaque)
		if err != nil {
			return err
		}
		if has {
			opq = pr.Layer
		}
	}
	return nil
}

// report adds a layer whose entry was decided at this level: at the last
// level it is the path's; above, only if the layer has the whole path.
func (w *which) report(pr Provider, last bool) error {
	if !last {
		if pr.Reason == Shown || pr.Reason == Merged {
			return nil // decided further down
		}
	}
	rel := strings.Join(w.names, "/")
	l := w.v.u.layers[pr.Layer]
	fd, err := l.open(parentOf(rel), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		if errGone(err) {
			return nil // the layer has no such directory (or it is a symlink there)
		}
		return fmt.Errorf("in layer %s: %w", l.dir, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	name := "."
	if len(w.names) > 0 {
		name = w.names[len(w.names)-1]
	}
	if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errGone(err) {
			return nil
		}
		return fmt.Errorf("in layer %s: %w", l.dir, err)
	}
	e := entry{name: name, layer: int32(pr.Layer)}
	if rel == "" {
		e.name = ""
	}
	fillAttr(l, &st, &e.attr)
	pr.Entry = w.v.entryOf(&e)
	pr.LayerID, pr.Dir = l.id, l.dir
	w.out = append(w.out, pr)
	return nil
}

// probe is layer li's listing of directory rel cut down to what decides
// name: name itself, its whiteout and the opaque marker. has tells
// whether the layer has name there.
func (w *which) probe(li int32, rel, name string) (lst []dirent, has bool, err error) {
	l := w.v.u.layers[li]
	fd, err := l.open(rel, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		if errGone(err) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("opening %s/%s: %w", l.dir, rel, err)
	}
	defer unix.Close(fd)
	for _, n := range []string{name, whPrefix + name, whOpaque} {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errGone(err) || errors.Is(err, unix.ENAMETOOLONG) {
				continue
			}
			return nil, false, fmt.Errorf("reading %s/%s: %w", l.dir, rel, err)
		}
		lst = append(lst, dirent{name: n, isDir: st.Mode&unix.S_IFMT == unix.S_IFDIR})
		has = has || n == name
	}
	return lst, has, nil
}

// ChangeKind is what a layer does to a path of the union.
type ChangeKind int

const (
	Holds       ChangeKind = iota // the layer has an entry at the path
	WhitesOut                     // a whiteout in the layer hides the path in the layers below
	MakesOpaque                   // the layer makes the directory at the path opaque
)

// WalkLayer calls fn for every path layer i (top = 0) of the view
// touches: each entry it holds (isDir telling a directory), each path its
// whiteouts hide, each directory it makes opaque; parents before their
// children, paths without a leading slash, "" for the root (which it
// always holds). Names are told apart as the merge does (classify): aufs
// bookkeeping is skipped and never entered, and whiteouts that hide
// nothing are skipped. Nothing is followed.
func (v *View) WalkLayer(i int, fn func(path string, kind ChangeKind, isDir bool) error) error {
	if i < 0 || i >= len(v.u.layers) {
		return fmt.Errorf("walking layer %d: the view has %d layers", i, len(v.u.layers))
	}
	buf := make([]byte, 64<<10)
	if err := fn("", Holds, true); err != nil {
		return err
	}
	return v.walkLayerDir(v.u.layers[i], "", buf, fn)
}

func (v *View) walkLayerDir(l *layer, rel string, buf []byte, fn func(string, ChangeKind, bool) error) error {
	fd, err := l.openDir(rel)
	if err != nil {
		return fmt.Errorf("opening %s/%s: %w", l.dir, rel, err)
	}
	ents, err := readDirents(fd, buf)
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("reading %s/%s: %w", l.dir, rel, err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].name < ents[j].name })
	join := func(name string) string {
		if rel == "" {
			return name
		}
		return rel + "/" + name
	}
	for _, e := range ents {
		var err error
		switch k, target := classify(e.name); k {
		case namePlain:
			err = fn(join(e.name), Holds, e.isDir)
			if err == nil && e.isDir {
				err = v.walkLayerDir(l, join(e.name), buf, fn)
			}
		case nameWhiteout:
			if target != "" {
				err = fn(join(target), WhitesOut, false)
			}
		case nameOpaque:
			err = fn(rel, MakesOpaque, true)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
