package layertar

import (
	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/beneath"
)

// The rules that tell a copy's losses from changes (docs/copies.md), one
// home for verify's findings, the survey and the restored view. A copy
// made without root or without -a loses in known ways, and alike for
// every entry: every owner becomes the copier's; every time becomes the
// copy's; mode bits are dropped (setuid, setgid and sticky, and those its
// umask clears) from every entry that had them; xattrs, device nodes,
// fifos and hard links are dropped. What a layer's entries show of that
// is its Profile. Anything else is a change somebody made: a bit gained,
// or dropped from one entry while others keep it, an owner that is not
// the copier's, a time moved while the others kept theirs, or moved
// earlier without the copy writing it.

// Copier is what a layer's directory says of the copy it is.
type Copier struct {
	// UID owns the layer's root, which the engine makes and a copy makes
	// anew: only an entry owned by that user can have lost its owner.
	UID uint32
	// KeptOwners: some entry kept an owner other than the copier's.
	KeptOwners bool
	// KeptTimes: some entry kept its time.
	KeptTimes bool
	// Dropped are the permission bits the copy dropped: dropped from some
	// entry, and kept by none that had them.
	Dropped uint32
}

// ProfileOf starts the Profile of the layer directory r.
func ProfileOf(r *beneath.Root) (*Profile, error) {
	var st unix.Stat_t
	if err := r.Lstat("", &st); err != nil {
		return nil, err
	}
	return &Profile{c: Copier{UID: st.Uid}}, nil
}

// Profile gathers what a layer's entries show of the copy they are
// (See), for its Copier.
type Profile struct {
	c             Copier
	dropped, kept uint32
}

// See takes in the entry st on disk that m records.
func (p *Profile) See(st *unix.Stat_t, m *Meta) {
	if st.Mode&unix.S_IFMT != m.Mode&unix.S_IFMT {
		return
	}
	if st.Uid == m.UID && st.Gid == m.GID && m.UID != p.c.UID {
		p.c.KeptOwners = true
	}
	if st.Mtim.Sec == m.Mtime/1e9 {
		p.c.KeptTimes = true
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		perm, perm0 := st.Mode&0o7777, m.Mode&0o7777
		p.dropped |= perm0 &^ perm
		p.kept |= perm0 & perm
	}
}

// Copier is the copy the entries seen so far show.
func (p *Profile) Copier() Copier {
	c := p.c
	c.Dropped = p.dropped &^ p.kept
	return c
}

// Lost is which of an entry's differences from its tar a copy explains.
type Lost struct {
	Owner, Mode, Mtime bool
}

// Loss tells, for the entry st on disk that m records, which of its
// owner, permission bits and mtime differ from m as this copy leaves
// them. An entry of another kind is not compared.
func (c Copier) Loss(st *unix.Stat_t, m *Meta) Lost {
	var l Lost
	if st.Mode&unix.S_IFMT != m.Mode&unix.S_IFMT {
		return l
	}
	l.Owner = (st.Uid != m.UID || st.Gid != m.GID) && !c.KeptOwners && st.Uid == c.UID
	if sec, sec0 := st.Mtim.Sec, m.Mtime/1e9; sec != sec0 && !c.KeptTimes {
		// The copy's time is later than the tar's, or the time the copy
		// wrote the entry (its ctime); one moved earlier by hand is not.
		d := st.Mtim.Sec - st.Ctim.Sec
		l.Mtime = sec > sec0 || (d >= -2 && d <= 2)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		perm, perm0 := st.Mode&0o7777, m.Mode&0o7777
		dropped, gained := perm0&^perm, perm&^perm0
		l.Mode = dropped != 0 && gained == 0 && dropped&^c.Dropped == 0
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
