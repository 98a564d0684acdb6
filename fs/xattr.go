package fs

import (
	"context"
	"strings"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
)

// LayerXattr names the extended attribute that tells which layer provides
// a path (the topmost one for a merged directory). getxattr answers it;
// listxattr does not list it, so tools that copy xattrs see only the
// image's own. The kernel itself refuses user.* attributes on symlinks,
// devices, fifos and sockets (ENODATA, without asking us): for those,
// aufsmount which answers instead.
const LayerXattr = "user.aufsmount.layer"

var _ = (fs.NodeGetxattrer)((*node)(nil))

func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if attr == LayerXattr {
		return copyXattr(dest, []byte(n.layer().id))
	}
	val, err := n.layer().getXattr(n.layerPath(), attr)
	if err != nil {
		return 0, n.errno(err)
	}
	return copyXattr(dest, val)
}

var _ = (fs.NodeListxattrer)((*node)(nil))

func (n *node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	names, err := n.layer().listXattrs(n.layerPath())
	if err != nil {
		return 0, n.errno(err)
	}
	var list []byte
	if len(names) > 0 {
		list = []byte(strings.Join(names, "\x00") + "\x00")
	}
	return copyXattr(dest, list)
}

// copyXattr answers a getxattr or listxattr with val: its size when dest
// is empty, ERANGE when dest is too small.
func copyXattr(dest, val []byte) (uint32, syscall.Errno) {
	if len(dest) == 0 {
		return uint32(len(val)), 0
	}
	if len(dest) < len(val) {
		return uint32(len(val)), syscall.ERANGE
	}
	return uint32(copy(dest, val)), 0
}
