package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// TestMountAllDrivers mounts, for every driver's layout, a store of every
// rule case and containers over them, in one mount-all tree and one view
// at a time, and compares each mount-all view whole with the model and
// with the single mount of the same reference: a view of mount-all is
// exactly the view its own mount shows, whatever the driver, and for
// copies that lost their markers or the rest of their metadata too.
func TestMountAllDrivers(t *testing.T) {
	testenv.FUSE(t)
	for _, dc := range driverCases {
		for _, loss := range []st.Loss{0, st.LostXattrs | st.LostDevices, st.LostMetadata} {
			name := dc.name
			switch {
			case loss == st.LostMetadata:
				if dc.layout == layerstore.LayoutGraph {
					continue // no tar-splits to restore from
				}
				name += "/copied without owners, modes, times, xattrs, specials or links"
			case loss != 0:
				if dc.store.Driver == st.DriverAufs || dc.store.Driver == st.DriverVFS {
					continue // their markers are plain files, which every copy keeps
				}
				name += "/copied without xattrs or devices"
			}
			t.Run(name, func(t *testing.T) {
				var imgs []*st.Image
				for i, tc := range ruleCases() {
					imgs = append(imgs, &st.Image{Names: []string{fmt.Sprintf("rules/%02d:latest", i)}, Layers: tc.layers})
				}
				// Two containers that delete and make opaque over images
				// whose layers other views share.
				web := &st.Container{Name: "web", Image: imgs[0], RW: l(st.WH("etc/group"), st.F("tmp/session/1", "s"))}
				opq := &st.Container{Name: "opq", Image: imgs[3], RW: l(st.OPQ("var"), st.F("var/new", "n"))}
				ctrs := []*st.Container{web, opq}
				b := writeDriverStore(t, dc, imgs, ctrs)
				if loss != 0 {
					if _, err := b.Damage(loss); err != nil {
						t.Fatalf("damaging the copy: %v", err)
					}
				}
				all := t.TempDir()
				if _, stderr, code := run(t, "--root", b.Root, "mount-all", all); code != 0 {
					t.Fatalf("mount-all: exit %d: %s", code, stderr)
				}
				t.Cleanup(func() { daemonUnmount(t, all) })
				for _, img := range imgs {
					ref, path := img.Names[0], "images/"+img.Names[0]
					if dc.layout == layerstore.LayoutContainers {
						path = "images/localhost/" + ref // as podman load names it
					}
					for _, p := range []string{path, "ids/" + b.ImageID[img]} {
						view := filepath.Join(all, p)
						if err := st.Compare(view, b.View(img), st.CompareOptions{Restored: loss == st.LostMetadata}); err != nil {
							t.Error(err)
						}
						sameAsSingle(t, b.Root, ref, view)
					}
				}
				for _, c := range ctrs {
					view := filepath.Join(all, "containers", c.Name)
					if loss == 0 { // a container layer has no tar-split to recover its markers from
						want := b.ContainerView(c)
						if dc.layout != layerstore.LayoutContainers { // Podman keeps its /etc/hosts ... in its run root
							want = withBindNodes(t, b, c, want)
						}
						compareView(t, view, want)
					}
					sameAsSingle(t, b.Root, c.Name, view)
				}
			})
		}
	}
}

// sameAsSingle mounts ref alone and compares that tree whole with view.
func sameAsSingle(t *testing.T, root, ref, view string) {
	t.Helper()
	mnt := t.TempDir()
	if _, stderr, code := run(t, "--root", root, ref, mnt); code != 0 {
		t.Fatalf("mounting %s: exit %d: %s", ref, code, stderr)
	}
	defer daemonUnmount(t, mnt)
	if diffs := diffTrees(walk(t, mnt), walk(t, view), nil); len(diffs) > 0 {
		t.Errorf("%s: mount-all's view differs from its single mount in %d ways:\n%s", ref, len(diffs), strings.Join(head(diffs, 20), "\n"))
	}
}
