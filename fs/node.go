package fs

import (
	"context"
	"errors"
	"strings"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// node is what every kind of entry shares: where it sits in the union and
// its attributes, kept in the parent's index.
type node struct {
	fs.Inode
	u      *union
	parent *dirNode // nil for the root
	ent    *entry
}

// relPath is the entry's path in the view ("" for the root), rebuilt
// from the parents rather than stored, to keep nodes small. It is also
// its path inside its layer, but for what a bind shows (layerPath).
func (n *node) relPath() string {
	if n.parent == nil {
		return ""
	}
	var names []string
	for p := n; p.parent != nil; p = &p.parent.node {
		names = append(names, p.ent.name)
	}
	for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
		names[i], names[j] = names[j], names[i]
	}
	return strings.Join(names, "/")
}

// layerPath is the entry's path inside the layer that shows it.
func (n *node) layerPath() string { return n.u.layerRel(n.ent.layer, n.relPath()) }

// layer is the layer that shows this entry.
func (n *node) layer() *layer { return n.u.layers[n.ent.layer] }

// errno turns an error met reading the entry's layer into what the FUSE
// call answers. A layer that went away or changed is logged once; an
// answer about the entry itself (ENODATA, ERANGE) is passed on.
func (n *node) errno(err error) syscall.Errno {
	if errors.Is(err, errChanged) {
		n.u.fault(n.layer(), err)
		return syscall.EIO
	}
	if errGone(err) {
		n.u.fault(n.layer(), err)
	}
	return fs.ToErrno(err)
}

var _ = (fs.NodeGetattrer)((*node)(nil))

func (n *node) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Attr = n.ent.attr
	return 0
}

// newChild makes the node for a directory entry of parent.
func newChild(ctx context.Context, parent *dirNode, e *entry) *fs.Inode {
	var emb fs.InodeEmbedder
	switch e.attr.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		emb = &dirNode{node: node{u: parent.u, parent: parent, ent: e}}
	case syscall.S_IFREG:
		emb = &fileNode{node: node{u: parent.u, parent: parent, ent: e}}
	case syscall.S_IFLNK:
		emb = &symlinkNode{node: node{u: parent.u, parent: parent, ent: e}}
	default: // devices, fifos, sockets: the kernel serves their opens itself
		emb = &node{u: parent.u, parent: parent, ent: e}
	}
	return parent.NewInode(ctx, emb, fs.StableAttr{Mode: e.attr.Mode & syscall.S_IFMT, Ino: e.attr.Ino})
}
