package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// driverCase is one way a store can be on disk: a driver, its layout and
// the variants of how it marks whiteouts.
type driverCase struct {
	name   string
	layout layerstore.Layout
	store  st.Store // Driver and variant flags; Images and Containers are filled in
}

var driverCases = []driverCase{
	{"aufs-graph", layerstore.LayoutGraph, st.Store{Driver: st.DriverAufs}},
	{"aufs", layerstore.LayoutCAS, st.Store{Driver: st.DriverAufs}},
	{"aufs-live-whiteouts", layerstore.LayoutCAS, st.Store{Driver: st.DriverAufs, AufsHardlinkWhiteouts: true}},
	{"overlay2", layerstore.LayoutCAS, st.Store{Driver: st.DriverOverlay2}},
	{"overlay2-rootless", layerstore.LayoutCAS, st.Store{Driver: st.DriverOverlay2, Rootless: true}},
	{"fuse-overlayfs", layerstore.LayoutCAS, st.Store{Driver: st.DriverFuseOverlayfs}},
	{"fuse-overlayfs-devices", layerstore.LayoutCAS, st.Store{Driver: st.DriverFuseOverlayfs, FuseOverlayfsDevices: true}},
	{"overlay", layerstore.LayoutCAS, st.Store{Driver: st.DriverOverlay}},
	{"vfs", layerstore.LayoutCAS, st.Store{Driver: st.DriverVFS}},
	// containers/storage graphroots (Podman, CRI-O, Buildah).
	{"podman-overlay", layerstore.LayoutContainers, st.Store{Kind: st.KindContainersStorage, Driver: st.DriverOverlay}},
	{"podman-overlay-rootless", layerstore.LayoutContainers, st.Store{Kind: st.KindContainersStorage, Driver: st.DriverOverlay, Rootless: true}},
	{"podman-overlay-mount-program", layerstore.LayoutContainers, st.Store{Kind: st.KindContainersStorage, Driver: st.DriverOverlay, MountProgram: true}},
	{"podman-vfs", layerstore.LayoutContainers, st.Store{Kind: st.KindContainersStorage, Driver: st.DriverVFS}},
}

// writeDriverStore writes images and containers as dc lays them out.
func writeDriverStore(t testing.TB, dc driverCase, images []*st.Image, ctrs []*st.Container) *st.Built {
	t.Helper()
	s := dc.store
	s.Images, s.Containers = images, ctrs
	b, err := s.Write(filepath.Join(t.TempDir(), "docker"), dc.layout)
	if err != nil {
		t.Fatalf("writing the %s store: %v", dc.name, err)
	}
	return b
}

// compareView checks a mounted view against the model's nodes.
func compareView(t testing.TB, mnt string, want []st.Node) {
	t.Helper()
	if err := st.Compare(mnt, want, st.CompareOptions{}); err != nil {
		t.Error(err)
	}
}

// TestDriverRules mounts every rule case in every driver's layout through
// the command, by reference, and compares the whole tree with the model:
// the view must not depend on the driver.
func TestDriverRules(t *testing.T) {
	testenv.FUSE(t)
	for _, dc := range driverCases {
		for _, tc := range ruleCases() {
			t.Run(dc.name+"/"+tc.name, func(t *testing.T) {
				img := &st.Image{Names: []string{"test/image:latest"}, Layers: tc.layers}
				b := writeDriverStore(t, dc, []*st.Image{img}, nil)
				mnt := mountRef(t, b.Root, "test/image:latest")
				compareView(t, mnt, b.View(img))
			})
		}
	}
}

// TestDriverContainers mounts the reference store's images and
// containers in every driver's layout: a container is its writable
// layer over its init layer over its image, however the driver keeps it.
func TestDriverContainers(t *testing.T) {
	testenv.FUSE(t)
	for _, dc := range driverCases {
		t.Run(dc.name, func(t *testing.T) {
			rs := refStoreOf(t, dc)
			for _, img := range []*st.Image{rs.busybox, rs.app} {
				mnt := mountRef(t, rs.b.Root, rs.b.ImageID[img])
				compareView(t, mnt, rs.b.View(img))
			}
			for _, c := range []*st.Container{rs.web, rs.db} {
				want := rs.b.ContainerView(c)
				if dc.layout == layerstore.LayoutContainers {
					// No init layer, and Podman's /etc/hosts ... are in its
					// run root, not the store.
					if hasNode(want, ".dockerenv") || hasNode(want, "etc/hosts") {
						t.Fatalf("the model of %s has an init layer's files", c.Name)
					}
				} else {
					want = withBindNodes(t, rs.b, c, want) // its /etc/hosts ... are Docker's binds
					if !hasNode(want, ".dockerenv") {
						t.Fatalf("the model of %s lacks its init layer's .dockerenv", c.Name)
					}
				}
				mnt := mountRef(t, rs.b.Root, c.Name)
				compareView(t, mnt, want)
			}
		})
	}
}

func hasNode(ns []st.Node, p string) bool {
	for _, n := range ns {
		if n.Path == p {
			return true
		}
	}
	return false
}

// TestDriverSameAsKernel mounts overlay2 images with kernel overlayfs, the
// way Docker mounts them (lowerdir = the layers' diff directories, top
// first), as a second opinion: the trees must be the same, hard-link
// groups included (overlayfs shows a layer's hard links as one inode), but
// for what is the kernel's own by design (README.md, the kernel path): the
// inode numbers themselves and a directory's link count (a merged
// directory's is 1); and atime, which a read through the peer may set.
func TestDriverSameAsKernel(t *testing.T) {
	testenv.FUSE(t)
	for _, dc := range driverCases {
		if dc.store.Driver != st.DriverOverlay2 {
			continue
		}
		for _, tc := range ruleCases() {
			if tc.name == "aufs meta entries never shown" {
				continue // aufs bookkeeping names are plain names to overlayfs, as to us: nothing to see
			}
			t.Run(dc.name+"/"+tc.name, func(t *testing.T) {
				img := &st.Image{Names: []string{"test/image:latest"}, Layers: tc.layers}
				b := writeDriverStore(t, dc, []*st.Image{img}, nil)
				ours := walk(t, mountRef(t, b.Root, "test/image:latest"))
				theirs := walk(t, mountKernelOverlay(t, b.Stack[img], dc.store.Rootless))
				diffs := diffTrees(theirs, ours, func(p string, w, g *info) {
					w.Ino, g.Ino = 0, 0
					w.Atime, g.Atime = unix.Timespec{}, unix.Timespec{}
					if w.Mode&unix.S_IFMT == unix.S_IFDIR {
						w.Nlink, g.Nlink = 0, 0
					}
				})
				if len(diffs) > 0 {
					t.Errorf("kernel overlayfs (want) and aufsmount (got) differ:\n%s", strings.Join(head(diffs, 30), "\n"))
				}
			})
		}
	}
}

// mountKernelOverlay mounts dirs (top first) read-only with the kernel's
// overlayfs, through short links as Docker's l/ does so the options fit.
func mountKernelOverlay(t testing.TB, dirs []string, userxattr bool) string {
	t.Helper()
	// Not t.TempDir: test names hold commas, which end an overlay option.
	links, err := os.MkdirTemp("", "ovl-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(links) })
	var short []string
	for i, d := range dirs {
		p := filepath.Join(links, fmt.Sprint(i))
		if err := os.Symlink(d, p); err != nil {
			t.Fatal(err)
		}
		short = append(short, p)
	}
	if len(short) == 1 {
		// overlayfs wants two layers at least without an upper.
		empty := filepath.Join(links, "empty")
		os.Mkdir(empty, 0o755)
		short = append(short, empty)
	}
	mnt := filepath.Join(links, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := "lowerdir=" + strings.Join(short, ":")
	if userxattr {
		opts += ",userxattr"
	}
	if err := unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, opts); err != nil {
		t.Fatalf("mount -t overlay %s: %v", opts, err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	return mnt
}

// TestDamagedCopy mounts stores copied without xattrs or device nodes:
// image layers get their markers back from their tar-splits, so the view
// is the image's, and the command says so once per layer on stderr; the
// container layers above them are named as not recoverable.
func TestDamagedCopy(t *testing.T) {
	testenv.FUSE(t)
	cases := []struct {
		name string
		dc   driverCase
		loss st.Loss
		lost string // what the warning counts
	}{
		{"overlay2 without xattrs", driverCases[3], st.LostXattrs, "lacks 0 whiteouts and 1 opaque markers"},
		{"overlay2 without devices", driverCases[3], st.LostDevices, "lacks 2 whiteouts and 0 opaque markers"},
		{"overlay2 without either", driverCases[3], st.LostXattrs | st.LostDevices, "lacks 2 whiteouts and 1 opaque markers"},
		{"rootless overlay2 without xattrs", driverCases[4], st.LostXattrs, "lacks 0 whiteouts and 1 opaque markers"},
		{"fuse-overlayfs devices without either", driverCases[6], st.LostXattrs | st.LostDevices, "lacks 2 whiteouts and 1 opaque markers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := l(st.F("etc/motd", "hi"), st.F("etc/issue", "x"), st.F("var/cache/old", "o"), st.F("bin/sh", "sh"))
			top := l(st.WH("etc/motd"), st.WH("bin/sh"), st.OPQ("var/cache"), st.F("var/cache/new", "n"))
			img := &st.Image{Names: []string{"app:v1"}, Layers: []*st.Layer{base, top}}
			ctr := &st.Container{Name: "web", Image: img, RW: l(st.WH("etc/issue"), st.F("tmp/x", "x"))}
			b := writeDriverStore(t, tc.dc, []*st.Image{img}, []*st.Container{ctr})
			changed, err := b.Damage(tc.loss)
			if err != nil || len(changed) == 0 {
				t.Fatalf("damaging the copy: %v (%d dirs)", err, len(changed))
			}
			mnt := t.TempDir()
			_, stderr, code := run(t, "--root", b.Root, "app:v1", mnt)
			t.Cleanup(func() { unmountRef(t, mnt) })
			if code != 0 {
				t.Fatalf("mount: exit %d: %s", code, stderr)
			}
			topDir := b.Chain[img][0]
			want := "aufsmount: warning: layer " + filepath.Base(filepath.Dir(topDir)) + " (" + topDir + ") " + tc.lost +
				" that its tar-split records (copied without device nodes or xattrs?): the view follows the tar-split\n"
			if stderr != want {
				t.Errorf("stderr\n%q\nwant\n%q", stderr, want)
			}
			compareView(t, mnt, b.View(img))

			cmnt := t.TempDir()
			_, stderr, code = run(t, "--root", b.Root, "web", cmnt)
			t.Cleanup(func() { unmountRef(t, cmnt) })
			if code != 0 {
				t.Fatalf("mount web: exit %d: %s", code, stderr)
			}
			rw := b.ContainerChain[ctr][0]
			if !strings.Contains(stderr, "layer "+b.MountID[ctr]+" ("+rw+") has no tar-split; if it lost whiteouts or opaque markers when the store was copied, they cannot be recovered") {
				t.Errorf("container mount's stderr does not name its writable layer as unrecoverable:\n%s", stderr)
			}
		})
	}
}
