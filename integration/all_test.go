package integration

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
)

// TestMountAll mounts a whole store in one tree through the binary and
// checks every view against the model, the raw layer views against the
// layer directories, and that views share the inodes of shared layers.
func TestMountAll(t *testing.T) {
	testenv.FUSE(t)
	base := st.NewLayer("base", st.F("etc/os-release", "base"), st.F("bin/busybox", "bb"), st.H("bin/sh", "bin/busybox"), st.D("var/cache"), st.F("var/cache/x", "x"))
	mid := st.NewLayer("mid", st.F("usr/lib/libc.so", "libc"), st.WH("var/cache/x"))
	v1 := st.NewLayer("v1", st.F("app/version", "1"), st.OPQ("usr/lib"))
	v2 := st.NewLayer("v2", st.F("app/version", "2"), st.WH("etc/os-release"))
	app1 := &st.Image{Names: []string{"user/app:v1", "registry:5000/team/app:v1"}, Layers: []*st.Layer{base, mid, v1}}
	app2 := &st.Image{Names: []string{"user/app:v2"}, Layers: []*st.Layer{base, mid, v2}}
	ctr := &st.Container{Name: "web", Image: app1, RW: st.NewLayer("", st.F("app/state", "running"))}
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			b := writeTestStore(t, &st.Store{Images: []*st.Image{app1, app2}, Containers: []*st.Container{ctr}}, layout)
			mnt := t.TempDir()
			if _, stderr, code := run(t, "--root", b.Root, "mount-all", mnt); code != 0 {
				t.Fatalf("mount-all: exit %d: %s", code, stderr)
			}
			t.Cleanup(func() { daemonUnmount(t, mnt) })

			for img, names := range map[*st.Image][]string{app1: app1.Names, app2: app2.Names} {
				paths := []string{"ids/" + b.ImageID[img]}
				for _, n := range names {
					paths = append(paths, "images/"+n)
				}
				for _, p := range paths {
					checkDaemonView(t, filepath.Join(mnt, p), b.ChainLayers[img], b.Chain[img])
				}
			}
			for _, p := range []string{"containers/web", "containers/" + b.ContainerID[ctr]} {
				want := withBinds(t, b, ctr, expect(t, b.ContainerLayers[ctr], b.ContainerChain[ctr]), nil)
				if diffs := diffTrees(want, walk(t, filepath.Join(mnt, p)), nil); len(diffs) > 0 {
					t.Errorf("%s: %d differences:\n%s", p, len(diffs), strings.Join(head(diffs, 30), "\n"))
				}
			}

			// A raw layer shows what its directory holds, whiteouts included.
			top := b.Chain[app2][0]
			want := walk(t, noatimeView(t, top)+"/.")
			got := walk(t, filepath.Join(mnt, "layers", filepath.Base(top)))
			if diffs := diffTrees(want, got, nil); len(diffs) > 0 {
				t.Errorf("raw layer view: %s", strings.Join(head(diffs, 20), "\n"))
			}
			if _, ok := got[".wh.etc/os-release"]; ok || got["etc/.wh.os-release"].Mode == 0 {
				t.Errorf("raw layer view: the whiteout etc/.wh.os-release is not shown: %v", keys(got))
			}

			// Shared layers, shared inodes: the base's file is one inode in
			// both images, the tops' files are not.
			ino := func(p string) uint64 {
				var s unix.Stat_t
				if err := unix.Lstat(filepath.Join(mnt, p), &s); err != nil {
					t.Fatal(err)
				}
				return s.Ino
			}
			if a, b := ino("images/user/app:v1/bin/busybox"), ino("images/user/app:v2/bin/busybox"); a != b {
				t.Errorf("a file of a shared layer has inodes %d and %d in two images", a, b)
			}
			if a, b := ino("images/user/app:v1/app/version"), ino("images/user/app:v2/app/version"); a == b {
				t.Errorf("files of different layers share inode %d", a)
			}

			out, err := exec.Command("diff", "-r", "--no-dereference", filepath.Join(mnt, "images/user/app:v1"), filepath.Join(mnt, "images/user/app:v2")).CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("diff -r of two views: %v: %s", err, out)
			}
			for _, want := range []string{"Only in " + filepath.Join(mnt, "images/user/app:v1/etc") + ": os-release", "app/version"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("diff -r output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func keys(m map[string]info) []string {
	var out []string
	for k := range m {
		out = append(out, fmt.Sprintf("%q", k))
	}
	return out
}
