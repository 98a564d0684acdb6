package layertar

import (
	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/beneath"
)

// The rules that tell a copy's losses from changes (docs/copies.md), one
// home for verify's findings, the survey and the restored view. A copy
// made without root or without -a loses in known ways: every owner
// becomes the copier's; setuid and setgid go with the owner, and a copy
// that cannot keep times applies its umask and drops the sticky bit too;
// times become the copy's, later than the layer's; xattrs, device nodes,
// fifos and hard links are dropped. Anything else is a change somebody
// made: a bit gained, or dropped while the entry kept its owner and
// times, an owner that is not the copier's, a time moved earlier.

// Copier is what a layer's directory says of whoever copied it.
type Copier struct {
	// UID owns the layer's root, which the engine makes and a copy makes
	// anew: only an entry owned by that user can have lost its owner.
	UID uint32
	// Kept says some entry kept an owner other than the copier's: the
	// copy kept owners, and an owner that differs is a change.
	Kept bool
}

// CopierOf reads the copier of the layer directory r; whether owners
// were kept is the caller's to find (Copier.Keeps).
func CopierOf(r *beneath.Root) (Copier, error) {
	var st unix.Stat_t
	if err := r.Lstat("", &st); err != nil {
		return Copier{}, err
	}
	return Copier{UID: st.Uid}, nil
}

// Keeps tells whether an entry owned by uid:gid on disk and
// uid0:gid0 in the tar shows that the copy kept owners: it has an owner
// other than the copier's, and the tar's.
func (c Copier) Keeps(uid, gid, uid0, gid0 uint32) bool {
	return uid0 != c.UID && uid == uid0 && gid == gid0
}

// Lost is which of an entry's differences from its tar a copy explains.
type Lost struct {
	Owner, Mode, Mtime bool
}

// Loss tells, for the entry st on disk that m records, which of its
// owner, permission bits and mtime differ from m as a copy leaves them.
// An entry of another kind is not compared.
func (c Copier) Loss(st *unix.Stat_t, m *Meta) Lost {
	var l Lost
	if st.Mode&unix.S_IFMT != m.Mode&unix.S_IFMT {
		return l
	}
	owner := st.Uid != m.UID || st.Gid != m.GID
	l.Owner = owner && !c.Kept && st.Uid == c.UID
	l.Mtime = st.Mtim.Sec > m.Mtime/1e9
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		perm, perm0 := st.Mode&0o7777, m.Mode&0o7777
		dropped, gained := perm0&^perm, perm&^perm0
		l.Mode = dropped != 0 && gained == 0 && (l.Mtime || (dropped&^0o6000 == 0 && l.Owner))
	}
	return l
}

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
// permission bits and the mtime, where each difference is a copy's loss
// (Copier.Loss). A file of another size is a change and is left as it
// is: the view shows evidence as it is on disk. Contents always come
// from the disk; a hard link's identity is the caller's (Index.Group).
func (m *Meta) Restore(st *unix.Stat_t, c Copier) bool {
	if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size != m.Size {
		return false
	}
	l := c.Loss(st, m)
	if l.Owner {
		st.Uid, st.Gid = m.UID, m.GID
	}
	if l.Mode {
		st.Mode = st.Mode&unix.S_IFMT | m.Mode&0o7777
	}
	if l.Mtime {
		st.Mtim = unix.NsecToTimespec(m.Mtime)
	}
	return l.Owner || l.Mode || l.Mtime
}

// TypeName names the type of mode (S_IFMT bits): "fifo", "symlink" ...
func TypeName(mode uint32) string { return typeName[mode&unix.S_IFMT] }
