package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// CompareOptions tune Compare.
type CompareOptions struct {
	// Atime compares access times too; reading a file may move them.
	Atime bool
	// SkipContent does not read regular files (sizes are still compared).
	SkipContent bool
	// SkipLinks checks neither link counts nor which names share an
	// inode (fuse-overlayfs counts the names it has looked up so far, and
	// may show the inode of a shadowed hard link under another name).
	SkipLinks bool
	// MaxDiffs is how many differences to report; 0 means 50.
	MaxDiffs int
	// Restored compares a view restored from tar-splits after a copy
	// lost its metadata (docs/copies.md) as far as tars record it:
	// mtimes to the second, not the root's mtime (no tar records it),
	// and no sockets (no tar holds them).
	Restored bool
	// Dense does not look for a sparse file's holes: a view served from
	// a layer's tar stream (an image archive's) allocates none.
	Dense bool
}

// Compare walks the tree at root without following symlinks and checks
// it against want (from Merge or LayerNodes): the same paths, and for
// each its type, permission bits, owner, mtime, size, content, symlink
// target, device numbers, extended attributes, hard links (one inode for
// the nodes with the same Layer and Origin, distinct inodes otherwise,
// and the link count) and sparse holes. The error lists the differences.
func Compare(root string, want []Node, opt CompareOptions) error {
	got := map[string]*unix.Stat_t{}
	var order []string
	if err := walk(root, "", got, &order); err != nil {
		return err
	}
	c := comparer{root: root, opt: opt, max: opt.MaxDiffs}
	if c.max <= 0 {
		c.max = 50
	}
	type inode struct {
		layer  int
		origin string
	}
	inodes := map[inode]uint64{}
	owners := map[uint64]inode{}
	seen := map[string]bool{}
	for i := range want {
		n := &want[i]
		seen[n.Path] = true
		st := got[n.Path]
		if st == nil {
			if !(opt.Restored && n.Entry.Kind == Socket) {
				c.diff(n.Path, "missing (want %v)", n.Entry.Kind)
			}
			continue
		}
		c.node(n, st)
		if n.Entry.Kind == Dir || opt.SkipLinks {
			continue
		}
		k := inode{n.Layer, n.Origin}
		if ino, ok := inodes[k]; ok && ino != st.Ino {
			c.diff(n.Path, "inode %d, want the inode of its hard link %q (%d)", st.Ino, n.Origin, ino)
		}
		if o, ok := owners[st.Ino]; ok && o != k {
			c.diff(n.Path, "shares inode %d with %q of layer %d, which is not a hard link of it", st.Ino, o.origin, o.layer)
		}
		inodes[k], owners[st.Ino] = st.Ino, k
	}
	for _, p := range order {
		if !seen[p] {
			c.diff(p, "unexpected %s", typeName(got[p].Mode))
		}
	}
	if len(c.diffs) == 0 {
		return nil
	}
	more := ""
	if c.count > len(c.diffs) {
		more = fmt.Sprintf(" (first %d)", len(c.diffs))
	}
	return fmt.Errorf("tree %s: %d differences from the model%s:\n\t%s", root, c.count, more, strings.Join(c.diffs, "\n\t"))
}

// walk lstats every name under root/rel into got, in walk order.
func walk(root, rel string, got map[string]*unix.Stat_t, order *[]string) error {
	p := root
	if rel != "" {
		p = root + "/" + rel
	}
	st := new(unix.Stat_t)
	if err := unix.Lstat(p, st); err != nil {
		return fmt.Errorf("lstat %s: %w", p, err)
	}
	got[rel] = st
	*order = append(*order, rel)
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("reading directory %s: %w", p, err)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := walk(root, join(rel, name), got, order); err != nil {
			return err
		}
	}
	return nil
}

type comparer struct {
	root  string
	opt   CompareOptions
	max   int
	count int
	diffs []string
	a, b  []byte // buffers for contents
}

func (c *comparer) diff(p, format string, args ...any) {
	c.count++
	if len(c.diffs) < c.max {
		c.diffs = append(c.diffs, fmt.Sprintf("%q: ", "/"+p)+fmt.Sprintf(format, args...))
	}
}

var kindType = map[Kind]uint32{
	File: unix.S_IFREG, Dir: unix.S_IFDIR, Symlink: unix.S_IFLNK, CharDev: unix.S_IFCHR,
	BlockDev: unix.S_IFBLK, Fifo: unix.S_IFIFO, Socket: unix.S_IFSOCK,
	Whiteout: unix.S_IFREG, Opaque: unix.S_IFREG,
}

func typeName(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "file"
	case unix.S_IFDIR:
		return "dir"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFCHR:
		return "chardev"
	case unix.S_IFBLK:
		return "blockdev"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	}
	return fmt.Sprintf("type %#o", mode&unix.S_IFMT)
}

func (c *comparer) node(n *Node, st *unix.Stat_t) {
	e := n.Entry
	p := c.root
	if n.Path != "" {
		p += "/" + n.Path
	}
	if st.Mode&unix.S_IFMT != kindType[e.Kind] {
		c.diff(n.Path, "is a %s, want %v", typeName(st.Mode), e.Kind)
		return
	}
	if e.Kind != Symlink && st.Mode&07777 != e.Mode {
		c.diff(n.Path, "mode %#o, want %#o", st.Mode&07777, e.Mode)
	}
	if int(st.Uid) != e.UID || int(st.Gid) != e.GID {
		c.diff(n.Path, "owner %d:%d, want %d:%d", st.Uid, st.Gid, e.UID, e.GID)
	}
	want := e.Mtime
	got := time.Unix(st.Mtim.Unix())
	if c.opt.Restored {
		want, got = want.Truncate(time.Second), got.Truncate(time.Second)
		if n.Path == "" {
			want = got
		}
	}
	if !got.Equal(want) {
		c.diff(n.Path, "mtime %v, want %v", got.UTC(), e.Mtime.UTC())
	}
	if got := time.Unix(st.Atim.Unix()); c.opt.Atime && !got.Equal(e.Atime) {
		c.diff(n.Path, "atime %v, want %v", got.UTC(), e.Atime.UTC())
	}
	if e.Kind != Dir && !c.opt.SkipLinks && n.Nlink > 0 && int(st.Nlink) != n.Nlink {
		c.diff(n.Path, "%d links, want %d", st.Nlink, n.Nlink)
	}
	switch e.Kind {
	case File, Whiteout, Opaque:
		c.file(n, p, st)
	case Symlink:
		if t, err := readlink(p); err != nil {
			c.diff(n.Path, "%v", err)
		} else if t != e.Target {
			c.diff(n.Path, "symlink to %q, want %q", t, e.Target)
		}
		if st.Size != int64(len(e.Target)) {
			c.diff(n.Path, "symlink size %d, want %d", st.Size, len(e.Target))
		}
	case CharDev, BlockDev:
		if maj, mnr := unix.Major(st.Rdev), unix.Minor(st.Rdev); maj != e.Major || mnr != e.Minor {
			c.diff(n.Path, "device %d:%d, want %d:%d", maj, mnr, e.Major, e.Minor)
		}
	}
	c.xattrs(n, p)
}

func (c *comparer) file(n *Node, p string, st *unix.Stat_t) {
	e := n.Entry
	size := e.FileSize()
	if st.Size != size {
		c.diff(n.Path, "size %d, want %d", st.Size, size)
		return
	}
	if e.Sparse && !c.opt.Dense && size-int64(len(e.Data)) >= 1<<20 && st.Blocks*512 >= size {
		c.diff(n.Path, "%d bytes allocated for %d: want a hole", st.Blocks*512, size)
	}
	if c.opt.SkipContent || size == 0 {
		return
	}
	f, err := os.Open(p)
	if err != nil {
		c.diff(n.Path, "%v", err)
		return
	}
	defer f.Close()
	want := Content(e)
	if need := int(min(size+1, 1<<20)); len(c.a) < need {
		c.a, c.b = make([]byte, need), make([]byte, need)
	}
	a, b := c.a, c.b
	for off := int64(0); off < size; {
		k := int(min(int64(len(a)), size-off))
		if _, err := io.ReadFull(f, a[:k]); err != nil {
			c.diff(n.Path, "reading at %d: %v", off, err)
			return
		}
		want.ReadAt(b[:k], off)
		if !bytes.Equal(a[:k], b[:k]) {
			i := 0
			for a[i] == b[i] {
				i++
			}
			c.diff(n.Path, "content differs at byte %d", off+int64(i))
			return
		}
		off += int64(k)
	}
	if k, _ := f.Read(a[:1]); k != 0 {
		c.diff(n.Path, "longer than its size")
	}
}

func (c *comparer) xattrs(n *Node, p string) {
	names, err := listXattrs(p)
	if err != nil {
		c.diff(n.Path, "listing xattrs: %v", err)
		return
	}
	for _, k := range names {
		if k == "security.selinux" {
			continue
		}
		v, ok := n.Entry.Xattrs[k]
		if !ok {
			c.diff(n.Path, "unexpected xattr %s", k)
			continue
		}
		got, err := getXattr(p, k)
		if err != nil {
			c.diff(n.Path, "xattr %s: %v", k, err)
		} else if got != v {
			c.diff(n.Path, "xattr %s = %q, want %q", k, got, v)
		}
	}
	for _, k := range sortedKeys(n.Entry.Xattrs) {
		if !slices.Contains(names, k) {
			c.diff(n.Path, "missing xattr %s", k)
		}
	}
}

func readlink(p string) (string, error) {
	for size := 256; ; size *= 2 {
		b := make([]byte, size)
		n, err := unix.Readlink(p, b)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(b[:n]), nil
		}
	}
}

func listXattrs(p string) ([]string, error) {
	for size := 1024; size <= 1<<24; size *= 4 {
		b := make([]byte, size)
		n, err := unix.Llistxattr(p, b)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		var names []string
		for _, s := range strings.Split(string(b[:n]), "\x00") {
			if s != "" {
				names = append(names, s)
			}
		}
		return names, nil
	}
	return nil, unix.ERANGE
}

func getXattr(p, name string) (string, error) {
	for size := 256; size <= 1<<24; size *= 4 {
		b := make([]byte, size)
		n, err := unix.Lgetxattr(p, name, b)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return "", err
		}
		return string(b[:n]), nil
	}
	return "", unix.ERANGE
}
