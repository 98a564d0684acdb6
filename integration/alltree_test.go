package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// TestMountAllLeavesOut mounts a store where one view cannot be laid
// out with the others and one image's config is damaged: the tag
// x:5000 (image x, tag 5000) is a file where the tags of registry
// x:5000 need a directory, and the config of the image of container
// box is cut short. mount-all mounts all the rest, the damaged image
// from its container's chain, and says on its own stderr what it left
// out and what it worked around.
func TestMountAllLeavesOut(t *testing.T) {
	testenv.FUSE(t)
	base := l(st.F("etc/os-release", "base"))
	x := &st.Image{Names: []string{"x:5000"}, Layers: []*st.Layer{base, l(st.F("x", "the image x, tag 5000"))}}
	z := &st.Image{Names: []string{"x:5000/z:1"}, Layers: []*st.Layer{base, l(st.F("z", "z:1 of registry x:5000"))}}
	hurt := &st.Image{Names: []string{"hurt:1"}, Layers: []*st.Layer{base, l(st.F("hurt", "its config is cut short"))}}
	box := &st.Container{Name: "box", Image: hurt, RW: l(st.F("tmp/state", "s"))}
	b := writeTestStore(t, &st.Store{Images: []*st.Image{x, z, hurt}, Containers: []*st.Container{box}}, layerstore.LayoutCAS)
	config := filepath.Join(b.Root, "image", "aufs", "imagedb", "content", "sha256", b.ImageID[hurt])
	hostileTruncate(t, config, 40)

	mnt := t.TempDir()
	stdout, stderr, code := run(t, "--root", b.Root, "mount-all", mnt)
	if code != 0 {
		t.Fatalf("mount-all: exit %d: %s", code, stderr)
	}
	t.Cleanup(func() { daemonUnmount(t, mnt) })
	for _, want := range []string{
		"aufsmount: warning: leaving out images/x:5000: images/x:5000 is a directory of other views (images/x:5000/z:1)\n",
		"aufsmount: warning: image " + b.ImageID[hurt][:12] + ": " + config + ": ",
		"aufsmount: warning: container box: image " + b.ImageID[hurt][:12] + ": " + config + ": ",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("mount-all: stderr does not say %q:\n%s", want, stderr)
		}
	}
	if stdout != "" {
		t.Errorf("mount-all printed %q", stdout)
	}
	checkDaemonView(t, filepath.Join(mnt, "images/x:5000/z:1"), b.ChainLayers[z], b.Chain[z])
	checkDaemonView(t, filepath.Join(mnt, "ids", b.ImageID[x]), b.ChainLayers[x], b.Chain[x])
	checkDaemonView(t, filepath.Join(mnt, "ids", b.ImageID[hurt]), b.ChainLayers[hurt], b.Chain[hurt])
	want := withBinds(t, b, box, expect(t, b.ContainerLayers[box], b.ContainerChain[box]), nil)
	if diffs := diffTrees(want, walk(t, filepath.Join(mnt, "containers/box")), nil); len(diffs) > 0 {
		t.Errorf("containers/box: %s", strings.Join(head(diffs, 20), "\n"))
	}
	if fi, err := os.Lstat(filepath.Join(mnt, "images/x:5000")); err != nil || !fi.IsDir() {
		t.Errorf("images/x:5000: %v, %v: want the directory of registry x:5000", fi, err)
	}
}

// TestMountAllDotDot checks that in every directory of a mount-all tree
// above the views, and at the root of every view, the ".." that readdir
// lists is what stat of ".." finds, and "." the directory itself.
func TestMountAllDotDot(t *testing.T) {
	testenv.FUSE(t)
	base := l(st.F("etc/os-release", "base"), st.F("usr/lib/libc.so", "c"))
	a := &st.Image{Names: []string{"team/app:v1", "registry:5000/team/app:v1"}, Layers: []*st.Layer{base, l(st.F("app", "1"))}}
	bb := &st.Image{Names: []string{"team/app:v2"}, Layers: []*st.Layer{base, l(st.F("usr/bin/x", "x"))}}
	ctr := &st.Container{Name: "web", Image: a}
	b := writeTestStore(t, &st.Store{Images: []*st.Image{a, bb}, Containers: []*st.Container{ctr}}, layerstore.LayoutCAS)
	mnt := t.TempDir()
	if _, stderr, code := run(t, "--root", b.Root, "mount-all", mnt); code != 0 {
		t.Fatalf("mount-all: exit %d: %s", code, stderr)
	}
	t.Cleanup(func() { daemonUnmount(t, mnt) })
	ino := func(p string) uint64 {
		var sb unix.Stat_t
		if err := unix.Stat(p, &sb); err != nil {
			t.Fatalf("stat %s: %v", p, err)
		}
		return sb.Ino
	}
	dirs := []string{"", "images", "images/team", "images/registry:5000", "images/registry:5000/team", "ids", "containers", "layers",
		"images/team/app:v1", "images/team/app:v2", "images/registry:5000/team/app:v1", "ids/" + b.ImageID[a], "containers/web",
		"containers/" + b.ContainerID[ctr], "images/team/app:v1/usr", "containers/web/etc"}
	for _, d := range dirs {
		p := filepath.Join(mnt, d)
		seen := map[string]uint64{}
		for _, e := range getdents(t, p) {
			if e.name == "." || e.name == ".." {
				seen[e.name] = e.ino
			}
		}
		if seen["."] != ino(p) {
			t.Errorf("/%s: readdir gives . inode %#x, stat %#x", d, seen["."], ino(p))
		}
		if d == "" {
			continue // the root of the mount: stat .. leaves the mount
		}
		if seen[".."] != ino(p+"/..") {
			t.Errorf("/%s: readdir gives .. inode %#x, stat of .. %#x", d, seen[".."], ino(p+"/.."))
		}
	}
}
