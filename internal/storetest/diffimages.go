package storetest

import (
	"slices"
	"time"
)

// DiffImages is a store of images that differ in every way a diff
// tells: added, deleted and changed files, whited-out and opaque
// directories, a directory become a file and a file a symlink, mode,
// owner, xattr, mtime, link target, device and content changes, hard
// links, names with a line break or bytes not UTF-8, and a container
// over test/b:1; with three images of generated layers sharing some.
// The diff of the command and of package changes are both checked
// against it.
type DiffImages struct {
	Base, A, B, G1, G2, G3 *Image // test/base:1, test/a:1, test/b:1, test/g:1 ... 3
	Ctr                    *Container
}

// DiffAB is the diff of test/a:1 and test/b:1 of DiffImages, one
// "KIND /path" a change (A, D, C), sorted by path.
var DiffAB = []string{
	"A /bin/ls", "C /bin/tool", "C /bin/tool2", "C /data", "A /data/new", "A /etc/hosts", "C /lib",
	"A /odd/bad\xff", "C /odd/new\nline", "D /only-in-a",
	"D /opt/app", "D /opt/app/bin", "D /opt/app/bin/run", "D /opt/app/lib", "D /opt/app/lib/a",
	"A /tmp", "C /usr/share/doc", "D /usr/share/doc/x",
	"C /var/cache", "D /var/cache/a", "D /var/cache/b", "A /var/cache/c",
	"C /x/content", "C /x/dev", "C /x/link", "C /x/mode", "C /x/owner", "C /x/xattr",
}

// NewDiffImages makes the images of DiffImages.
func NewDiffImages() *DiffImages {
	base := NewLayer("base",
		F("etc/passwd", "root"), F("etc/group", "g"), F("etc/hosts", "h"),
		F("opt/app/bin/run", "x"), F("opt/app/lib/a", "a"), F("opt/keep", "k"),
		F("var/cache/a", "a"), F("var/cache/b", "b"), F("var/log/syslog", "s"),
		F("usr/share/doc/x", "x"), F("data", "file"),
		F("bin/busybox", "bb"), H("bin/sh", "bin/busybox"), F("bin/tool", "v1"), H("bin/tool2", "bin/tool"),
		F("x/mode", "m"), F("x/owner", "o"), F("x/xattr", "x").WithXattr("user.a", "1"), F("x/mtime", "t"),
		F("x/same", "s"), L("x/link", "a"), Mknod("x/dev", CharDev, 1, 3), F("x/content", "abce"),
		F("lib/l1", "1"), F("lib/sub/l2", "2"),
		F("odd/new\nline", "n"), F("odd/bad\xff", "b"))
	a1 := NewLayer("a1",
		WH("etc/hosts"), F("only-in-a", "1"), F("etc/passwd", "root"), D("var/cache").WithMode(0700),
		WH("odd/bad\xff"))
	b1 := NewLayer("b1",
		OPQ("var/cache"), F("var/cache/c", "c"), WH("opt/app"), D("data"), F("data/new", "n"),
		L("usr/share/doc", "/usr/doc"), F("bin/busybox", "bb"), H("bin/ls", "bin/busybox"),
		F("bin/tool", "v2"), H("bin/tool2", "bin/tool"),
		F("x/mode", "m").WithMode(0600), F("x/owner", "o").WithOwner(1, 1), F("x/xattr", "x").WithXattr("user.a", "2"),
		F("x/mtime", "t").WithMtime(time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)), F("x/same", "s"),
		L("x/link", "b"), Mknod("x/dev", CharDev, 1, 5), F("x/content", "abcd"),
		D("lib").WithXattr("user.d", "1"), F("tmp/t1", "1"), F("odd/new\nline", "changed"))
	b2 := NewLayer("b2", WH("tmp/t1"))
	gen := Generate(GenOptions{Seed: 5, Layers: 8, Entries: 1500, MaxSize: 512})
	d := &DiffImages{
		Base: &Image{Names: []string{"test/base:1"}, Layers: []*Layer{base}},
		A:    &Image{Names: []string{"test/a:1"}, Layers: []*Layer{base, a1}},
		B:    &Image{Names: []string{"test/b:1"}, Layers: []*Layer{base, b1, b2}},
		G1:   &Image{Names: []string{"test/g:1"}, Layers: gen[:6]},
		G2:   &Image{Names: []string{"test/g:2"}, Layers: append(slices.Clone(gen[:4]), gen[6:8]...)},
		G3:   &Image{Names: []string{"test/g:3"}, Layers: gen},
	}
	d.Ctr = &Container{Name: "ctr", Image: d.B, RW: NewLayer("", F("tmp/new", "n"), WH("etc/group"), F("x/dev", "now a file"))}
	return d
}

// Store is a store of the images and the container, aufs whiteouts as
// hard links where aufsLinks (Store.AufsHardlinkWhiteouts).
func (d *DiffImages) Store(aufsLinks bool) *Store {
	return &Store{Images: []*Image{d.Base, d.A, d.B, d.G1, d.G2, d.G3}, Containers: []*Container{d.Ctr}, AufsHardlinkWhiteouts: aufsLinks}
}
