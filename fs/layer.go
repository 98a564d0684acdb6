package fs

import (
	"fmt"
	"log"
	"path"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/beneath"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// layer is one branch of the union, reached through a beneath.Root.
type layer struct {
	*beneath.Root
	id      string
	dir     string
	num     uint64 // 1-based, counted from the base: part of every inode number
	enc     *whiteout.Encoding
	markers *whiteout.Markers // recovered from the tar-split; nil when the directory is whole
	restore *restorer         // restores what a copy lost (restore.go); nil when nothing was lost
	tar     *TarStream        // a layer served from its tar stream (tarlayer.go); nil for a directory
	archive *ArchiveLayer     // where that stream is
	log     *log.Logger
	// faulted makes a layer that went away while mounted log one line, not one per access.
	faulted sync.Once
	tarOnce sync.Once // loads tar.Index (tarIndex)
	// asStored shows a tar layer's markers as the tar stores them
	// (MountTree's raw layers/ views).
	asStored bool
}

// markerSet is the layer's whiteouts and opaque directories: its
// markers, or a tar layer's index's.
func (l *layer) markerSet() *whiteout.Markers {
	if l.tar != nil {
		return &l.tarIndex().Markers
	}
	return l.markers
}

// openLayer opens ly for serving (see beneath.OpenRoot: as root, through
// a detached read-only noatime clone of its mount).
func openLayer(ly Layer, num uint64, logger *log.Logger) (*layer, error) {
	if ly.Archive != nil {
		l, err := openTarLayer(ly, num)
		if l != nil {
			l.log = logger
		}
		return l, err
	}
	r, err := beneath.OpenRoot(ly.Dir)
	if err != nil {
		return nil, fmt.Errorf("opening layer: %w", err)
	}
	enc := ly.Encoding
	if enc == nil {
		enc = whiteout.Aufs
	}
	l := &layer{Root: r, id: ly.ID, dir: ly.Dir, num: num, enc: enc, markers: ly.Markers, log: logger}
	if ly.Restore != nil {
		l.restore = &restorer{from: ly.Restore}
	}
	return l, nil
}

// logf logs a problem met while serving the layer.
func (l *layer) logf(format string, args ...any) {
	if l.log != nil {
		l.log.Printf(format, args...)
	}
}

func (l *layer) close() {
	if l.tar != nil {
		l.tar.Close()
		return
	}
	l.Root.Close()
}

// statfsFd is an fd of the filesystem that holds the layer.
func (l *layer) statfsFd() int {
	if l.tar != nil {
		return int(l.tar.File.Fd())
	}
	return l.Fd()
}

// layerDir is one directory of a layer, open for listing and stat'ing
// its names: a directory fd, or for a tar layer (fd -1) its index.
type layerDir struct {
	l   *layer
	rel string
	fd  int
}

// openDir opens the directory rel of the layer.
func (l *layer) openDir(rel string) (layerDir, error) {
	if l.tar != nil {
		if m := l.tarMeta(rel); m == nil || m.Mode&unix.S_IFMT != unix.S_IFDIR {
			return layerDir{}, unix.ENOENT
		}
		return layerDir{l: l, rel: rel, fd: -1}, nil
	}
	fd, err := l.OpenDir(rel)
	if err != nil {
		return layerDir{}, err
	}
	return layerDir{l: l, rel: rel, fd: fd}, nil
}

func (d layerDir) close() {
	if d.fd >= 0 {
		unix.Close(d.fd)
	}
}

// stat stats name in the directory as the view shows it (statAt).
func (d layerDir) stat(name string, st *unix.Stat_t) error {
	if d.fd < 0 {
		return d.l.tarStat(path.Join(d.rel, name), st)
	}
	return d.l.statAt(d.fd, d.rel, name, st)
}

// opaqueByXattr tells whether the directory carries one of the
// encoding's opaque attributes set to "y"; a tar layer has its opaque
// directories in its markers.
func (d layerDir) opaqueByXattr() bool {
	if d.fd < 0 {
		return false
	}
	var buf [4]byte
	for _, x := range d.l.enc.OpaqueXattrs {
		n, err := unix.Fgetxattr(d.fd, x, buf[:])
		if err == nil && d.l.enc.OpaqueValue(x, buf[:n]) {
			return true
		}
	}
	return false
}

// errGone reports errors that mean the layer changed under us.
func errGone(err error) bool { return beneath.Gone(err) }

// dirent is one name of one layer's directory and what the layer's
// encoding makes of it.
type dirent struct {
	name   string
	isDir  bool
	kind   whiteout.Kind
	target string // for a whiteout: the name it hides ("" for none)
}

// read reads the open directory: every name with
// what it means, and whether the directory is opaque in this layer. raw
// takes every name as plain (a layer shown as stored).
func (d layerDir) read(buf []byte, raw bool) ([]dirent, bool, error) {
	l, rel := d.l, d.rel
	var ents []dirent
	opaque := false
	if d.fd < 0 {
		var err error
		if ents, err = l.tarList(rel); err != nil {
			return nil, false, err
		}
	} else {
		des, err := beneath.ReadDirents(d.fd, buf)
		if err != nil {
			return nil, false, err
		}
		ents = make([]dirent, 0, len(des))
		for _, de := range des {
			e := dirent{name: de.Name, isDir: de.Mode == unix.S_IFDIR}
			if !raw {
				e.kind, e.target = l.classify(d.fd, de.Name, de.Mode)
				opaque = opaque || e.kind == whiteout.Opaque
			}
			ents = append(ents, e)
		}
	}
	if raw {
		return ents, false, nil
	}
	ents = l.addMarkers(rel, ents)
	ents = l.addRecreated(rel, ents)
	if !opaque {
		opaque = d.opaqueByXattr() || l.markerSet().IsOpaque(rel)
	}
	return ents, opaque && l.enc.CanBeOpaque(rel), nil
}

// classify is the encoding's verdict on one name of the directory fd; a
// character device is stat'ed for its number where that decides.
func (l *layer) classify(fd int, name string, mode uint32) (whiteout.Kind, string) {
	var rdev uint64
	if l.enc.NeedsRdev(mode) {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return whiteout.Plain, "" // gone since listed: stat'ing it later drops it
		}
		rdev = st.Rdev
	}
	return l.enc.Classify(name, mode, rdev)
}

// addMarkers adds the whiteouts the layer's tar-split records for rel
// that its directory lost.
func (l *layer) addMarkers(rel string, ents []dirent) []dirent {
	for _, name := range l.markerSet().WhitedOut(rel) {
		ents = append(ents, dirent{name: whiteout.Prefix + name, kind: whiteout.Whiteout, target: name})
	}
	return ents
}

// probe is the layer's listing of directory rel cut down to what decides
// name: the name itself, its whiteout (by name where the encoding has
// them, by the tar-split's markers) and the directory's opacity. has
// tells whether the layer has an entry (not a whiteout) called name. An
// empty name asks for the directory's opacity alone.
func (l *layer) probe(rel, name string) (ents []dirent, opaque, has bool, err error) {
	d, err := l.openDir(rel)
	if err != nil {
		if errGone(err) {
			return nil, false, false, nil
		}
		return nil, false, false, fmt.Errorf("opening %s/%s: %w", l.dir, rel, err)
	}
	defer d.close()
	names := []string{name}
	if l.enc.DotFiles {
		names = append(names, whiteout.Prefix+name, whiteout.OpaqueName)
	}
	for _, n := range names {
		var st unix.Stat_t
		if err := d.stat(n, &st); err != nil {
			if errGone(err) || err == unix.ENAMETOOLONG {
				continue
			}
			return nil, false, false, fmt.Errorf("reading %s/%s: %w", l.dir, rel, err)
		}
		mode := st.Mode & unix.S_IFMT
		k, target := l.enc.Classify(n, mode, st.Rdev)
		ents = append(ents, dirent{name: n, isDir: mode == unix.S_IFDIR, kind: k, target: target})
		opaque = opaque || k == whiteout.Opaque
		has = has || (n == name && k == whiteout.Plain)
	}
	if l.markerSet().Hides(rel, name) {
		ents = append(ents, dirent{name: whiteout.Prefix + name, kind: whiteout.Whiteout, target: name})
	}
	opaque = opaque || d.opaqueByXattr() || l.markerSet().IsOpaque(rel)
	return ents, opaque && l.enc.CanBeOpaque(rel), has, nil
}
