package layerstore

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/aufsmount/aufsmount/internal/chainid"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// A containers/storage graphroot (Podman, CRI-O, Buildah;
// docs/containers-storage.md) keeps, per driver D, the layers in
// D-layers/layers.json with one D-layers/<id>.tar-split.gz per image
// layer, the images in D-images/images.json with their big data (config,
// manifests) in D-images/<id>/, and the containers in
// D-containers/containers.json. The files of the layers are where the
// driver keeps them: overlay/<id>/diff as Docker's overlay2, vfs/dir/<id>
// as Docker's vfs. Its own locks (*.lock) are never opened.

// crioType is the annotation CRI-O gives a container's kind: "sandbox"
// for a pod's infra container.
const crioType = "io.kubernetes.cri-o.ContainerType"

// csDrivers are the containers/storage drivers read, in the order a
// graphroot that holds several lists them.
var csDrivers = []string{"overlay", "vfs"}

// csUnsupported are drivers containers/storage has that keep layers in a
// form this package does not read.
var csUnsupported = []string{"btrfs", "zfs", "aufs", "devmapper"}

// detectContainers lists the containers/storage drivers whose metadata
// is under abs.
func detectContainers(abs string) (found []found, other []string) {
	for _, d := range csDrivers {
		if exists(filepath.Join(abs, d+"-layers", "layers.json")) || exists(filepath.Join(abs, d+"-images", "images.json")) {
			found = append(found, foundCS(abs, d))
		}
	}
	for _, d := range csUnsupported {
		if exists(filepath.Join(abs, d+"-layers", "layers.json")) {
			other = append(other, d)
		}
	}
	return found, other
}

// foundCS is the driver of a graphroot's tree d. An overlay tree written
// through a mount program (fuse-overlayfs) marks deletions with .wh.
// files where it could not make devices (overlay/.has-mount-program).
func foundCS(abs, d string) found {
	if d == "vfs" {
		return found{vfsDriver{}, LayoutContainers}
	}
	enc := whiteout.Overlay
	if v, err := readSmallOptional(filepath.Join(abs, "overlay", ".has-mount-program")); err == nil && v == "true" {
		enc = whiteout.FuseOverlayfs
	}
	return found{stackedOverlay{home: "overlay", enc: enc}, LayoutContainers}
}

// csLayer is one entry of D-layers/layers.json.
type csLayer struct {
	ID         string         `json:"id"`
	Names      []string       `json:"names"`
	Parent     string         `json:"parent"`
	Created    string         `json:"created"`
	DiffDigest string         `json:"diff-digest"`
	DiffSize   *int64         `json:"diff-size"`
	Flags      map[string]any `json:"flags"`
}

// csImage is one entry of D-images/images.json.
type csImage struct {
	ID           string   `json:"id"`
	Digest       string   `json:"digest"`
	Names        []string `json:"names"`
	TopLayer     string   `json:"layer"`
	BigDataNames []string `json:"big-data-names"`
	Created      string   `json:"created"`
}

// csContainer is one entry of D-containers/containers.json.
type csContainer struct {
	ID       string   `json:"id"`
	Names    []string `json:"names"`
	ImageID  string   `json:"image"`
	LayerID  string   `json:"layer"`
	Metadata string   `json:"metadata"`
	Created  string   `json:"created"`
}

func (s *store) csPath(kind string, elem ...string) string {
	return filepath.Join(append([]string{s.root, s.drv.name() + "-" + kind}, elem...)...)
}

// loadCS reads the graphroot's layers, images (with their names, which
// are the store's tags) and containers.
func (s *store) loadCS() error {
	if err := s.loadCSLayers(); err != nil {
		return err
	}
	s.tagFile = s.csPath("images", "images.json")
	var imgs []csImage
	if err := readJSONList(s.tagFile, &imgs); err != nil {
		return err
	}
	for _, e := range imgs {
		if !isHexID(e.ID) {
			s.problem(corrupt(s.tagFile, fmt.Errorf("image id %q is not 64 hex", clip(e.ID))))
			continue
		}
		rec, cerr := s.readCSImage(e)
		if cerr != nil {
			s.brokenImages[e.ID] = cerr
		} else {
			s.images[e.ID] = rec
		}
		for _, name := range e.Names { // a broken image's too: naming it says what is wrong
			s.addCSName(name, e.ID)
		}
	}
	for _, img := range s.images {
		sort.Strings(img.Names)
	}
	return s.loadCSContainers()
}

// readJSONList reads a JSON array file of the graphroot into v; a missing
// one is empty.
func readJSONList(p string, v any) error {
	data, err := readFile(p, maxJSON)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return corrupt(p, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return corrupt(p, fmt.Errorf("invalid JSON: %w", err))
	}
	return nil
}

// loadCSLayers reads layers.json into s.csLayers. A layer whose id is
// not 64 hex is left out with a problem: it can never be a path.
func (s *store) loadCSLayers() error {
	s.layersFile = s.csPath("layers", "layers.json")
	var ls []csLayer
	if err := readJSONList(s.layersFile, &ls); err != nil {
		return err
	}
	s.csLayers = make(map[string]*csLayer, len(ls))
	for i := range ls {
		l := &ls[i]
		if !isHexID(l.ID) {
			s.problem(corrupt(s.layersFile, fmt.Errorf("layer id %q is not 64 hex", clip(l.ID))))
			continue
		}
		if _, dup := s.csLayers[l.ID]; dup {
			s.problem(corrupt(s.layersFile, fmt.Errorf("layer %s is listed twice", ShortID(l.ID))))
			continue
		}
		s.csLayers[l.ID] = l
	}
	return nil
}

// addCSName records name, as images.json gives it, as a name of image id.
// Names are shown as stored (full, "localhost/app:1"), and found by the
// normalised form a reference is compared in.
func (s *store) addCSName(name, id string) {
	e := tagEntry{display: name, id: id}
	named, err := normalizeRef(name)
	if err != nil {
		s.problem(corrupt(s.tagFile, fmt.Errorf("image %s: name %q: %w", ShortID(id), clip(name), err)))
		return
	}
	e.key = named.String()
	if prev, dup := s.tags[e.key]; dup && prev.id != id {
		s.problem(corrupt(s.tagFile, fmt.Errorf("name %s is given to images %s and %s", name, ShortID(prev.id), ShortID(id))))
		return
	}
	s.tags[e.key] = e
	if img := s.images[id]; img != nil {
		img.Names = append(img.Names, name)
	}
}

// readCSImage reads an image's config from its big data, checked against
// the image id (the config's digest).
func (s *store) readCSImage(e csImage) (*imageRec, *CorruptError) {
	key := sha256Prefix + e.ID
	if !slices.Contains(e.BigDataNames, key) {
		return nil, corrupt(s.tagFile, fmt.Errorf("image %s has no config (big data %s)", ShortID(e.ID), key))
	}
	data, p, cerr := s.csConfig(e.ID)
	if cerr != nil {
		return nil, cerr
	}
	m, err := parseImageConfig(data)
	if err != nil {
		return nil, corrupt(p, err)
	}
	if e.TopLayer != "" && !isHexID(e.TopLayer) {
		return nil, corrupt(s.tagFile, fmt.Errorf("image %s: top layer %q is not 64 hex", ShortID(e.ID), clip(e.TopLayer)))
	}
	created := m.created
	if created.IsZero() {
		created = parseTime(e.Created)
	}
	return &imageRec{
		Image:    Image{ID: e.ID, Created: created, Layers: len(m.diffIDs)},
		diffIDs:  m.diffIDs,
		chainIDs: chainid.All(m.diffIDs),
		history:  m.createdBy,
		steps:    m.steps,
		top:      e.TopLayer,
		digest:   e.Digest,
	}, nil
}

// csConfig reads image id's config, its big data item sha256:<id>,
// checked to be what the id is the digest of; p is its file.
func (s *store) csConfig(id string) (data []byte, p string, _ *CorruptError) {
	p, err := s.bigDataPath(id, sha256Prefix+id)
	if err != nil {
		return nil, "", corrupt(s.tagFile, err)
	}
	if data, err = readFile(p, maxJSON); err != nil {
		return nil, p, corrupt(p, err)
	}
	if err := contentMismatch(data, id, "the image id"); err != nil {
		return nil, p, corrupt(p, err)
	}
	return data, p, nil
}

// bigDataPath is the file of an image's big data item key: the key as
// it is when it is all [0-9a-z.], else "=" and its base64, as
// containers/storage names them. A name that would not be one file of
// the image's directory is refused.
func (s *store) bigDataPath(id, key string) (string, error) {
	name := key
	for _, c := range key {
		if c != '.' && (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			name = "=" + base64.StdEncoding.EncodeToString([]byte(key))
			break
		}
	}
	if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		return "", fmt.Errorf("image %s: big data %q has no file name of its own", ShortID(id), clip(key))
	}
	return s.csPath("images", id, name), nil
}

// csChain is an image's layers, top first: from its top layer down the
// parent links of layers.json, each checked against the config's diff id
// at its place.
func (s *store) csChain(img *imageRec) ([]Layer, error) {
	n := len(img.diffIDs)
	layers := make([]Layer, 0, n)
	visited := make(map[string]bool, n)
	id := img.top
	for i := n - 1; i >= 0; i-- {
		if id == "" {
			return nil, corrupt(s.layersFile, fmt.Errorf("image %s's layers end after %d, but its config has %d", ShortID(img.ID), n-1-i, n))
		}
		l, err := s.csLayer(id, visited)
		if err != nil {
			return nil, err
		}
		if l.DiffDigest != "" && l.DiffDigest != img.diffIDs[i] {
			return nil, corrupt(s.layersFile, fmt.Errorf("layer %s has diff-digest %s, but image %s's config says layer %d is %s",
				ShortID(id), l.DiffDigest, ShortID(img.ID), i, img.diffIDs[i]))
		}
		layers = append(layers, s.csLayerOf(l, img.diffIDs[i], img.chainIDs[i], img.history[i]))
		id = l.Parent
	}
	if id != "" {
		return nil, corrupt(s.layersFile, fmt.Errorf("image %s's base layer has a parent %s, but its config has %d layers", ShortID(img.ID), ShortID(id), n))
	}
	return layers, nil
}

// csLayer is layer id of layers.json, checked to be listed, usable, and
// not seen before on the same walk down.
func (s *store) csLayer(id string, visited map[string]bool) (*csLayer, error) {
	if !isHexID(id) {
		return nil, corrupt(s.layersFile, fmt.Errorf("parent %q is not a layer id (64 hex)", clip(id)))
	}
	if visited[id] {
		return nil, corrupt(s.layersFile, fmt.Errorf("layer %s's parents loop back to it", ShortID(id)))
	}
	visited[id] = true
	l := s.csLayers[id]
	if l == nil {
		return nil, corrupt(s.layersFile, fmt.Errorf("layer %s is not in it", ShortID(id)))
	}
	if v, _ := l.Flags["incomplete"].(bool); v {
		return nil, corrupt(s.layersFile, fmt.Errorf("layer %s is incomplete: a pull or commit that did not finish", ShortID(id)))
	}
	if isDir(filepath.Join(s.root, s.drv.name(), id, "composefs-data")) {
		return nil, corrupt(filepath.Join(s.root, s.drv.name(), id), errors.New("the layer is kept as composefs, whose diff/ is not its tree"))
	}
	return l, nil
}

// csLayerOf is the Layer of a layers.json entry.
func (s *store) csLayerOf(l *csLayer, diffID, chain, createdBy string) Layer {
	size := int64(-1)
	if l.DiffSize != nil {
		size = *l.DiffSize
	}
	out := Layer{ID: l.ID, Dir: s.diffDir(l.ID), CreatedBy: createdBy, Size: size, DiffID: diffID, ChainID: chain, EngineRoot: true}
	if diffID != "" {
		out.TarSplit = s.csPath("layers", l.ID+".tar-split.gz")
	}
	return out
}

// loadCSContainers reads containers.json, and what Podman's own state
// says of each container (libpod.go).
func (s *store) loadCSContainers() error {
	p := s.csPath("containers", "containers.json")
	var cs []csContainer
	if err := readJSONList(p, &cs); err != nil {
		return err
	}
	states := s.libpodDetails()
	for _, e := range cs {
		if !isHexID(e.ID) {
			s.problem(corrupt(p, fmt.Errorf("container id %q is not 64 hex", clip(e.ID))))
			continue
		}
		rec := &containerRec{configFile: p, mountID: e.LayerID}
		rec.ID, rec.ImageID, rec.Created = e.ID, e.ImageID, parseTime(e.Created)
		if len(e.Names) > 0 {
			rec.Name = e.Names[0]
		}
		var ok bool
		if rec.details, ok = states[e.ID]; !ok {
			rec.details = s.csSpecDetails(e.ID)
		}
		if rec.details.ConfigImage == "" {
			var meta struct {
				ImageName string `json:"image-name"`
			}
			_ = json.Unmarshal([]byte(e.Metadata), &meta)
			rec.details.ConfigImage = meta.ImageName
		}
		d := rec.details
		rec.Path, rec.Args, rec.ConfigImage, rec.State, rec.Labels, rec.Mounts = d.Path, d.Args, d.ConfigImage, d.State, d.Labels, d.Mounts
		// CRI-O's: named by their pod, as crictl shows them, and still
		// found by the name containers.json gives.
		rec.Sandbox = d.Labels[crioType] == criSandbox
		if kube := kubeName(d.Labels, rec.Sandbox); kube != "" {
			if rec.Name != "" {
				s.names[rec.Name] = e.ID
			}
			rec.Name = kube
		}
		var err *CorruptError
		switch {
		case !isHexID(e.LayerID):
			err = corrupt(p, fmt.Errorf("container %s: layer %q is not 64 hex", ShortID(e.ID), clip(e.LayerID)))
		case e.ImageID != "" && !isHexID(e.ImageID):
			err = corrupt(p, fmt.Errorf("container %s: image %q is not 64 hex", ShortID(e.ID), clip(e.ImageID)))
		}
		if err != nil {
			s.brokenContainers[e.ID] = err
			s.problem(err)
			if rec.Name != "" {
				s.brokenNames[rec.Name] = e.ID
			}
			continue
		}
		s.containers[e.ID] = rec
	}
	return nil
}

// csContainerLayers is a container's chain, top first: its own layer,
// whose parent is its image's top layer, then the image's chain. Without
// its image, the chain is its layer's parents', with a warning.
func (s *store) csContainerLayers(c *containerRec) ([]Layer, string, error) {
	visited := map[string]bool{}
	own, err := s.csLayer(c.mountID, visited)
	if err != nil {
		return nil, "", err
	}
	top := Layer{ID: own.ID, Dir: s.diffDir(own.ID), Size: -1, EngineRoot: true}
	img, err := s.imageOf(c)
	if err != nil {
		chain, cerr := s.csParents(own.Parent, visited)
		if cerr != nil {
			return nil, "", err
		}
		warning := fmt.Sprintf("%v; the container's layers are taken from the parents in %s", err, s.layersFile)
		return append([]Layer{top}, chain...), warning, nil
	}
	if own.Parent != img.top {
		got, want := own.Parent, img.top
		if got == "" {
			got = "none"
		}
		if want == "" {
			want = "none (the image has no layers)"
		}
		return nil, "", corrupt(s.layersFile, fmt.Errorf("container %s's layer %s has parent %s, but the top layer of image %s is %s",
			ShortID(c.ID), ShortID(own.ID), got, ShortID(img.ID), want))
	}
	chain, err := s.csChain(img)
	if err != nil {
		return nil, "", err
	}
	return append([]Layer{top}, chain...), "", nil
}

// csParents is the chain below a layer whose image is unknown: its
// parents, each with the diff id layers.json records.
func (s *store) csParents(id string, visited map[string]bool) ([]Layer, error) {
	var out []Layer
	for id != "" {
		l, err := s.csLayer(id, visited)
		if err != nil {
			return nil, err
		}
		out = append(out, s.csLayerOf(l, l.DiffDigest, "", ""))
		id = l.Parent
	}
	return out, nil
}
