package beneath

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Root is an opened directory tree.
type Root struct {
	Dir string // the path it was opened from, for messages
	fd  int    // O_PATH directory fd, on a detached read-only noatime mount when possible
}

// OpenRoot opens dir, which must be a directory and not a symlink to one.
// As root it clones the mount under dir into a private detached mount
// (open_tree) and makes that clone read-only, noatime, nodev, nosuid and
// nosymfollow (mount_setattr; not noexec, which would refuse mmap
// PROT_EXEC of files read through it): the kernel then refuses any write
// through it and leaves atimes alone, even for readlink and getdents,
// which have no O_NOATIME. Without the privilege it opens dir as it is.
func OpenRoot(dir string) (*Root, error) {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return nil, fmt.Errorf("opening %s: %w", dir, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil, fmt.Errorf("opening %s: not a directory", dir)
	}
	fd, err := detachedClone(dir)
	if err != nil {
		fd, err = unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", dir, err)
		}
	}
	return &Root{Dir: dir, fd: fd}, nil
}

// OpenMeta opens dir as OpenRoot does but without cloning its mount: for
// reading what stat and getxattr tell, which move no atime, where a clone
// per directory would cost more than the reading.
func OpenMeta(dir string) (*Root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", dir, err)
	}
	return &Root{Dir: dir, fd: fd}, nil
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

// Close releases the tree.
func (r *Root) Close() error { return unix.Close(r.fd) }

// Fd is the tree's O_PATH root descriptor, for fstat and fstatfs.
func (r *Root) Fd() int { return r.fd }

// noatime is cleared once O_NOATIME is refused (not the owner, no CAP_FOWNER).
var noatime atomic.Bool

func init() { noatime.Store(true) }

// openat2Missing is set once the kernel lacks openat2 (before 5.6).
var openat2Missing atomic.Bool

// Open opens rel (slash-separated, "" for the root) inside the tree
// without following any symlink on the way, the last component included,
// and without leaving the tree; O_NOATIME is added where the kernel
// allows it.
func (r *Root) Open(rel string, flags int) (int, error) {
	flags |= unix.O_CLOEXEC | unix.O_NOFOLLOW
	if noatime.Load() && flags&unix.O_PATH == 0 {
		fd, err := r.open2(rel, flags|unix.O_NOATIME)
		if err != unix.EPERM {
			return fd, err
		}
		noatime.Store(false)
	}
	return r.open2(rel, flags)
}

func (r *Root) open2(rel string, flags int) (int, error) {
	if rel == "" {
		rel = "."
	}
	if !openat2Missing.Load() {
		how := unix.OpenHow{
			Flags:   uint64(flags),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		}
		for {
			fd, err := unix.Openat2(r.fd, rel, &how)
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
	return r.openWalk(rel, flags)
}

// openWalk is Open without openat2: one component at a time, each opened
// with O_NOFOLLOW so a symlink anywhere fails with ELOOP or ENOTDIR.
func (r *Root) openWalk(rel string, flags int) (int, error) {
	parts := strings.Split(rel, "/")
	dirfd := r.fd
	for i, p := range parts {
		if p == ".." {
			if dirfd != r.fd {
				unix.Close(dirfd)
			}
			return -1, unix.EXDEV
		}
		f := unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(parts)-1 {
			f = flags
		}
		fd, err := unix.Openat(dirfd, p, f, 0)
		if dirfd != r.fd {
			unix.Close(dirfd)
		}
		if err != nil {
			return -1, err
		}
		dirfd = fd
	}
	return dirfd, nil
}

// OpenDir opens a directory of the tree for reading its entries.
func (r *Root) OpenDir(rel string) (int, error) {
	return r.Open(rel, unix.O_RDONLY|unix.O_DIRECTORY)
}

// OpenParent opens the directory holding rel (O_PATH) and returns it with
// rel's last component, "." for the root: what the *at calls take to act
// on the entry itself without following it.
func (r *Root) OpenParent(rel string) (fd int, name string, err error) {
	dir, name := "", rel
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		dir, name = rel[:i], rel[i+1:]
	}
	if rel == "" {
		name = "."
	}
	fd, err = r.Open(dir, unix.O_PATH|unix.O_DIRECTORY)
	return fd, name, err
}

// Lstat stats rel itself, never following it.
func (r *Root) Lstat(rel string, st *unix.Stat_t) error {
	fd, name, err := r.OpenParent(rel)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Fstatat(fd, name, st, unix.AT_SYMLINK_NOFOLLOW)
}

// Gone reports errors that mean a path is not (or no longer) in the tree,
// or leads through something that is not a directory.
func Gone(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) ||
		errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ESTALE)
}
