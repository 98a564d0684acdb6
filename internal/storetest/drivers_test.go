package storetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
	"golang.org/x/sys/unix"
)

// wantLayerDir is what the directory of layers[0] (over layers[1:]) holds
// with the driver of s: the layer in its encoding, or for the drivers of
// whole trees the view so far; own says how many of layers are a
// container's. It is overlayForm's, which Write uses too: what that
// form must be is written out in TestOverlayLayerDirs.
func wantLayerDir(t *testing.T, s *Store, b *Built, layers []*Layer, own int) []Node {
	t.Helper()
	switch b.Driver {
	case DriverOverlay, DriverVFS:
		return b.view(layers, own)
	}
	x, err := expand(layers[0])
	if err != nil {
		t.Fatal(err)
	}
	if b.Driver == DriverAufs {
		return nodesOf(x)
	}
	var below []Node
	if own > 0 && b.Driver == DriverOverlay2 {
		below = Merge(layers[1:])
	}
	y, _ := overlayForm(x, s.encoding(), below)
	return nodesOf(y)
}

// checkDriverDirs compares every layer directory of b with what its
// driver keeps there (overlay's container uppers are checked through a
// mount instead).
func checkDriverDirs(t *testing.T, s *Store, b *Built) {
	t.Helper()
	seen := map[string]bool{}
	check := func(what, dir string, layers []*Layer, own int) {
		if seen[dir] {
			return
		}
		seen[dir] = true
		if err := Compare(dir, wantLayerDir(t, s, b, layers, own), CompareOptions{}); err != nil {
			t.Errorf("%s %s: %v", b.Driver, what, err)
		}
	}
	for _, img := range s.Images {
		for i, d := range b.Chain[img] {
			check(strings.Join(img.Names, ","), d, b.ChainLayers[img][i:], 0)
		}
	}
	for _, c := range s.Containers {
		for i, d := range b.ContainerChain[c][:2] {
			if b.Driver == DriverOverlay && strings.HasSuffix(d, "/upper") {
				continue
			}
			check("container "+c.Name, d, b.ContainerLayers[c][i:], 2-i)
		}
	}
}

// mountStack mounts a stack read-only with the kernel's overlayfs (or
// fuse-overlayfs), skipping the test when it cannot (failing it under CI=true).
func mountStack(t *testing.T, stack []string, fuse bool, opts string) string {
	t.Helper()
	mnt := t.TempDir()
	if fuse {
		bin := testenv.Tool(t, "fuse-overlayfs")
		out, err := exec.Command(bin, "-o", "ro,lowerdir="+strings.Join(stack, ":"), mnt).CombinedOutput()
		testenv.Require(t, err == nil, "fuse-overlayfs: %v: %s", err, out)
		t.Cleanup(func() {
			for i := 0; i < 50 && exec.Command("fusermount3", "-u", mnt).Run() != nil; i++ {
				time.Sleep(100 * time.Millisecond)
			}
		})
		return mnt
	}
	err := unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, "lowerdir="+strings.Join(stack, ":")+opts)
	testenv.Require(t, err == nil, "mounting overlayfs: %v", err)
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	return mnt
}

// checkViews checks what every image and container shows through its
// Stack against View, the model: mounted by overlayfs for overlay2 and
// overlay containers, by fuse-overlayfs for fuse-overlayfs, and as they
// are for the whole trees of overlay and vfs.
func checkViews(t *testing.T, s *Store, b *Built) {
	t.Helper()
	opts := ""
	if s.Rootless {
		opts = ",userxattr"
	}
	show := func(what string, stack []string, want []Node) {
		var dir string
		var opt CompareOptions
		switch {
		case len(stack) == 0 || b.Driver == DriverAufs:
			return // aufs: see TestMergeAgainstFuseOverlayfs
		case b.Driver == DriverOverlay2 && len(stack) == 1:
			return // overlayfs mounts two at the least; the layer was checked
		case b.Driver == DriverFuseOverlayfs:
			// See CompareOptions.SkipLinks.
			dir, opt = mountStack(t, stack, true, ""), CompareOptions{SkipLinks: true}
		case len(stack) > 1 || b.Driver == DriverOverlay2:
			dir = mountStack(t, stack, false, opts)
		default:
			dir = stack[0]
		}
		if err := Compare(dir, want, opt); err != nil {
			t.Errorf("%s %s: %v", b.Driver, what, err)
		}
	}
	for _, img := range s.Images {
		show(strings.Join(img.Names, ","), b.Stack[img], b.View(img))
	}
	for _, c := range s.Containers {
		show("container "+c.Name, b.ContainerStack[c], b.ContainerView(c))
	}
}

// One description, written with every driver: each layer directory holds
// what that driver keeps, and every view is the model's.
func TestWriteDrivers(t *testing.T) {
	type variant struct {
		name string
		set  func(*Store)
	}
	var stores []variant
	for _, d := range Drivers {
		stores = append(stores, variant{d, func(s *Store) { s.Driver = d }})
	}
	stores = append(stores,
		variant{"overlay2 rootless", func(s *Store) { s.Driver, s.Rootless = DriverOverlay2, true }},
		variant{"overlay rootless", func(s *Store) { s.Driver, s.Rootless = DriverOverlay, true }},
		variant{"fuse-overlayfs devices", func(s *Store) { s.Driver, s.FuseOverlayfsDevices = DriverFuseOverlayfs, true }},
	)
	for _, tt := range stores {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			// A layer with what aufs alone hides: bookkeeping, whiteouts
			// of nothing, a name under a whiteout name, a hard link whose
			// first name is hidden, a whiteout of a name the layer has.
			f.app.Entries = append(f.app.Entries,
				F(".wh..wh.plnk/12.34", "pseudo-link"), H("linked", ".wh..wh.plnk/12.34"), H("linked2", "linked"),
				F(".wh.", ""), F("usr/.wh..", ""), F(".wh.dir/inside", "x"), WH("usr/bin/app"))
			scratch := &Image{Names: []string{"scratch:empty"}, Layers: []*Layer{f.env}}
			f.s.Images = append(f.s.Images, scratch,
				&Image{Names: []string{"opaque:root"}, Layers: []*Layer{f.base, NewLayer("opaque root", OPQ(""), F("only", "o"), D("etc"))}})
			f.c1.RW.Entries = append(f.c1.RW.Entries, OPQ(""), D("usr"), F("usr/x", "x"))
			f.s.Containers = append(f.s.Containers, &Container{Name: "on-scratch", Image: scratch, RW: NewLayer("", F("x", "y"), OPQ("dev"))})
			tt.set(f.s)
			b, err := f.s.Write(t.TempDir(), layerstore.LayoutCAS)
			if err != nil {
				t.Fatal(err)
			}
			if want := cmpOr(f.s.Driver, DriverAufs); b.Driver != want {
				t.Errorf("Built.Driver %q", b.Driver)
			}
			checkDriverDirs(t, f.s, b)
			checkViews(t, f.s, b)
			for _, c := range f.s.Containers {
				var cfg struct{ Driver string }
				readJSON(t, filepath.Join(b.Root, "containers", b.ContainerID[c], "config.v2.json"), &cfg)
				if cfg.Driver != b.Driver {
					t.Errorf("config.v2.json of %s: driver %q", c.Name, cfg.Driver)
				}
			}
			isDir(t, filepath.Join(b.Root, "image", b.Driver, "imagedb"))
			// The view does not depend on the driver: View is Merge, but
			// for link counts and overlay2's opaque image roots.
			for _, img := range f.s.Images {
				got, want := noNlink(b.View(img)), noNlink(Merge(b.ChainLayers[img]))
				if same := slices.EqualFunc(got, want, sameNode); same == (b.Driver == DriverOverlay2 && img.Names[0] == "opaque:root") {
					t.Errorf("%v: View is Merge: %v", img.Names, same)
				}
			}
			for _, c := range f.s.Containers {
				if got, want := noNlink(b.ContainerView(c)), noNlink(Merge(b.ContainerLayers[c])); !slices.EqualFunc(got, want, sameNode) {
					t.Errorf("container %s: ContainerView is not Merge", c.Name)
				}
			}
		})
	}
}

// The tar-split of every image layer, with the layer's directory of any
// driver, gives back the layer's tar.
func TestTarSplitDrivers(t *testing.T) {
	for _, d := range Drivers {
		f := newFixture()
		f.s.Driver = d
		b, err := f.s.Write(t.TempDir(), layerstore.LayoutCAS)
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range f.s.Images {
			for i, dir := range b.Chain[img] {
				ts := filepath.Join(b.Root, "image", b.Driver, "layerdb/sha256", strings.TrimPrefix(b.ChainIDs[img][i], "sha256:"), "tar-split.json.gz")
				if got := reassemble(t, ts, dir); got != b.DiffIDs[img][i] {
					t.Errorf("%s %v layer %d: reassembled %s, diff id %s", d, img.Names, i, got, b.DiffIDs[img][i])
				}
			}
		}
	}
}

func cmpOr(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

func noNlink(nodes []Node) []Node {
	nodes = slices.Clone(nodes)
	for i := range nodes {
		nodes[i].Nlink = 0
	}
	return nodes
}

func sameNode(a, b Node) bool {
	return show(a) == show(b) && a.Origin == b.Origin && a.Entry.Path == b.Entry.Path
}

// Random layers, written with every driver, show the model's view.
func TestGeneratedDrivers(t *testing.T) {
	for _, d := range Drivers[1:] {
		t.Run(d, func(t *testing.T) {
			layers := Generate(GenOptions{Seed: 3, Layers: 6, Entries: 1500})
			img := &Image{Names: []string{"gen"}, Layers: layers}
			s := &Store{Driver: d, Images: []*Image{img}, Containers: []*Container{{Name: "c", Image: img, RW: NewLayer("",
				WH(layers[0].Entries[5].Path), OPQ("usr"), F("usr/mine", "m"))}}}
			b, err := s.Write(t.TempDir(), layerstore.LayoutCAS)
			if err != nil {
				t.Fatal(err)
			}
			checkDriverDirs(t, s, b)
			checkViews(t, s, b)
		})
	}
}

// What each driver writes, spelled out: the files beside the layers, the
// markers, the shared inodes.
func TestWriteDriverLayouts(t *testing.T) {
	base := NewLayer("base", F("etc/passwd", "root"), F("usr/bin/wall", "w"), F("d/x", "x"), F("hl", "h"), H("hl2", "hl"),
		F(".wh..wh.plnk/1.2", "p"), WH("absent"))
	top := NewLayer("top", OPQ("etc"), F("etc/new", "n"), WH("usr/bin/wall").WithOwner(5, 6).WithMtime(t1999), WH("d"), D("d"),
		F("d/y", "y"), WH("hl2"))
	img := &Image{Names: []string{"x"}, Layers: []*Layer{base, top}}
	c := &Container{Name: "c", Image: img, Init: NewLayer("", F(".dockerenv", "")), RW: NewLayer("", WH("etc/new"), F("root/x", "r"))}
	write := func(t *testing.T, s *Store) (*Built, []string) {
		s.Images, s.Containers = []*Image{img}, []*Container{c}
		b, err := s.Write(t.TempDir(), layerstore.LayoutCAS)
		if err != nil {
			t.Fatal(err)
		}
		tops := make([]string, len(b.ContainerChain[c])) // <driver>/<id>
		for i, d := range b.ContainerChain[c] {
			tops[i] = filepath.Dir(d)
		}
		return b, tops
	}
	stat := func(t *testing.T, p string) unix.Stat_t {
		t.Helper()
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	absent := func(t *testing.T, p string) {
		t.Helper()
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s: want it absent (%v)", p, err)
		}
	}
	xattr := func(t *testing.T, p, name, want string) {
		t.Helper()
		if got, err := getXattr(p, name); err != nil && want != "" || got != want {
			t.Errorf("%s: xattr %s = %q (%v), want %q", p, name, got, err, want)
		}
	}
	device := func(t *testing.T, p string, uid, gid uint32) {
		t.Helper()
		if st := stat(t, p); st.Mode != unix.S_IFCHR || st.Rdev != 0 || st.Uid != uid || st.Gid != gid {
			t.Errorf("%s: mode %o rdev %d owner %d:%d, want a 0/0 whiteout owned %d:%d", p, st.Mode, st.Rdev, st.Uid, st.Gid, uid, gid)
		}
	}
	file := func(t *testing.T, p string) {
		t.Helper()
		if st := stat(t, p); st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != 0 {
			t.Errorf("%s: mode %o size %d, want an empty file", p, st.Mode, st.Size)
		}
	}

	t.Run("overlay2", func(t *testing.T) {
		b, tops := write(t, &Store{Driver: DriverOverlay2})
		rw, init, upper, lower := tops[0], tops[1], tops[2], tops[3]
		if want := filepath.Join(b.Root, "overlay2", b.MountID[c]); rw != want || init != want+"-init" {
			t.Errorf("container dirs %s %s", rw, init)
		}
		if !slices.Equal(b.Stack[img], b.Chain[img]) || !slices.Equal(b.ContainerStack[c], b.ContainerChain[c]) {
			t.Errorf("stacks %v %v", b.Stack[img], b.ContainerStack[c])
		}
		device(t, upper+"/diff/usr/bin/wall", 5, 6)
		device(t, lower+"/diff/absent", 0, 0)
		device(t, rw+"/diff/etc/new", 0, 0)
		if st := stat(t, upper+"/diff/usr/bin/wall"); !time.Unix(st.Mtim.Unix()).Equal(t1999) {
			t.Errorf("whiteout mtime %v", time.Unix(st.Mtim.Unix()))
		}
		xattr(t, upper+"/diff/etc", "trusted.overlay.opaque", "y")
		xattr(t, upper+"/diff/d", "trusted.overlay.opaque", "y") // whited out and made again
		xattr(t, upper+"/diff/usr", "trusted.overlay.opaque", "")
		device(t, upper+"/diff/hl2", 0, 0)
		for _, p := range []string{upper + "/diff/etc/.wh..wh..opq", upper + "/diff/.wh.d", upper + "/diff/d/.wh..wh..opq", lower + "/diff/.wh..wh.plnk", lower + "/diff/.wh.absent",
			upper + "/diff/.wh.hl2", lower + "/lower", lower + "/work", upper + "/merged", rw + "/committed"} {
			absent(t, p)
		}
		links := map[string]string{}
		for _, d := range tops {
			link := read(t, d+"/link")
			if !regexp.MustCompile(`^[A-Z0-9]{26}$`).MatchString(link) {
				t.Errorf("%s/link: %q", d, link)
			}
			if target, err := os.Readlink(filepath.Join(b.Root, "overlay2/l", link)); err != nil || target != "../"+filepath.Base(d)+"/diff" {
				t.Errorf("l/%s -> %q (%v)", link, target, err)
			}
			links[d] = "l/" + link
		}
		for d, want := range map[string]string{
			upper: links[lower],
			init:  links[upper] + ":" + links[lower],
			rw:    links[init] + ":" + links[upper] + ":" + links[lower],
		} {
			if got := read(t, d+"/lower"); got != want {
				t.Errorf("%s/lower: %q, want %q", d, got, want)
			}
			isDir(t, d+"/work")
		}
		for _, d := range []string{lower, upper, init} {
			if got := read(t, d+"/committed"); got != "" {
				t.Errorf("%s/committed: %q", d, got)
			}
		}
		isDir(t, rw+"/merged")
		isDir(t, init+"/merged")
		// Reproducible: the same store twice is the same links.
		_, tops2 := write(t, &Store{Driver: DriverOverlay2})
		if read(t, tops2[3]+"/link") != read(t, lower+"/link") {
			t.Errorf("links differ from one Write to the next")
		}
	})
	t.Run("overlay2 rootless", func(t *testing.T) {
		_, tops := write(t, &Store{Driver: DriverOverlay2, Rootless: true})
		xattr(t, tops[2]+"/diff/etc", "user.overlay.opaque", "y")
		xattr(t, tops[2]+"/diff/etc", "trusted.overlay.opaque", "")
	})
	t.Run("fuse-overlayfs", func(t *testing.T) {
		b, tops := write(t, &Store{Driver: DriverFuseOverlayfs})
		upper, lower := tops[2], tops[3]
		if !strings.HasPrefix(upper, filepath.Join(b.Root, "fuse-overlayfs")+"/") {
			t.Errorf("layer in %s", upper)
		}
		file(t, upper+"/diff/usr/bin/.wh.wall")
		file(t, upper+"/diff/etc/.wh..wh..opq")
		file(t, upper+"/diff/d/.wh..wh..opq")
		file(t, lower+"/diff/.wh.absent")
		file(t, tops[0]+"/diff/etc/.wh.new")
		if st := stat(t, upper+"/diff/usr/bin/.wh.wall"); st.Uid != 5 || st.Mode&07777 != 0444 {
			t.Errorf(".wh.wall: owner %d, mode %o", st.Uid, st.Mode)
		}
		absent(t, upper+"/diff/.wh.d")
		absent(t, lower+"/diff/.wh..wh.plnk")
		xattr(t, upper+"/diff/etc", "trusted.overlay.opaque", "")
		_, tops = write(t, &Store{Driver: DriverFuseOverlayfs, FuseOverlayfsDevices: true})
		device(t, tops[2]+"/diff/usr/bin/wall", 5, 6)
		xattr(t, tops[2]+"/diff/etc", "trusted.overlay.opaque", "y")
		absent(t, tops[2]+"/diff/etc/.wh..wh..opq")
	})
	t.Run("overlay", func(t *testing.T) {
		b, tops := write(t, &Store{Driver: DriverOverlay})
		rw, init := tops[0], tops[1]
		upperRoot, lowerRoot := b.Chain[img][0], b.Chain[img][1]
		if filepath.Base(upperRoot) != "root" || !slices.Equal(b.Stack[img], []string{upperRoot}) {
			t.Errorf("chain %v, stack %v", b.Chain[img], b.Stack[img])
		}
		if want := []string{rw + "/upper", upperRoot}; !slices.Equal(b.ContainerStack[c], want) || b.ContainerChain[c][1] != init+"/upper" {
			t.Errorf("container chain %v, stack %v", b.ContainerChain[c], b.ContainerStack[c])
		}
		for _, p := range []string{upperRoot + "/etc/passwd", upperRoot + "/usr/bin/wall", upperRoot + "/d/x", upperRoot + "/hl2", upperRoot + "/.wh..wh.plnk",
			lowerRoot + "/.wh..wh.plnk", lowerRoot + "/.wh.absent", filepath.Dir(upperRoot) + "/upper", filepath.Dir(upperRoot) + "/lower-id"} {
			absent(t, p)
		}
		// What the top layer did not change is the inode of the layer
		// below; what it changed is a new one.
		if a, b := stat(t, upperRoot+"/hl"), stat(t, lowerRoot+"/hl"); a.Ino != b.Ino || a.Nlink != 3 {
			t.Errorf("hl: inodes %d %d, %d links", a.Ino, b.Ino, a.Nlink)
		}
		if a, b := stat(t, upperRoot+"/d"), stat(t, lowerRoot+"/d"); a.Ino == b.Ino {
			t.Errorf("a directory shared by two roots")
		}
		if got := read(t, upperRoot+"/d/y"); got != "y" {
			t.Errorf("d/y: %q", got)
		}
		for _, d := range []string{rw, init} {
			if got := read(t, d+"/lower-id"); got != filepath.Base(filepath.Dir(upperRoot)) {
				t.Errorf("%s/lower-id: %q", d, got)
			}
			isDir(t, d+"/work")
			isDir(t, d+"/merged")
		}
		// The container's upper holds what init and rw change; a whiteout
		// only of a name the lower root has.
		device(t, rw+"/upper/etc/new", 0, 0)
		file(t, rw+"/upper/.dockerenv")
		file(t, init+"/upper/.dockerenv")
		absent(t, init+"/upper/root")
		if got := read(t, rw+"/upper/root/x"); got != "r" {
			t.Errorf("upper root/x: %q", got)
		}
		xattr(t, rw+"/upper/etc", "trusted.overlay.opaque", "")
	})
	t.Run("vfs", func(t *testing.T) {
		b, tops := write(t, &Store{Driver: DriverVFS})
		upperDir, lowerDir := b.Chain[img][0], b.Chain[img][1]
		rw, init := b.ContainerChain[c][0], b.ContainerChain[c][1]
		if want := filepath.Join(b.Root, "vfs/dir", b.MountID[c]); rw != want || init != want+"-init" || !slices.Equal(b.ContainerStack[c], []string{rw}) {
			t.Errorf("container chain %v, stack %v (%v)", b.ContainerChain[c], b.ContainerStack[c], tops)
		}
		if a, b := stat(t, upperDir+"/hl"), stat(t, lowerDir+"/hl"); a.Ino == b.Ino || a.Nlink != 1 || b.Nlink != 2 {
			t.Errorf("hl: inodes %d %d, links %d %d", a.Ino, b.Ino, a.Nlink, b.Nlink)
		}
		for _, p := range []string{upperDir + "/etc/passwd", upperDir + "/usr/bin/wall", rw + "/etc/new"} {
			absent(t, p)
		}
		if st := stat(t, filepath.Join(b.Root, "vfs/backingFsBlockDev")); st.Mode != unix.S_IFBLK|0600 {
			t.Errorf("backingFsBlockDev: mode %o", st.Mode)
		}
		file(t, rw+"/.dockerenv")
		if got := read(t, rw+"/root/x"); got != "r" {
			t.Errorf("root/x: %q", got)
		}
		absent(t, init+"/root/x")
	})
}

// Several drivers in one root: each has its images, the containers share
// containers/, and a driver is refused a root that has its own store.
func TestWriteMultiDriver(t *testing.T) {
	root := t.TempDir()
	built := map[string]*Built{}
	stores := map[string]*fixture{}
	for _, d := range []string{DriverAufs, DriverOverlay2, DriverVFS, DriverFuseOverlayfs, DriverOverlay} {
		f := newFixture()
		f.s.Driver = d
		b, err := f.s.Write(root, layerstore.LayoutCAS)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		built[d], stores[d] = b, f
	}
	for d, b := range built {
		f := stores[d]
		checkDriverDirs(t, f.s, b)
		for _, c := range f.s.Containers {
			var cfg struct{ ID, Driver, Image string }
			readJSON(t, filepath.Join(root, "containers", b.ContainerID[c], "config.v2.json"), &cfg)
			if cfg.Driver != d || cfg.ID != b.ContainerID[c] || cfg.Image != "sha256:"+b.ImageID[c.Image] {
				t.Errorf("%s container %s: %+v", d, c.Name, cfg)
			}
			if _, err := os.Stat(filepath.Join(root, "image", d, "layerdb/mounts", b.ContainerID[c], "mount-id")); err != nil {
				t.Errorf("%s container %s: %v", d, c.Name, err)
			}
		}
		for o, ob := range built {
			if o != d && (ob.Chain[stores[o].img1][0] == b.Chain[f.img1][0] || ob.ContainerID[stores[o].c1] == b.ContainerID[f.c1]) {
				t.Errorf("%s and %s share a directory or a container id", d, o)
			}
		}
	}
	ents, err := os.ReadDir(filepath.Join(root, "containers"))
	if err != nil || len(ents) != 2*len(built) {
		t.Errorf("containers/: %d entries (%v)", len(ents), err)
	}
	for _, d := range []string{DriverOverlay2, DriverAufs} {
		if _, err := (&Store{Driver: d}).Write(root, layerstore.LayoutCAS); err == nil || !strings.Contains(err.Error(), "already has image/"+d) {
			t.Errorf("%s again: %v", d, err)
		}
	}
	// Without image/overlay2/, the driver's own directory still refuses.
	if err := os.RemoveAll(filepath.Join(root, "image", DriverOverlay2)); err != nil {
		t.Fatal(err)
	}
	if _, err := (&Store{Driver: DriverOverlay2}).Write(root, layerstore.LayoutCAS); err == nil || !strings.Contains(err.Error(), "already has overlay2") {
		t.Errorf("overlay2 over overlay2/: %v", err)
	}
	// aufs in both layouts, as on a host migrated to 1.10: they share aufs/.
	f := newFixture()
	g, err := f.s.Write(root, layerstore.LayoutGraph)
	if err == nil || !strings.Contains(err.Error(), "container") {
		t.Errorf("a pre-1.10 container named as a 1.10+ one: %v", err)
	}
	root2 := t.TempDir()
	if _, err := newFixture().s.Write(root2, layerstore.LayoutCAS); err != nil {
		t.Fatal(err)
	}
	f.c1.Name, f.c2.Name = "old-web", "old-db"
	if g, err = f.s.Write(root2, layerstore.LayoutGraph); err != nil {
		t.Fatal(err)
	}
	checkLayers(t, f, g)
}
