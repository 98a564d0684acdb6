package storetest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
)

// csLayerID is a layer's id as containers/image gives it (layerID in
// storage/storage_dest.go): its diff id's hex for a base layer, else
// sha256 of the parent's id + "+" + its diff id's hex.
func csLayerID(parent, diffID string) string {
	hex := digest.Digest(diffID).Encoded()
	if parent == "" {
		return hex
	}
	return digest.Canonical.FromString(parent + "+" + hex).Encoded()
}

// imageLayers gives the layers of img their ids, recording the new ones,
// and fills in what Built says of its chain.
func (w *csWriter) imageLayers(img *Image, dirs map[*Image][]string) error {
	imgDirs := make([]string, len(img.Layers))
	var chain, ids, diffIDs []string
	var real []*Layer
	var stack []stackLayer
	parent := ""
	for i, l := range img.Layers {
		if l.Empty {
			continue
		}
		t := w.tar[l]
		id := csLayerID(parent, t.diffID)
		what := fmt.Sprintf("%d of image %v", i, img.Names)
		if cl := w.byID[id]; cl == nil {
			cl = &csLayer{id: id, parent: parent, l: l, created: layerCreated(l), tar: t, what: what}
			w.byID[id] = cl
			w.layers = append(w.layers, cl)
		} else if cl.l != l && digestLayer(cl.l) != digestLayer(l) {
			return fmt.Errorf("layer %s and layer %s make the same tar over the same layers, but differ (in what a tar does not keep: atimes, parts of seconds, sockets)", what, cl.what)
		}
		d := w.path(w.csLayerDir(id))
		imgDirs[i] = d
		chain = append(chain, d)
		ids = append(ids, id)
		diffIDs = append(diffIDs, t.diffID)
		real = append(real, w.byID[id].l)
		stack = append(stack, stackLayer{id, w.byID[id].l})
		parent = id
	}
	dirs[img] = imgDirs
	w.top[img] = parent
	var chainIDs []string
	for _, c := range identity.ChainIDs(digestsOf(diffIDs)) {
		chainIDs = append(chainIDs, c.String())
	}
	b := w.b
	b.Chain[img] = reversed(chain)
	b.ChainLayers[img] = reversed(real)
	b.LayerIDs[img] = reversed(ids)
	b.DiffIDs[img] = reversed(diffIDs)
	b.ChainIDs[img] = reversed(chainIDs)
	if w.driver == DriverVFS {
		b.Stack[img] = topOnly(b.Chain[img])
	} else {
		b.Stack[img] = slices.Clone(b.Chain[img])
	}
	w.stacks[img] = reversed(stack)
	return nil
}

func digestsOf(s []string) []digest.Digest {
	ds := make([]digest.Digest, len(s))
	for i, d := range s {
		ds[i] = digest.Digest(d)
	}
	return ds
}

// csLayerDir is, relative to the root, the directory of layer id.
func (w *csWriter) csLayerDir(id string) string {
	if w.driver == DriverVFS {
		return "vfs/dir/" + id
	}
	return "overlay/" + id + "/diff"
}

// stackOf is layer cl over the layers below it, nearest first.
func (w *csWriter) stackOf(cl *csLayer) []stackLayer {
	s := []stackLayer{{cl.id, cl.l}}
	for p := cl.parent; p != ""; p = w.byID[p].parent {
		s = append(s, stackLayer{p, w.byID[p].l})
	}
	return s
}

// layerDir queues the directory of a layer and writes what the driver
// keeps beside it: for overlay, as containers/storage's Create does, the
// link, l/<link>, work/, merged/, and lower (the links of the layers
// below, nearest first) or, for a layer without parent, empty/.
func (w *csWriter) layerDir(cl *csLayer, container bool) error {
	s := w.stackOf(cl)
	if w.driver == DriverVFS {
		return vfsDriver{}.layer(w.storeWriter, s, cl.what, container)
	}
	top := w.path("overlay", cl.id)
	if err := os.Mkdir(top, 0700); err != nil {
		return err
	}
	var below []Node
	if container && !w.s.MountProgram {
		below = w.view(s[1:]) // the kernel wrote it
	}
	x, _ := overlayForm(w.expanded[cl.l], w.enc, below)
	w.jobs = append(w.jobs, layerJob{dir: filepath.Join(top, "diff"), x: x, what: cl.what})
	link := w.links.link(cl.id)
	if err := writeFile(filepath.Join(top, "link"), []byte(link), 0644); err != nil {
		return err
	}
	if err := os.Symlink("../"+cl.id+"/diff", w.path("overlay", "l", link)); err != nil {
		return err
	}
	extra := []string{"work", "merged"}
	if len(s) == 1 {
		extra = append(extra, "empty")
	} else {
		lower := ""
		for i, p := range s[1:] {
			if i > 0 {
				lower += ":"
			}
			lower += "l/" + w.links.link(p.id)
		}
		if err := writeFile(filepath.Join(top, "lower"), []byte(lower), 0644); err != nil {
			return err
		}
	}
	for _, n := range extra {
		if err := os.Mkdir(filepath.Join(top, n), 0700); err != nil {
			return err
		}
	}
	return nil
}
