package storetest

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/layerstore"
)

// damaged is what a layer directory holds once it lost loss.
func damaged(nodes []Node, loss Loss) []Node {
	var out []Node
	for _, n := range nodes {
		e := n.Entry
		if loss&LostDevices != 0 && e.Kind == CharDev && e.Major == 0 && e.Minor == 0 {
			continue
		}
		if loss&LostXattrs != 0 {
			e.Xattrs = maps.Clone(e.Xattrs)
			for _, x := range opaqueXattrs {
				delete(e.Xattrs, x)
			}
		}
		n.Entry = e
		out = append(out, n)
	}
	return out
}

func TestDamage(t *testing.T) {
	for _, tt := range []struct {
		name string
		s    func(*Store)
		loss Loss
	}{
		{"overlay2 xattrs", func(s *Store) { s.Driver = DriverOverlay2 }, LostXattrs},
		{"overlay2 devices", func(s *Store) { s.Driver = DriverOverlay2 }, LostDevices},
		{"overlay2 rootless both", func(s *Store) { s.Driver, s.Rootless = DriverOverlay2, true }, LostXattrs | LostDevices},
		{"overlay both", func(s *Store) { s.Driver = DriverOverlay }, LostXattrs | LostDevices},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			f.c2.RW = NewLayer("", OPQ("usr"), WH("etc/passwd"))
			tt.s(f.s)
			b, err := f.s.Write(t.TempDir(), layerstore.LayoutCAS)
			if err != nil {
				t.Fatal(err)
			}
			// What each directory holds before, and the tar-splits.
			want := map[string][]Node{}
			for _, img := range f.s.Images {
				for i, d := range b.Chain[img] {
					want[d] = wantLayerDir(t, f.s, b, b.ChainLayers[img][i:], 0)
				}
			}
			if b.Driver == DriverOverlay2 {
				for _, c := range f.s.Containers {
					for i, d := range b.ContainerChain[c][:2] {
						want[d] = wantLayerDir(t, f.s, b, b.ContainerLayers[c][i:], 2-i)
					}
				}
			}
			splits := map[string]string{}
			tsDir := filepath.Join(b.Root, "image", b.Driver, "layerdb/sha256")
			ents, _ := os.ReadDir(tsDir)
			for _, e := range ents {
				splits[e.Name()] = read(t, filepath.Join(tsDir, e.Name(), "tar-split.json.gz"))
			}
			changed, err := b.Damage(tt.loss)
			if err != nil {
				t.Fatal(err)
			}
			var wantChanged []string
			for d, nodes := range want {
				after := damaged(nodes, tt.loss)
				if !slices.EqualFunc(after, nodes, func(a, b Node) bool { return a.Path == b.Path && maps.Equal(a.Entry.Xattrs, b.Entry.Xattrs) }) {
					wantChanged = append(wantChanged, d)
				}
				if err := Compare(d, after, CompareOptions{}); err != nil {
					t.Error(err)
				}
			}
			if b.Driver == DriverOverlay {
				// The container uppers: their markers only are gone.
				for _, c := range f.s.Containers {
					if changed := slices.Contains(changed, b.ContainerChain[c][0]); !changed {
						t.Errorf("container %s: upper not damaged", c.Name)
					}
					wantChanged = append(wantChanged, b.ContainerChain[c][0])
				}
			}
			slices.Sort(wantChanged)
			if !slices.Equal(changed, wantChanged) || len(changed) < 2 {
				t.Errorf("changed\n\t%v\nwant\n\t%v", changed, wantChanged)
			}
			for name, data := range splits {
				if got := read(t, filepath.Join(tsDir, name, "tar-split.json.gz")); got != data {
					t.Errorf("tar-split of %s changed", name)
				}
			}
			// The tars can still be given back: markers have no content.
			for _, img := range f.s.Images {
				for i, d := range b.Chain[img] {
					ts := filepath.Join(tsDir, strings.TrimPrefix(b.ChainIDs[img][i], "sha256:"), "tar-split.json.gz")
					if got := reassemble(t, ts, d); got != b.DiffIDs[img][i] {
						t.Errorf("%v layer %d: reassembled %s", img.Names, i, got)
					}
				}
			}
		})
	}
	b, err := newFixture().s.Write(t.TempDir(), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Damage(LostDevices); err == nil || !strings.Contains(err.Error(), "no overlay markers") {
		t.Errorf("damaging aufs: %v", err)
	}
}
