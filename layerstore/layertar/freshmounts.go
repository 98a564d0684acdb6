package layertar

import (
	"archive/tar"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/beneath"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// Mount is a directory of another tree that a fresh tar holds at Dest:
// a container's volume, saved in its layer where docker commit leaves it
// out.
type Mount struct {
	Dest   string // where it goes, slash-separated, below the root: "var/lib/db"
	Root   string // the tree it is in (the store's root)
	Source string // its path in Root, reached without following a symlink: "volumes/dbdata/_data"
}

// mountSet is what a walker knows of the mounts below its root.
type mountSet struct {
	prefix  string        // a mount's walker: its path in the tar; "" for the layer's own walker
	points  []*mountPoint // the outermost mounts below the root, by dest
	leftOut func(string)
}

// mountPoint is one Mount opened.
type mountPoint struct {
	dest  string // below the walker's root
	m     Mount
	root  *beneath.Root
	inner []*mountPoint // the mounts inside it, dest below it
}

// openMounts opens the mounts of a fresh tar, each beneath its Root, and
// nests each inside the one it is in.
func openMounts(ms []Mount, leftOut func(string)) (*mountSet, error) {
	set := &mountSet{leftOut: leftOut}
	if len(ms) == 0 {
		return set, nil
	}
	ms = append([]Mount(nil), ms...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Dest < ms[j].Dest })
	roots := map[string]*beneath.Root{}
	defer func() {
		for _, r := range roots {
			r.Close()
		}
	}()
	var all []*mountPoint
	for _, m := range ms {
		if !cleanRel(m.Dest) || !cleanRel(m.Source) {
			set.close()
			return nil, fmt.Errorf("mount of %s at /%s: not a path below a root", m.Source, m.Dest)
		}
		r := roots[m.Root]
		if r == nil {
			var err error
			if r, err = beneath.OpenRoot(m.Root); err != nil {
				set.close()
				return nil, err
			}
			roots[m.Root] = r
		}
		sub, err := r.Sub(m.Source)
		if err != nil {
			set.close()
			return nil, fmt.Errorf("mount at /%s: %w", m.Dest, err)
		}
		p := &mountPoint{dest: m.Dest, m: m, root: sub}
		all = append(all, p)
		// Sorted, a mount comes after the one it is inside.
		placed := false
		for i := len(all) - 2; i >= 0 && !placed; i-- {
			if q := all[i]; m.Dest == q.m.Dest {
				set.close()
				return nil, fmt.Errorf("two mounts at /%s", m.Dest)
			} else if rest, ok := strings.CutPrefix(m.Dest, q.m.Dest+"/"); ok {
				p.dest = rest
				q.inner = append(q.inner, p)
				placed = true
			}
		}
		if !placed {
			set.points = append(set.points, p)
		}
	}
	return set, nil
}

// cleanRel says whether p is a clean slash-separated path below a root.
func cleanRel(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." || c == ".." {
			return false
		}
	}
	return true
}

// close closes every mount's tree.
func (s *mountSet) close() {
	var walk func([]*mountPoint)
	walk = func(ps []*mountPoint) {
		for _, p := range ps {
			if p.root != nil {
				p.root.Close()
			}
			walk(p.inner)
		}
	}
	walk(s.points)
}

// covers says whether a mount is at p: what the layer has there is left
// out, the mount written instead.
func (s *mountSet) covers(p string) bool {
	for _, m := range s.points {
		if m.dest == p {
			return true
		}
	}
	return false
}

// holdable drops, in a mount's tree, the names a layer cannot hold: a
// .wh. name is a whiteout to every applier of the layer. Each is told
// to leftOut.
func (s *mountSet) holdable(rel string, kids []child) []child {
	if s.prefix == "" {
		return kids
	}
	out := kids[:0]
	for _, c := range kids {
		if strings.HasPrefix(c.name, whiteout.Prefix) {
			if s.leftOut != nil {
				s.leftOut(path.Join(s.prefix, rel, c.name))
			}
			continue
		}
		out = append(out, c)
	}
	return out
}

// name gives hdr its path in the tar: below the mount's dest, for a
// mount's walker.
func (s *mountSet) name(hdr *tar.Header) {
	if s.prefix == "" {
		return
	}
	hdr.Name = s.prefix + "/" + hdr.Name
	if hdr.Typeflag == tar.TypeLink {
		hdr.Linkname = s.prefix + "/" + hdr.Linkname
	}
}

// mountsIn writes, at the end of directory rel, the mounts whose way
// down leaves the layer there: one at rel/<name>, or one deeper whose
// next directory the layer does not have (that directory is a lower
// layer's, and the tar holds no header for it). Those below a directory
// of the layer are written when the walk is in it.
func (w *freshWalker) mountsIn(rel string, kids []child) error {
	for _, p := range w.mnt.points {
		rest := p.dest
		if rel != "" {
			var ok bool
			if rest, ok = strings.CutPrefix(p.dest, rel+"/"); !ok {
				continue
			}
		}
		if next, _, deeper := strings.Cut(rest, "/"); deeper {
			if i := sort.Search(len(kids), func(i int) bool { return kids[i].name >= next }); i < len(kids) && kids[i].name == next && kids[i].kind == whiteout.Plain {
				if kids[i].st.Mode&unix.S_IFMT == unix.S_IFDIR {
					continue // written from inside it
				}
				return fmt.Errorf("mount of %s at /%s: /%s is not a directory in the layer", p.m.Source, path.Join(w.mnt.prefix, p.dest), path.Join(w.mnt.prefix, rel, next))
			}
		}
		if err := w.mount(p); err != nil {
			return err
		}
	}
	return nil
}

// mount writes mount p: its directory, opaque (nothing of the layers
// below shows there, as nothing did in the container), and all it holds.
func (w *freshWalker) mount(p *mountPoint) error {
	sub := &freshWalker{
		f:     Fresh{Layer: Layer{Dir: p.root.Dir}},
		enc:   whiteout.None,
		root:  p.root,
		sink:  w.sink,
		links: map[devIno]string{},
		mnt:   &mountSet{prefix: path.Join(w.mnt.prefix, p.dest), points: p.inner, leftOut: w.mnt.leftOut},
	}
	var st unix.Stat_t
	if err := p.root.Lstat("", &st); err != nil {
		return fmt.Errorf("%s: %w", p.root.Dir, err)
	}
	hdr, err := sub.header("", &st)
	if err != nil {
		return err
	}
	hdr.Name = p.dest + "/"
	if err := w.put(hdr, nil); err != nil {
		return err
	}
	opq := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     path.Join(p.dest, whiteout.OpaqueName),
		Mode:     0o600,
		ModTime:  time.Unix(st.Mtim.Sec, 0),
		Format:   tar.FormatPAX,
	}
	if err := w.put(opq, nil); err != nil {
		return err
	}
	return sub.dir("", nil)
}
