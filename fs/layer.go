package fs

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// layer is one branch of the union, reached through rootFd.
type layer struct {
	id     string
	dir    string
	num    uint64 // 1-based, counted from the base: part of every inode number
	rootFd int    // O_PATH directory fd, on a detached read-only noatime mount when possible
	// faulted makes a layer that went away while mounted log one line, not one per access.
	faulted sync.Once
}

// openLayer opens dir for serving. As root it clones the mount under dir
// into a private detached mount (open_tree) and makes that clone
// read-only, noatime, nodev, nosuid and nosymfollow (mount_setattr; not
// noexec, which would refuse mmap PROT_EXEC of passthrough files): the
// kernel then refuses any write through it and leaves atimes alone, even
// for readlink and getdents, which have no O_NOATIME. Without the
// privilege it opens dir as it is.
func openLayer(id, dir string, num uint64) (*layer, error) {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return nil, fmt.Errorf("opening layer %s: %w", dir, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil, fmt.Errorf("opening layer %s: not a directory", dir)
	}
	fd, err := detachedClone(dir)
	if err != nil {
		fd, err = unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("opening layer %s: %w", dir, err)
		}
	}
	return &layer{id: id, dir: dir, num: num, rootFd: fd}, nil
}

func detachedClone(dir string) (int, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return -1, err
	}
	attr := unix.MountAttr{
		Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOATIME | unix.MOUNT_ATTR_NODEV |
			unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NOSYMFOLLOW,
		Attr_clr: unix.MOUNT_ATTR__ATIME,
	}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func (l *layer) close() { unix.Close(l.rootFd) }

// noatime is cleared once O_NOATIME is refused (not the owner, no CAP_FOWNER).
var noatime atomic.Bool

func init() { noatime.Store(true) }

// openat2Missing is set once the kernel lacks openat2 (before 5.6).
var openat2Missing atomic.Bool

// open opens rel (slash-separated, "" for the layer root) inside the
// layer without following any symlink on the way and without leaving the
// layer. flags should include O_NOFOLLOW for the last component.
func (l *layer) open(rel string, flags int) (int, error) {
	flags |= unix.O_CLOEXEC | unix.O_NOFOLLOW
	if noatime.Load() && flags&unix.O_PATH == 0 {
		fd, err := l.open2(rel, flags|unix.O_NOATIME)
		if err != unix.EPERM {
			return fd, err
		}
		noatime.Store(false)
	}
	return l.open2(rel, flags)
}

func (l *layer) open2(rel string, flags int) (int, error) {
	if rel == "" {
		rel = "."
	}
	if !openat2Missing.Load() {
		how := unix.OpenHow{
			Flags:   uint64(flags),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		}
		for {
			fd, err := unix.Openat2(l.rootFd, rel, &how)
			if err == unix.EINTR || err == unix.EAGAIN {
				continue
			}
			if err != unix.ENOSYS {
				return fd, err
			}
			openat2Missing.Store(true)
			break
		}
	}
	return l.openWalk(rel, flags)
}

// openWalk is open without openat2: one component at a time, each opened
// with O_NOFOLLOW so a symlink anywhere fails with ELOOP or ENOTDIR.
func (l *layer) openWalk(rel string, flags int) (int, error) {
	parts := strings.Split(rel, "/")
	dirfd := l.rootFd
	for i, p := range parts {
		if p == ".." {
			if dirfd != l.rootFd {
				unix.Close(dirfd)
			}
			return -1, unix.EXDEV
		}
		f := unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(parts)-1 {
			f = flags
		}
		fd, err := unix.Openat(dirfd, p, f, 0)
		if dirfd != l.rootFd {
			unix.Close(dirfd)
		}
		if err != nil {
			return -1, err
		}
		dirfd = fd
	}
	return dirfd, nil
}

// openDir opens a directory of the layer for reading its entries.
func (l *layer) openDir(rel string) (int, error) {
	return l.open(rel, unix.O_RDONLY|unix.O_DIRECTORY)
}

// errGone reports errors that mean the layer changed under us.
func errGone(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) ||
		errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ESTALE)
}

// readDirents reads every entry of an open directory but "." and "..".
// The type comes from getdents; DT_UNKNOWN (some filesystems) is settled
// with fstatat, never by following a link.
func readDirents(fd int, buf []byte) ([]dirent, error) {
	var ents []dirent
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return ents, nil
		}
		for off := 0; off+19 <= n; {
			reclen := int(uint16(buf[off+16]) | uint16(buf[off+17])<<8)
			if reclen == 0 || off+reclen > n {
				return nil, unix.EIO
			}
			typ := buf[off+18]
			name := buf[off+19 : off+reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			off += reclen
			if len(name) == 0 || (name[0] == '.' && (len(name) == 1 || (len(name) == 2 && name[1] == '.'))) {
				continue
			}
			e := dirent{name: string(name), isDir: typ == unix.DT_DIR}
			if typ == unix.DT_UNKNOWN {
				var st unix.Stat_t
				if err := unix.Fstatat(fd, e.name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
					e.isDir = st.Mode&unix.S_IFMT == unix.S_IFDIR
				}
			}
			ents = append(ents, e)
		}
	}
}
