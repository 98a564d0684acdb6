package fs

import (
	"context"
	"fmt"
	"log"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// TreeEntry is one view of a multi-image mount (MountTree).
type TreeEntry struct {
	Path   string  // where it shows, slash-separated: "images/user/app:v1", "ids/<id>", "layers/<id>"
	Layers []Layer // top first
	Raw    bool    // a single layer shown as stored, whiteouts and all
	Binds  []Bind  // files and directories shown over the union (not for Raw)
}

// MountTree mounts many views in one read-only tree: each entry's union
// at its path, under plain directories. Views share their layers: a layer
// is opened once and numbered once, so a file of a layer has one inode
// number in every view, and the kernel and this process keep one node and
// one page cache for it. That is sound because a layer directory always
// sits on the same chain below it (its id or cache id names that chain),
// so a directory a layer shows topmost merges the same in every view.
// Raw views number their inodes apart: the same directory shows other
// entries there.
func MountTree(mountpoint string, entries []TreeEntry, o Options) (*fuse.Server, error) {
	logger := o.logger()
	t, err := buildTree(entries, logger)
	if err != nil {
		return nil, err
	}
	loadIndexes(t.layers)
	server, err := mount(mountpoint, t.root, t.root.attr.Ino, o, logger)
	if err != nil {
		t.close()
		return nil, err
	}
	return server, nil
}

// tree is what MountTree serves.
type tree struct {
	root   *staticDir
	layers []*layer
	log    *log.Logger
	pf     *prefetcher // one for every view
	num    uint64      // the last layer number given
}

func (t *tree) close() {
	for _, l := range t.layers {
		l.close()
	}
}

// staticDir is a directory of the tree above the views.
type staticDir struct {
	fs.Inode
	attr     fuse.Attr
	parent   *staticDir     // nil for the root
	children map[string]any // *staticDir or *dirNode
	statfsFd int
}

var _ = (fs.NodeGetattrer)((*staticDir)(nil))

func (d *staticDir) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Attr = d.attr
	return 0
}

var _ = (fs.NodeStatfser)((*staticDir)(nil))

func (d *staticDir) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(d.statfsFd, &st); err != nil {
		return fs.ToErrno(err)
	}
	out.FromStatfsT(&st)
	return 0
}

var _ = (fs.NodeReaddirer)((*staticDir)(nil))

// Readdir lists ".", ".." (what stat of ".." finds: the parent, the
// directory itself at the root of the mount) and the children, by name.
func (d *staticDir) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	up := d.attr.Ino
	if d.parent != nil {
		up = d.parent.attr.Ino
	}
	ents := []fuse.DirEntry{{Name: ".", Mode: syscall.S_IFDIR, Ino: d.attr.Ino}, {Name: "..", Mode: syscall.S_IFDIR, Ino: up}}
	names := make([]string, 0, len(d.children))
	for n := range d.children {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		switch c := d.children[n].(type) {
		case *staticDir:
			ents = append(ents, fuse.DirEntry{Name: n, Mode: syscall.S_IFDIR, Ino: c.attr.Ino})
		case *dirNode:
			ents = append(ents, fuse.DirEntry{Name: n, Mode: syscall.S_IFDIR, Ino: c.ent.attr.Ino})
		}
	}
	return fs.NewListDirStream(ents), 0
}

var _ = (fs.NodeOnAdder)((*staticDir)(nil))

// OnAdd hangs the children in, in a stable order; they live as long as
// the mount.
func (d *staticDir) OnAdd(ctx context.Context) {
	names := make([]string, 0, len(d.children))
	for n := range d.children {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		switch c := d.children[n].(type) {
		case *staticDir:
			d.AddChild(n, d.NewPersistentInode(ctx, c, fs.StableAttr{Mode: syscall.S_IFDIR, Ino: c.attr.Ino}), false)
		case *dirNode:
			d.AddChild(n, d.NewPersistentInode(ctx, c, fs.StableAttr{Mode: syscall.S_IFDIR, Ino: c.ent.attr.Ino}), false)
		}
	}
}

// buildTree opens every layer once and lays out the directories. Inode
// numbers below 2^48 are the tree's own (counted from 2); layers take the
// ranges above, numbered in the sorted order of their directories.
func buildTree(entries []TreeEntry, logger *log.Logger) (*tree, error) {
	if len(entries) == 0 {
		return nil, fmt.Errorf("nothing to mount")
	}
	dirs := map[string]bool{}
	rawDirs := map[string]bool{}
	// A directory shown both merged and raw is two layers: the merged one
	// keeps its encoding and restored markers, the raw one has neither.
	byDir := map[string]Layer{}
	rawByDir := map[string]Layer{}
	binds := 0
	for _, e := range entries {
		if len(e.Layers) == 0 {
			return nil, fmt.Errorf("%s: no layers", e.Path)
		}
		if e.Raw && (len(e.Layers) != 1 || len(e.Binds) > 0) {
			return nil, fmt.Errorf("%s: a raw view shows one layer", e.Path)
		}
		if len(e.Binds) > 0 {
			binds += len(e.Binds) + 1 // the sources, and the directories above them
		}
		for _, l := range e.Layers {
			if e.Raw {
				rawByDir[l.Key()] = Layer{ID: l.ID, Dir: l.Dir, Archive: l.Archive}
				rawDirs[l.Key()] = true
				continue
			}
			if prev, ok := byDir[l.Key()]; ok && !sameLayer(prev, l) {
				return nil, fmt.Errorf("%s: layer %s is given two ways (encoding, markers or restored metadata differ)", e.Path, l.Dir)
			}
			byDir[l.Key()] = l
			dirs[l.Key()] = true
		}
	}
	if len(dirs)+len(rawDirs)+binds >= 1<<(64-inoBits) {
		return nil, fmt.Errorf("%d layers and binds: at most %d can be mounted", len(dirs)+len(rawDirs)+binds, 1<<(64-inoBits)-1)
	}
	t := &tree{log: logger, pf: newPrefetcher()}
	opened := map[string]*layer{}
	rawOpened := map[string]*layer{}
	num := uint64(0)
	for _, set := range []struct {
		dirs  map[string]bool
		byDir map[string]Layer
		into  map[string]*layer
		raw   bool
	}{{dirs, byDir, opened, false}, {rawDirs, rawByDir, rawOpened, true}} {
		sorted := make([]string, 0, len(set.dirs))
		for d := range set.dirs {
			sorted = append(sorted, d)
		}
		sort.Strings(sorted)
		for _, d := range sorted {
			num++
			l, err := openLayer(set.byDir[d], num, logger)
			if err != nil {
				t.close()
				return nil, err
			}
			l.asStored = set.raw
			set.into[d] = l
			t.layers = append(t.layers, l)
		}
	}
	now := time.Now()
	next := uint64(2)
	newStatic := func(parent *staticDir) *staticDir {
		d := &staticDir{parent: parent, children: map[string]any{}, statfsFd: t.layers[0].statfsFd()}
		d.attr = fuse.Attr{Ino: next, Mode: syscall.S_IFDIR | 0755, Nlink: 2, Blksize: 4096}
		d.attr.SetTimes(&now, &now, &now)
		next++
		return d
	}
	t.root = newStatic(nil)
	t.num = num
	for _, e := range entries {
		parts := strings.Split(strings.Trim(e.Path, "/"), "/")
		parent := t.root
		for i, p := range parts {
			if p == "" || p == "." || p == ".." {
				t.close()
				return nil, fmt.Errorf("%q: not a usable path", e.Path)
			}
			c, ok := parent.children[p]
			if i == len(parts)-1 {
				if ok {
					t.close()
					return nil, fmt.Errorf("%q: two views at one path", e.Path)
				}
				root, err := t.view(e, opened, rawOpened, next)
				if err != nil {
					t.close()
					return nil, err
				}
				next++
				parent.children[p] = root
				break
			}
			if !ok {
				c = newStatic(parent)
				parent.children[p] = c
			}
			sd, isDir := c.(*staticDir)
			if !isDir {
				t.close()
				return nil, fmt.Errorf("%q: a view is already at %s", e.Path, strings.Join(parts[:i+1], "/"))
			}
			parent = sd
		}
	}
	return t, nil
}

// view makes the root of one entry's union, with an inode number of the
// tree's own: two views may have the same top layer, and the kernel
// allows a directory only one place.
func (t *tree) view(e TreeEntry, opened, rawOpened map[string]*layer, ino uint64) (*dirNode, error) {
	u := &union{raw: e.Raw, log: t.log, pf: t.pf}
	for _, l := range e.Layers {
		if e.Raw {
			u.layers = append(u.layers, rawOpened[l.Key()])
		} else {
			u.layers = append(u.layers, opened[l.Key()])
		}
	}
	u.addBinds(e.Binds, func() uint64 { t.num++; return t.num })
	for _, l := range u.layers[u.stackLen():] {
		t.layers = append(t.layers, l) // closed with the tree
	}
	ent, err := u.rootEntry()
	if err != nil {
		return nil, err
	}
	ent.attr.Ino = ino
	return &dirNode{node: node{u: u, ent: ent}}, nil
}

// sameLayer reports whether a and b serve a directory the same way: one
// directory is opened once, so every view that merges it must agree on
// what it holds. (Plans come over a pipe, so equal is equal in value.)
func sameLayer(a, b Layer) bool {
	return a.ID == b.ID && reflect.DeepEqual(a.Encoding, b.Encoding) && reflect.DeepEqual(a.Markers, b.Markers) &&
		(a.Restore == nil) == (b.Restore == nil)
}
