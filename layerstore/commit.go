package layerstore

import (
	"path/filepath"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// WholeTree says whether the layer's directory holds the whole tree of
// the view up to it (vfs, overlay v1's root/), not a diff from the
// layer below.
func (l Layer) WholeTree() bool { return l.Encoding == whiteout.None }

// Own is, for a container, its own layers, top first: its writable
// layer, then its init layer where it has one. Nil for an image, or a
// container whose image is not in the store.
func (t *Target) Own() []Layer {
	if t.Kind != KindContainer || t.Image == nil {
		return nil
	}
	return t.Layers[:len(t.Layers)-t.Image.Layers]
}

// CommitBase says what a container's writable layer is to be told apart
// from for its own changes alone, as docker commit takes them. Nil where
// its directory holds those changes alone (aufs, overlay2,
// fuse-overlayfs). Where it holds a whole tree (vfs, whole true), base is
// the tree below it: its init layer, or its image's top, or nil for a
// container of an image without layers (the tree is its own changes).
// Where it began as a copy of its init layer's (overlay v1's upper/,
// whole false), base is that init layer: what is still the same there
// is the init layer's.
func (t *Target) CommitBase() (base *Layer, whole bool) {
	own := t.Own()
	if len(own) == 0 {
		return nil, false
	}
	var init *Layer
	if len(own) > 1 {
		init = &own[1]
	}
	switch {
	case own[0].WholeTree():
		if init != nil {
			return init, true
		}
		if len(t.Layers) > len(own) {
			return &t.Layers[len(own)], true
		}
		return nil, false
	case init != nil && t.Driver == (overlayDriver{}).name() && filepath.Base(init.Dir) == "upper":
		// overlay v1 copies the init layer's upper/ into the
		// container's when it makes it (docs/drivers.md).
		return init, false
	}
	return nil, false
}
