package fs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

var viewLayouts = []layerstore.Layout{layerstore.LayoutGraph, layerstore.LayoutCAS}

func vl(entries ...st.Entry) *st.Layer { return st.NewLayer("RUN step", entries...) }

// openTestView writes one image of layers (top first) in layout and opens
// its view; layer IDs are the directory names, as layerstore gives them.
func openTestView(t testing.TB, layout layerstore.Layout, aufsLinks bool, top []*st.Layer) (*View, []string) {
	t.Helper()
	base := slices.Clone(top)
	slices.Reverse(base)
	img := &st.Image{Names: []string{"test/view:latest"}, Layers: base}
	b, err := (&st.Store{Images: []*st.Image{img}, AufsHardlinkWhiteouts: aufsLinks}).Write(filepath.Join(t.TempDir(), "docker"), layout)
	if err != nil {
		t.Fatalf("writing the store: %v", err)
	}
	dirs := b.Chain[img]
	var layers []Layer
	for _, d := range dirs {
		layers = append(layers, Layer{ID: filepath.Base(d), Dir: d})
	}
	v, err := OpenView(layers)
	if err != nil {
		t.Fatalf("opening the view: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v, dirs
}

// viewCases are images (top layer first) covering every merge rule.
func viewCases() map[string][]*st.Layer {
	t0 := time.Date(2015, 3, 1, 12, 0, 0, 123456789, time.UTC)
	return map[string][]*st.Layer{
		"whiteouts and opaque directories": {
			vl(st.WH("etc/passwd"), st.WH("opt/app"), st.OPQ("var/cache"), st.F("var/cache/c", "c"), st.WH("a"), st.F("a", "new")),
			vl(st.F("opt/app/more", "y"), st.F("var/cache/d", "d"), st.F("a", "mid")),
			vl(st.F("etc/passwd", "root"), st.F("etc/group", "g"), st.F("opt/app/bin/run", "x"), st.F("opt/keep", "k"),
				st.F("var/cache/a", "a"), st.F("var/log", "l"), st.F("a", "old")),
		},
		"opaque root": {
			vl(st.OPQ(""), st.F("only", "o")),
			vl(st.F("gone", "g")),
		},
		"types over types": {
			vl(st.F("d/top", "t"), st.F("e/top", "t"), st.D("n"), st.F("n/x", "x")),
			vl(st.F("d", "file"), st.L("e", "/tmp"), st.Mknod("n", st.Fifo, 0, 0)),
			vl(st.F("d/bottom", "b"), st.F("e/bottom", "b")),
		},
		"attributes, links, devices, xattrs": {
			vl(st.D("d").WithMode(01777).WithOwner(3, 4).WithTimes(t0.Add(time.Hour), t0).WithXattr("user.top", "2"), st.F("d/top", "t"),
				st.WH("bin/ls"), st.F("other", "o").WithXattr("user.mime", "text/plain"), st.H("other2", "other"),
				st.Mknod("dev/big", st.CharDev, 300, 70000), st.Mknod("dev/sda", st.BlockDev, 8, 0), st.L("link", "../../etc")),
			vl(st.D("d").WithMode(0700).WithOwner(1, 2).WithMtime(t0).WithXattr("user.low", "1"), st.F("d/low", "l"),
				st.F("bin/busybox", "bb"), st.H("bin/sh", "bin/busybox"), st.H("bin/ls", "bin/busybox"),
				st.F("suid", "s").WithMode(04755), st.F("none", "n").WithMode(st.ModeNone).WithOwner(65534, 65534)),
		},
		"odd names": {
			vl(st.WH("new\nline"), st.F("bad\xff\xfe", "4"), st.F("d/.wh..", ""), st.F("d/.wh.", "")),
			vl(st.F("a b/c d", "1"), st.F("new\nline", "2"), st.F("bad\xff\xfe", "3"), st.F("d/a", "a")),
		},
	}
}

// walkView lists every path of v, parents first, "" for the root.
func walkView(t testing.TB, v *View) map[string]Entry {
	t.Helper()
	out := map[string]Entry{}
	root, err := v.Lookup("/")
	if err != nil {
		t.Fatal(err)
	}
	out[""] = root
	var walk func(dir string)
	walk = func(dir string) {
		ents, err := v.ReadDir(dir)
		if err != nil {
			t.Fatalf("readdir %q: %v", dir, err)
		}
		for i, e := range ents {
			if i > 0 && ents[i-1].Name >= e.Name {
				t.Errorf("readdir %q: %q after %q: not sorted", dir, e.Name, ents[i-1].Name)
			}
			p := e.Name
			if dir != "" {
				p = dir + "/" + e.Name
			}
			out[p] = e
			if e.IsDir() {
				walk(p)
			}
		}
	}
	walk("")
	return out
}

var kindType = map[st.Kind]uint32{st.File: unix.S_IFREG, st.Dir: unix.S_IFDIR, st.Symlink: unix.S_IFLNK,
	st.CharDev: unix.S_IFCHR, st.BlockDev: unix.S_IFBLK, st.Fifo: unix.S_IFIFO, st.Socket: unix.S_IFSOCK}

// TestViewMatchesModel checks every path of the view against the
// reference model: which layer shows it, and what it shows.
func TestViewMatchesModel(t *testing.T) {
	for _, layout := range viewLayouts {
		for name, layers := range viewCases() {
			for _, aufsLinks := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v/%s/aufs-links=%v", layout, name, aufsLinks), func(t *testing.T) {
					v, _ := openTestView(t, layout, aufsLinks, layers)
					got := walkView(t, v)
					inodes := map[uint64]string{}
					want := st.Merge(layers)
					for _, n := range want {
						e, ok := got[n.Path]
						if !ok {
							t.Errorf("%q: missing from the view", n.Path)
							continue
						}
						delete(got, n.Path)
						checkEntry(t, v, n, e, inodes)
					}
					for p := range got {
						t.Errorf("%q: in the view, not in the model", p)
					}
				})
			}
		}
	}
}

func checkEntry(t *testing.T, v *View, n st.Node, e Entry, inodes map[uint64]string) {
	t.Helper()
	if l, err := v.Lookup("/" + n.Path); err != nil || l != e {
		t.Errorf("%q: lookup gives %+v, %v; readdir %+v", n.Path, l, err, e)
	}
	if e.Layer != n.Layer || e.LayerID != v.Layers()[n.Layer].ID {
		t.Errorf("%q: from layer %d (%s), want %d", n.Path, e.Layer, e.LayerID, n.Layer)
	}
	typ := kindType[n.Entry.Kind]
	if e.Mode != typ|n.Entry.Mode && typ != unix.S_IFLNK {
		t.Errorf("%q: mode %o, want %o", n.Path, e.Mode, typ|n.Entry.Mode)
	}
	if e.Mode&unix.S_IFMT != typ {
		t.Errorf("%q: type %o, want %v", n.Path, e.Mode&unix.S_IFMT, n.Entry.Kind)
	}
	if e.Uid != uint32(n.Entry.UID) || e.Gid != uint32(n.Entry.GID) {
		t.Errorf("%q: owner %d:%d, want %d:%d", n.Path, e.Uid, e.Gid, n.Entry.UID, n.Entry.GID)
	}
	if !e.Mtime.Equal(n.Entry.Mtime) && n.Entry.Kind != st.Symlink {
		t.Errorf("%q: mtime %v, want %v", n.Path, e.Mtime, n.Entry.Mtime)
	}
	// Hard links: one inode number exactly for the names of one inode.
	origin := fmt.Sprintf("%d:%s", n.Layer, n.Origin)
	if o, seen := inodes[e.Ino]; seen && o != origin {
		t.Errorf("%q: inode %d also shows %s", n.Path, e.Ino, o)
	}
	inodes[e.Ino] = origin
	if n.Entry.Kind != st.Dir && int(e.Nlink) != n.Nlink {
		t.Errorf("%q: nlink %d, want %d", n.Path, e.Nlink, n.Nlink)
	}
	switch n.Entry.Kind {
	case st.File:
		f, err := v.Open(n.Path)
		if err != nil {
			t.Errorf("%q: %v", n.Path, err)
			break
		}
		data, err := io.ReadAll(f)
		f.Close()
		want, _ := io.ReadAll(st.Content(n.Entry))
		if err != nil || !bytes.Equal(data, want) {
			t.Errorf("%q: content %q (%v), want %q", n.Path, data, err, want)
		}
	case st.Symlink:
		if target, err := v.Readlink(n.Path); err != nil || target != n.Entry.Target {
			t.Errorf("%q: readlink %q, %v; want %q", n.Path, target, err, n.Entry.Target)
		}
	case st.CharDev, st.BlockDev:
		if e.Rdev != unix.Mkdev(n.Entry.Major, n.Entry.Minor) {
			t.Errorf("%q: rdev %d:%d, want %d:%d", n.Path, unix.Major(e.Rdev), unix.Minor(e.Rdev), n.Entry.Major, n.Entry.Minor)
		}
	}
	x, err := v.Xattrs(n.Path)
	if err != nil {
		t.Errorf("%q: %v", n.Path, err)
	}
	if len(x) != len(n.Entry.Xattrs) {
		t.Errorf("%q: xattrs %q, want %q", n.Path, x, n.Entry.Xattrs)
	}
	for k, val := range n.Entry.Xattrs {
		if string(x[k]) != val {
			t.Errorf("%q: xattr %s = %q, want %q", n.Path, k, x[k], val)
		}
	}
}

func TestViewErrors(t *testing.T) {
	v, _ := openTestView(t, layerstore.LayoutCAS, false, []*st.Layer{
		vl(st.L("etc", "/"), st.L("trap", "/etc"), st.F("file", "f"), st.WH("gone"), st.Mknod("fifo", st.Fifo, 0, 0)),
		vl(st.F("etc/hostname", "img"), st.D("trap"), st.F("gone", "g"), st.F("real/x", "x")),
	})
	tests := []struct {
		op, path string
		want     error
	}{
		{"lookup", "nothing", syscall.ENOENT},
		{"lookup", "gone", syscall.ENOENT},
		{"lookup", ".wh.gone", syscall.ENOENT},
		{"lookup", "etc/hostname", syscall.ENOTDIR}, // through a symlink: never followed
		{"lookup", "trap/passwd", syscall.ENOTDIR},
		{"lookup", "file/x", syscall.ENOTDIR},
		{"lookup", "../../../real/x", nil}, // ".." never leaves the root
		{"lookup", "/real/./../real//x", nil},
		{"readdir", "file", syscall.ENOTDIR},
		{"readdir", "etc", syscall.ENOTDIR},
		{"readlink", "file", syscall.EINVAL},
		{"open", "fifo", nil}, // refused, below
		{"open", "etc", nil},
		{"xattrs", "etc/hostname", syscall.ENOTDIR},
	}
	for _, tt := range tests {
		var err error
		switch tt.op {
		case "lookup":
			_, err = v.Lookup(tt.path)
		case "readdir":
			_, err = v.ReadDir(tt.path)
		case "readlink":
			_, err = v.Readlink(tt.path)
		case "xattrs":
			_, err = v.Xattrs(tt.path)
		case "open":
			var f interface{ Close() error }
			f, err = v.Open(tt.path)
			if err == nil {
				f.Close()
				t.Errorf("open %q: opened a non-regular file", tt.path)
			} else if !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("open %q: %v", tt.path, err)
			}
			continue
		}
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s %q: %v, want %v", tt.op, tt.path, err, tt.want)
		}
		var pe *iofs.PathError
		if err != nil && (!errors.As(err, &pe) || pe.Path != tt.path) {
			t.Errorf("%s %q: %v does not name the path", tt.op, tt.path, err)
		}
	}
	if target, err := v.Readlink("/trap"); err != nil || target != "/etc" {
		t.Errorf("readlink trap: %q, %v", target, err)
	}
}

// showProviders renders Which's answer as "layer:reason[:by:at]" items.
func showProviders(ps []Provider) string {
	var parts []string
	for _, p := range ps {
		s := fmt.Sprintf("%d:%v", p.Layer, p.Reason)
		if p.Hidden() {
			s += fmt.Sprintf(":%d:%s", p.By, p.At)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func TestWhich(t *testing.T) {
	tests := []struct {
		rule   string
		layers []*st.Layer // top first
		path   string
		want   string // "" for ENOENT
	}{
		{"one layer", []*st.Layer{vl(st.F("a", "a")), vl(st.F("b", "b"))}, "/a", "0:shown"},
		{"a lower file is shadowed", []*st.Layer{vl(st.F("a", "new")), vl(st.F("a", "old"))}, "/a", "0:shown; 1:shadowed:0:/a"},
		{"whited out, not in the view", []*st.Layer{vl(st.WH("a")), vl(st.F("a", "a"))}, "a", "1:whited out:0:/a"},
		{"whited out in the middle", []*st.Layer{vl(st.F("a", "a")), vl(st.WH("a")), vl(st.F("a", "a"))}, "a", "0:shown; 2:whited out:1:/a"},
		{"same-layer whiteout and entry", []*st.Layer{vl(st.WH("a"), st.F("a", "new")), vl(st.F("a", "old"))}, "a", "0:shown; 1:whited out:0:/a"},
		{"a parent whited out", []*st.Layer{vl(st.WH("d")), vl(st.F("d/x", "x"))}, "d/x", "1:whited out:0:/d"},
		{"under an opaque directory", []*st.Layer{vl(st.OPQ("d"), st.F("d/y", "y")), vl(st.F("d/x", "x"))}, "d/x", "1:under opaque directory:0:/d"},
		{"an opaque directory", []*st.Layer{vl(st.OPQ("d"), st.F("d/y", "y")), vl(st.F("d/x", "x"))}, "d", "0:shown; 1:under opaque directory:0:/d"},
		{"opaque in the middle", []*st.Layer{vl(st.F("d/a", "a")), vl(st.OPQ("d")), vl(st.D("d"))}, "d", "0:shown; 1:merged; 2:under opaque directory:1:/d"},
		{"merged directories", []*st.Layer{vl(st.F("d/a", "a")), vl(st.F("d/b", "b")), vl(st.F("x", ""))}, "d", "0:shown; 1:merged"},
		{"the root", []*st.Layer{vl(st.F("a", "")), vl(st.F("b", "")), vl(st.F("c", ""))}, "/", "0:shown; 1:merged; 2:merged"},
		{"an opaque root", []*st.Layer{vl(st.OPQ(""), st.F("only", "")), vl(st.F("gone", ""))}, "", "0:shown; 1:under opaque directory:0:/"},
		{"under an opaque root", []*st.Layer{vl(st.OPQ(""), st.F("only", "")), vl(st.F("gone", ""))}, "gone", "1:under opaque directory:0:/"},
		{"no merging through a file", []*st.Layer{vl(st.F("d/top", "")), vl(st.F("d", "file")), vl(st.F("d/bottom", ""))}, "d",
			"0:shown; 1:shadowed:0:/d; 2:shadowed:1:/d"},
		{"below a file", []*st.Layer{vl(st.F("d/top", "")), vl(st.F("d", "file")), vl(st.F("d/bottom", ""))}, "d/bottom", "2:shadowed:1:/d"},
		{"a directory over a file", []*st.Layer{vl(st.D("d")), vl(st.F("d", "f"))}, "d", "0:shown; 1:shadowed:0:/d"},
		{"below a symlink", []*st.Layer{vl(st.L("d", "/etc")), vl(st.F("d/x", "x"))}, "d/x", "1:shadowed:0:/d"},
		{"a whiteout below an entry", []*st.Layer{vl(st.F("a", "")), vl(st.WH("a"))}, "a", "0:shown"},
		{"nowhere", []*st.Layer{vl(st.F("a", ""))}, "b", ""},
		{"a whiteout's own name", []*st.Layer{vl(st.WH("a")), vl(st.F("a", ""))}, ".wh.a", ""},
		{"deep", []*st.Layer{vl(st.F("a/b/c/d", "1")), vl(st.F("a/b/c/d", "2")), vl(st.WH("a/b")), vl(st.F("a/b/c/d", "3"))}, "a/b/c/d",
			"0:shown; 1:shadowed:0:/a/b/c/d; 3:whited out:2:/a/b"},
	}
	for _, tt := range tests {
		for _, layout := range viewLayouts {
			v, _ := openTestView(t, layout, layout == layerstore.LayoutGraph, tt.layers)
			ps, err := v.Which(tt.path)
			if tt.want == "" {
				if !errors.Is(err, syscall.ENOENT) {
					t.Errorf("%s (%v): which %q = %q, %v; want ENOENT", tt.rule, layout, tt.path, showProviders(ps), err)
				}
				continue
			}
			if err != nil || showProviders(ps) != tt.want {
				t.Errorf("%s (%v): which %q = %q, %v; want %q", tt.rule, layout, tt.path, showProviders(ps), err, tt.want)
				continue
			}
			// The shown one is what Lookup gives, with the layer's details.
			if e, err := v.Lookup(tt.path); err == nil && (ps[0].Entry != e || ps[0].LayerID != e.LayerID || ps[0].Dir != v.Layers()[e.Layer].Dir) {
				t.Errorf("%s: which %q shows %+v in %s; lookup %+v", tt.rule, tt.path, ps[0].Entry, ps[0].Dir, e)
			}
			for _, p := range ps {
				if p.Dir != v.Layers()[p.Layer].Dir || p.Entry.LayerID != p.LayerID {
					t.Errorf("%s: which %q: provider %+v: wrong layer details", tt.rule, tt.path, p)
				}
			}
		}
	}
}

// TestWhichAgreesWithView checks, on a generated image, that for every
// path of every layer Which's shown provider is the view's.
func TestWhichAgreesWithView(t *testing.T) {
	layers := st.Generate(st.GenOptions{Seed: 3, Layers: 6, Entries: 600, MaxSize: 64})
	slices.Reverse(layers)
	v, _ := openTestView(t, layerstore.LayoutCAS, false, layers)
	seen := map[string]bool{}
	for i := range layers {
		err := v.WalkLayer(i, func(p string, kind ChangeKind, isDir bool) error {
			if seen[p] {
				return nil
			}
			seen[p] = true
			ps, err := v.Which(p)
			e, lerr := v.Lookup(p)
			switch {
			case err != nil && kind == Holds:
				t.Errorf("which %q: %v, but layer %d holds it", p, err, i)
			case lerr == nil && (err != nil || ps[0].Reason != Shown || ps[0].Layer != e.Layer):
				t.Errorf("which %q = %q, %v; the view shows it from layer %d", p, showProviders(ps), err, e.Layer)
			case lerr != nil && err == nil && !ps[0].Hidden():
				t.Errorf("which %q = %q; not in the view (%v)", p, showProviders(ps), lerr)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) < 500 {
		t.Fatalf("only %d paths walked", len(seen))
	}
}

func TestWalkLayer(t *testing.T) {
	for _, aufsLinks := range []bool{false, true} {
		v, _ := openTestView(t, layerstore.LayoutGraph, aufsLinks, []*st.Layer{
			vl(st.F("a/f", "f"), st.WH("a/g"), st.OPQ("b"), st.F("b/x", ""), st.L("c", "/"), st.F(".wh..wh.other", ""),
				st.F("d/.wh..", ""), st.OPQ(""), st.WH("e")),
			vl(st.F("below", "")),
		})
		var got []string
		err := v.WalkLayer(0, func(p string, kind ChangeKind, isDir bool) error {
			got = append(got, fmt.Sprintf("%d:%s:%v", kind, p, isDir))
			return nil
		})
		// In the order of the names on disk: ".wh.e" before "a", ".wh.g" before "f".
		want := []string{"0::true", "2::true", "1:e:false", "0:a:true", "1:a/g:false", "0:a/f:false", "0:b:true", "2:b:true",
			"0:b/x:false", "0:c:false", "0:d:true"}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("aufs links %v: walk = %q, %v\nwant %q", aufsLinks, got, err, want)
		}
	}
}
