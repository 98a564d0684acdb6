package layerstore

import (
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// shownData renders GraphDriver.Data as sorted "key=dirs" lines, the
// dirs relative to root with ids replaced by the names given.
func shownData(root string, data map[string]string, names map[string]string) string {
	if data == nil {
		return "nil"
	}
	var lines []string
	for k, v := range data {
		var dirs []string
		for _, d := range strings.Split(v, ":") {
			d, _ = filepath.Rel(root, d)
			for id, n := range names {
				d = strings.ReplaceAll(d, id, n)
			}
			dirs = append(dirs, d)
		}
		lines = append(lines, k+"="+strings.Join(dirs, ":"))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestGraphDriver resolves an image and a container of a real store of
// each driver and checks GraphDriver against the directories docker
// inspect names for them.
func TestGraphDriver(t *testing.T) {
	tests := []struct {
		drv, image, container string
	}{
		{"aufs", "nil", "nil"},
		{"overlay2",
			"LowerDir=overlay2/BASE/diff\nMergedDir=overlay2/TOP/merged\nUpperDir=overlay2/TOP/diff\nWorkDir=overlay2/TOP/work",
			"LowerDir=overlay2/MOUNT-init/diff:overlay2/TOP/diff:overlay2/BASE/diff\nMergedDir=overlay2/MOUNT/merged\nUpperDir=overlay2/MOUNT/diff\nWorkDir=overlay2/MOUNT/work"},
		{"fuse-overlayfs",
			"LowerDir=fuse-overlayfs/BASE/diff\nMergedDir=fuse-overlayfs/TOP/merged\nUpperDir=fuse-overlayfs/TOP/diff\nWorkDir=fuse-overlayfs/TOP/work",
			"LowerDir=fuse-overlayfs/MOUNT-init/diff:fuse-overlayfs/TOP/diff:fuse-overlayfs/BASE/diff\nMergedDir=fuse-overlayfs/MOUNT/merged\nUpperDir=fuse-overlayfs/MOUNT/diff\nWorkDir=fuse-overlayfs/MOUNT/work"},
		{"overlay",
			"RootDir=overlay/TOP/root",
			"LowerDir=overlay/TOP/root\nMergedDir=overlay/MOUNT/merged\nUpperDir=overlay/MOUNT/upper\nWorkDir=overlay/MOUNT/work"},
		{"vfs", "nil", "nil"},
	}
	for _, tt := range tests {
		t.Run(tt.drv, func(t *testing.T) {
			c, f := casFixtureOf(t, tt.drv)
			s := c.open()
			names := map[string]string{f.cmount: "MOUNT", c.caches[f.bbTop][0]: "TOP", c.caches[f.bbTop][1]: "BASE"}
			for _, ref := range []string{"busybox", "web"} {
				target, err := s.Resolve(ref)
				if err != nil {
					t.Fatal(err)
				}
				want := tt.image
				if ref == "web" {
					want = tt.container
				}
				name, data := target.GraphDriver()
				if name != tt.drv {
					t.Errorf("%s: name %q, want %q", ref, name, tt.drv)
				}
				if got := shownData(c.root, data, names); got != want {
					t.Errorf("%s: data\n%s\nwant\n%s", ref, got, want)
				}
			}
		})
	}
}

// TestGraphDriverOneLayer: a lone layer has no LowerDir; a target
// without layers, or of a driver not supported, has no data.
func TestGraphDriverOneLayer(t *testing.T) {
	tests := []struct {
		name   string
		target Target
		want   map[string]string
	}{
		{"overlay2 base image",
			Target{Kind: KindImage, Driver: "overlay2", Layers: []Layer{{Dir: "/r/overlay2/abc/diff"}}},
			map[string]string{"MergedDir": "/r/overlay2/abc/merged", "UpperDir": "/r/overlay2/abc/diff", "WorkDir": "/r/overlay2/abc/work"}},
		{"overlay container over a layerless image",
			Target{Kind: KindContainer, Driver: "overlay", Layers: []Layer{{Dir: "/r/overlay/m/upper"}},
				Stack: []Layer{{Dir: "/r/overlay/m/upper"}}},
			map[string]string{"MergedDir": "/r/overlay/m/merged", "UpperDir": "/r/overlay/m/upper", "WorkDir": "/r/overlay/m/work"}},
		{"no layers", Target{Kind: KindImage, Driver: "overlay2"}, nil},
		{"unknown driver", Target{Kind: KindImage, Driver: "zfs", Layers: []Layer{{Dir: "/r/zfs/graph/abc"}}}, nil},
	}
	for _, tt := range tests {
		name, data := tt.target.GraphDriver()
		if name != tt.target.Driver {
			t.Errorf("%s: name %q, want %q", tt.name, name, tt.target.Driver)
		}
		if !reflect.DeepEqual(data, tt.want) {
			t.Errorf("%s: data %q, want %q", tt.name, data, tt.want)
		}
	}
}
