package fs

import (
	"context"
	"fmt"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"golang.org/x/sys/unix"
)

// LayerXattr names the extended attribute that tells which layer provides
// a path (the topmost one for a merged directory). getxattr answers it;
// listxattr does not list it, so tools that copy xattrs see only the
// image's own. The kernel itself refuses user.* attributes on symlinks,
// devices, fifos and sockets (ENODATA, without asking us): for those,
// aufsmount which answers instead.
const LayerXattr = "user.aufsmount.layer"

// xattrPath returns a path naming the entry itself that the l*xattr calls
// can use without following anything the layer holds: the parent
// directory, opened safely, through /proc/self/fd, then the entry's name
// as the last, unfollowed component. The root is reached by its own fd.
func (n *node) xattrPath() (path string, fd int, err error) {
	l := n.layer()
	if n.parent == nil {
		fd, err = l.open("", unix.O_PATH|unix.O_DIRECTORY)
		return fmt.Sprintf("/proc/self/fd/%d/.", fd), fd, err
	}
	fd, err = l.open(n.parent.relPath(), unix.O_PATH|unix.O_DIRECTORY)
	return fmt.Sprintf("/proc/self/fd/%d/%s", fd, n.ent.name), fd, err
}

var _ = (fs.NodeGetxattrer)((*node)(nil))

func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if attr == LayerXattr {
		return copyXattr(dest, []byte(n.layer().id))
	}
	path, fd, err := n.xattrPath()
	if err != nil {
		n.u.fault(n.layer(), err)
		return 0, fs.ToErrno(err)
	}
	defer unix.Close(fd)
	sz, err := unix.Lgetxattr(path, attr, dest)
	if err == unix.ERANGE {
		sz, err = unix.Lgetxattr(path, attr, nil)
		if err == nil {
			return uint32(sz), syscall.ERANGE
		}
	}
	return uint32(sz), fs.ToErrno(err)
}

var _ = (fs.NodeListxattrer)((*node)(nil))

func (n *node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	path, fd, err := n.xattrPath()
	if err != nil {
		n.u.fault(n.layer(), err)
		return 0, fs.ToErrno(err)
	}
	defer unix.Close(fd)
	sz, err := unix.Llistxattr(path, dest)
	if err == unix.ERANGE {
		sz, err = unix.Llistxattr(path, nil)
		if err == nil {
			return uint32(sz), syscall.ERANGE
		}
	}
	return uint32(sz), fs.ToErrno(err)
}

// copyXattr answers a getxattr of a value we make up.
func copyXattr(dest, val []byte) (uint32, syscall.Errno) {
	if len(dest) == 0 {
		return uint32(len(val)), 0
	}
	if len(dest) < len(val) {
		return uint32(len(val)), syscall.ERANGE
	}
	return uint32(copy(dest, val)), 0
}
