package layertar_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// freshLayers are layers with every kind of entry, whiteouts and opaque
// directories, hard links and extended attributes, over one another.
func freshLayers() []*st.Layer {
	l := func(e ...st.Entry) *st.Layer { return st.NewLayer("RUN step", e...) }
	return []*st.Layer{
		l(st.D("etc").WithMode(0750), st.F("etc/passwd", "root:x:0:0\n"), st.F("etc/motd", "hi\n").WithOwner(7, 8),
			st.F("bin/busybox", "bb").WithMode(04755), st.H("bin/sh", "bin/busybox"), st.H("bin/ls", "bin/busybox"),
			st.L("bin/vi", "busybox"), st.L("lib", "/usr/lib"), st.Mknod("dev/null", st.CharDev, 1, 3),
			st.Mknod("dev/sda", st.BlockDev, 8, 0), st.Entry{Path: "run/fifo", Kind: st.Fifo},
			st.D("var/cache/app"), st.F("var/cache/app/a", "a"), st.F("var/cache/app/sub/b", "b"),
			st.F("ping", "p").WithXattr("security.capability", capNetRaw()).WithXattr("user.mime", "text/plain"),
			st.Big("big", 3<<20+17), st.F("empty", ""), st.F("odd name\twith\nbytes\xff", "x"),
			st.F(strings.Repeat("long/", 30)+"file", "deep")),
		l(st.WH("etc/motd"), st.WH("bin/vi"), st.OPQ("var/cache/app"), st.F("var/cache/app/c", "c"),
			st.F("etc/passwd", "root:x:0:0\nbin:x:1:1\n"), st.D("newdir").WithMode(0700).WithOwner(1000, 1000),
			st.WH("var/cache/app/sub"), st.F("bin/busybox", "bb2").WithMode(0755), st.H("bin/sh2", "bin/busybox")),
	}
}

func capNetRaw() string {
	b := make([]byte, 20)
	b[3] = 0x02
	b[5] = 1 << 5
	return string(b)
}

// stacked are the drivers whose layers are diffs.
var stacked = []struct {
	name string
	s    st.Store
}{
	{"aufs", st.Store{Driver: st.DriverAufs}},
	{"aufs-live", st.Store{Driver: st.DriverAufs, AufsHardlinkWhiteouts: true}},
	{"overlay2", st.Store{Driver: st.DriverOverlay2}},
	{"overlay2-rootless", st.Store{Driver: st.DriverOverlay2, Rootless: true}},
	{"fuse-overlayfs", st.Store{Driver: st.DriverFuseOverlayfs}},
	{"fuse-overlayfs-devices", st.Store{Driver: st.DriverFuseOverlayfs, FuseOverlayfsDevices: true}},
}

// tarEntry is what a tar says of one name.
type tarEntry struct {
	typ                byte
	mode               int64
	uid, gid           int
	mtime              int64
	size               int64
	link               string
	major, minor       int64
	xattrs, contentSum string
}

// readTar reads a tar into its entries by name (no "./", no trailing
// slash), checking the order: every directory before what it holds.
func readTar(t *testing.T, data []byte) (map[string]tarEntry, []string) {
	t.Helper()
	out := map[string]tarEntry{}
	var order []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, order
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
		if name == "." || name == "" {
			continue
		}
		sum := sha256.New()
		io.Copy(sum, tr)
		var xs []string
		for k, v := range h.PAXRecords {
			if strings.HasPrefix(k, "SCHILY.xattr.") {
				xs = append(xs, k+"="+hex.EncodeToString([]byte(v)))
			}
		}
		sort.Strings(xs)
		e := tarEntry{h.Typeflag, h.Mode, h.Uid, h.Gid, h.ModTime.Unix(), h.Size, h.Linkname, h.Devmajor, h.Devminor, strings.Join(xs, ","), hex.EncodeToString(sum.Sum(nil))}
		if h.ModTime.Nanosecond() != 0 || !h.AccessTime.IsZero() || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: mtime %v, atime %v, names %q %q: want whole seconds, no atime, no names", name, h.ModTime, h.AccessTime, h.Uname, h.Gname)
		}
		if _, dup := out[name]; dup {
			t.Errorf("%s: twice in the tar", name)
		}
		out[name] = e
		order = append(order, name)
	}
}

// TestFreshLike writes each layer of every stacking driver's store as a
// fresh tar and checks it against the layer's original tar: the same
// entries with the same headers and contents, the whiteouts and opaque
// markers in the OCI form whatever the driver's own, no bookkeeping, no
// private attribute; and that FreshSize foretells its size.
func TestFreshLike(t *testing.T) {
	for _, dc := range stacked {
		t.Run(dc.name, func(t *testing.T) {
			layers := freshLayers()
			img := &st.Image{Names: []string{"t:1"}, Layers: layers}
			s := dc.s
			s.Images = []*st.Image{img}
			b, err := s.Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
			if err != nil {
				t.Fatal(err)
			}
			enc := map[string]*whiteout.Encoding{st.DriverAufs: whiteout.Aufs, st.DriverOverlay2: whiteout.Overlay, st.DriverFuseOverlayfs: whiteout.FuseOverlayfs}[b.Driver]
			for i, l := range layers {
				f := layertar.Fresh{Layer: layertar.Layer{Dir: b.LayerDir(img, i), Encoding: enc}}
				size, n, err := layertar.FreshSize(f)
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				rep, err := layertar.WriteFresh(f, &buf, nil)
				if err != nil {
					t.Fatal(err)
				}
				if size != int64(buf.Len()) || rep.Size != size || n != rep.Entries {
					t.Errorf("layer %d: FreshSize %d (%d entries), WriteFresh wrote %d (%d entries, says %d)", i, size, n, buf.Len(), rep.Entries, rep.Size)
				}
				if sum := sha256.Sum256(buf.Bytes()); rep.Digest != "sha256:"+hex.EncodeToString(sum[:]) {
					t.Errorf("layer %d: digest %s, not the stream's", i, rep.Digest)
				}
				var orig bytes.Buffer
				if err := st.WriteTar(&orig, l); err != nil {
					t.Fatal(err)
				}
				got, order := readTar(t, buf.Bytes())
				want, _ := readTar(t, orig.Bytes())
				compareTars(t, fmt.Sprintf("layer %d", i), want, got)
				for j, name := range order {
					if strings.HasSuffix(name, "/"+whiteout.OpaqueName) && (j == 0 || order[j-1] != dirOf(name)) {
						t.Errorf("layer %d: %s is not first in its directory", i, name)
					}
				}
			}
		})
	}
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// compareTars holds a fresh tar against the original: headers equal but
// for markers (whose headers are the writer's: only the name counts) and
// hard links (the same groups, whichever name holds the content).
func compareTars(t *testing.T, what string, want, got map[string]tarEntry) {
	t.Helper()
	group := func(m map[string]tarEntry, name string) string {
		if e := m[name]; e.typ == tar.TypeLink {
			return e.link
		}
		return name
	}
	members := func(m map[string]tarEntry) map[string][]string {
		g := map[string][]string{}
		for name := range m {
			g[group(m, name)] = append(g[group(m, name)], name)
		}
		for k := range g {
			sort.Strings(g[k])
		}
		return g
	}
	wg, gg := members(want), members(got)
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: %q missing from the fresh tar", what, name)
			continue
		}
		base := name[strings.LastIndexByte(name, '/')+1:]
		if strings.HasPrefix(base, whiteout.Prefix) {
			if g.typ != tar.TypeReg || g.size != 0 {
				t.Errorf("%s: marker %q: type %c size %d, want an empty file", what, name, g.typ, g.size)
			}
			continue
		}
		if w.typ == tar.TypeLink || g.typ == tar.TypeLink {
			if !equalStrings(wg[group(want, name)], gg[group(got, name)]) {
				t.Errorf("%s: %q: hard-link group %q, want %q", what, name, gg[group(got, name)], wg[group(want, name)])
			}
			w, g = want[group(want, name)], got[group(got, name)]
		}
		if w != g {
			t.Errorf("%s: %q:\n\twant %+v\n\tgot  %+v", what, name, w, g)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: %q in the fresh tar only", what, name)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSize checks that Size, from the tar-split alone, is the length of
// the stream Write rebuilds, for each layer of each driver.
func TestSize(t *testing.T) {
	for _, dc := range append(stacked, struct {
		name string
		s    st.Store
	}{"vfs", st.Store{Driver: st.DriverVFS}}) {
		t.Run(dc.name, func(t *testing.T) {
			img := &st.Image{Names: []string{"t:1"}, Layers: freshLayers()}
			s := dc.s
			s.Images = []*st.Image{img}
			b, err := s.Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
			if err != nil {
				t.Fatal(err)
			}
			store, err := layerstore.Open(b.Root)
			if err != nil {
				t.Fatal(err)
			}
			tg, err := store.Resolve("t:1")
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range tg.Layers {
				size, err := layertar.Size(layerstore.TarLayer(l))
				if err != nil {
					t.Fatal(err)
				}
				var n countWriter
				rep, err := layertar.Write(layerstore.TarLayer(l), &n, nil)
				if err != nil {
					t.Fatal(err)
				}
				if size != int64(n) || rep.Digest != l.DiffID {
					t.Errorf("layer %s: Size %d, Write %d bytes, digest %s (diff id %s)", l.ID, size, n, rep.Digest, l.DiffID)
				}
			}
		})
	}
}

// TestWriteChanged changes files of a layer every way there is (content,
// shorter, longer, gone, unreadable as a directory) and checks that Write
// finds each and keeps the stream's shape.
func TestWriteChanged(t *testing.T) {
	img := &st.Image{Names: []string{"t:1"}, Layers: freshLayers()}
	b, err := (&st.Store{Driver: st.DriverAufs, Images: []*st.Image{img}}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	dir := b.LayerDir(img, 0)
	for p, data := range map[string]string{"etc/passwd": "ROOT:x:0:0\n", "ping": "", "etc/motd": "hello there\n"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(data), 0644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(dir, "empty")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "var/cache/app/a")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "var/cache/app/a"), 0755); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, "big"), 1<<20); err != nil {
		t.Fatal(err)
	}
	store, err := layerstore.Open(b.Root)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := store.Resolve("t:1")
	if err != nil {
		t.Fatal(err)
	}
	l := tg.Layers[len(tg.Layers)-1]
	rep, err := layertar.Write(layerstore.TarLayer(l), io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.String())
	}
	want := []string{
		"/etc/passwd: content changed (crc64 differs)",
		"/etc/motd: size 12, was 3",
		"/var/cache/app/a: unreadable: read var/cache/app/a: is a directory",
		"/ping: size 0, was 1",
		"/big: size 1048576, was 3145745",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s", strings.Join(got, "\n"))
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// TestFreshWhole writes vfs layers, each a whole tree, as diffs against
// the tree below: nothing for what is the same, the changes, and a
// whiteout for each name gone; the base layer is its whole tree.
func TestFreshWhole(t *testing.T) {
	layers := freshLayers()
	img := &st.Image{Names: []string{"t:1"}, Layers: layers}
	b, err := (&st.Store{Driver: st.DriverVFS, Images: []*st.Image{img}}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	whole := layertar.Layer{Dir: b.LayerDir(img, 1), Encoding: whiteout.None, Whole: true}
	if _, _, err := layertar.FreshSize(layertar.Fresh{Layer: whole}); !errors.Is(err, layertar.ErrWholeTree) {
		t.Errorf("FreshSize of a whole tree without a base: %v, want ErrWholeTree", err)
	}
	same := layertar.Fresh{Layer: layertar.Layer{Dir: b.LayerDir(img, 0), Encoding: whiteout.None, Whole: true}, Base: b.LayerDir(img, 0)}
	if _, n, err := layertar.FreshSize(same); err != nil || n != 0 {
		t.Errorf("a tree against itself: %d entries, %v; want none", n, err)
	}
	diff := layertar.Fresh{Layer: whole, Base: b.LayerDir(img, 0), BaseEncoding: whiteout.None}
	var buf bytes.Buffer
	if _, err := layertar.WriteFresh(diff, &buf, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := readTar(t, buf.Bytes())
	for _, name := range []string{"etc/.wh.motd", "bin/.wh.vi", "var/cache/app/.wh.a", "var/cache/app/.wh.sub", "var/cache/app/c", "etc/passwd", "newdir", "bin/busybox", "bin/sh2"} {
		if _, ok := got[name]; !ok {
			t.Errorf("the diff lacks %q: %v", name, keys(got))
		}
	}
	for _, name := range []string{"ping", "big", "dev/null", "etc/.wh.passwd"} {
		if _, ok := got[name]; ok {
			t.Errorf("the diff has %q, which did not change", name)
		}
	}
}

func keys(m map[string]tarEntry) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
