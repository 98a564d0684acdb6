package fs

import (
	"hash/fnv"
	"path"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

// Restore gives a layer back what a copy of the store took from its
// directory, from the index of the layer's tar-split (docs/copies.md):
// owners, modes and times where a copy explains the difference, the
// extended attributes it dropped, the devices and fifos it skipped, and
// the identity of the hard links it split. Contents always come from the
// directory, and whatever is a change somebody made (another kind of
// entry, another size, an attribute gained) is served as it is.
type Restore struct {
	// From says which tar-splits, top first: the layer's own, or for a
	// whole tree its chain's. The command's plan carries them to the
	// server, which sets Load.
	From []RestoreSource `json:"from"`
	// Copier is who copied the directory (layertar.Copier.Loss).
	Copier layertar.Copier `json:"copier"`
	// Load reads the index; called once, on the layer's first use.
	Load func() (*layertar.Packed, error) `json:"-"`
}

// RestoreSource is one tar-split a Restore reads.
type RestoreSource struct {
	ID       string `json:"id"`
	Driver   string `json:"driver"`
	TarSplit string `json:"tar_split"`
	DiffID   string `json:"diff_id"`
}

// restorer is a layer's Restore, loaded.
type restorer struct {
	from *Restore
	once sync.Once
	x    *layertar.Packed
}

// index loads the layer's index on first use; nil when the layer needs
// none, or its index could not be read (said once in the log: the
// directory is then served as it is).
func (l *layer) index() *layertar.Packed {
	r := l.restore
	if r == nil {
		return nil
	}
	r.once.Do(func() {
		if r.from.Load == nil {
			return
		}
		x, err := r.from.Load()
		if err != nil {
			l.logf("layer %s: serving its directory as it is: %v", l.id, err)
			return
		}
		r.x = x
	})
	return r.x
}

// meta is what the layer's index records of rel, or nil.
func (l *layer) meta(rel string) (*layertar.Meta, *layertar.Packed) {
	x := l.index()
	if x == nil {
		return nil, nil
	}
	if rel == "" {
		m := x.Root()
		return &m, x
	}
	m, ok := x.Lookup(parentOf(rel), path.Base(rel))
	if !ok {
		return nil, x
	}
	return &m, x
}

// restoreStat turns st, the stat of rel in the layer's directory, into
// what the view shows of it. Every stat of a layer entry comes through
// here, so lookups, listings and the check at open agree. The names of
// a hard link a copy split show their group's first name, one inode
// whatever name is looked up first, as long as each is still a file of
// that one's size (else it is a change, shown as it is).
func (l *layer) restoreStat(rel string, st *unix.Stat_t) {
	m, x := l.meta(rel)
	if m == nil {
		return
	}
	n := uint32(1)
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		var g string
		g, n = x.Group(rel, m)
		if g != rel {
			var gst unix.Stat_t
			gm, _ := l.meta(g)
			if gm == nil || l.Lstat(g, &gst) != nil || gst.Mode&unix.S_IFMT != unix.S_IFREG || gst.Size != st.Size {
				n = 1
			} else {
				*st, m = gst, gm
			}
		}
	}
	m.Restore(st, l.restore.from.Copier)
	if uint64(st.Nlink) < uint64(n) {
		st.Nlink = uint64(n)
	}
}

// recreated fills st for rel, an entry the layer's tar records that a
// copy could not keep (a device, a fifo) and its directory lacks, and
// reports whether there is one. Its inode number is made from its path,
// in the upper half of what a layer's numbers can be, which real
// filesystems do not reach.
func (l *layer) recreated(rel string, st *unix.Stat_t) bool {
	m, _ := l.meta(rel)
	if m == nil || !layertar.LostKind(m.Mode&unix.S_IFMT) {
		return false
	}
	h := fnv.New64a()
	h.Write([]byte(rel))
	metaStat(m, 1<<(inoBits-1)|h.Sum64()&(1<<(inoBits-1)-1), 1, st)
	return true
}

// metaStat fills st with what a tar records of an entry, m, under inode
// number ino with nlink names; every time is its mtime.
func metaStat(m *layertar.Meta, ino uint64, nlink uint32, st *unix.Stat_t) {
	*st = unix.Stat_t{
		Ino:   ino,
		Mode:  m.Mode,
		Nlink: uint64(nlink),
		Uid:   m.UID,
		Gid:   m.GID,
		Rdev:  m.Rdev,
		Mtim:  unix.NsecToTimespec(m.Mtime),
		Atim:  unix.NsecToTimespec(m.Mtime),
		Ctim:  unix.NsecToTimespec(m.Mtime),
	}
}

// statAt stats name in the open directory fd, which is rel of the
// layer, as the view shows it: restored, or recreated when a copy
// dropped it.
func (l *layer) statAt(fd int, rel, name string, st *unix.Stat_t) error {
	p := path.Join(rel, name)
	if err := unix.Fstatat(fd, name, st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT && l.recreated(p, st) {
			return nil
		}
		return err
	}
	l.restoreStat(p, st)
	return nil
}

// statRoot stats the layer's root as the view shows it.
func (l *layer) statRoot(st *unix.Stat_t) error {
	if l.tar != nil {
		return l.tarStat("", st)
	}
	if err := unix.Fstat(l.Fd(), st); err != nil {
		return err
	}
	l.restoreStat("", st)
	return nil
}

// lstat stats rel of the layer as the view shows it (statAt).
func (l *layer) lstat(rel string, st *unix.Stat_t) error {
	if l.tar != nil {
		return l.tarStat(rel, st)
	}
	if err := l.Lstat(rel, st); err != nil {
		if errGone(err) && l.recreated(rel, st) {
			return nil
		}
		return err
	}
	l.restoreStat(rel, st)
	return nil
}

// addRecreated adds to a listing of directory rel the entries a copy
// dropped that the layer's index records.
func (l *layer) addRecreated(rel string, ents []dirent) []dirent {
	x := l.index()
	if x == nil {
		return ents
	}
	var have map[string]bool
	for _, m := range x.Specials(rel) {
		if have == nil {
			have = make(map[string]bool, len(ents))
			for _, e := range ents {
				have[e.name] = true
			}
		}
		if !have[m.Name] {
			ents = append(ents, dirent{name: m.Name})
		}
	}
	return ents
}

// restoredXattrs are the extended attributes of rel the layer's index
// records, for those its directory lost; recreated tells whether rel is
// an entry the view recreates, which has no others.
func (l *layer) restoredXattrs(rel string) (xattrs map[string]string, recreated bool) {
	m, _ := l.meta(rel)
	if m == nil {
		return nil, false
	}
	return m.Xattrs, layertar.LostKind(m.Mode & unix.S_IFMT)
}
