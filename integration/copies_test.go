package integration

import (
	"strings"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// lossyImages are images with everything a copy loses: owners other than
// root, setuid and sticky bits, a capability, a device, a fifo, hard
// links, a whiteout and an opaque directory.
func lossyImages() (*st.Image, *st.Image, *st.Container) {
	base := l(
		st.F("etc/os-release", "ID=test\n"), st.F("etc/motd", "welcome\n"),
		st.F("bin/busybox", "#!busybox\n").WithMode(0755), st.H("bin/sh", "bin/busybox"), st.H("bin/ls", "bin/busybox"),
		st.L("bin/vi", "busybox"), st.Mknod("dev/null", st.CharDev, 1, 3), st.Mknod("run/initctl", st.Fifo, 0, 0),
		st.F("bin/su", "su").WithMode(04755), st.D("tmp").WithMode(01777),
		st.F("bin/ping", "ping").WithMode(0755).WithXattr("security.capability", capNetRaw()),
		st.D("home/user").WithMode(0700).WithOwner(1000, 1000), st.F("home/user/.profile", "p").WithOwner(1000, 1000).WithMode(0600),
		st.F("var/cache/a", "a"), st.F("var/cache/b", "b"),
	)
	top := l(st.F("app/main", "v1").WithOwner(33, 33), st.WH("etc/motd"), st.OPQ("var/cache"), st.F("var/cache/c", "c"),
		st.Mknod("dev/zero", st.CharDev, 1, 5))
	img := &st.Image{Names: []string{"app:v1"}, Layers: []*st.Layer{base, top}}
	ctr := &st.Container{Name: "web", Image: img, RW: l(st.F("tmp/x", "x"))}
	return img, &st.Image{Names: []string{"base:v1"}, Layers: []*st.Layer{base}}, ctr
}

// TestLossyCopy mounts, in every driver's layout, copies of a store that
// lost owners, modes, times, xattrs, devices, fifos or hard links (each
// alone, and all together), and compares the whole view with the image
// as built: what a copy lost comes back from the layers' tar-splits.
func TestLossyCopy(t *testing.T) {
	testenv.FUSE(t)
	losses := []struct {
		name string
		loss st.Loss
	}{
		{"owners", st.LostOwners}, {"modes", st.LostModes}, {"times", st.LostTimes},
		{"xattrs", st.LostAllXattrs}, {"specials", st.LostSpecials}, {"links", st.LostLinks},
		{"all", st.LostMetadata},
	}
	for _, dc := range driverCases {
		if dc.layout == layerstore.LayoutGraph {
			continue // the pre-1.10 layout keeps no tar-split
		}
		for _, tc := range losses {
			if tc.loss != st.LostMetadata && dc.name != "overlay2" && dc.name != "aufs" {
				continue // each loss alone on two drivers; all of them on every one
			}
			t.Run(dc.name+"/"+tc.name, func(t *testing.T) {
				img, base, ctr := lossyImages()
				b := writeDriverStore(t, dc, []*st.Image{img, base}, []*st.Container{ctr})
				if _, err := b.Damage(tc.loss); err != nil {
					t.Fatalf("damaging the copy: %v", err)
				}
				for _, im := range []*st.Image{img, base} {
					mnt := t.TempDir()
					_, stderr, code := run(t, "--root", b.Root, im.Names[0], mnt)
					if code != 0 {
						t.Fatalf("mount %s: exit %d: %s", im.Names[0], code, stderr)
					}
					compareView(t, mnt, b.View(im))
					unmountRef(t, mnt)
					if !strings.Contains(stderr, "restored from its tar-split") && !strings.Contains(stderr, "recreated") && !strings.Contains(stderr, "joined again") {
						t.Errorf("mount %s: stderr does not say what was restored:\n%s", im.Names[0], stderr)
					}
				}
				// As it is: the copy itself.
				mnt := t.TempDir()
				_, stderr, code := run(t, "--root", b.Root, "-o", "as-is", "base:v1", mnt)
				if code != 0 {
					t.Fatalf("mount -o as-is: exit %d: %s", code, stderr)
				}
				defer unmountRef(t, mnt)
				if stderr != "" {
					t.Errorf("mount -o as-is said %q", stderr)
				}
				if err := st.Compare(mnt, b.View(base), st.CompareOptions{}); err == nil {
					t.Errorf("-o as-is shows the image as built, not the copy")
				}
				// The kernel path cannot restore: it says so, and the view
				// (through FUSE) is the image's all the same.
				kmnt := t.TempDir()
				_, stderr, code = run(t, "--root", b.Root, "-o", "kernel", "app:v1", kmnt)
				if code != 0 {
					t.Fatalf("mount -o kernel: exit %d: %s", code, stderr)
				}
				defer unmountRef(t, kmnt)
				if !strings.Contains(stderr, "aufsmount: note: -o kernel: kernel overlayfs cannot show this view exactly (metadata restored from a tar-split)") || !strings.Contains(stderr, "serving through FUSE") {
					t.Errorf("mount -o kernel of a lossy copy: stderr does not say it serves through FUSE:\n%s", stderr)
				}
				// The FUSE view is the plan the kernel path resolved: what
				// was restored is said once, not again by a second resolve.
				said := map[string]bool{}
				for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
					if said[line] {
						t.Errorf("mount -o kernel of a lossy copy: %q said twice:\n%s", line, stderr)
					}
					said[line] = true
				}
				compareView(t, kmnt, b.View(img))
			})
		}
	}
}
