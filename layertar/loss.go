package layertar

import (
	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/beneath"
)

// The rules that tell a copy's losses from changes (docs/copies.md), one
// home for verify's findings and the restored view. A copy made without
// root or without -a loses in known ways: every owner becomes the
// copier's, mode bits are dropped (setuid, setgid, sticky, the umask),
// times become the copy's, which is later than the layer's, and xattrs,
// device nodes, fifos and hard links are dropped. Anything else is a
// change somebody made.

// Copier is what a layer's directory says of whoever copied it: the
// owner of the layer's root, which the engine makes and a copy makes
// anew. Only an entry owned by that user can have lost its owner.
type Copier struct {
	UID uint32
}

// CopierOf reads the copier of the layer directory r.
func CopierOf(r *beneath.Root) (Copier, error) {
	var st unix.Stat_t
	if err := r.Lstat("", &st); err != nil {
		return Copier{}, err
	}
	return Copier{UID: st.Uid}, nil
}

// OwnerLost tells whether an entry owned by uid:gid on disk, uid0:gid0
// in the tar, lost its owner to a copy: the copier owns it now. An owner
// that is nobody's in particular is a change.
func (c Copier) OwnerLost(uid, gid, uid0, gid0 uint32) bool {
	return (uid != uid0 || gid != gid0) && uid == c.UID
}

// ModeLost tells whether permission bits perm on disk are perm0's with
// bits dropped, and none gained.
func ModeLost(perm, perm0 uint32) bool {
	return perm&0o7777 != perm0&0o7777 && perm&^perm0&0o7777 == 0
}

// MtimeLost tells whether a time on disk (seconds) is the tar's moved
// later, to when a copy was made. A time moved earlier is a change.
func MtimeLost(sec, sec0 int64) bool { return sec > sec0 }

// LostKind tells whether a copy drops an entry of type mode (S_IFMT)
// altogether: devices, fifos and sockets need root or are skipped.
func LostKind(mode uint32) bool {
	switch mode {
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO, unix.S_IFSOCK:
		return true
	}
	return false
}

// Restore gives st, the entry on disk that m records, back what a copy
// took from it, and reports whether it gave anything: the owner, the
// permission bits and the times, where each difference is a copy's loss.
// An entry of another kind, or a file of another size, is a change and
// is left as it is: the view shows evidence as it is on disk. Contents
// always come from the disk; a hard link's identity is the caller's
// (Index.Links).
func (m *Meta) Restore(st *unix.Stat_t, c Copier) bool {
	if st.Mode&unix.S_IFMT != m.Mode&unix.S_IFMT {
		return false
	}
	if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size != m.Size {
		return false
	}
	did := false
	if c.OwnerLost(st.Uid, st.Gid, m.UID, m.GID) {
		st.Uid, st.Gid = m.UID, m.GID
		did = true
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK && ModeLost(st.Mode, m.Mode) {
		st.Mode = st.Mode&unix.S_IFMT | m.Mode&0o7777
		did = true
	}
	if sec := m.Mtime / 1e9; MtimeLost(st.Mtim.Sec, sec) {
		st.Mtim = unix.NsecToTimespec(m.Mtime)
		did = true
	}
	return did
}

// TypeName names the type of mode (S_IFMT bits): "fifo", "symlink" ...
func TypeName(mode uint32) string { return typeName[mode&unix.S_IFMT] }
