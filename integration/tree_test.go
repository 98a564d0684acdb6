package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

var layouts = []layerstore.Layout{layerstore.LayoutGraph, layerstore.LayoutCAS}

// treeCase is one image, base layer first, whose merged view a test checks.
type treeCase struct {
	name   string
	layers []*st.Layer // base first
}

var t0 = time.Date(2015, 3, 1, 12, 0, 0, 123456789, time.UTC)

func l(entries ...st.Entry) *st.Layer { return st.NewLayer("RUN step", entries...) }

// ruleCases cover every rule of docs/whiteouts.md with a case of its own.
func ruleCases() []treeCase {
	return []treeCase{
		{"whiteout hides a file below", []*st.Layer{
			l(st.F("etc/passwd", "root"), st.F("etc/group", "g")),
			l(st.WH("etc/passwd")),
		}},
		{"whiteout hides a directory and all below it", []*st.Layer{
			l(st.F("opt/app/bin/run", "x"), st.F("opt/keep", "k")),
			l(st.F("opt/app/more", "y")),
			l(st.WH("opt/app")),
		}},
		{"whiteout and entry in one layer: the entry shows", []*st.Layer{
			l(st.F("a", "old"), st.F("d/old", "o")),
			l(st.WH("a"), st.F("a", "new"), st.WH("d"), st.F("d/new", "n")),
		}},
		{"opaque directory", []*st.Layer{
			l(st.F("var/cache/a", "a"), st.F("var/cache/b", "b"), st.F("var/log", "l")),
			l(st.OPQ("var/cache"), st.F("var/cache/c", "c")),
			l(st.F("var/cache/d", "d")),
		}},
		{"opaque root", []*st.Layer{
			l(st.F("gone", "g")),
			l(st.OPQ(""), st.F("only", "o")),
		}},
		{"aufs meta entries never shown", []*st.Layer{
			l(st.F("a", "a"), st.F(".wh..wh.aufs", ""), st.D(".wh..wh.plnk"), st.F(".wh..wh.plnk/123.456", "p"), st.D(".wh..wh.orph")),
			l(st.F(".wh..wh.aufs", ""), st.D(".wh..wh.plnk"), st.F("dir/.wh..wh.unknown", "")),
		}},
		{"no merging through a file or symlink", []*st.Layer{
			l(st.F("d/bottom", "b"), st.F("e/bottom", "b")),
			l(st.F("d", "file"), st.L("e", "/tmp")),
			l(st.F("d/top", "t"), st.F("e/top", "t")),
		}},
		{"a non-directory hides a directory below", []*st.Layer{
			l(st.F("d/inside", "i"), st.F("s/inside", "i")),
			l(st.F("d", "now a file"), st.L("s", "d")),
		}},
		{"a directory hides a non-directory below", []*st.Layer{
			l(st.F("d", "file"), st.L("s", "/etc"), st.Mknod("n", st.Fifo, 0, 0)),
			l(st.F("d/x", "x"), st.F("s/x", "x"), st.D("n")),
		}},
		{"merged directory attributes from the topmost", []*st.Layer{
			l(st.D("d").WithMode(0700).WithOwner(1, 2).WithMtime(t0).WithXattr("user.low", "1"), st.F("d/low", "l")),
			l(st.D("d").WithMode(01777).WithOwner(3, 4).WithTimes(t0.Add(time.Hour), t0).WithXattr("user.top", "2"), st.F("d/top", "t")),
		}},
		{"symlink traps", []*st.Layer{
			l(st.L("etc", "/"), st.L("trap", "/etc"), st.L("up", "../../../../etc"), st.F("real/x", "x")),
			l(st.F("etc/hostname", "img"), st.D("trap"), st.F("up/file", "f")),
			l(st.L("root", "/"), st.L("real/rel", "../../..")),
		}},
		{"symlink under same-named dirs above and below", []*st.Layer{
			l(st.F("usr/lib/x", "x")),
			l(st.L("usr/lib", "/lib")),
			l(st.D("usr/lib"), st.F("usr/lib/y", "y")),
		}},
		{"hard links kept, also when one name is whited out", []*st.Layer{
			l(st.F("bin/busybox", "bb"), st.H("bin/sh", "bin/busybox"), st.H("bin/ls", "bin/busybox"), st.H("sbin/init", "bin/busybox")),
			l(st.WH("bin/ls"), st.F("other", "o"), st.H("other2", "other")),
		}},
		{"devices, fifos, sockets", []*st.Layer{
			l(st.Mknod("dev/null", st.CharDev, 1, 3), st.Mknod("dev/sda", st.BlockDev, 8, 0), st.Mknod("dev/big", st.CharDev, 300, 70000),
				st.Mknod("run/fifo", st.Fifo, 0, 0), st.Mknod("run/sock", st.Socket, 0, 0)),
		}},
		{"mode bits and owners", []*st.Layer{
			l(st.F("suid", "s").WithMode(04755), st.F("sgid", "s").WithMode(02711).WithOwner(0, 50), st.D("tmp").WithMode(01777),
				st.F("none", "n").WithMode(st.ModeNone).WithOwner(65534, 65534), st.D("private").WithMode(0700).WithOwner(1000, 1000), st.F("private/f", "f")),
		}},
		{"sizes, sparse files and times", []*st.Layer{
			l(st.SparseFile("sparse", "head", 64<<20), st.Big("big", 3<<20+17), st.F("empty", ""),
				st.F("old", "o").WithTimes(time.Unix(1, 5), time.Unix(2, 6)), st.F("future", "f").WithMtime(time.Date(2100, 1, 1, 0, 0, 0, 999, time.UTC))),
		}},
		{"extended attributes", []*st.Layer{
			l(st.F("ping", "p").WithXattr("security.capability", capNetRaw()).WithXattr("user.mime", "text/plain"),
				st.F("t", "t").WithXattr("trusted.image", "y"), st.D("xd").WithXattr("user.dir", "d"), st.L("xl", "t")),
		}},
		{"names with spaces, newlines and non-UTF-8 bytes", []*st.Layer{
			l(st.F("a b/c d", "1"), st.F("new\nline", "2"), st.F("bad\xff\xfe", "3"), st.F("tab\there", "4"), st.F("quote'\"", "5")),
			l(st.WH("new\nline"), st.F("bad\xff\xfe", "4"), st.F("ünïcode", "6")),
		}},
		{"whiteouts of . and .. hide nothing", []*st.Layer{
			l(st.F("d/a", "a")),
			l(st.F("d/.wh..", ""), st.F("d/.wh...", ""), st.F("d/.wh.", "")),
		}},
	}
}

// capNetRaw is a valid vfs_cap_data (revision 2) granting cap_net_raw.
func capNetRaw() string {
	b := make([]byte, 20)
	b[3] = 0x02   // magic_etc: VFS_CAP_REVISION_2, little endian
	b[5] = 1 << 5 // permitted[0]: bit 13, cap_net_raw
	return string(b)
}

// noatimeView returns a path through which dir reads without touching
// any atime (readlink has no O_NOATIME): a detached read-only noatime
// clone of its mount, reached through /proc/self/fd.
func noatimeView(t testing.TB, dir string) string {
	t.Helper()
	fd, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		t.Fatalf("open_tree %s: %v", dir, err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOATIME, Attr_clr: unix.MOUNT_ATTR__ATIME}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		t.Fatalf("mount_setattr %s: %v", dir, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fmt.Sprintf("/proc/self/fd/%d", fd)
}

// expect computes what the mount must show for layers (top first, their
// directories in dirs): the model picks the layer of every path, the
// layer's own file says what it looks like.
func expect(t testing.TB, layers []*st.Layer, dirs []string) map[string]info {
	t.Helper()
	want := map[string]info{}
	views := make([]string, len(dirs))
	for i, d := range dirs {
		views[i] = noatimeView(t, d)
	}
	for _, n := range st.Merge(layers) {
		p := views[n.Layer] + "/" + n.Path
		if n.Path == "" {
			p += "."
		}
		in, err := describe(p)
		if err != nil {
			t.Fatalf("reading the layer's %q: %v", n.Path, err)
		}
		checkBuilt(t, n, in)
		want[n.Path] = in
	}
	return want
}

// checkBuilt makes sure the layer on disk holds what the description says,
// so a builder bug cannot make a wrong view look right.
func checkBuilt(t testing.TB, n st.Node, in info) {
	t.Helper()
	kinds := map[st.Kind]uint32{st.File: unix.S_IFREG, st.Dir: unix.S_IFDIR, st.Symlink: unix.S_IFLNK, st.CharDev: unix.S_IFCHR,
		st.BlockDev: unix.S_IFBLK, st.Fifo: unix.S_IFIFO, st.Socket: unix.S_IFSOCK}
	if k, ok := kinds[n.Entry.Kind]; ok && in.Mode&unix.S_IFMT != k {
		t.Fatalf("%q: the layer holds mode %o, the description a %v", n.Path, in.Mode, n.Entry.Kind)
	}
	if n.Entry.Kind == st.File {
		h := sha256.New()
		if _, err := io.Copy(h, st.Content(n.Entry)); err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(h.Sum(nil)) != in.Hash {
			t.Fatalf("%q: the layer's content is not the description's", n.Path)
		}
	}
	if n.Entry.Kind == st.Symlink && in.Target != n.Entry.Target {
		t.Fatalf("%q: the layer's link says %q, the description %q", n.Path, in.Target, n.Entry.Target)
	}
}

func reversed(ls []*st.Layer) []*st.Layer {
	out := make([]*st.Layer, len(ls))
	for i, l := range ls {
		out[len(ls)-1-i] = l
	}
	return out
}

// buildImage writes one image of layers (base first) in layout and
// returns the store and the image's layer directories, top first.
func buildImage(t testing.TB, layout layerstore.Layout, layers []*st.Layer, aufsLinks bool) (*st.Built, []string) {
	t.Helper()
	img := &st.Image{Names: []string{"test/image:latest"}, Layers: layers}
	s := &st.Store{Images: []*st.Image{img}, AufsHardlinkWhiteouts: aufsLinks}
	b, err := s.Write(filepath.Join(t.TempDir(), "docker"), layout)
	if err != nil {
		t.Fatalf("writing the store: %v", err)
	}
	return b, b.Chain[img]
}

// checkTree mounts dirs and compares the whole tree with the expectation.
func checkTree(t *testing.T, layers []*st.Layer /* top first */, dirs []string) {
	t.Helper()
	want := expect(t, layers, dirs)
	mnt := mountLayers(t, dirs)
	got := walk(t, mnt)
	if diffs := diffTrees(want, got, nil); len(diffs) > 0 {
		t.Errorf("%d differences:\n%s", len(diffs), strings.Join(head(diffs, 30), "\n"))
	}
}

func head(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("... and %d more", len(s)-n))
	}
	return s
}

func TestRules(t *testing.T) {
	testenv.FUSE(t)
	for _, layout := range layouts {
		for _, tc := range ruleCases() {
			for _, aufsLinks := range []bool{false, true} {
				name := fmt.Sprintf("%v/%s", layout, tc.name)
				if aufsLinks {
					name += "/live-aufs-whiteouts"
				}
				t.Run(name, func(t *testing.T) {
					_, dirs := buildImage(t, layout, tc.layers, aufsLinks)
					checkTree(t, reversed(tc.layers), dirs)
				})
			}
		}
	}
}

// largeShapes are the big cases: a wide directory, a deep path, a long
// chain.
func largeShapes() []treeCase {
	var wide []st.Entry
	for i := 0; i < 20000; i++ {
		wide = append(wide, st.F(fmt.Sprintf("wide/f%05d", i), ""))
	}
	deep := strings.Repeat("d/", 40) + "leaf"
	var many []*st.Layer
	for i := 0; i < 60; i++ {
		many = append(many, l(st.F(fmt.Sprintf("layer%02d", i), fmt.Sprint(i)), st.F("shared/f", fmt.Sprint(i)), st.F(fmt.Sprintf("shared/l%02d", i), "x")))
	}
	many = append(many, l(st.WH("layer00"), st.OPQ("shared"), st.F("shared/top", "t")))
	many = append(many[:30:30], append([]*st.Layer{l(st.WH("shared/l10"))}, many[30:]...)...)
	return []treeCase{
		{"20000 entries in one directory", []*st.Layer{l(wide[:10000]...), l(append(wide[10000:], st.WH("wide/f00007"))...)}},
		{"a path 40 directories deep", []*st.Layer{l(st.F(deep, "deep")), l(st.F(strings.Repeat("d/", 39)+"other", "o"))}},
		{"a 62-layer chain", many},
	}
}

func TestLargeShapes(t *testing.T) {
	testenv.FUSE(t)
	for _, layout := range layouts {
		for _, tc := range largeShapes() {
			t.Run(fmt.Sprintf("%v/%s", layout, tc.name), func(t *testing.T) {
				_, dirs := buildImage(t, layout, tc.layers, false)
				checkTree(t, reversed(tc.layers), dirs)
			})
		}
	}
}
