package layerstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shown renders a stack as "dir(encoding)" per layer, dirs relative to
// the store's root, with ids replaced by the names given.
func shown(root string, stack []Layer, names map[string]string) string {
	var parts []string
	for _, l := range stack {
		d, _ := filepath.Rel(root, l.Dir)
		for id, n := range names {
			d = strings.ReplaceAll(d, id, n)
		}
		enc := "nil"
		if l.Encoding != nil {
			enc = l.Encoding.Name
		}
		parts = append(parts, d+"("+enc+")")
	}
	return strings.Join(parts, " ")
}

func TestDriverStacks(t *testing.T) {
	tests := []struct {
		drv, image, container string
	}{
		{"aufs",
			"aufs/diff/TOP(aufs) aufs/diff/BASE(aufs)",
			"aufs/diff/MOUNT(aufs) aufs/diff/MOUNT-init(aufs) aufs/diff/TOP(aufs) aufs/diff/BASE(aufs)"},
		{"overlay2",
			"overlay2/TOP/diff(overlay) overlay2/BASE/diff(overlay)",
			"overlay2/MOUNT/diff(overlay) overlay2/MOUNT-init/diff(overlay) overlay2/TOP/diff(overlay) overlay2/BASE/diff(overlay)"},
		{"fuse-overlayfs",
			"fuse-overlayfs/TOP/diff(fuse-overlayfs) fuse-overlayfs/BASE/diff(fuse-overlayfs)",
			"fuse-overlayfs/MOUNT/diff(fuse-overlayfs) fuse-overlayfs/MOUNT-init/diff(fuse-overlayfs) fuse-overlayfs/TOP/diff(fuse-overlayfs) fuse-overlayfs/BASE/diff(fuse-overlayfs)"},
		{"overlay",
			"overlay/TOP/root(none)",
			"overlay/MOUNT/upper(overlay) overlay/TOP/root(none)"},
		{"vfs",
			"vfs/dir/TOP(none)",
			"vfs/dir/MOUNT(none)"},
	}
	for _, tt := range tests {
		t.Run(tt.drv, func(t *testing.T) {
			c, f := casFixtureOf(t, tt.drv)
			s := c.open()
			if got := s.Drivers(); len(got) != 1 || got[0] != tt.drv {
				t.Fatalf("drivers %v, want [%s]", got, tt.drv)
			}
			names := map[string]string{f.cmount: "MOUNT", c.caches[f.bbTop][0]: "TOP", c.caches[f.bbTop][1]: "BASE"}
			img, err := s.Resolve("busybox")
			if err != nil {
				t.Fatal(err)
			}
			if got := shown(c.root, img.Stack, names); got != tt.image {
				t.Errorf("image stack\n%s\nwant\n%s", got, tt.image)
			}
			if img.Driver != tt.drv || img.Image.Driver != tt.drv || len(img.Layers) != 2 || img.Layers[0].Driver != tt.drv {
				t.Errorf("driver %q, image's %q, layers %+v", img.Driver, img.Image.Driver, img.Layers)
			}
			ctr, err := s.Resolve("web")
			if err != nil {
				t.Fatal(err)
			}
			if got := shown(c.root, ctr.Stack, names); got != tt.container {
				t.Errorf("container stack\n%s\nwant\n%s", got, tt.container)
			}
			if len(ctr.Layers) != 4 || ctr.Container.Driver != tt.drv {
				t.Errorf("container layers %d, driver %q", len(ctr.Layers), ctr.Container.Driver)
			}
			if cs := s.Containers(); len(cs) != 1 || cs[0].Driver != tt.drv {
				t.Errorf("containers %+v", cs)
			}
		})
	}
}

// TestMultiDriver opens a root that a host used with two drivers: both
// trees' images list with their driver, a name both have is ambiguous,
// and --driver (Options.Driver) narrows to one.
func TestMultiDriver(t *testing.T) {
	c := newCASDriver(t, "aufs")
	old := c.image("old-base")
	c.tag("busybox:latest", old)
	c.tag("legacy:1", old)
	o := &casStore{testStore: c.testStore, drv: "overlay2", caches: map[string][]string{}, chains: map[string][]string{}, tags: map[string]map[string]string{}}
	o.mkdir("image/overlay2/layerdb/mounts")
	o.mkdir("overlay2/l")
	cur := o.image("new-base", "new-top")
	o.tag("busybox:latest", cur)
	o.tag("app:2", cur)
	o.container(hexOf("ctr-new"), "new", cur)
	c.container(hexOf("ctr-old"), "old", old)

	s := c.open()
	if got := strings.Join(s.Drivers(), ","); got != "aufs,overlay2" {
		t.Fatalf("drivers %s", got)
	}
	byDriver := map[string]string{}
	for _, img := range s.Images() {
		byDriver[img.ID] = img.Driver
	}
	if byDriver[old] != "aufs" || byDriver[cur] != "overlay2" || len(byDriver) != 2 {
		t.Errorf("images by driver %v", byDriver)
	}
	ctrs := map[string]string{}
	for _, ct := range s.Containers() {
		ctrs[ct.Name] = ct.Driver
	}
	if ctrs["old"] != "aufs" || ctrs["new"] != "overlay2" || len(ctrs) != 2 {
		t.Errorf("containers by driver %v", ctrs)
	}
	for ref, drv := range map[string]string{"legacy:1": "aufs", "app:2": "overlay2", "new": "overlay2", "old": "aufs", cur[:12]: "overlay2"} {
		tg, err := s.Resolve(ref)
		if err != nil {
			t.Errorf("%s: %v", ref, err)
			continue
		}
		if tg.Driver != drv {
			t.Errorf("%s: driver %s, want %s", ref, tg.Driver, drv)
		}
	}
	_, err := s.Resolve("busybox")
	want := "busybox: ambiguous: busybox:latest " + old[:12] + " (aufs), busybox:latest " + cur[:12] + " (overlay2) (name the driver with --driver)"
	if err == nil || err.Error() != want {
		t.Errorf("busybox: %v\nwant %s", err, want)
	}
	for drv, id := range map[string]string{"aufs": old, "overlay2": cur} {
		one, err := OpenWith(c.root, Options{Driver: drv})
		if err != nil {
			t.Fatal(err)
		}
		tg, err := one.Resolve("busybox")
		if err != nil || tg.Image.ID != id {
			t.Errorf("--driver %s busybox: %v, %v", drv, tg, err)
		}
		if n := len(one.Images()); n != 1 {
			t.Errorf("--driver %s: %d images", drv, n)
		}
	}
	if _, err := OpenWith(c.root, Options{Driver: "vfs"}); err == nil || !strings.Contains(err.Error(), "no vfs store here (it has aufs, overlay2)") {
		t.Errorf("--driver vfs: %v", err)
	}
	if _, err := OpenWith(c.root, Options{Driver: "zfs2"}); err == nil || !strings.Contains(err.Error(), `unknown storage driver "zfs2"`) {
		t.Errorf("--driver zfs2: %v", err)
	}
}

// TestCorruptDrivers breaks the drivers' own files: each must give an
// error naming the file at fault, never a view built from what it says.
func TestCorruptDrivers(t *testing.T) {
	type dcase struct {
		drv string
		corruptCase
	}
	top := func(f fixture) string { return f.layers[f.bbTop][0] }
	base := func(f fixture) string { return f.layers[f.bbTop][1] }
	cases := []dcase{
		{"overlay2", corruptCase{name: "lower outside the store", ref: "busybox",
			break_: func(f fixture) { write(t, f.root, "overlay2/"+top(f)+"/lower", "/etc") },
			fileOf: func(f fixture) string { return "overlay2/" + top(f) + "/lower" }, msg: "is not l/ and a 26-character link name", listed: true}},
		{"overlay2", corruptCase{name: "lower climbing out", ref: "busybox",
			break_: func(f fixture) {
				write(t, f.root, "overlay2/"+top(f)+"/lower", "l/../../../../etc/ABCDEFGHIJKLMNOPQRSTUVW")
			},
			fileOf: func(f fixture) string { return "overlay2/" + top(f) + "/lower" }, msg: "is not l/ and a 26-character link name", listed: true}},
		{"overlay2", corruptCase{name: "lower naming a layer of another chain", ref: "busybox",
			break_: func(f fixture) {
				write(t, f.root, "overlay2/"+top(f)+"/lower", "l/"+linkOf(f.layers[f.appBase][0]))
			},
			fileOf: func(f fixture) string { return "overlay2/" + top(f) + "/lower" }, msg: "entry 1 is " + "", listed: true}},
		{"overlay2", corruptCase{name: "lower missing", ref: "busybox",
			break_: func(f fixture) { os.Remove(filepath.Join(f.root, "overlay2", top(f), "lower")) },
			fileOf: func(f fixture) string { return "overlay2/" + top(f) + "/lower" }, msg: "lists no layers below", listed: true}},
		{"overlay2", corruptCase{name: "lower on a base layer", ref: "alpine:3.1",
			break_: func(f fixture) {
				write(t, f.root, "overlay2/"+f.layers[f.alpine][0]+"/lower", "l/"+linkOf(f.layers[f.bbTop][0]))
			},
			fileOf: func(f fixture) string { return "overlay2/" + f.layers[f.alpine][0] + "/lower" }, msg: "is extra", listed: true}},
		{"overlay2", corruptCase{name: "link with ..", ref: "busybox",
			break_: func(f fixture) { write(t, f.root, "overlay2/"+base(f)+"/link", "../../../../../../../etc") },
			fileOf: func(f fixture) string { return "overlay2/" + base(f) + "/link" }, msg: "is not a 26-character link name", listed: true}},
		{"overlay2", corruptCase{name: "link a symlink", ref: "busybox",
			break_: func(f fixture) {
				p := filepath.Join(f.root, "overlay2", base(f), "link")
				os.Remove(p)
				os.Symlink("/etc/hostname", p)
			},
			fileOf: func(f fixture) string { return "overlay2/" + base(f) + "/link" }, msg: "is a symlink", listed: true}},
		{"overlay2", corruptCase{name: "diff a symlink to /", ref: "busybox",
			break_: func(f fixture) {
				p := filepath.Join(f.root, "overlay2", base(f), "diff")
				os.RemoveAll(p)
				os.Symlink("/", p)
			},
			fileOf: func(f fixture) string { return "overlay2/" + base(f) + "/diff" }, msg: "symlink", listed: true}},
		{"overlay2", corruptCase{name: "container lower skips its init layer", ref: "web",
			break_: func(f fixture) {
				write(t, f.root, "overlay2/"+f.cmount+"/lower", "l/"+linkOf(top(f))+":l/"+linkOf(base(f)))
			},
			fileOf: func(f fixture) string { return "overlay2/" + f.cmount + "/lower" }, msg: "entry 1 is", listed: true}},
		{"fuse-overlayfs", corruptCase{name: "lower outside the store", ref: "busybox",
			break_: func(f fixture) { write(t, f.root, "fuse-overlayfs/"+top(f)+"/lower", "l/AAAAAAAAAAAAAAAAAAAAAAAAAA:/") },
			fileOf: func(f fixture) string { return "fuse-overlayfs/" + top(f) + "/lower" }, msg: "entry 2", listed: true}},
		{"overlay", corruptCase{name: "lower-id naming another image's layer", ref: "web",
			break_: func(f fixture) { write(t, f.root, "overlay/"+f.cmount+"/lower-id", f.layers[f.appTop][0]) },
			fileOf: func(f fixture) string { return "overlay/" + f.cmount + "/lower-id" }, msg: "but the container's image ends in", listed: true}},
		{"overlay", corruptCase{name: "lower-id cycle through the init layer", ref: "web",
			break_: func(f fixture) {
				write(t, f.root, "overlay/"+f.cmount+"/lower-id", f.cinit)
				write(t, f.root, "overlay/"+f.cinit+"/lower-id", f.cmount)
			},
			fileOf: func(f fixture) string { return "overlay/" + f.cmount + "/lower-id" }, msg: "but the container's image ends in", listed: true}},
		{"overlay", corruptCase{name: "lower-id a path", ref: "web",
			break_: func(f fixture) { write(t, f.root, "overlay/"+f.cmount+"/lower-id", "../../../etc") },
			fileOf: func(f fixture) string { return "overlay/" + f.cmount + "/lower-id" }, msg: "is not a layer id", listed: true}},
		{"overlay", corruptCase{name: "image layer without root", ref: "busybox",
			break_: func(f fixture) {
				os.RemoveAll(filepath.Join(f.root, "overlay", top(f), "root"))
				os.MkdirAll(filepath.Join(f.root, "overlay", top(f), "upper"), 0o755)
			},
			fileOf: func(f fixture) string { return "overlay/" + top(f) + "/root" }, msg: "has no root/", listed: true}},
		{"vfs", corruptCase{name: "layer dir missing", ref: "busybox",
			break_: func(f fixture) { os.RemoveAll(filepath.Join(f.root, "vfs", "dir", base(f))) },
			fileOf: func(f fixture) string { return "vfs/dir/" + base(f) }, msg: "layer directory is missing", listed: true}},
		{"vfs", corruptCase{name: "layer dir a symlink", ref: "busybox",
			break_: func(f fixture) {
				p := filepath.Join(f.root, "vfs", "dir", top(f))
				os.RemoveAll(p)
				os.Symlink("/", p)
			},
			fileOf: func(f fixture) string { return "vfs/dir/" + top(f) }, msg: "symlink", listed: true}},
	}
	for _, dc := range cases {
		t.Run(dc.drv, func(t *testing.T) {
			runCorrupt(t, func(t testing.TB) (func() *Store, fixture) {
				c, f := casFixtureOf(t, dc.drv)
				return c.open, f
			}, []corruptCase{dc.corruptCase})
		})
	}
}

func write(t testing.TB, root, rel, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, rel), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
