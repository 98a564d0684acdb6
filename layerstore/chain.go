package layerstore

// imageChain is an image's layers, top first, from its metadata. The
// driver's own files and the directories are checked by the driver.
func (s *store) imageChain(img *imageRec) ([]Layer, error) {
	switch s.layout {
	case LayoutContainers:
		return s.csChain(img)
	case LayoutContainerd:
		return s.cdChain(img)
	case LayoutArchive:
		return s.arcChain(img)
	case LayoutCAS:
		return s.casChain(img)
	}
	return s.graphChain(img)
}

// diffDir is the directory of the files of layer id.
func (s *store) diffDir(id string) string { return s.drv.layerDir(s, id) }
