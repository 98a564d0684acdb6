package layerstore

import (
	"path/filepath"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// vfsDriver: vfs/dir/<id>/ is a whole tree, a full copy of its parent
// with the layer applied, for image and container layers alike; a view
// is its top layer alone.
type vfsDriver struct{}

func (vfsDriver) name() string { return "vfs" }

func (vfsDriver) layerDir(s *store, id string) string {
	return filepath.Join(s.root, "vfs", "dir", id)
}

func (vfsDriver) listLayers(s *store) ([]string, error) {
	return listLayerNames(filepath.Join(s.root, "vfs", "dir"))
}

func (vfsDriver) encoding(own bool) *whiteout.Encoding { return whiteout.None }

func (vfsDriver) stack(s *store, layers []Layer, ctr *containerRec) []Layer {
	if len(layers) == 0 {
		return nil
	}
	return stackAll(layers[:1])
}

func (vfsDriver) check(s *store, layers []Layer, ctr *containerRec) error {
	if err := checkUnique(layers); err != nil {
		return err
	}
	return checkDirs(layers)
}

// keepsXattr: vfs copies the tree below with security.capability alone
// (moby's vfs driver, copy.DirCopy without xattrs but that one).
func (vfsDriver) keepsXattr(name string) bool { return name == "security.capability" }

func (vfsDriver) containerDiff() ContainerDiff { return CompareWholeTrees }

// graphDriverData: docker shows no directories for vfs.
func (vfsDriver) graphDriverData(*Target) map[string]string { return nil }
