package layerstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"
)

// containerConfig is the part of a container's config.json (pre-1.10) or
// config.v2.json (1.10+) that is used.
type containerConfig struct {
	ID      string `json:"ID"`
	Created string `json:"Created"`
	Image   string `json:"Image"`
	Name    string `json:"Name"`
	Driver  string `json:"Driver"`
}

// containerMeta is a checked container config.
type containerMeta struct {
	id, name, imageID, driver string
	created                   time.Time
}

// parseContainerConfig parses and checks a container config. The image is
// a bare id before 1.10 and "sha256:<id>" after; either is accepted. When
// the JSON is sound but a field is not, the name and driver are still
// returned, so that the container can be named and its fault told.
func parseContainerConfig(data []byte) (containerMeta, error) {
	var c containerConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return containerMeta{}, fmt.Errorf("invalid JSON: %w", err)
	}
	m := containerMeta{
		id:      c.ID,
		name:    strings.TrimPrefix(c.Name, "/"),
		imageID: strings.TrimPrefix(c.Image, sha256Prefix),
		driver:  c.Driver,
		created: parseTime(c.Created),
	}
	if err := checkID("ID", m.id); err != nil {
		return m, err
	}
	if err := checkID("Image", m.imageID); err != nil {
		return m, err
	}
	return m, nil
}

// containerRec is a container and where its layers are.
type containerRec struct {
	Container
	configFile string
	mountID    string // its writable layer under aufs/diff
	initID     string // its init layer; "" if it has none
	parent     string // 1.10+: the chain id its layers sit on ("" on a layerless image)
	mountsDir  string // 1.10+: layerdb/mounts/<cid>
	details    details
}

// loadContainers reads containers/<cid>/ for the store's layout. A
// container of another storage driver is that driver's, and skipped.
func (s *store) loadContainers() error {
	dir := filepath.Join(s.root, "containers")
	entries, err := readDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	cfgName := "config.json"
	if s.layout != LayoutGraph {
		cfgName = "config.v2.json"
	}
	for _, e := range entries {
		cid := e.Name()
		if strings.HasPrefix(cid, ".") {
			continue
		}
		if !isHexID(cid) {
			s.problem(&CorruptError{File: filepath.Join(dir, cid), Err: errors.New("not a container id (64 hex)")})
			continue
		}
		p := filepath.Join(dir, cid, cfgName)
		rec, skip, err := s.readContainer(cid, p)
		switch {
		case skip:
		case err != nil:
			s.brokenContainers[cid] = err
			s.problem(err)
			if rec != nil && rec.Name != "" {
				s.brokenNames[rec.Name] = cid
			}
		default:
			s.containers[cid] = rec
		}
	}
	return nil
}

// readContainer reads one container; skip is set for another driver's
// container. On error rec may still carry the name, so that naming a
// broken container explains what is wrong with it.
func (s *store) readContainer(cid, p string) (rec *containerRec, skip bool, _ *CorruptError) {
	data, err := readFile(p, maxJSON)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && s.layout == LayoutCAS && exists(filepath.Join(filepath.Dir(p), "config.json")) {
			err = errors.New("missing: a pre-1.10 container that was never migrated")
		}
		return nil, false, corrupt(p, err)
	}
	m, perr := parseContainerConfig(data)
	if d := m.driver; d != s.drv.name() && (d != "" || s.drv.name() != "aufs") {
		return nil, true, nil // another driver's: an empty Driver is an old aufs one
	}
	d := parseDetails(data)
	rec = &containerRec{
		Container: Container{ID: m.id, Name: m.name, ImageID: m.imageID, Created: m.created,
			Path: d.Path, Args: d.Args, ConfigImage: d.ConfigImage, State: d.State, Ports: d.Ports,
			Labels: d.Labels, Networks: d.Networks, Mounts: d.Mounts},
		configFile: p,
		details:    d,
	}
	if perr != nil {
		return rec, false, corrupt(p, perr)
	}
	if m.id != cid {
		return rec, false, corrupt(p, fmt.Errorf("ID %s does not match its directory %s", m.id, cid))
	}
	if s.layout == LayoutGraph || s.layout == LayoutContainerd { // Docker 29's snapshot keys are these too
		rec.mountID, rec.initID = cid, cid+"-init"
		return rec, false, nil
	}
	rec.mountsDir = s.casPath("layerdb", "mounts", cid)
	mp := filepath.Join(rec.mountsDir, "mount-id")
	if rec.mountID, err = readSmall(mp); err != nil {
		return rec, false, corrupt(mp, err)
	}
	if err := checkLayerName("mount-id", rec.mountID); err != nil {
		return rec, false, corrupt(mp, err)
	}
	ip := filepath.Join(rec.mountsDir, "init-id")
	if rec.initID, err = readSmallOptional(ip); err != nil {
		return rec, false, corrupt(ip, err)
	}
	if rec.initID != "" {
		if err := checkLayerName("init-id", rec.initID); err != nil {
			return rec, false, corrupt(ip, err)
		}
	}
	pp := filepath.Join(rec.mountsDir, "parent")
	if rec.parent, err = readSmallOptional(pp); err != nil {
		return rec, false, corrupt(pp, err)
	}
	if rec.parent != "" {
		if _, err := parseDigest(rec.parent); err != nil {
			return rec, false, corrupt(pp, err)
		}
	}
	return rec, false, nil
}

// containerLayers is a container's chain, top first: its writable layer,
// its init layer, then its image's chain. The aufs/layers check is the
// caller's. When the image's metadata is broken or gone, the chain comes
// from the container's own files, and warning says so (recover.go).
func (s *store) containerLayers(c *containerRec) (_ []Layer, warning string, _ error) {
	if s.layout == LayoutContainers {
		return s.csContainerLayers(c)
	}
	if s.layout == LayoutContainerd {
		return s.cdContainerLayers(c)
	}
	img, err := s.imageOf(c)
	var chain []Layer
	if err != nil {
		var ok bool
		if chain, warning, ok = s.recoverContainerImage(c, err); !ok {
			return nil, "", err
		}
	} else if chain, err = s.imageChain(img); err != nil {
		return nil, "", err
	}
	if s.layout == LayoutCAS && img != nil {
		want := ""
		if n := len(img.chainIDs); n > 0 {
			want = img.chainIDs[n-1]
		}
		if c.parent != want {
			got := c.parent
			if got == "" {
				got = "missing"
			}
			if want == "" {
				want = "none (the image has no layers)"
			}
			return nil, "", &CorruptError{File: filepath.Join(c.mountsDir, "parent"),
				Err: fmt.Errorf("parent is %s, but the top layer of image %s is %s", got, ShortID(img.ID), want)}
		}
	}
	layers := make([]Layer, 0, len(chain)+2)
	layers = append(layers, Layer{ID: c.mountID, Dir: s.diffDir(c.mountID), Size: -1})
	if c.initID != "" {
		layers = append(layers, Layer{ID: c.initID, Dir: s.diffDir(c.initID), Size: -1})
	}
	return append(layers, chain...), warning, nil
}

// imageOf is the image a container was created from.
func (s *store) imageOf(c *containerRec) (*imageRec, error) {
	if img := s.images[c.ImageID]; img != nil {
		return img, nil
	}
	if e, ok := s.brokenImages[c.ImageID]; ok {
		return nil, e
	}
	return nil, &CorruptError{File: c.configFile, Err: fmt.Errorf("image %s is not in the store", c.ImageID)}
}
