package fs

import (
	"fmt"
	"log"
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
	log     *log.Logger
	// faulted makes a layer that went away while mounted log one line, not one per access.
	faulted sync.Once
}

// openLayer opens ly for serving (see beneath.OpenRoot: as root, through
// a detached read-only noatime clone of its mount).
func openLayer(ly Layer, num uint64, logger *log.Logger) (*layer, error) {
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

func (l *layer) close() { l.Root.Close() }

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

// readDir reads the open directory rel of the layer: every name with
// what it means, and whether the directory is opaque in this layer. raw
// takes every name as plain (a layer shown as stored).
func (l *layer) readDir(fd int, rel string, buf []byte, raw bool) ([]dirent, bool, error) {
	des, err := beneath.ReadDirents(fd, buf)
	if err != nil {
		return nil, false, err
	}
	ents := make([]dirent, 0, len(des))
	opaque := false
	for _, de := range des {
		e := dirent{name: de.Name, isDir: de.Mode == unix.S_IFDIR}
		if !raw {
			e.kind, e.target = l.classify(fd, de.Name, de.Mode)
			opaque = opaque || e.kind == whiteout.Opaque
		}
		ents = append(ents, e)
	}
	if raw {
		return ents, false, nil
	}
	ents = l.addMarkers(rel, ents)
	ents = l.addRecreated(rel, ents)
	if !opaque {
		opaque = l.opaqueByXattr(fd) || l.markers.IsOpaque(rel)
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
	for _, name := range l.markers.WhitedOut(rel) {
		ents = append(ents, dirent{name: whiteout.Prefix + name, kind: whiteout.Whiteout, target: name})
	}
	return ents
}

// opaqueByXattr tells whether the open directory fd carries one of the
// encoding's opaque attributes set to "y".
func (l *layer) opaqueByXattr(fd int) bool {
	var buf [4]byte
	for _, x := range l.enc.OpaqueXattrs {
		n, err := unix.Fgetxattr(fd, x, buf[:])
		if err == nil && l.enc.OpaqueValue(x, buf[:n]) {
			return true
		}
	}
	return false
}

// probe is the layer's listing of directory rel cut down to what decides
// name: the name itself, its whiteout (by name where the encoding has
// them, by the tar-split's markers) and the directory's opacity. has
// tells whether the layer has an entry (not a whiteout) called name. An
// empty name asks for the directory's opacity alone.
func (l *layer) probe(rel, name string) (ents []dirent, opaque, has bool, err error) {
	fd, err := l.OpenDir(rel)
	if err != nil {
		if errGone(err) {
			return nil, false, false, nil
		}
		return nil, false, false, fmt.Errorf("opening %s/%s: %w", l.dir, rel, err)
	}
	defer unix.Close(fd)
	names := []string{name}
	if l.enc.DotFiles {
		names = append(names, whiteout.Prefix+name, whiteout.OpaqueName)
	}
	for _, n := range names {
		var st unix.Stat_t
		if err := l.statAt(fd, rel, n, &st); err != nil {
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
	if l.markers.Hides(rel, name) {
		ents = append(ents, dirent{name: whiteout.Prefix + name, kind: whiteout.Whiteout, target: name})
	}
	opaque = opaque || l.opaqueByXattr(fd) || l.markers.IsOpaque(rel)
	return ents, opaque && l.enc.CanBeOpaque(rel), has, nil
}
