package fs

import (
	"fmt"
	"log"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/beneath"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// Bind places a file or a directory of another tree at a path of a view,
// as Docker bind-mounts a container's /etc/hostname, /etc/hosts,
// /etc/resolv.conf and volumes over its root filesystem. What is at that
// path in the layers is hidden; a directory's contents show as they are
// (nothing in them is a whiteout). Like the layers, the source is
// read-only and reached beneath its tree's root, never through a symlink.
type Bind struct {
	Dest   string // where it shows in the view, slash-separated: "etc/hosts", "var/lib/mysql" (a leading "/" is dropped)
	Root   string // absolute path of the tree the source is in (the store's root)
	Source string // the source's path inside Root, slash-separated: "containers/<id>/hosts", "volumes/<name>/_data"
	ID     string // what user.aufsmount.layer says for what it shows; "" says Source
}

// bindPoint is a bind opened in a union.
type bindPoint struct {
	dest   string // view path, no leading slash
	li     int32  // its layer in union.layers
	base   string // the source's path in that layer: "" for a directory, the file's name for a file
	warned sync.Once
}

// unionBinds is what a union with binds keeps: the bind points, and the
// inode numbers of the directories above them. A directory on the way to
// a bind shows other entries than the same layer directory shows in a
// view without the bind, so in a tree of views (whose layers share their
// inode numbers) it must have a number of its own.
type unionBinds struct {
	nstack  int               // union.layers[:nstack] are the stack; the rest are bind sources
	points  []*bindPoint      // sorted by dest
	byLayer []*bindPoint      // the bind point of union.layers[nstack+i]
	above   map[string]uint64 // view path of a directory above a bind point -> its inode number
}

// layerRel is the path inside layer li of the view path rel.
func (u *union) layerRel(li int32, rel string) string {
	b := u.binds
	if b == nil || int(li) < b.nstack {
		return rel
	}
	p := b.byLayer[int(li)-b.nstack]
	rest := strings.TrimPrefix(strings.TrimPrefix(rel, p.dest), "/")
	switch {
	case p.base == "":
		return rest
	case rest == "":
		return p.base
	}
	return p.base + "/" + rest
}

// stackLen is how many layers of the union are its stack.
func (u *union) stackLen() int {
	if u.binds == nil {
		return len(u.layers)
	}
	return u.binds.nstack
}

// addBinds opens the sources of binds as layers of u, numbered by next.
// A bind that cannot be opened is logged and left out: the rest of the
// view still shows.
func (u *union) addBinds(binds []Bind, next func() uint64) {
	if len(binds) == 0 {
		return
	}
	b := &unionBinds{nstack: len(u.layers), above: map[string]uint64{}}
	roots := map[string]*beneath.Root{}
	defer func() {
		for _, r := range roots {
			r.Close()
		}
	}()
	taken := map[string]bool{}
	for _, bd := range binds {
		dest := strings.Join(splitPath(bd.Dest), "/")
		switch {
		case dest == "":
			u.log.Printf("bind of %s at /: not shown: not a path below the root", bd.Source)
			continue
		case taken[dest]:
			u.log.Printf("bind of %s at /%s: not shown: another bind is there", bd.Source, dest)
			continue
		}
		l, base, err := openBind(bd, roots, next)
		if err != nil {
			u.log.Printf("bind of %s at /%s: not shown: %v", bd.Source, dest, err)
			continue
		}
		taken[dest] = true
		p := &bindPoint{dest: dest, li: int32(len(u.layers)), base: base}
		b.points = append(b.points, p)
		b.byLayer = append(b.byLayer, p)
		u.layers = append(u.layers, l)
	}
	if len(b.points) == 0 {
		return
	}
	sort.Slice(b.points, func(i, j int) bool { return b.points[i].dest < b.points[j].dest })
	var above []string
	for _, p := range b.points {
		for d := parentOf(p.dest); d != ""; d = parentOf(d) {
			if _, ok := b.above[d]; !ok {
				b.above[d] = 0
				above = append(above, d)
			}
		}
	}
	if len(above) > 0 {
		own := next()
		sort.Strings(above)
		for i, d := range above {
			b.above[d] = inoOf(own, uint64(i+1))
		}
	}
	u.binds = b
}

// openBind opens one bind's source: a directory as a tree of its own, a
// file as the tree of the directory holding it.
func openBind(bd Bind, roots map[string]*beneath.Root, next func() uint64) (*layer, string, error) {
	r := roots[bd.Root]
	if r == nil {
		var err error
		if r, err = beneath.OpenRoot(bd.Root); err != nil {
			return nil, "", err
		}
		roots[bd.Root] = r
	}
	src := bd.Source
	for _, c := range strings.Split(src, "/") {
		if c == "" || c == "." || c == ".." {
			return nil, "", fmt.Errorf("%q is not a path inside %s", src, bd.Root)
		}
	}
	var st unix.Stat_t
	if err := r.Lstat(src, &st); err != nil {
		return nil, "", fmt.Errorf("%s/%s: %w", bd.Root, src, err)
	}
	dir, base := src, ""
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
	case unix.S_IFREG:
		dir, base = parentOf(src), src[strings.LastIndexByte(src, '/')+1:]
	case unix.S_IFLNK:
		return nil, "", fmt.Errorf("%s/%s is a symlink, which is never followed", bd.Root, src)
	default:
		return nil, "", fmt.Errorf("%s/%s: not a file or directory", bd.Root, src)
	}
	sub, err := r.Sub(dir)
	if err != nil {
		return nil, "", err
	}
	id := bd.ID
	if id == "" {
		id = src
	}
	return &layer{Root: sub, id: id, dir: sub.Dir, num: next(), enc: whiteout.None}, base, nil
}

// bindInto puts the bind points of directory rel (a view path) into its
// merged index, in name order, and gives the directories above bind
// points their own inode numbers.
func (u *union) bindInto(rel string, ents []entry) []entry {
	b := u.binds
	for _, p := range b.points {
		dir, name := parentOf(p.dest), p.dest[strings.LastIndexByte(p.dest, '/')+1:]
		if dir != rel {
			u.checkWay(rel, p, ents)
			continue
		}
		var st unix.Stat_t
		l := u.layers[p.li]
		var err error
		if p.base == "" {
			err = unix.Fstat(l.Fd(), &st)
		} else {
			err = unix.Fstatat(l.Fd(), p.base, &st, unix.AT_SYMLINK_NOFOLLOW)
		}
		if err != nil {
			p.warned.Do(func() { u.log.Printf("bind of %s at /%s: not shown: %v", l.id, p.dest, err) })
			continue
		}
		e := entry{name: name, layer: p.li}
		fillAttr(l, &st, &e.attr)
		i := sort.Search(len(ents), func(i int) bool { return ents[i].name >= name })
		if i < len(ents) && ents[i].name == name {
			ents[i] = e
			continue
		}
		ents = append(ents, entry{})
		copy(ents[i+1:], ents[i:])
		ents[i] = e
	}
	for i := range ents {
		if ino, ok := b.above[joinRel(rel, ents[i].name)]; ok && ents[i].attr.Mode&unix.S_IFMT == unix.S_IFDIR {
			ents[i].attr.Ino = ino
		}
	}
	return ents
}

// checkWay logs, once, a bind point below rel that cannot show because
// the view has no directory on its way there.
func (u *union) checkWay(rel string, p *bindPoint, ents []entry) {
	prefix := rel + "/"
	if rel == "" {
		prefix = ""
	}
	rest, ok := strings.CutPrefix(p.dest, prefix)
	if !ok {
		return
	}
	next, _, _ := strings.Cut(rest, "/")
	if e := find(ents, next); e == nil || e.attr.Mode&unix.S_IFMT != unix.S_IFDIR {
		p.warned.Do(func() {
			u.log.Printf("bind of %s at /%s: not shown: /%s is not a directory of the view", u.layers[p.li].id, p.dest, joinRel(rel, next))
		})
	}
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// MountBinds is Mount with binds over the layers' union.
func MountBinds(mountpoint string, layers []Layer, binds []Bind, o Options) (*fuse.Server, error) {
	logger := o.logger()
	u, err := newUnion(layers, logger)
	if err != nil {
		return nil, err
	}
	num := uint64(len(layers))
	u.addBinds(binds, func() uint64 { num++; return num })
	if num >= 1<<(64-inoBits) {
		u.close()
		return nil, fmt.Errorf("%d layers and binds: at most %d can be mounted", num, 1<<(64-inoBits)-1)
	}
	root, err := u.root()
	if err != nil {
		u.close()
		return nil, err
	}
	loadIndexes(u.layers)
	server, err := mount(mountpoint, root, root.ent.attr.Ino, o, logger)
	if err != nil {
		u.close()
		return nil, err
	}
	if u.tarOnly() && server.KernelSettings().Flags64()&fuse.CAP_NO_OPEN_SUPPORT != 0 {
		u.noOpen.Store(true)
	}
	return server, nil
}

// OpenViewWith is OpenView with binds over the layers' union, shown as
// MountBinds shows them.
func OpenViewWith(layers []Layer, binds []Bind) (*View, error) {
	u, err := newUnion(layers, log.New(os.Stderr, "aufsmount: ", 0))
	if err != nil {
		return nil, err
	}
	num := uint64(len(layers))
	u.addBinds(binds, func() uint64 { num++; return num })
	root, err := u.rootEntry()
	if err != nil {
		u.close()
		return nil, err
	}
	return &View{u: u, dirs: map[string][]entry{}, root: *root}, nil
}
