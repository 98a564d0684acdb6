package layerstore

import (
	"fmt"
	"path/filepath"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// overlayDriver is overlay v1 (gone in Docker 24): an image layer's
// overlay/<id>/root/ is the whole tree up to it, so an image's view is
// its top layer's root alone. A container's is its overlay/<id>/upper/
// (overlay whiteouts) over the root/ of the layer its lower-id names,
// which must be its image's top; its init layer was copied into its
// upper when it was created, and is no branch of the view.
type overlayDriver struct{}

func (overlayDriver) name() string { return "overlay" }

// layerDir is root/ for an image layer, upper/ for a container's.
func (overlayDriver) layerDir(s *store, id string) string {
	dir := filepath.Join(s.root, "overlay", id)
	if isDir(filepath.Join(dir, "root")) {
		return filepath.Join(dir, "root")
	}
	return filepath.Join(dir, "upper")
}

func (overlayDriver) listLayers(s *store) ([]string, error) {
	return listLayerNames(filepath.Join(s.root, "overlay"))
}

// encoding: image layers are whole trees; a container's upper/ is what
// the kernel's overlayfs wrote.
func (overlayDriver) encoding(own bool) *whiteout.Encoding {
	if own {
		return whiteout.Overlay
	}
	return whiteout.None
}

func (d overlayDriver) stack(s *store, layers []Layer, ctr *containerRec) []Layer {
	if len(layers) == 0 {
		return nil
	}
	if ctr == nil {
		return stackAll(layers[:1])
	}
	lower := layers[lowerOf(layers, ctr)]
	lower.Encoding = whiteout.None
	return []Layer{layers[0], lower}
}

// lowerOf is the index of the layer a container's upper/ is mounted over:
// its image's top, or, for an image without layers, its init layer, which
// overlay v1 then makes a root/ of its own.
func lowerOf(layers []Layer, ctr *containerRec) int {
	if n := imageLen(layers, ctr); n > 0 {
		return len(layers) - n
	}
	return len(layers) - 1
}

// imageLen is how many layers of a container's chain are its image's.
func imageLen(layers []Layer, ctr *containerRec) int {
	n := len(layers) - 1
	if ctr.initID != "" {
		n--
	}
	return n
}

func (d overlayDriver) check(s *store, layers []Layer, ctr *containerRec) error {
	if err := checkUnique(layers); err != nil {
		return err
	}
	if err := checkDirs(layers); err != nil {
		return err
	}
	own := 0
	if ctr != nil {
		own = lowerOf(layers, ctr)
	}
	for _, l := range layers[own:] {
		if root := filepath.Join(s.root, "overlay", l.ID, "root"); l.Dir != root {
			return &CorruptError{File: root, Err: fmt.Errorf("layer %s has no root/", l.ID)}
		}
	}
	if ctr == nil {
		return nil
	}
	if own == 0 {
		return &CorruptError{File: layers[0].Dir, Err: fmt.Errorf("container layer %s has no layer below it", layers[0].ID)}
	}
	top := layers[own].ID
	for _, l := range layers[:own] {
		p := filepath.Join(s.root, "overlay", l.ID, "lower-id")
		id, err := readSmall(p)
		if err != nil {
			return corrupt(p, err)
		}
		if err := checkLayerName("lower-id", id); err != nil {
			return corrupt(p, err)
		}
		if id != top {
			return corrupt(p, fmt.Errorf("names layer %s, but the container's image ends in %s", id, top))
		}
	}
	return nil
}

// keepsXattr: an overlay v1 image layer's root/ hard-links the files of
// the one below, so they keep every attribute.
func (overlayDriver) keepsXattr(string) bool { return true }

func (overlayDriver) containerDiff() ContainerDiff { return CompareTrees }

// graphDriverData: an image is its top layer's root/; a container is
// mounted with its upper/ over the root/ of the branch below it.
func (overlayDriver) graphDriverData(t *Target) map[string]string {
	if t.Kind == KindImage {
		return map[string]string{"RootDir": t.Layers[0].Dir}
	}
	var lower []Layer
	if n := len(t.Stack); n > 1 {
		lower = t.Stack[n-1:]
	}
	return mountDirs(t, lower)
}
