package integration

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	afs "github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/fs/kernelview"
	"github.com/aufsmount/aufsmount/fs/mounttable"
	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// The kernel path (package kernelview): every store the tests build,
// mounted with it, must show the whole tree the fixture's model says
// (types, modes, owners, sizes, times, targets, xattrs, contents,
// hard-link groups), keep its inode numbers across a drop_caches, and
// leave the store as it was, atimes included. What the kernel numbers
// its own way (inode numbers, a merged directory's link count, the size,
// blocks and ctime of the directories it shows from a shim) is nothing
// the model says. Layers no model describes (the merge corpus, the
// hand-written hostile layers) are compared with the FUSE view instead,
// allowing those differences and nothing else.

// requireKernelView is testenv.FUSE for the kernel path.
func requireKernelView(t testing.TB) {
	t.Helper()
	testenv.FUSE(t)
	err := kernelview.Available()
	testenv.Require(t, err == nil, "no kernel path: %v", err)
}

// fuseMountLayers mounts layers (with their encodings and markers) as the
// command does, through FUSE in this process.
func fuseMountLayers(t testing.TB, layers []afs.Layer) string {
	t.Helper()
	mnt := t.TempDir()
	srv, err := afs.Mount(mnt, layers, afs.Options{FsName: "test", DefaultPermissions: true})
	if err != nil {
		t.Fatalf("mounting %d layers through FUSE: %v", len(layers), err)
	}
	t.Cleanup(func() { unmountServer(t, srv, mnt) })
	return mnt
}

// kernelMountLayers mounts layers with the kernel path.
func kernelMountLayers(t testing.TB, layers []afs.Layer) (string, *kernelview.Mounted, error) {
	t.Helper()
	mnt := t.TempDir()
	m, err := kernelview.Mount(mnt, layers, kernelview.Options{Source: "test"})
	if err != nil {
		return "", nil, err
	}
	t.Cleanup(func() {
		if err := m.Unmount(); err != nil {
			t.Errorf("unmounting the kernel view: %v", err)
			forceUnmount(mnt)
		}
	})
	return mnt, m, nil
}

// aufsLayers are dirs (top first) as aufs layers.
func aufsLayers(dirs []string) []afs.Layer {
	var out []afs.Layer
	for _, d := range dirs {
		out = append(out, afs.Layer{ID: filepath.Base(d), Dir: d})
	}
	return out
}

// refLayers resolves ref in the store at root as the command does, markers
// recovered from the tar-splits included.
func refLayers(t testing.TB, root, ref string) []afs.Layer {
	t.Helper()
	s, err := layerstore.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := s.Resolve(ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecoverMarkers(tg); err != nil {
		t.Fatal(err)
	}
	var out []afs.Layer
	for _, l := range tg.Stack {
		out = append(out, afs.Layer{ID: l.ID, Dir: l.Dir, Encoding: l.Encoding, Markers: l.Markers})
	}
	return out
}

// dropCaches makes the kernel forget every dentry, inode and cached page
// it can.
func dropCaches(t testing.TB) {
	t.Helper()
	unix.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0); err != nil {
		t.Fatalf("drop_caches: %v", err)
	}
}

// kernelReadAll is roReadAll for a kernel view, which has no
// user.aufsmount.layer: every file read (without O_NOATIME), every link
// read and followed, every directory listed, every xattr read.
func kernelReadAll(t *testing.T, mnt string) {
	t.Helper()
	err := filepath.WalkDir(mnt, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if _, err := xattrs(p); err != nil {
			return err
		}
		if _, err := unix.Lgetxattr(p, afs.LayerXattr, make([]byte, 256)); err != unix.ENODATA {
			return fmt.Errorf("getxattr %s %s: %v, want ENODATA", p, afs.LayerXattr, err)
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
}

// kernelDiffs compares the FUSE view's walk (want) with the kernel
// view's (got), allowing only the kernel's differences by design.
func kernelDiffs(want, got map[string]info, m *kernelview.Mounted) []string {
	copied := map[string]bool{}
	for _, p := range m.Copied {
		copied[p] = true
	}
	return diffTrees(want, got, func(p string, w, g *info) {
		if g.Mode&unix.S_IFMT != unix.S_IFDIR {
			return
		}
		if g.Nlink == 1 {
			w.Nlink = 1 // a merged directory
		}
		if copied[p] {
			w.Size, w.Blocks, w.Ctime = g.Size, g.Blocks, g.Ctime
		}
	})
}

// inoChanges lists the paths whose inode number differs between walks.
func inoChanges(before, after map[string]info) []string {
	var out []string
	for p, b := range before {
		if a, ok := after[p]; ok && a.Ino != b.Ino {
			out = append(out, fmt.Sprintf("%q: inode %d, then %d", p, b.Ino, a.Ino))
		}
	}
	sort.Strings(out)
	return out
}

// kernelCompare is how a kernel view is compared with the model. Every
// check of st.Compare holds as it is: the kernel's own numbering (inode
// numbers, a merged directory's link count, a shim directory's size,
// blocks and ctime) is nothing Compare looks at, which compares inodes
// as hard-link groups and leaves directories' link counts alone.
var kernelCompare = st.CompareOptions{}

// checkKernel mounts layers with the kernel path, lets compare check
// what it shows, then checks what holds for every kernel view: every
// entry reads, inode numbers stay across a drop_caches, and root (the
// store, or the directory holding the layers) is not changed by the
// mount or the reads, atimes included. It returns the kernel mount's
// figures, or nil when the kernel path refused (the refusal is
// returned; allowed says which reasons may be).
func checkKernel(t *testing.T, root string, layers []afs.Layer, compare func(kmnt string, m *kernelview.Mounted), allowed ...kernelview.Reason) (*kernelview.Mounted, *kernelview.RefusedError) {
	t.Helper()
	// The fixture's writes settle first: writeback can change a file's
	// block count after the fact (a content blob of a containerd root),
	// and the sync below would then seem to be the view's doing.
	unix.Sync()
	before := roSnap(t, root)
	kmnt, m, err := kernelMountLayers(t, layers)
	if err != nil {
		r, ok := kernelview.IsRefused(err)
		if !ok {
			t.Fatalf("kernel mount: %v", err)
		}
		for _, a := range allowed {
			if r.Reason == a {
				checkStoreUnchanged(t, root, "a refused kernel mount", before)
				return nil, r
			}
		}
		t.Fatalf("kernel path refused: %v", err)
	}
	checkStoreUnchanged(t, root, "the kernel mount", before)
	compare(kmnt, m)
	kern := walk(t, kmnt)
	kernelReadAll(t, kmnt)
	dropCaches(t)
	if ch := inoChanges(kern, walk(t, kmnt)); len(ch) > 0 {
		t.Errorf("kernel view: inode numbers changed across drop_caches:\n%s", strings.Join(head(ch, 10), "\n"))
	}
	checkStoreUnchanged(t, root, "reading the kernel view", before)
	return m, nil
}

// checkKernelModel checks the kernel view of layers against want, the
// fixture's model of the image (never against another view of ours: a
// rule broken in both would pass).
func checkKernelModel(t *testing.T, root string, layers []afs.Layer, want []st.Node) *kernelview.Mounted {
	t.Helper()
	m, _ := checkKernel(t, root, layers, func(kmnt string, m *kernelview.Mounted) {
		if err := st.Compare(kmnt, want, kernelCompare); err != nil {
			t.Errorf("kernel view (%d shims, %d copied directories): %v", m.Shims, len(m.Copied), err)
		}
	})
	return m
}

// checkKernelView compares the kernel view of layers with their FUSE
// view. It is for layers no model describes (the merge corpus's random
// stacks, hand-written hostile layers): there the two views are each
// other's only check.
func checkKernelView(t *testing.T, root string, layers []afs.Layer, allowed ...kernelview.Reason) (*kernelview.Mounted, *kernelview.RefusedError) {
	t.Helper()
	before := roSnap(t, root)
	fmnt := fuseMountLayers(t, layers)
	fuse := walk(t, fmnt)
	m, r := checkKernel(t, root, layers, func(kmnt string, m *kernelview.Mounted) {
		if diffs := kernelDiffs(fuse, walk(t, kmnt), m); len(diffs) > 0 {
			t.Errorf("FUSE view (want) and kernel view (got) differ (%d shims):\n%s", m.Shims, strings.Join(head(diffs, 30), "\n"))
		}
	}, allowed...)
	if m != nil { // checkKernel dropped the caches
		if ch := inoChanges(fuse, walk(t, fmnt)); len(ch) > 0 {
			t.Errorf("FUSE view: inode numbers changed across drop_caches:\n%s", strings.Join(head(ch, 10), "\n"))
		}
	}
	checkStoreUnchanged(t, root, "the FUSE view", before)
	return m, r
}

// onlyImage is the image of a store buildImage wrote.
func onlyImage(t testing.TB, b *st.Built) *st.Image {
	t.Helper()
	if len(b.Chain) != 1 {
		t.Fatalf("%d images in the store, want 1", len(b.Chain))
	}
	for img := range b.Chain {
		return img
	}
	return nil
}

func TestKernelRules(t *testing.T) {
	requireKernelView(t)
	for _, layout := range layouts {
		for _, tc := range ruleCases() {
			for _, aufsLinks := range []bool{false, true} {
				name := fmt.Sprintf("%v/%s", layout, tc.name)
				if aufsLinks {
					name += "/live-aufs-whiteouts"
				}
				t.Run(name, func(t *testing.T) {
					b, dirs := buildImage(t, layout, tc.layers, aufsLinks)
					checkKernelModel(t, b.Root, aufsLayers(dirs), b.View(onlyImage(t, b)))
				})
			}
		}
	}
}

func TestKernelLargeShapes(t *testing.T) {
	requireKernelView(t)
	// Whiteouts in every other layer, each of a file some layers down:
	// the shims pack them into few layers.
	var packed []*st.Layer
	for i := 0; i < 80; i++ {
		es := []st.Entry{st.F(fmt.Sprintf("p/%02d", i), fmt.Sprint(i)), st.F(fmt.Sprintf("q/%02d/x", i), "x")}
		if i >= 5 && i%2 == 1 {
			es = append(es, st.WH(fmt.Sprintf("p/%02d", i-5)), st.WH(fmt.Sprintf("q/%02d", i-3)))
		}
		if i%10 == 9 {
			es = append(es, st.OPQ(fmt.Sprintf("q/%02d", i-9)), st.F(fmt.Sprintf("q/%02d/new", i-9), "n"))
		}
		packed = append(packed, l(es...))
	}
	cases := append(largeShapes(), treeCase{"80 layers of whiteouts to pack", packed})
	for _, layout := range layouts {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%v/%s", layout, tc.name), func(t *testing.T) {
				b, dirs := buildImage(t, layout, tc.layers, false)
				m := checkKernelModel(t, b.Root, aufsLayers(dirs), b.View(onlyImage(t, b)))
				if m != nil {
					t.Logf("%d layers, %d shims (%d whiteouts, %d opaque, %d hidden), %d directories copied; prepare %v, build %v, mount %v",
						m.Layers, m.Shims, m.Whiteouts, m.Opaque, m.Hidden, len(m.Copied), m.Prepare, m.Build, m.Mount)
				}
			})
		}
	}
}

// TestKernelDrivers mounts every rule case, and the reference store's
// images and containers, in every driver's layout by reference, as the
// command resolves them.
func TestKernelDrivers(t *testing.T) {
	requireKernelView(t)
	for _, dc := range driverCases {
		for _, tc := range ruleCases() {
			t.Run(dc.name+"/"+tc.name, func(t *testing.T) {
				img := &st.Image{Names: []string{"test/image:latest"}, Layers: tc.layers}
				b := writeDriverStore(t, dc, []*st.Image{img}, nil)
				checkKernelModel(t, b.Root, refLayers(t, b.Root, "test/image:latest"), b.View(img))
			})
		}
		t.Run(dc.name+"/reference store", func(t *testing.T) {
			rs := refStoreOf(t, dc)
			for name, img := range map[string]*st.Image{"busybox": rs.busybox, "app": rs.app} {
				t.Run("image "+name, func(t *testing.T) {
					checkKernelModel(t, rs.b.Root, refLayers(t, rs.b.Root, rs.b.ImageID[img]), rs.b.View(img))
				})
			}
			for _, c := range []*st.Container{rs.web, rs.db} {
				t.Run("container "+c.Name, func(t *testing.T) {
					// The layers alone: Docker's binds are the command's, not the kernel path's.
					checkKernelModel(t, rs.b.Root, refLayers(t, rs.b.Root, rs.b.ContainerID[c]), rs.b.ContainerView(c))
				})
			}
		})
	}
}

// TestKernelDamagedStores mounts overlay2 and fuse-overlayfs stores
// copied without xattrs or device nodes: the markers the image layers'
// tar-splits record, and their directories lost, come back as shims.
func TestKernelDamagedStores(t *testing.T) {
	requireKernelView(t)
	for _, dc := range driverCases {
		if dc.store.Driver != st.DriverOverlay2 && dc.store.Driver != st.DriverFuseOverlayfs {
			continue
		}
		for _, loss := range []st.Loss{st.LostXattrs, st.LostDevices, st.LostXattrs | st.LostDevices} {
			for _, tc := range ruleCases() {
				t.Run(fmt.Sprintf("%s/loss %d/%s", dc.name, loss, tc.name), func(t *testing.T) {
					img := &st.Image{Names: []string{"test/image:latest"}, Layers: tc.layers}
					b := writeDriverStore(t, dc, []*st.Image{img}, nil)
					if _, err := b.Damage(loss); err != nil {
						t.Fatal(err)
					}
					layers := refLayers(t, b.Root, "test/image:latest")
					m := checkKernelModel(t, b.Root, layers, b.View(img))
					markers := 0
					for _, ly := range layers {
						markers += ly.Markers.Len()
					}
					if markers > 0 && m != nil && m.Whiteouts+m.Opaque == 0 {
						t.Errorf("%d markers recovered from the tar-splits, none in the shims", markers)
					}
				})
			}
		}
	}
}

// kernelFuzzNames are fs/merge_fuzz_test.go's fuzzNames: plain names,
// whiteouts, the opaque marker, bookkeeping, whiteouts of nothing.
var kernelFuzzNames = []string{
	"a", "b", ".wh",
	".wh.a", ".wh.b", ".wh..wh",
	".wh..wh..opq", ".wh..wh.aufs", ".wh..wh.plnk", ".wh..wh..opqx", ".wh..wh.",
	".wh.", ".wh..", ".wh...",
}

// kernelFuzzSeeds are FuzzMerge's seeds: one directory's listing per
// layer, top first, in aufs notation ("-": no such directory).
var kernelFuzzSeeds = [][]string{
	{"a b/ .wh"},
	{"a", "a b"},
	{"a/", "a/", "a/"},
	{".wh.a", "a b"},
	{"a .wh.a", "a"},
	{"a/ .wh.a", "a/"},
	{"a/", "a/ .wh.a", "a/"},
	{"a/", ".wh.a", "a/"},
	{".wh..wh..opq a", "b"},
	{"a", ".wh..wh..opq b", "a/ b/"},
	{".wh..wh.aufs .wh..wh.plnk/ a", ".wh..wh.plnk/"},
	{"a", "a/"},
	{"a/", "a", "a/"},
	{"a/", "-", "a/"},
	{".wh.. .wh... .wh.", "a"},
	{".wh..wh .wh..wh..opqx", ".wh a b/"},
	{".wh..wh.", "a/", "-", ".wh.b", "b/ a/", "a/ b"},
}

// fuzzLayer is one layer of a generated case: its encoding, and the
// listing of its root and of its directory d, in aufs notation.
type fuzzLayer struct {
	enc       *whiteout.Encoding
	root, sub []string // nil sub: no directory d
	device    bool     // write markers in the device and xattr form where the encoding can
}

// writeFuzzLayer writes one generated layer in dir. Entries the
// encoding cannot write as markers go down as plain entries of their
// aufs name: a differential test needs no model, any tree will do.
func writeFuzzLayer(t testing.TB, dir string, i int, fl fuzzLayer) {
	t.Helper()
	mtime := time.Unix(1_500_000_000+int64(i)*3600, int64(i))
	write := func(d string, names []string) {
		has := map[string]bool{}
		for _, n := range names {
			has[strings.TrimSuffix(n, "/")] = true
		}
		for _, n := range names {
			name, isDir := strings.CutSuffix(n, "/")
			p := filepath.Join(d, name)
			k, target := whiteout.Aufs.Classify(name, 0, 0)
			var err error
			switch {
			case k == whiteout.Whiteout && target != "" && fl.device && fl.enc.Devices && !has[target]:
				err = unix.Mknod(filepath.Join(d, target), unix.S_IFCHR|0o600, 0)
			case k == whiteout.Opaque && fl.device && len(fl.enc.OpaqueXattrs) > 0:
				err = unix.Setxattr(d, fl.enc.OpaqueXattrs[0], []byte("y"), 0)
			case isDir:
				if err = os.Mkdir(p, 0o755); err == nil && k == whiteout.Plain {
					err = os.WriteFile(filepath.Join(p, fmt.Sprintf("f%d", i)), []byte(fmt.Sprintf("%s in %d", p, i)), 0o644)
				}
			default:
				err = os.WriteFile(p, []byte(fmt.Sprintf("%s in layer %d", name, i)), 0o644)
			}
			if err != nil && !os.IsExist(err) {
				t.Fatalf("writing %s: %v", p, err)
			}
		}
	}
	write(dir, fl.root)
	if fl.sub != nil {
		d := filepath.Join(dir, "d")
		write(d, fl.sub)
		// Attributes that differ from layer to layer, for the shims to copy.
		os.Chmod(d, []os.FileMode{0o755, 0o700, 0o1777 | os.ModeSticky, 0o2750 | os.ModeSetgid}[i%4])
		os.Lchown(d, i, 100+i)
		unix.Setxattr(d, "user.layer", []byte(fmt.Sprint(i)), 0)
		os.Chtimes(d, mtime.Add(time.Minute), mtime)
	}
	os.Chtimes(dir, mtime.Add(time.Minute), mtime)
}

// parseListing reads "a b/ .wh.c" ("-" for none).
func parseListing(s string) []string {
	if s == "-" {
		return nil
	}
	f := strings.Fields(s)
	if f == nil {
		f = []string{}
	}
	return f
}

// randomListing draws a listing from the fuzz names.
func randomListing(rng *rand.Rand) []string {
	var out []string
	seen := map[string]bool{}
	for n := rng.Intn(6); n > 0; n-- {
		name := kernelFuzzNames[rng.Intn(len(kernelFuzzNames))]
		if seen[name] {
			continue
		}
		seen[name] = true
		if rng.Intn(3) == 0 {
			name += "/"
		}
		out = append(out, name)
	}
	return out
}

// fuzzCases are the seeds, in every encoding and at both depths (the
// listing as the root's, and as d's under plain roots), then random
// stacks of up to six layers mixing encodings.
func fuzzCases() [][]fuzzLayer {
	var cases [][]fuzzLayer
	for _, seed := range kernelFuzzSeeds {
		for _, enc := range whiteout.All {
			for _, device := range []bool{false, true} {
				if device && !enc.Devices {
					continue
				}
				var asRoot, asSub []fuzzLayer
				for _, s := range seed {
					asRoot = append(asRoot, fuzzLayer{enc: enc, root: parseListing(s), device: device})
					sub := parseListing(s)
					root := []string{"x"}
					if sub != nil {
						root = append(root, "d/")
					}
					asSub = append(asSub, fuzzLayer{enc: enc, root: root, sub: sub, device: device})
				}
				cases = append(cases, asRoot, asSub)
			}
		}
	}
	rng := rand.New(rand.NewSource(13))
	for i := 0; i < 300; i++ {
		n := 1 + rng.Intn(6)
		var c []fuzzLayer
		for j := 0; j < n; j++ {
			enc := whiteout.Aufs
			if rng.Intn(3) == 0 {
				enc = whiteout.All[rng.Intn(len(whiteout.All))]
			}
			fl := fuzzLayer{enc: enc, root: randomListing(rng), device: rng.Intn(2) == 0}
			switch rng.Intn(4) {
			case 0: // no d
			case 1:
				fl.root = append(fl.root, "d") // d a file
			case 2:
				fl.root = append(fl.root, ".wh.d")
				fallthrough
			default:
				fl.root = append(fl.root, "d/")
				fl.sub = randomListing(rng)
			}
			c = append(c, fl)
		}
		cases = append(cases, c)
	}
	return cases
}

// TestKernelMergeCorpus runs the merge fuzz corpus, and random stacks of
// its names, both ways.
func TestKernelMergeCorpus(t *testing.T) {
	requireKernelView(t)
	refused := map[kernelview.Reason]int{}
	cases := fuzzCases()
	for ci, c := range cases {
		var desc []string
		for _, fl := range c {
			desc = append(desc, fmt.Sprintf("%s%s: %s | d: %s", fl.enc.Name, map[bool]string{true: "+dev"}[fl.device], strings.Join(fl.root, " "), strings.Join(fl.sub, " ")))
		}
		t.Run(fmt.Sprint(ci), func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("layers, top first:\n%s", strings.Join(desc, "\n"))
				}
			}()
			base := tmpfsDir(t)
			var layers []afs.Layer
			for i, fl := range c {
				dir := filepath.Join(base, fmt.Sprint(i))
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				writeFuzzLayer(t, dir, i, fl)
				layers = append(layers, afs.Layer{ID: fmt.Sprint(i), Dir: dir, Encoding: fl.enc})
			}
			// A refusal must say why: a marker's name shown by an
			// overlay layer, a 0/0 device of an aufs notation the
			// encoding reads otherwise.
			_, r := checkKernelView(t, base, layers, kernelview.NameConflict, kernelview.OverlayContent)
			if r != nil {
				refused[r.Reason]++
				if testing.Verbose() {
					t.Logf("refused (%v): %s", r, strings.Join(desc, " || "))
				}
			}
		})
	}
	t.Logf("%d cases, refused: %v", len(cases), refused)
}

// TestKernelHostile mounts the hostile tests' stores that mount, and
// layers built to trip the kernel path: each mounts exactly, or is
// refused for its reason.
func TestKernelHostile(t *testing.T) {
	requireKernelView(t)
	single, long := everyByteNames()
	var lower, upper []st.Entry
	for _, dir := range []string{"", "in/"} {
		lower = append(lower, st.F(dir+long, "long lower"))
		upper = append(upper, st.F(dir+long, "long upper"))
		for i, name := range single {
			lower = append(lower, st.F(dir+name, fmt.Sprintf("lower %d", i)))
			switch i % 5 {
			case 0:
				upper = append(upper, st.WH(dir+name))
			case 1:
				upper = append(upper, st.F(dir+name, fmt.Sprintf("upper %d", i)))
			case 2:
				upper = append(upper, st.D(dir+name), st.F(dir+name+"/"+long, "inside"))
			}
		}
	}
	stores := []treeCase{
		{"host symlinks", []*st.Layer{
			l(st.L("etc", "/etc"), st.L("up", "../../../../etc"), st.L("root", "/"), st.L("deep/x", "/etc"),
				st.L("deep/y", "../../../../../../../../etc/hostname"), st.D("usr/share"), st.F("usr/share/low", "low")),
			l(st.D("etc"), st.F("etc/own", "own file"), st.D("up"), st.F("up/mine", "mine"), st.D("root"),
				st.D("deep/x"), st.L("usr/share", "/usr/share"), st.L("usr/lib", "/usr/lib")),
			l(st.D("usr/share"), st.F("usr/share/top", "top"), st.D("usr/lib"), st.L("etc/hosts", "/etc/hosts"), st.L("up/passwd", "/etc/passwd")),
		}},
		{"dot whiteouts", []*st.Layer{
			l(st.F("a", "a"), st.F("d/b", "b"), st.F("d/e/c", "c")),
			l(st.F(".wh..", ""), st.F(".wh...", ""), st.F(".wh.", ""), st.F("d/.wh..", ""), st.F("d/.wh..wh..", "")),
		}},
		{"every byte", []*st.Layer{l(lower...), l(upper...)}},
	}
	for _, layout := range layouts {
		for _, sc := range stores {
			t.Run(fmt.Sprintf("%v/%s", layout, sc.name), func(t *testing.T) {
				img := &st.Image{Names: []string{"hostile:latest"}, Layers: sc.layers}
				b := writeTestStore(t, &st.Store{Images: []*st.Image{img}}, layout)
				checkKernelModel(t, b.Root, refLayers(t, b.Root, "hostile:latest"), b.View(img))
			})
		}
	}
	t.Run("1000 layers", func(t *testing.T) {
		layers := make([]*st.Layer, 1000)
		for i := range layers {
			layers[i] = l(st.F(fmt.Sprintf("l/%04d", i), fmt.Sprint(i)))
		}
		img := &st.Image{Names: []string{"long:latest"}, Layers: layers}
		b := writeTestStore(t, &st.Store{Images: []*st.Image{img}}, layerstore.LayoutCAS)
		wantRefused(t, refLayers(t, b.Root, "long:latest"), kernelview.TooManyLayers)
	})
	t.Run("500 layers with shims", func(t *testing.T) {
		// 490 layers fit, but each whiteout below needs a shim of its own.
		layers := make([]*st.Layer, 490)
		for i := range layers {
			es := []st.Entry{st.F(fmt.Sprintf("l/%04d", i), fmt.Sprint(i))}
			if i > 0 && i%40 == 0 {
				es = append(es, st.WH(fmt.Sprintf("l/%04d", i-1)))
			}
			layers[i] = l(es...)
		}
		layers = append(layers, l(st.F("x", "x")), l(st.WH("l/0000")))
		img := &st.Image{Names: []string{"long:latest"}, Layers: layers}
		b := writeTestStore(t, &st.Store{Images: []*st.Image{img}}, layerstore.LayoutCAS)
		if err := kernelview.Check(refLayers(t, b.Root, "long:latest")); err != nil {
			r, ok := kernelview.IsRefused(err)
			if !ok || r.Reason != kernelview.TooManyLayers {
				t.Fatalf("Check: %v", err)
			}
		}
	})
	hostileLayers := []struct {
		name   string
		enc    *whiteout.Encoding
		write  func(t *testing.T, top, low string)
		reason kernelview.Reason // 0: mounts exactly
	}{
		{"trusted.overlay.opaque in an aufs layer", whiteout.Aufs, func(t *testing.T, top, low string) {
			mustMkdir(t, top, "d")
			mustXattr(t, filepath.Join(top, "d"), "trusted.overlay.opaque", "y")
		}, kernelview.OverlayContent},
		{"trusted.overlay.redirect in an aufs file", whiteout.Aufs, func(t *testing.T, top, low string) {
			mustWrite(t, top, "f")
			mustXattr(t, filepath.Join(top, "f"), "trusted.overlay.redirect", "/x")
		}, kernelview.OverlayContent},
		{"a 0/0 device in an aufs layer", whiteout.Aufs, func(t *testing.T, top, low string) {
			if err := unix.Mknod(filepath.Join(top, "a"), unix.S_IFCHR|0o600, 0); err != nil {
				t.Fatal(err)
			}
		}, kernelview.OverlayContent},
		{"a 0/0 device in a whole tree", whiteout.None, func(t *testing.T, top, low string) {
			if err := unix.Mknod(filepath.Join(top, "a"), unix.S_IFCHR|0o600, 0); err != nil {
				t.Fatal(err)
			}
		}, kernelview.OverlayContent},
		{"trusted.overlay.metacopy in an overlay layer", whiteout.Overlay, func(t *testing.T, top, low string) {
			mustWrite(t, top, "f")
			mustXattr(t, filepath.Join(top, "f"), "trusted.overlay.metacopy", "")
		}, kernelview.OverlayContent},
		{"user.overlay.opaque beside trusted.overlay.opaque", whiteout.Overlay, func(t *testing.T, top, low string) {
			mustMkdir(t, top, "d")
			mustMkdir(t, top, "e")
			mustXattr(t, filepath.Join(top, "d"), "trusted.overlay.opaque", "y")
			mustXattr(t, filepath.Join(top, "e"), "user.overlay.opaque", "y")
		}, kernelview.OverlayContent},
		{"user.fuseoverlayfs.opaque", whiteout.FuseOverlayfs, func(t *testing.T, top, low string) {
			mustMkdir(t, top, "d")
			mustXattr(t, filepath.Join(top, "d"), "user.fuseoverlayfs.opaque", "y")
		}, kernelview.OverlayContent},
		{"an overlay layer shows a file named as a lower aufs layer's marker", whiteout.Overlay, func(t *testing.T, top, low string) {
			mustWrite(t, top, ".wh.a")
			mustWrite(t, low, ".wh.a")
		}, 0},
		{"an overlay layer shows a directory named as a lower aufs layer's marker", whiteout.Overlay, func(t *testing.T, top, low string) {
			mustMkdir(t, top, ".wh..wh.plnk")
			mustWrite(t, filepath.Join(top, ".wh..wh.plnk"), "top")
			mustMkdir(t, low, ".wh..wh.plnk")
			mustWrite(t, filepath.Join(low, ".wh..wh.plnk"), "low")
		}, 0},
		{"an aufs marker above an overlay layer's entry of its name", whiteout.Aufs, func(t *testing.T, top, low string) {
			mustWrite(t, top, ".wh.m")
		}, kernelview.NameConflict},
		{"an overlay layer shows a .wh. name over plain aufs content", whiteout.Overlay, func(t *testing.T, top, low string) {
			mustWrite(t, top, ".wh.b")
			mustMkdir(t, top, "d")
			mustWrite(t, filepath.Join(top, "d"), ".wh..wh..opq")
			mustWrite(t, low, ".wh.c")
		}, 0},
		{"a rootless overlay layer (user.overlay.opaque) over aufs", whiteout.Overlay, func(t *testing.T, top, low string) {
			mustMkdir(t, top, "d")
			mustXattr(t, filepath.Join(top, "d"), "user.overlay.opaque", "y")
			mustWrite(t, filepath.Join(top, "d"), "new")
			mustWrite(t, low, ".wh..wh..opq")
			mustWrite(t, low, ".wh.x")
		}, 0},
		{"an opaque overlay root", whiteout.Overlay, func(t *testing.T, top, low string) {
			mustXattr(t, top, "trusted.overlay.opaque", "y")
			mustWrite(t, top, "new")
		}, 0},
		{"ACLs and setgid on a directory the shims copy", whiteout.Aufs, func(t *testing.T, top, low string) {
			mustMkdir(t, top, "acl")
			mustWrite(t, filepath.Join(top, "acl"), ".wh.zz") // a marker in the directory's topmost layer: copied
			mustXattr(t, filepath.Join(top, "acl"), "system.posix_acl_access", posixACL(0o7, 1000, 0o5, 0o5, 0o5, 0))
			mustXattr(t, filepath.Join(top, "acl"), "system.posix_acl_default", posixACL(0o7, 1000, 0o7, 0o5, 0o7, 0o1))
			if err := os.Chmod(filepath.Join(top, "acl"), 0o2750|os.ModeSetgid); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(filepath.Join(top, "acl"), 12, 34); err != nil {
				t.Fatal(err)
			}
		}, 0},
		{"user.overlay.* in an aufs layer", whiteout.Aufs, func(t *testing.T, top, low string) {
			mustWrite(t, top, "f")
			mustXattr(t, filepath.Join(top, "f"), "user.overlay.origin", "x")
			mustXattr(t, filepath.Join(top, "f"), "user.x", "y")
		}, 0},
	}
	for _, hc := range hostileLayers {
		t.Run(hc.name, func(t *testing.T) {
			base := tmpfsDir(t)
			top, mid, low := filepath.Join(base, "top"), filepath.Join(base, "mid"), filepath.Join(base, "low")
			for _, d := range []string{top, mid, low} {
				mustMkdir(t, d, "")
			}
			mustWrite(t, low, "a")
			mustWrite(t, low, "b")
			mustWrite(t, low, "x")
			mustMkdir(t, low, "d")
			mustWrite(t, filepath.Join(low, "d"), "old")
			mustMkdir(t, low, "e")
			mustWrite(t, filepath.Join(low, "e"), "old")
			mustWrite(t, mid, "m")
			mustWrite(t, mid, ".wh.m") // the overlay layer's plain file
			hc.write(t, top, low)
			layers := []afs.Layer{{ID: "top", Dir: top, Encoding: hc.enc}, {ID: "mid", Dir: mid, Encoding: whiteout.Overlay}, {ID: "low", Dir: low}}
			if hc.reason != 0 {
				wantRefused(t, layers, hc.reason)
				return
			}
			checkKernelView(t, base, layers)
		})
	}
}

// posixACL is a system.posix_acl_* value: owner, one named user,
// group, mask and other entries with these permissions.
func posixACL(owner uint16, uid uint32, user, group, mask, other uint16) string {
	b := []byte{2, 0, 0, 0} // POSIX_ACL_XATTR_VERSION
	entry := func(tag, perm uint16, id uint32) {
		b = append(b, byte(tag), byte(tag>>8), byte(perm), byte(perm>>8), byte(id), byte(id>>8), byte(id>>16), byte(id>>24))
	}
	const undefined = 0xffffffff
	entry(0x01, owner, undefined) // ACL_USER_OBJ
	entry(0x02, user, uid)        // ACL_USER
	entry(0x04, group, undefined) // ACL_GROUP_OBJ
	entry(0x10, mask, undefined)  // ACL_MASK
	entry(0x20, other, undefined) // ACL_OTHER
	return string(b)
}

func mustMkdir(t testing.TB, dir, name string) {
	t.Helper()
	if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t testing.TB, dir, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustXattr(t testing.TB, p, name, val string) {
	t.Helper()
	if err := unix.Lsetxattr(p, name, []byte(val), 0); err != nil {
		t.Fatalf("setxattr %s %s: %v", p, name, err)
	}
}

// wantRefused checks that the kernel path refuses layers for reason, in
// Check and in Mount, and mounts nothing.
func wantRefused(t *testing.T, layers []afs.Layer, reason kernelview.Reason) {
	t.Helper()
	err := kernelview.Check(layers)
	if r, ok := kernelview.IsRefused(err); !ok || r.Reason != reason {
		t.Fatalf("Check: %v; want a refusal for %v", err, reason)
	}
	mnt := t.TempDir()
	m, err := kernelview.Mount(mnt, layers, kernelview.Options{Source: "test"})
	if err == nil {
		m.Unmount()
		t.Fatalf("Mount mounted what Check refuses")
	}
	if r, ok := kernelview.IsRefused(err); !ok || r.Reason != reason {
		t.Fatalf("Mount: %v; want a refusal for %v", err, reason)
	}
	if isMounted(t, mnt) {
		forceUnmount(mnt)
		t.Fatal("a refused mount left something mounted")
	}
	t.Logf("refused: %v", err)
}

// TestKernelMountTable: a kernel view shows as overlay with source
// aufsmount:REF, read-only, nosuid, nodev; its shims are on no mount
// anyone can see; Unmount takes only a kernel view.
func TestKernelMountTable(t *testing.T) {
	requireKernelView(t)
	b, dirs := buildImage(t, layerstore.LayoutCAS, ruleCases()[0].layers, true)
	_ = b
	before, err := mounttable.Read()
	if err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	m, err := kernelview.Mount(mnt, aufsLayers(dirs), kernelview.Options{Source: "test/image:latest"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmount()
	after, err := mounttable.Read()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+1 {
		t.Errorf("%d mounts before, %d after: want one more", len(before), len(after))
	}
	mt, ok := mounttable.Find(after, mnt)
	if !ok {
		t.Fatal("not in the mount table")
	}
	if !mt.IsKernelView() || mt.Source != "aufsmount:test/image:latest" {
		t.Errorf("mount table: type %q source %q", mt.FSType, mt.Source)
	}
	for _, o := range []string{"ro", "nosuid", "nodev"} {
		if !strings.Contains(","+mt.Options+",", ","+o+",") {
			t.Errorf("options %q lack %s", mt.Options, o)
		}
	}
	if m.Shims == 0 {
		t.Errorf("no shims for an aufs image with whiteouts")
	}
	if err := os.WriteFile(filepath.Join(mnt, "new"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Errorf("writing: %v, want EROFS", err)
	}
	// Unmount refuses what is not a kernel view.
	other := mountLayers(t, dirs)
	if err := kernelview.Unmount(other); err == nil {
		t.Errorf("kernelview.Unmount unmounted a FUSE view")
	}
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	if isMounted(t, mnt) {
		t.Error("still mounted")
	}
}
