package integration

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	afs "github.com/aufsmount/aufsmount/fs"
	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
)

// whichLayers is an image (base first) whose paths come from every layer,
// with xattrs of its own on files and directories.
func whichLayers() []*st.Layer {
	nl := func(entries ...st.Entry) *st.Layer { return st.NewLayer("RUN step", entries...) }
	return []*st.Layer{
		nl(st.D("etc").WithXattr("user.dir", "base"), st.F("etc/passwd", "root").WithXattr("user.mime", "text/plain"),
			st.F("etc/group", "g"), st.F("bin/busybox", "bb"), st.H("bin/sh", "bin/busybox"),
			st.F("usr/lib/a", "a"), st.F("ping", "p").WithXattr("security.capability", capNetRaw()).WithXattr("trusted.t", "1"),
			st.F("gone", "g"), st.F("opq/old", "o")),
		nl(st.F("usr/lib/b", "b"), st.F("etc/group", "g2").WithXattr("user.layer", "mid"), st.OPQ("opq"), st.F("opq/mid", "m")),
		nl(st.D("etc").WithXattr("user.dir", "top"), st.F("etc/motd", "hi"), st.WH("gone"), st.L("link", "etc/motd"),
			st.D("new").WithXattr("user.new", "1"), st.F("new/file", "f")),
	}
}

// TestWhichAndLayerXattr checks, on a mount, that user.aufsmount.layer names the
// layer of every file and directory (the topmost for a merged
// directory), that listxattr leaves it out, and that aufsmount which
// names the same layer.
func TestWhichAndLayerXattr(t *testing.T) {
	testenv.FUSE(t)
	for _, layout := range layouts {
		for _, aufsLinks := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/aufs-links=%v", layout, aufsLinks), func(t *testing.T) {
				layers := whichLayers()
				b, dirs := buildImage(t, layout, layers, aufsLinks)
				mnt := mountLayers(t, dirs)
				layersSeen := map[int]bool{}
				for _, n := range st.Merge(reversed(layers)) {
					p := filepath.Join(mnt, n.Path)
					want := filepath.Base(dirs[n.Layer])
					if n.Entry.Kind == st.File || n.Entry.Kind == st.Dir {
						// The kernel keeps user.* xattrs off symlinks and
						// devices: only files and directories answer.
						if got, err := getxattr(p, afs.LayerXattr); err != nil || got != want {
							t.Errorf("%q: %s = %q, %v; want %q", n.Path, afs.LayerXattr, got, err, want)
						}
						layersSeen[n.Layer] = true
					}
					names, err := listxattrNames(p)
					if err != nil {
						t.Errorf("%q: listxattr: %v", n.Path, err)
					}
					var own []string
					for k := range n.Entry.Xattrs {
						own = append(own, k)
					}
					sort.Strings(own)
					if strings.Join(names, " ") != strings.Join(own, " ") {
						t.Errorf("%q: listxattr gives %q, want the image's own %q", n.Path, names, own)
					}
					// which agrees with the xattr, for every kind of entry.
					stdout, stderr, code := run(t, "--root", b.Root, "which", "--json", "--no-trunc", "test/image:latest", "/"+n.Path)
					var ps []struct{ ID, Status string }
					if code != 0 || json.Unmarshal([]byte(stdout), &ps) != nil || len(ps) == 0 {
						t.Errorf("which %q: exit %d, %q, %s", n.Path, code, stdout, stderr)
					} else if ps[0].ID != want || ps[0].Status != "provides" {
						t.Errorf("which %q: %+v; the layer is %s", n.Path, ps[0], want)
					}
				}
				if len(layersSeen) != len(layers) {
					t.Fatalf("only layers %v checked", layersSeen)
				}
				// A merged directory: the topmost layer, and its own xattrs.
				if got, _ := getxattr(filepath.Join(mnt, "etc"), afs.LayerXattr); got != filepath.Base(dirs[0]) {
					t.Errorf("etc: %s = %q, want the top layer", afs.LayerXattr, got)
				}
				if x, err := xattrs(filepath.Join(mnt, "etc")); err != nil || x != "user.dir="+fmt.Sprintf("%x", "top") {
					t.Errorf("etc: xattrs %q, %v", x, err)
				}
				getfattrListsOwn(t, mnt)
			})
		}
	}
}

// getfattrListsOwn runs getfattr -d -m - (dump every xattr), where the
// attr package is installed, as a user would to see what a file has.
func getfattrListsOwn(t *testing.T, mnt string) {
	t.Helper()
	bin, err := exec.LookPath("getfattr")
	if err != nil {
		t.Log("getfattr not installed: listxattr checked directly only")
		return
	}
	out, err := exec.Command(bin, "--absolute-names", "-d", "-m", "-", filepath.Join(mnt, "ping"), filepath.Join(mnt, "etc"), filepath.Join(mnt, "new")).CombinedOutput()
	if err != nil {
		t.Fatalf("getfattr: %v: %s", err, out)
	}
	for _, w := range []string{"security.capability=", "trusted.t=\"1\"", "user.dir=\"top\"", "user.new=\"1\""} {
		if !strings.Contains(string(out), w) {
			t.Errorf("getfattr -d does not show %s:\n%s", w, out)
		}
	}
	if strings.Contains(string(out), "aufsmount") {
		t.Errorf("getfattr -d shows the layer xattr:\n%s", out)
	}
	out, err = exec.Command(bin, "--absolute-names", "--only-values", "-n", afs.LayerXattr, filepath.Join(mnt, "new", "file")).CombinedOutput()
	if err != nil || len(out) < 12 {
		t.Errorf("getfattr -n %s: %v: %q", afs.LayerXattr, err, out)
	}
}

func getxattr(path, name string) (string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Lgetxattr(path, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func listxattrNames(path string) ([]string, error) {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(path, buf)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range strings.Split(string(buf[:n]), "\x00") {
		if s != "" {
			names = append(names, s)
		}
	}
	sort.Strings(names)
	return names, nil
}

// TestWhichRules runs aufsmount which on every path of every rule case,
// in the drivers that stack layers, and checks it against the model: the
// one layer it says provides the path is the layer the model shows it
// from (for overlay2, the model knows the kernel loses an image layer's
// opaque root). overlay and vfs keep whole trees, one directory per
// view: nothing to choose between.
func TestWhichRules(t *testing.T) {
	for _, dc := range driverCases {
		switch dc.store.Driver {
		case st.DriverAufs, st.DriverOverlay2, st.DriverFuseOverlayfs:
		default:
			continue
		}
		for _, tc := range ruleCases() {
			t.Run(dc.name+"/"+tc.name, func(t *testing.T) {
				img := &st.Image{Names: []string{"test/image:latest"}, Layers: tc.layers}
				b := writeDriverStore(t, dc, []*st.Image{img}, nil)
				chain := b.Chain[img]
				for _, n := range b.View(img) {
					stdout, stderr, code := run(t, "--root", b.Root, "which", "--json", "--no-trunc", "test/image:latest", "/"+n.Path)
					var ps []struct{ ID, Dir, Status string }
					if code != 0 || json.Unmarshal([]byte(stdout), &ps) != nil {
						t.Errorf("which %q: exit %d, %q, %s", n.Path, code, stdout, stderr)
						continue
					}
					var provides []string
					for _, p := range ps {
						if p.Status == "provides" {
							provides = append(provides, p.Dir)
						}
					}
					if len(provides) != 1 || provides[0] != chain[n.Layer] {
						t.Errorf("which %q: provided by %q; the model shows it from layer %d of %d, %s", n.Path, provides, n.Layer, len(chain), chain[n.Layer])
					}
				}
			})
		}
	}
}
