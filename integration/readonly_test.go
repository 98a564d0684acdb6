package integration

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
)

// fkind is the type of an entry as a system call meets it.
type fkind int

const (
	kMissing fkind = iota // what a dangling symlink leads to
	kReg
	kDir
	kLnk
	kChr
	kBlk
	kFifo
	kSock
)

func (k fkind) String() string {
	return [...]string{"missing", "file", "dir", "symlink", "chardev", "blockdev", "fifo", "socket"}[k]
}

func roKindOf(mode uint32) fkind {
	return map[uint32]fkind{unix.S_IFREG: kReg, unix.S_IFDIR: kDir, unix.S_IFLNK: kLnk, unix.S_IFCHR: kChr,
		unix.S_IFBLK: kBlk, unix.S_IFIFO: kFifo, unix.S_IFSOCK: kSock}[mode&unix.S_IFMT]
}

// roTarget is an entry of the read-only image that every change is tried on.
type roTarget struct {
	path   string // in the view; "" is the root
	self   fkind  // what lstat says
	follow fkind  // what stat says (kMissing for a dangling link)
	inTop  bool   // the top layer holds it (so a read-only bind mount of that layer can answer too)
}

var roTargets = []roTarget{
	{"", kDir, kDir, true},
	{"all/file", kReg, kReg, true},
	{"all/hardlink", kReg, kReg, true},
	{"all/lower", kReg, kReg, false}, // from the base layer, under a merged directory
	{"all/dir", kDir, kDir, true},    // merged with the base layer's
	{"all/empty", kDir, kDir, true},
	{"all/symlink", kLnk, kReg, true},
	{"all/dirlink", kLnk, kDir, true},
	{"all/dangling", kLnk, kMissing, true},
	{"all/chardev", kChr, kChr, true},
	{"all/blockdev", kBlk, kBlk, true},
	{"all/fifo", kFifo, kFifo, true},
	{"all/socket", kSock, kSock, true},
}

// readonlyLayers is an image with every kind of entry, base first.
func readonlyLayers() []*st.Layer {
	return []*st.Layer{
		l(st.F("etc/passwd", "root:x:0:0::/root:/bin/sh\n"), st.F("all/lower", "from the base").WithXattr("user.x", "base"),
			st.F("all/dir/low", "l"), st.F("all/whited", "w")),
		l(
			st.F("all/file", "data").WithXattr("user.x", "1").WithXattr("trusted.t", "2"),
			st.H("all/hardlink", "all/file"),
			st.D("all/dir").WithXattr("user.x", "d"), st.F("all/dir/inner", "i"),
			st.D("all/empty"),
			st.L("all/symlink", "file"),
			st.L("all/dirlink", "dir"),
			st.L("all/dangling", "nowhere"),
			st.Mknod("all/chardev", st.CharDev, 1, 3),
			// An unassigned number (240-254 are for local use): nothing
			// to reach even if nodev failed.
			st.Mknod("all/blockdev", st.BlockDev, 240, 7),
			st.Mknod("all/fifo", st.Fifo, 0, 0),
			st.Mknod("all/socket", st.Socket, 0, 0),
			st.WH("all/whited"),
		),
	}
}

// roOp is one call that would change the view. do tries it on p, an
// entry of dir (the view's "all"); want is the errno it must fail with
// (0: it must succeed, because it changes nothing).
type roOp struct {
	name    string
	do      func(p, dir string) error
	want    func(tg roTarget) unix.Errno
	notRoot bool // it would act on the directory the mount point is in, which is the host's
}

// roByFollowed expects EROFS but for the listed kinds of what p leads to.
func roByFollowed(exc map[fkind]unix.Errno) func(roTarget) unix.Errno {
	return func(tg roTarget) unix.Errno {
		if e, ok := exc[tg.follow]; ok {
			return e
		}
		return unix.EROFS
	}
}

// roBySelf expects EROFS but for the listed kinds of p itself.
func roBySelf(exc map[fkind]unix.Errno) func(roTarget) unix.Errno {
	return func(tg roTarget) unix.Errno {
		if e, ok := exc[tg.self]; ok {
			return e
		}
		return unix.EROFS
	}
}

func roAlways(e unix.Errno) func(roTarget) unix.Errno { return func(roTarget) unix.Errno { return e } }

// The kernel checks some things before it asks whether the filesystem is
// writable; these are the answers it gives first, each the same on a
// read-only bind mount of ext4 (checked below against one):
var (
	// Opening for writing: a directory is EISDIR, a device on a nodev
	// mount EACCES, a socket ENXIO, a fifo without a reader ENXIO
	// (O_NONBLOCK); a dangling link ENOENT.
	roOpenWrite = map[fkind]unix.Errno{kMissing: unix.ENOENT, kDir: unix.EISDIR, kChr: unix.EACCES, kBlk: unix.EACCES, kFifo: unix.ENXIO, kSock: unix.ENXIO}
	// O_RDWR on a fifo opens it: a pipe holds nothing on disk.
	roOpenRW = map[fkind]unix.Errno{kMissing: unix.ENOENT, kDir: unix.EISDIR, kChr: unix.EACCES, kBlk: unix.EACCES, kFifo: 0, kSock: unix.ENXIO}
	// O_TRUNC asks for write permission, but is ignored on a fifo.
	roOpenTrunc = roOpenRW
	// O_CREAT through a dangling link would create its target: EROFS.
	roOpenCreat = map[fkind]unix.Errno{kDir: unix.EISDIR, kChr: unix.EACCES, kBlk: unix.EACCES, kFifo: unix.ENXIO, kSock: unix.ENXIO}
	// O_CREAT|O_RDONLY of an existing file only opens it.
	roOpenCreatRO = map[fkind]unix.Errno{kReg: 0, kDir: unix.EISDIR, kChr: unix.EACCES, kBlk: unix.EACCES, kFifo: 0, kSock: unix.ENXIO}
	// A new name under something that is not a directory: ENOTDIR, or
	// ENOENT through a dangling link.
	roInside = map[fkind]unix.Errno{kMissing: unix.ENOENT, kReg: unix.ENOTDIR, kChr: unix.ENOTDIR, kBlk: unix.ENOTDIR, kFifo: unix.ENOTDIR, kSock: unix.ENOTDIR}
	// truncate(2): EISDIR for a directory, EINVAL for anything not a
	// regular file, before the write check.
	roTruncate = map[fkind]unix.Errno{kMissing: unix.ENOENT, kDir: unix.EISDIR, kChr: unix.EINVAL, kBlk: unix.EINVAL, kFifo: unix.EINVAL, kSock: unix.EINVAL}
	// Following a dangling link finds nothing.
	roFollowed = map[fkind]unix.Errno{kMissing: unix.ENOENT}
	// Calls on a descriptor need one: open(O_RDONLY) refuses a device on
	// a nodev mount (EACCES) and a socket (ENXIO).
	roFdOpen = map[fkind]unix.Errno{kMissing: unix.ENOENT, kChr: unix.EACCES, kBlk: unix.EACCES, kSock: unix.ENXIO}
)

// roWith returns m plus the kinds of extra.
func roWith(m map[fkind]unix.Errno, extra map[fkind]unix.Errno) map[fkind]unix.Errno {
	out := map[fkind]unix.Errno{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// roEachOpened is every kind a descriptor can be opened on, O_RDONLY.
func roEachOpened(e unix.Errno) map[fkind]unix.Errno {
	return roWith(roFdOpen, map[fkind]unix.Errno{kReg: e, kDir: e, kFifo: e})
}

func roOpenClose(p string, flags int) error {
	fd, err := unix.Open(p, flags|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0644)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

// roWithFd opens p read-only, following it, and calls f on the descriptor.
func roWithFd(p string, f func(fd int) error) error {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return f(fd)
}

// roOther is an existing entry beside p, to rename over.
func roOther(p, dir string) string {
	if filepath.Base(p) == "lower" {
		return filepath.Join(dir, "file")
	}
	return filepath.Join(dir, "lower")
}

var roTime = []unix.Timespec{{Sec: 1e9}, {Sec: 1e9}}

func roOps() []roOp {
	return []roOp{
		{name: "open O_WRONLY", do: func(p, _ string) error { return roOpenClose(p, unix.O_WRONLY) }, want: roByFollowed(roOpenWrite)},
		{name: "open O_RDWR", do: func(p, _ string) error { return roOpenClose(p, unix.O_RDWR) }, want: roByFollowed(roOpenRW)},
		{name: "open O_WRONLY|O_APPEND", do: func(p, _ string) error { return roOpenClose(p, unix.O_WRONLY|unix.O_APPEND) }, want: roByFollowed(roOpenWrite)},
		{name: "open O_RDONLY|O_TRUNC", do: func(p, _ string) error { return roOpenClose(p, unix.O_RDONLY|unix.O_TRUNC) }, want: roByFollowed(roOpenTrunc)},
		{name: "open O_WRONLY|O_TRUNC", do: func(p, _ string) error { return roOpenClose(p, unix.O_WRONLY|unix.O_TRUNC) }, want: roByFollowed(roOpenWrite)},
		// O_NOFOLLOW: a symlink is ELOOP before anything else.
		{name: "open O_WRONLY|O_NOFOLLOW", do: func(p, _ string) error { return roOpenClose(p, unix.O_WRONLY|unix.O_NOFOLLOW) },
			want: roBySelf(roWith(roOpenWrite, map[fkind]unix.Errno{kLnk: unix.ELOOP}))},
		{name: "open O_CREAT|O_WRONLY", do: func(p, _ string) error { return roOpenClose(p, unix.O_CREAT|unix.O_WRONLY) }, want: roByFollowed(roOpenCreat)},
		{name: "open O_CREAT|O_RDONLY", do: func(p, _ string) error { return roOpenClose(p, unix.O_CREAT|unix.O_RDONLY) }, want: roByFollowed(roOpenCreatRO)},
		// The name exists (a dangling link too): EEXIST comes first.
		{name: "open O_CREAT|O_EXCL", do: func(p, _ string) error { return roOpenClose(p, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY) }, want: roAlways(unix.EEXIST)},
		{name: "creat in it", do: func(p, _ string) error { return roOpenClose(p+"/new", unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC) }, want: roByFollowed(roInside)},
		{name: "open O_TMPFILE in it", do: func(p, _ string) error { return roOpenClose(p, unix.O_TMPFILE|unix.O_WRONLY) }, want: roByFollowed(roInside)},
		{name: "truncate", do: func(p, _ string) error { return unix.Truncate(p, 0) }, want: roByFollowed(roTruncate)},
		{name: "truncate to grow", do: func(p, _ string) error { return unix.Truncate(p, 1<<20) }, want: roByFollowed(roTruncate)},
		{name: "mkdir on it", do: func(p, _ string) error { return unix.Mkdir(p, 0755) }, want: roAlways(unix.EEXIST)},
		{name: "mkdir in it", do: func(p, _ string) error { return unix.Mkdir(p+"/new", 0755) }, want: roByFollowed(roInside)},
		{name: "mknod fifo in it", do: func(p, _ string) error { return unix.Mknod(p+"/new", unix.S_IFIFO|0644, 0) }, want: roByFollowed(roInside)},
		{name: "mknod chardev in it", do: func(p, _ string) error { return unix.Mknod(p+"/new", unix.S_IFCHR|0644, int(unix.Mkdev(1, 3))) }, want: roByFollowed(roInside)},
		{name: "mknod on it", do: func(p, _ string) error { return unix.Mknod(p, unix.S_IFIFO|0644, 0) }, want: roAlways(unix.EEXIST)},
		{name: "symlink in it", do: func(p, _ string) error { return unix.Symlink("target", p+"/new") }, want: roByFollowed(roInside)},
		{name: "symlink on it", do: func(p, _ string) error { return unix.Symlink("target", p) }, want: roAlways(unix.EEXIST)},
		{name: "link into it", do: func(p, dir string) error { return unix.Link(filepath.Join(dir, "file"), p+"/new") }, want: roByFollowed(roInside)},
		{name: "link on it", do: func(p, dir string) error { return unix.Link(filepath.Join(dir, "file"), p) }, want: roAlways(unix.EEXIST)},
		{name: "link it beside", do: func(p, _ string) error { return unix.Link(p, p+".link") }, want: roAlways(unix.EROFS), notRoot: true},
		{name: "linkat AT_SYMLINK_FOLLOW beside", do: func(p, _ string) error {
			return unix.Linkat(unix.AT_FDCWD, p, unix.AT_FDCWD, p+".link", unix.AT_SYMLINK_FOLLOW)
		},
			want: roByFollowed(roFollowed), notRoot: true},
		{name: "symlink beside", do: func(p, _ string) error { return unix.Symlink("target", p+".sym") }, want: roAlways(unix.EROFS), notRoot: true},
		{name: "mknod beside", do: func(p, _ string) error { return unix.Mknod(p+".fifo", unix.S_IFIFO|0644, 0) }, want: roAlways(unix.EROFS), notRoot: true},
		{name: "unlink", do: func(p, _ string) error { return unix.Unlink(p) }, want: roAlways(unix.EROFS), notRoot: true},
		{name: "rmdir", do: func(p, _ string) error { return unix.Rmdir(p) }, want: roAlways(unix.EROFS), notRoot: true},
		{name: "rename in its directory", do: func(p, _ string) error { return unix.Rename(p, p+".renamed") }, want: roAlways(unix.EROFS), notRoot: true},
		{name: "rename into a directory", do: func(p, dir string) error { return unix.Rename(p, filepath.Join(dir, "empty", "moved")) }, want: roAlways(unix.EROFS), notRoot: true},
		{name: "rename into a merged directory", do: func(p, dir string) error { return unix.Rename(p, filepath.Join(dir, "dir", "moved")) }, want: roAlways(unix.EROFS), notRoot: true},
		{name: "rename to the root", do: func(p, dir string) error { return unix.Rename(p, filepath.Join(dir, "..", "moved")) }, want: roAlways(unix.EROFS), notRoot: true},
		{name: "rename over another entry", do: func(p, dir string) error { return unix.Rename(p, roOther(p, dir)) }, want: roAlways(unix.EROFS), notRoot: true},
		{name: "rename another entry over it", do: func(p, dir string) error { return unix.Rename(roOther(p, dir), p) }, want: roAlways(unix.EROFS), notRoot: true},
		{name: "renameat2 RENAME_EXCHANGE", do: func(p, dir string) error {
			return unix.Renameat2(unix.AT_FDCWD, p, unix.AT_FDCWD, roOther(p, dir), unix.RENAME_EXCHANGE)
		}, want: roAlways(unix.EROFS), notRoot: true},
		{name: "renameat2 RENAME_NOREPLACE", do: func(p, _ string) error {
			return unix.Renameat2(unix.AT_FDCWD, p, unix.AT_FDCWD, p+".new", unix.RENAME_NOREPLACE)
		}, want: roAlways(unix.EROFS), notRoot: true},
		{name: "chmod", do: func(p, _ string) error { return unix.Chmod(p, 0600) }, want: roByFollowed(roFollowed)},
		{name: "chmod to the same mode", do: func(p, _ string) error {
			var s unix.Stat_t
			if err := unix.Stat(p, &s); err != nil {
				return err
			}
			return unix.Chmod(p, s.Mode&07777)
		}, want: roByFollowed(roFollowed)},
		{name: "fchmodat2 AT_SYMLINK_NOFOLLOW", do: func(p, _ string) error { return unix.Fchmodat(unix.AT_FDCWD, p, 0600, unix.AT_SYMLINK_NOFOLLOW) }, want: roAlways(unix.EROFS)},
		{name: "chown", do: func(p, _ string) error { return unix.Chown(p, 1, 1) }, want: roByFollowed(roFollowed)},
		{name: "chown to nothing (-1, -1)", do: func(p, _ string) error { return unix.Chown(p, -1, -1) }, want: roByFollowed(roFollowed)},
		{name: "lchown", do: func(p, _ string) error { return unix.Lchown(p, 1, 1) }, want: roAlways(unix.EROFS)},
		{name: "utimes", do: func(p, _ string) error { return unix.Utimes(p, []unix.Timeval{{Sec: 1e9}, {Sec: 1e9}}) }, want: roByFollowed(roFollowed)},
		{name: "utimensat", do: func(p, _ string) error { return unix.UtimesNanoAt(unix.AT_FDCWD, p, roTime, 0) }, want: roByFollowed(roFollowed)},
		{name: "utimensat AT_SYMLINK_NOFOLLOW", do: func(p, _ string) error {
			return unix.UtimesNanoAt(unix.AT_FDCWD, p, roTime, unix.AT_SYMLINK_NOFOLLOW)
		}, want: roAlways(unix.EROFS)},
		{name: "utimensat UTIME_NOW (touch)", do: func(p, _ string) error {
			now := []unix.Timespec{{Nsec: unix.UTIME_NOW}, {Nsec: unix.UTIME_NOW}}
			return unix.UtimesNanoAt(unix.AT_FDCWD, p, now, unix.AT_SYMLINK_NOFOLLOW)
		}, want: roAlways(unix.EROFS)},
		{name: "setxattr user.*", do: func(p, _ string) error { return unix.Setxattr(p, "user.new", []byte("v"), 0) }, want: roByFollowed(roFollowed)},
		{name: "setxattr trusted.*", do: func(p, _ string) error { return unix.Setxattr(p, "trusted.new", []byte("v"), 0) }, want: roByFollowed(roFollowed)},
		{name: "setxattr security.capability", do: func(p, _ string) error {
			return unix.Setxattr(p, "security.capability", []byte(capNetRaw()), 0)
		}, want: roByFollowed(roFollowed)},
		{name: "setxattr XATTR_REPLACE user.x", do: func(p, _ string) error { return unix.Setxattr(p, "user.x", []byte("v"), unix.XATTR_REPLACE) }, want: roByFollowed(roFollowed)},
		{name: "setxattr of the layer xattr", do: func(p, _ string) error { return unix.Setxattr(p, "user.aufsmount.layer", []byte("v"), 0) }, want: roByFollowed(roFollowed)},
		{name: "lsetxattr user.*", do: func(p, _ string) error { return unix.Lsetxattr(p, "user.new", []byte("v"), 0) }, want: roAlways(unix.EROFS)},
		{name: "lsetxattr trusted.*", do: func(p, _ string) error { return unix.Lsetxattr(p, "trusted.new", []byte("v"), 0) }, want: roAlways(unix.EROFS)},
		{name: "removexattr user.x", do: func(p, _ string) error { return unix.Removexattr(p, "user.x") }, want: roByFollowed(roFollowed)},
		{name: "removexattr trusted.t", do: func(p, _ string) error { return unix.Removexattr(p, "trusted.t") }, want: roByFollowed(roFollowed)},
		{name: "lremovexattr user.x", do: func(p, _ string) error { return unix.Lremovexattr(p, "user.x") }, want: roAlways(unix.EROFS)},
		// Calls on a descriptor opened O_RDONLY, the only kind the mount
		// gives: attribute changes are EROFS; ftruncate wants a
		// descriptor open for writing (EINVAL), fallocate and write too
		// (EBADF), a shared writable mapping too (EACCES).
		{name: "fchmod", do: func(p, _ string) error { return roWithFd(p, func(fd int) error { return unix.Fchmod(fd, 0600) }) }, want: roByFollowed(roEachOpened(unix.EROFS))},
		{name: "fchown", do: func(p, _ string) error { return roWithFd(p, func(fd int) error { return unix.Fchown(fd, 1, 1) }) }, want: roByFollowed(roEachOpened(unix.EROFS))},
		{name: "futimens", do: func(p, _ string) error {
			return roWithFd(p, func(fd int) error {
				_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&roTime[0])), 0, 0, 0)
				if e != 0 {
					return e
				}
				return nil
			})
		}, want: roByFollowed(roEachOpened(unix.EROFS))},
		{name: "fsetxattr", do: func(p, _ string) error {
			return roWithFd(p, func(fd int) error { return unix.Fsetxattr(fd, "user.new", []byte("v"), 0) })
		}, want: roByFollowed(roEachOpened(unix.EROFS))},
		{name: "fremovexattr", do: func(p, _ string) error {
			return roWithFd(p, func(fd int) error { return unix.Fremovexattr(fd, "user.x") })
		}, want: roByFollowed(roEachOpened(unix.EROFS))},
		{name: "ioctl FS_IOC_SETFLAGS (chattr)", do: func(p, _ string) error {
			return roWithFd(p, func(fd int) error { return unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, 0) })
		}, want: roByFollowed(roEachOpened(unix.EROFS))},
		{name: "ftruncate", do: func(p, _ string) error { return roWithFd(p, func(fd int) error { return unix.Ftruncate(fd, 0) }) }, want: roByFollowed(roEachOpened(unix.EINVAL))},
		{name: "fallocate", do: func(p, _ string) error {
			return roWithFd(p, func(fd int) error { return unix.Fallocate(fd, 0, 0, 4096) })
		}, want: roByFollowed(roEachOpened(unix.EBADF))},
		{name: "fallocate punch hole", do: func(p, _ string) error {
			return roWithFd(p, func(fd int) error {
				return unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, 1)
			})
		}, want: roByFollowed(roEachOpened(unix.EBADF))},
		{name: "write", do: func(p, _ string) error {
			return roWithFd(p, func(fd int) error { _, err := unix.Write(fd, []byte("x")); return err })
		}, want: roByFollowed(roEachOpened(unix.EBADF))},
		{name: "mmap PROT_WRITE MAP_SHARED", do: func(p, _ string) error {
			return roWithFd(p, func(fd int) error {
				b, err := unix.Mmap(fd, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
				if err == nil {
					unix.Munmap(b)
				}
				return err
			})
		}, want: roByFollowed(roEachOpened(unix.EACCES))},
	}
}

func roErrno(err error) unix.Errno {
	if err == nil {
		return 0
	}
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.Errno(0xffff)
}

func roErrnoName(e unix.Errno) string {
	if e == 0 {
		return "success"
	}
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return fmt.Sprintf("errno %d", int(e))
}

// roBindMount attaches a read-only, nodev, nosuid, noatime clone of dir
// (a layer of the store) on a new directory: the kernel's own answers on
// a read-only filesystem, to check the table above against.
func roBindMount(t *testing.T, dir string) string {
	t.Helper()
	fd, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		t.Fatalf("open_tree %s: %v", dir, err)
	}
	defer unix.Close(fd)
	attr := unix.MountAttr{
		Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NOATIME,
		Attr_clr: unix.MOUNT_ATTR__ATIME,
	}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		t.Fatalf("mount_setattr %s: %v", dir, err)
	}
	mnt := t.TempDir()
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, mnt, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		t.Fatalf("move_mount %s: %v", mnt, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, 0); err != nil {
			forceUnmount(mnt)
		}
	})
	var sfs unix.Statfs_t
	if err := unix.Statfs(mnt, &sfs); err != nil || sfs.Flags&unix.ST_RDONLY == 0 {
		t.Fatalf("the bind mount of %s is not read-only (%v, flags %#x): not trying changes on it", dir, err, sfs.Flags)
	}
	return mnt
}

// roStoreState describes every entry under the store's root, read through
// a noatime view so that reading it changes nothing, and its hash.
func roStoreState(t *testing.T, root string) (map[string]info, string) {
	t.Helper()
	state := walk(t, noatimeView(t, root)+"/.")
	var lines []string
	for p, in := range state {
		lines = append(lines, fmt.Sprintf("%q %+v", p, in))
	}
	sort.Strings(lines)
	h := sha256.New()
	for _, line := range lines {
		fmt.Fprintln(h, line)
	}
	return state, fmt.Sprintf("%x", h.Sum(nil))
}

// roSnapshot is the store's state at one point of a test.
type roSnapshot struct {
	state map[string]info
	hash  string
}

func roSnap(t *testing.T, root string) *roSnapshot {
	t.Helper()
	state, hash := roStoreState(t, root)
	return &roSnapshot{state, hash}
}

// checkStoreUnchanged compares the store now with the last snapshot and
// reports, field by field, what the step just done changed; the snapshot
// moves on, so each change is reported once, by the step that made it.
func checkStoreUnchanged(t *testing.T, root, step string, last *roSnapshot) {
	t.Helper()
	now := roSnap(t, root)
	if now.hash == last.hash {
		return
	}
	var diffs []string
	for p, b := range last.state {
		a, ok := now.state[p]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%q: gone", p))
		} else if d := fieldDiffs(b, a); d != "" {
			diffs = append(diffs, fmt.Sprintf("%q: %s", p, d))
		}
	}
	for p := range now.state {
		if _, ok := last.state[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("%q: new", p))
		}
	}
	sort.Strings(diffs)
	t.Errorf("%s changed the store (hash %s, before %s), %d entries:\n%s", step, now.hash[:12], last.hash[:12], len(diffs), strings.Join(head(diffs, 20), "\n"))
	*last = *now
}

// fieldDiffs lists the fields of an entry that differ: "Atime a -> b, ...".
func fieldDiffs(before, after info) string {
	var out []string
	bv, av := reflect.ValueOf(before), reflect.ValueOf(after)
	for i := 0; i < bv.NumField(); i++ {
		b, a := bv.Field(i).Interface(), av.Field(i).Interface()
		if b == a {
			continue
		}
		if ts, ok := b.(unix.Timespec); ok {
			b, a = fmt.Sprintf("%d.%09d", ts.Sec, ts.Nsec), fmt.Sprintf("%d.%09d", a.(unix.Timespec).Sec, a.(unix.Timespec).Nsec)
		}
		out = append(out, fmt.Sprintf("%s %v -> %v", bv.Type().Field(i).Name, b, a))
	}
	return strings.Join(out, ", ")
}

// roReadAll reads everything the view shows, the ways a user would (without
// O_NOATIME): every file's content, every link's target and what it leads
// to, every directory's listing, every extended attribute.
func roReadAll(t *testing.T, mnt string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(mnt, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n++
		if _, err := xattrs(p); err != nil {
			return err
		}
		// The layer an entry comes from; the kernel answers ENODATA
		// itself for a user.* name on anything but a file or directory.
		_, err = unix.Lgetxattr(p, "user.aufsmount.layer", make([]byte, 256))
		if err != nil && !(err == unix.ENODATA && !d.IsDir() && !d.Type().IsRegular()) {
			return fmt.Errorf("getxattr %s user.aufsmount.layer: %w", p, err)
		}
		switch {
		case d.Type().IsRegular():
			if _, err := os.ReadFile(p); err != nil {
				return err
			}
		case d.Type()&os.ModeSymlink != 0:
			if _, err := os.Readlink(p); err != nil {
				return err
			}
			os.Stat(p) // may dangle
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", mnt, err)
	}
	return n
}

// TestReadOnly tries every call that could change the view on every kind
// of entry: each must fail, with EROFS unless the kernel refuses it for
// another reason first (the table above, checked against a read-only
// bind mount of the layer). Then nothing under the store may have
// changed, not even an atime: not by mounting, not by the attempts, not
// by reading everything through the mount.
func TestReadOnly(t *testing.T) {
	testenv.FUSE(t)
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			img := &st.Image{Names: []string{"test/readonly:latest"}, Layers: readonlyLayers()}
			b, err := (&st.Store{Images: []*st.Image{img}}).Write(filepath.Join(t.TempDir(), "docker"), layout)
			if err != nil {
				t.Fatalf("writing the store: %v", err)
			}
			snap := roSnap(t, b.Root)
			t.Logf("store %s: %d entries, hash %s", b.Root, len(snap.state), snap.hash[:12])

			mnt := mountRef(t, b.Root, "test/readonly")
			checkStoreUnchanged(t, b.Root, "mounting", snap)
			roCheckStatfs(t, mnt, b.Root)

			ref := roBindMount(t, b.Chain[img][0])
			checkStoreUnchanged(t, b.Root, "a read-only bind mount of the top layer", snap)
			tryChanges(t, mnt, ref)
			checkStoreUnchanged(t, b.Root, "trying every change", snap)

			if n := roReadAll(t, mnt); n < len(roTargets) {
				t.Fatalf("read %d entries through the mount, fewer than the %d targets", n, len(roTargets))
			}
			checkStoreUnchanged(t, b.Root, "reading everything through the mount", snap)

			umountNow(t, mnt)
			checkStoreUnchanged(t, b.Root, "unmounting", snap)
		})
	}
}

// tryChanges runs every roOp on every target, in the mount and, for
// entries of the top layer, in ref, a read-only bind mount of that layer.
func tryChanges(t *testing.T, mnt, ref string) {
	t.Helper()
	var wrong, disagree []string
	tried := 0
	for _, tg := range roTargets {
		var lst, sst unix.Stat_t
		p := filepath.Join(mnt, tg.path)
		if err := unix.Lstat(p, &lst); err != nil {
			t.Fatalf("the view lacks %q: %v", tg.path, err)
		}
		followKind := kMissing
		if unix.Stat(p, &sst) == nil {
			followKind = roKindOf(sst.Mode)
		}
		if roKindOf(lst.Mode) != tg.self || followKind != tg.follow {
			t.Fatalf("%q shows as a %v leading to a %v, not a %v leading to a %v", tg.path, roKindOf(lst.Mode), followKind, tg.self, tg.follow)
		}
		for _, op := range roOps() {
			if op.notRoot && tg.path == "" {
				continue
			}
			tried++
			want := op.want(tg)
			got := roErrno(op.do(p, filepath.Join(mnt, "all")))
			if got != want {
				wrong = append(wrong, fmt.Sprintf("%s on %v %q: %s, want %s", op.name, tg.self, tg.path, roErrnoName(got), roErrnoName(want)))
			}
			if !tg.inTop {
				continue
			}
			kernel := roErrno(op.do(filepath.Join(ref, tg.path), filepath.Join(ref, "all")))
			if kernel != got {
				disagree = append(disagree, fmt.Sprintf("%s on %v %q: %s through aufsmount, %s on a read-only bind mount (table: %s)",
					op.name, tg.self, tg.path, roErrnoName(got), roErrnoName(kernel), roErrnoName(want)))
			}
		}
	}
	t.Logf("tried %d changes", tried)
	if len(wrong) > 0 {
		t.Errorf("%d calls answered other than expected:\n%s", len(wrong), strings.Join(wrong, "\n"))
	}
	if len(disagree) > 0 {
		t.Errorf("%d calls answered otherwise on a read-only bind mount of the layer:\n%s", len(disagree), strings.Join(disagree, "\n"))
	}
}

// roCheckStatfs checks that statfs on the mount answers, with the numbers
// of the filesystem holding the store, and says read-only.
func roCheckStatfs(t *testing.T, mnt, root string) {
	t.Helper()
	var got, host unix.Statfs_t
	if err := unix.Statfs(mnt, &got); err != nil {
		t.Fatalf("statfs %s: %v", mnt, err)
	}
	if err := unix.Statfs(root, &host); err != nil {
		t.Fatal(err)
	}
	if got.Blocks == 0 || got.Bsize == 0 {
		t.Errorf("statfs %s: %d blocks of %d bytes", mnt, got.Blocks, got.Bsize)
	}
	if got.Blocks != host.Blocks || got.Files != host.Files {
		t.Errorf("statfs %s: %d blocks, %d inodes; the store's filesystem has %d, %d", mnt, got.Blocks, got.Files, host.Blocks, host.Files)
	}
	if got.Flags&unix.ST_RDONLY == 0 {
		t.Errorf("statfs %s: flags %#x, without ST_RDONLY", mnt, got.Flags)
	}
	if got.Type != unix.FUSE_SUPER_MAGIC {
		t.Errorf("statfs %s: type %#x, not FUSE", mnt, got.Type)
	}
}

// TestStoreUntouchedByCommands runs every command that reads a store and
// checks after each that nothing under the store changed, atimes
// included: a copied /var/lib/docker is evidence, and reading it must
// leave no trace.
func TestStoreUntouchedByCommands(t *testing.T) {
	testenv.FUSE(t)
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			rs := buildRefStore(t, layout)
			root := rs.b.Root
			snap := roSnap(t, root)
			for _, args := range [][]string{
				{"images"}, {"images", "--json"}, {"containers"}, {"containers", "--json"},
				{"layers", "user/app:v2"}, {"layers", "web"}, {"layers", "nosuch"},
			} {
				run(t, append([]string{"--root", root}, args...)...)
				checkStoreUnchanged(t, root, "aufsmount "+strings.Join(args, " "), snap)
			}
			mnt := mountRef(t, root, "web")
			checkStoreUnchanged(t, root, "aufsmount mount web", snap)
			roReadAll(t, mnt)
			checkStoreUnchanged(t, root, "reading everything through the mount of web", snap)
			umountNow(t, mnt)
			checkStoreUnchanged(t, root, "aufsmount umount", snap)
		})
	}
}

// TestGraphrootUntouchedByCommands: a containers/storage graphroot, with
// its lock files and Podman's state database, is left as it was by every
// command, atimes included: its locks are never opened or taken.
func TestGraphrootUntouchedByCommands(t *testing.T) {
	testenv.FUSE(t)
	for _, dc := range driverCasesNamed(t, "podman-overlay", "podman-vfs") {
		t.Run(dc.name, func(t *testing.T) {
			rs := refStoreOf(t, dc)
			root := rs.b.Root
			for _, f := range []string{"storage.lock", "libpod/bolt_state.db", dc.store.Driver + "-layers/layers.lock", dc.store.Driver + "-images/images.lock"} {
				if _, err := os.Lstat(filepath.Join(root, f)); err != nil {
					t.Fatalf("the fixture's graphroot lacks %s: %v", f, err)
				}
			}
			snap := roSnap(t, root)
			for _, args := range [][]string{
				{"images"}, {"ps", "-a"}, {"inspect", "web"}, {"layers", "user/app:v2"}, {"history", "user/app:v2"},
				{"verify", "--all"}, {"diff", "web"}, {"which", "web", "/app/main"},
				{"save", "-o", filepath.Join(t.TempDir(), "s.tar"), "user/app:v2"},
			} {
				run(t, append([]string{"--root", root}, args...)...)
				checkStoreUnchanged(t, root, "aufsmount "+strings.Join(args, " "), snap)
			}
			mnt := mountRef(t, root, "web")
			roReadAll(t, mnt)
			umountNow(t, mnt)
			checkStoreUnchanged(t, root, "mounting web, reading everything through it and unmounting", snap)
		})
	}
}

// TestGraphrootOnReadOnlyMount: a containers/storage graphroot on a
// read-only mount (evidence as it usually comes) is read whole, Podman's
// state database included: ps shows the command it records.
func TestGraphrootOnReadOnlyMount(t *testing.T) {
	testenv.FUSE(t)
	for _, dc := range driverCasesNamed(t, "podman-overlay", "podman-vfs") {
		t.Run(dc.name, func(t *testing.T) {
			rs := refStoreOf(t, dc)
			root := roBindMount(t, rs.b.Root)
			out, stderr, code := run(t, "--root", root, "ps", "-a", "--format", "{{.Names}} {{.Command}}")
			if code != 0 || stderr != "" || !strings.Contains(out, "web ") || !strings.Contains(out, "db ") {
				t.Fatalf("ps -a on a read-only graphroot: exit %d, stderr %q:\n%s", code, stderr, out)
			}
			mnt := mountRef(t, root, "web")
			compareView(t, mnt, rs.b.ContainerView(rs.web))
		})
	}
}
