package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

// benchStore is the store the benchmark mounts: two images that share
// every layer but the top.
type benchStore struct {
	Root    string
	ChainA  []string // layer dirs, top first
	ChainB  []string
	Entries int    // entries written over all layers
	BigPath string // the big file, relative to the image root
	Params  params
}

// podmanDriver is what -drivers calls a containers/storage graphroot of
// the overlay driver; containerdDriver a containerd root, overlayfs
// snapshotter.
const (
	podmanDriver     = "podman"
	containerdDriver = "containerd"
)

type params struct {
	Entries, Layers, Wide int
	Big                   int64
	Driver                string // the storage driver the store is written for
	// Copied makes the store a copy that lost its owners, modes, times,
	// xattrs, devices, fifos and hard links (st.LostMetadata), which the
	// view restores from the tar-splits (docs/copies.md).
	Copied bool
}

// buildStore writes the store under dir, or reuses the one a previous run
// wrote with the same parameters (building 100k entries takes a while).
func buildStore(dir string, p params) (*benchStore, error) {
	key := fmt.Sprintf("store-%s-%d-%d-%d-%d", p.Driver, p.Entries, p.Layers, p.Wide, p.Big)
	if p.Copied {
		key += "-copied"
	}
	root := filepath.Join(dir, key)
	meta := root + ".json"
	if data, err := os.ReadFile(meta); err == nil {
		var bs benchStore
		if json.Unmarshal(data, &bs) == nil && bs.Params == p {
			if _, err := os.Stat(bs.ChainA[0]); err == nil {
				return &bs, nil
			}
		}
	}
	os.RemoveAll(root)
	layers := st.Generate(st.GenOptions{Seed: 1, Layers: p.Layers - 3, Entries: p.Entries - p.Wide})
	var wide []st.Entry
	for i := 0; i < p.Wide; i++ {
		wide = append(wide, st.F(fmt.Sprintf("srv/wide/entry-%06d.txt", i), fmt.Sprintf("entry %d\n", i)))
	}
	mid := len(layers) / 2
	layers = append(layers[:mid:mid], append([]*st.Layer{st.NewLayer("add big file", st.Big("srv/big/blob.bin", p.Big))}, layers[mid:]...)...)
	layers = append(layers, st.NewLayer("add wide dir", wide...))
	topA := st.NewLayer("version a", st.F("srv/version", "a\n"), st.F("etc/app.conf", "mode=a\n"), st.WH("srv/wide/entry-000001.txt"))
	topB := st.NewLayer("version b", st.F("srv/version", "b\n"), st.F("etc/app.conf", "mode=b\n"), st.F("srv/new-in-b", "b"))
	imgA := &st.Image{Names: []string{"bench:a"}, Layers: append(append([]*st.Layer{}, layers...), topA)}
	imgB := &st.Image{Names: []string{"bench:b"}, Layers: append(append([]*st.Layer{}, layers...), topB)}
	if p.Driver == containerdDriver {
		return buildContainerd(root, meta, p, imgA, imgB)
	}
	s := &st.Store{Images: []*st.Image{imgA, imgB}, Driver: p.Driver}
	layout := layerstore.LayoutCAS
	if p.Driver == podmanDriver {
		// A Podman graphroot, overlay driver: names are localhost/bench:a ...,
		// found by their short names as podman finds them.
		s.Kind, s.Driver, layout = st.KindContainersStorage, st.DriverOverlay, layerstore.LayoutContainers
	}
	b, err := s.Write(root, layout)
	if err != nil {
		return nil, fmt.Errorf("writing the benchmark store: %w", err)
	}
	if p.Copied {
		if _, err := b.Damage(st.LostMetadata); err != nil {
			return nil, fmt.Errorf("copying the benchmark store: %w", err)
		}
	}
	n := 0
	for _, l := range imgA.Layers {
		n += len(l.Entries)
	}
	return saveStore(meta, &benchStore{Root: root, ChainA: b.Chain[imgA], ChainB: b.Chain[imgB], Entries: n, BigPath: "srv/big/blob.bin", Params: p})
}

// saveStore records bs in meta, for the next run to find.
func saveStore(meta string, bs *benchStore) (*benchStore, error) {
	data, _ := json.Marshal(bs)
	if err := os.WriteFile(meta, data, 0644); err != nil {
		return nil, err
	}
	return bs, nil
}

// buildContainerd writes imgA and imgB as a containerd root (namespace
// default, overlayfs snapshotter) at root: found by the same names.
func buildContainerd(root, meta string, p params, imgA, imgB *st.Image) (*benchStore, error) {
	if p.Copied {
		return nil, fmt.Errorf("a copied containerd store is not measured")
	}
	a := &st.CDImage{Names: []string{"docker.io/library/bench:a"}, Layers: imgA.Layers}
	b := &st.CDImage{Names: []string{"docker.io/library/bench:b"}, Layers: imgB.Layers}
	cb, err := (&st.Containerd{Namespaces: []*st.CDNamespace{{Name: "default", Images: []*st.CDImage{a, b}}}}).Write(root)
	if err != nil {
		return nil, fmt.Errorf("writing the benchmark store: %w", err)
	}
	n := 0
	for _, l := range imgA.Layers {
		n += len(l.Entries)
	}
	return saveStore(meta, &benchStore{Root: root, ChainA: cb.Chains[a], ChainB: cb.Chains[b], Entries: n, BigPath: "srv/big/blob.bin", Params: p})
}

// shortLinks makes a folder of short symlinks to the layer dirs, as
// Docker's overlay2 does with l/, so a long chain fits in the one page
// mount options may take.
func shortLinks(dir, name string, chain []string) (string, error) {
	d := filepath.Join(dir, name)
	os.RemoveAll(d)
	if err := os.MkdirAll(d, 0755); err != nil {
		return "", err
	}
	var out []string
	for i, c := range chain {
		p := filepath.Join(d, fmt.Sprint(i))
		if err := os.Symlink(c, p); err != nil {
			return "", err
		}
		out = append(out, p)
	}
	return strings.Join(out, ":"), nil
}

// dockerLowers is the lowerdir option Docker's overlay2 driver mounts a
// chain with: the layers' l/ short names, relative to the driver's home,
// which the mount must be made from (so the option fits in a page).
func dockerLowers(chain []string) (home, lowers string, err error) {
	var names []string
	for _, diff := range chain {
		link, err := os.ReadFile(filepath.Join(filepath.Dir(diff), "link"))
		if err != nil {
			return "", "", err
		}
		names = append(names, "l/"+strings.TrimSpace(string(link)))
	}
	return filepath.Dir(filepath.Dir(chain[0])), strings.Join(names, ":"), nil
}
