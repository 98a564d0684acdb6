package layerstore

import (
	"path/filepath"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// fuseOverlayfsDriver keeps overlay2's layout under fuse-overlayfs/; its
// layers were written through fuse-overlayfs, which marks deletions
// either way (whiteout.FuseOverlayfs).
type fuseOverlayfsDriver struct{}

func (fuseOverlayfsDriver) name() string { return "fuse-overlayfs" }

func (fuseOverlayfsDriver) layerDir(s *store, id string) string {
	return overlayDiffDir(s, "fuse-overlayfs", id)
}

func (fuseOverlayfsDriver) encoding(own bool) *whiteout.Encoding { return whiteout.FuseOverlayfs }

func (fuseOverlayfsDriver) stack(s *store, layers []Layer, ctr *containerRec) []Layer {
	return stackAll(layers)
}

func (fuseOverlayfsDriver) listLayers(s *store) ([]string, error) {
	return listLayerNames(filepath.Join(s.root, "fuse-overlayfs"))
}

func (fuseOverlayfsDriver) check(s *store, layers []Layer, ctr *containerRec) error {
	return checkLower(s, "fuse-overlayfs", layers)
}

func (fuseOverlayfsDriver) keepsXattr(string) bool { return true } // not a whole-tree driver

func (fuseOverlayfsDriver) containerDiff() ContainerDiff { return CompareTrees }

// graphDriverData: as overlay2's, under fuse-overlayfs/.
func (fuseOverlayfsDriver) graphDriverData(t *Target) map[string]string {
	return mountDirs(t, t.Layers[1:])
}
