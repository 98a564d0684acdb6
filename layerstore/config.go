package layerstore

import (
	"errors"
	"fmt"
	"time"
)

// The metadata files of a target as they are on disk, for writing them
// out again (aufsmount save): read-only, without following a final
// symlink, capped in size, and checked against what names them.

// part is the driver tree that holds t.
func (s *Store) part(t *Target) (*store, error) {
	if p := s.archivePart(t); p != nil {
		return p, nil
	}
	for _, p := range s.parts {
		if p.name != t.Store {
			continue
		}
		if t.drv != nil && p.drv == t.drv || t.drv == nil && p.drv.name() == t.Driver {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%s: no %s tree in the store", t.Ref, t.Driver)
}

// LayoutOf is the layout of the driver tree that holds t.
func (s *Store) LayoutOf(t *Target) Layout {
	p, err := s.part(t)
	if err != nil {
		return 0
	}
	return p.layout
}

// ImageConfig returns the config of t's image (for a container, the
// image it was created from) byte for byte as imagedb/content holds it,
// checked against the image id (the file's sha256). A pre-1.10 image has
// none: that is an error.
func (s *Store) ImageConfig(t *Target) ([]byte, error) {
	p, err := s.part(t)
	if err != nil {
		return nil, err
	}
	if t.Image == nil {
		return nil, fmt.Errorf("%s: its image is not in the store", t.Ref)
	}
	if p.layout == LayoutContainerd {
		return p.cdConfig(t.Image.ID)
	}
	if p.layout == LayoutArchive {
		return p.arcConfig(t.Image.ID)
	}
	if p.layout == LayoutContainers {
		data, _, err := p.csConfig(t.Image.ID)
		if err != nil {
			return nil, err
		}
		return data, nil
	}
	if p.layout != LayoutCAS {
		return nil, fmt.Errorf("%s: a pre-1.10 image has no image config", t.Ref)
	}
	f := p.casPath("imagedb", "content", "sha256", t.Image.ID)
	data, err := readFile(f, maxJSON)
	if err != nil {
		return nil, corrupt(f, err)
	}
	if err := contentMismatch(data, t.Image.ID, "the image id"); err != nil {
		return nil, corrupt(f, err)
	}
	return data, nil
}

// ImageManifest is the manifest a containers/storage store keeps of t's
// image (its big data "manifest"), or containerd's, or an image
// archive's index names, checked against the image's digest; nil for a
// store that keeps none, and for an image without one.
func (s *Store) ImageManifest(t *Target) ([]byte, error) {
	p, err := s.part(t)
	if err != nil || t.Kind != KindImage || t.Image == nil || p.layout != LayoutContainers && p.layout != LayoutContainerd && p.layout != LayoutArchive {
		return nil, err
	}
	if p.layout == LayoutArchive {
		return p.arcManifest(t.Image.ID)
	}
	img := p.images[t.Image.ID]
	if img == nil {
		return nil, nil
	}
	if p.layout == LayoutContainerd {
		return p.cdManifest(img)
	}
	return p.csManifest(img)
}

// GraphJSON returns graph/<id>/json of layer id of a pre-1.10 target,
// byte for byte, checked to name id.
func (s *Store) GraphJSON(t *Target, id string) ([]byte, error) {
	p, err := s.part(t)
	if err != nil {
		return nil, err
	}
	if p.layout != LayoutGraph {
		return nil, fmt.Errorf("%s: graph json is only in pre-1.10 stores", t.Ref)
	}
	if !isHexID(id) {
		return nil, fmt.Errorf("%q is not an image id", clip(id))
	}
	f := p.graphPath(id, "json")
	data, err := readFile(f, maxJSON)
	if err != nil {
		return nil, corrupt(f, err)
	}
	m, err := parseGraphJSON(data)
	if err != nil {
		return nil, corrupt(f, err)
	}
	if m.id != id {
		return nil, corrupt(f, fmt.Errorf("id %s does not match its directory %s", m.id, id))
	}
	return data, nil
}

// ContainerConfig returns the config file of container target t
// (containers/<id>/config.v2.json, config.json before 1.10), byte for
// byte, and its path. containers/storage keeps no such file: for its
// containers it is a config of the same shape made from containers.json
// and Podman's state (cstore_config.go), and containers.json's path.
func (s *Store) ContainerConfig(t *Target) ([]byte, string, error) {
	p, err := s.part(t)
	if err != nil {
		return nil, "", err
	}
	if t.Container == nil {
		return nil, "", errors.New(t.Ref + ": not a container")
	}
	c := p.containers[t.Container.ID]
	if c == nil {
		return nil, "", &NotFoundError{Ref: t.Ref}
	}
	if p.cdOwnConfig(c) {
		return p.csContainerConfig(c), c.configFile, nil
	}
	data, err := readFile(c.configFile, maxJSON)
	if err != nil {
		return nil, c.configFile, corrupt(c.configFile, err)
	}
	return data, c.configFile, nil
}

// ImageTagged is when t's image was last tagged, as imagedb/metadata's
// lastUpdated has it (docker inspect's Metadata.LastTagTime): the zero
// time where the store keeps none (never tagged, or before Docker 1.10).
func (s *Store) ImageTagged(t *Target) (time.Time, error) {
	p, err := s.part(t)
	if err != nil || t.Image == nil || p.layout != LayoutCAS {
		return time.Time{}, err
	}
	f := p.casPath("imagedb", "metadata", "sha256", t.Image.ID, "lastUpdated")
	v, err := readSmallOptional(f)
	if err != nil {
		return time.Time{}, corrupt(f, err)
	}
	if v == "" {
		return time.Time{}, nil
	}
	at, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, corrupt(f, err)
	}
	return at, nil
}
