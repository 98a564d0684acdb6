package layerstore

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/aufsmount/aufsmount/internal/chainid"
)

// When an image's own metadata cannot be read (a truncated or altered
// image config, a graph json that is missing or not JSON) but its layers
// are intact, its chain can still be known from the files the storage
// driver and the layer store keep for themselves:
//
//   - before 1.10 (aufs): aufs/layers/<id> lists every layer below the
//     image, and a container's aufs/layers/<id> its init layer and its
//     image's chain;
//   - 1.10 and later: a container's layerdb/mounts/<id>/parent names its
//     image's top layer, and the layer store's parent links lead from it
//     to the base, each chain id checked to be what its diff and parent
//     make it; an image config that still parses but does not hash to its
//     id gives its top the same way.
//
// The chain is then checked against the driver's own files as any other
// (aufs/layers, overlay2's lower), and the view is made from it with a
// warning that says so. What is used only where it is unambiguous:
// metadata that is readable but disagrees (a parent that loops, a layer
// file that lists other layers, two containers that name two tops) is
// an error, as before.

// maxRecovered bounds a chain followed through parent links alone.
const maxRecovered = 1 << 16

// recoverImage works out the chain of the broken image id, whose fault
// is cause. ok is false when it cannot be known unambiguously.
func (s *store) recoverImage(id string, cause *CorruptError) (layers []Layer, warning string, ok bool) {
	if s.layout == LayoutContainers || s.layout == LayoutContainerd {
		return nil, "", false // its images' layers are known from layers.json alone through their config
	}
	if s.layout == LayoutGraph {
		if !s.damagedChain(id) {
			return nil, "", false
		}
		p := filepath.Join(s.root, "aufs", "layers", id)
		layers, ok := s.graphChainFrom(id, p, 0)
		if !ok {
			return nil, "", false
		}
		return layers, fmt.Sprintf("image %s: %v; its chain is taken from %s", ShortID(id), cause, p), true
	}
	type source struct{ top, from string }
	var found []source
	cfg := s.casPath("imagedb", "content", "sha256", id)
	if data, err := readFile(cfg, maxJSON); err == nil {
		if m, err := parseImageConfig(data); err == nil && len(m.diffIDs) > 0 {
			ch := chainid.All(m.diffIDs)
			found = append(found, source{ch[len(ch)-1], cfg + " (rootfs.diff_ids)"})
		}
	}
	for _, cid := range sortedKeys(s.containers) {
		if c := s.containers[cid]; c.ImageID == id && c.parent != "" {
			found = append(found, source{c.parent, filepath.Join(c.mountsDir, "parent")})
		}
	}
	if len(found) == 0 {
		return nil, "", false
	}
	for _, f := range found[1:] {
		if f.top != found[0].top {
			return nil, "", false // two answers: ambiguous
		}
	}
	layers, err := s.layerdbChain(found[0].top)
	if err != nil {
		return nil, "", false
	}
	return layers, fmt.Sprintf("image %s: %v; its chain is taken from %s and the layer store's parent links", ShortID(id), cause, found[0].from), true
}

// recoverContainerImage works out the image chain of container c, whose
// image is broken or not in the store at all (cause says which), from
// the container's own files.
func (s *store) recoverContainerImage(c *containerRec, cause error) ([]Layer, string, bool) {
	what := fmt.Sprintf("image %s: %v", ShortID(c.ImageID), cause)
	if s.layout == LayoutGraph {
		if _, broken := s.brokenImages[c.ImageID]; broken && !s.damagedChain(c.ImageID) {
			return nil, "", false
		}
		p := filepath.Join(s.root, "aufs", "layers", c.mountID)
		layers, ok := s.graphChainFrom(c.initID, p, 1)
		if !ok {
			return nil, "", false
		}
		return layers, fmt.Sprintf("container %s: %s; its layers are taken from %s", c.displayName(), what, p), true
	}
	if c.parent == "" {
		return nil, "", false
	}
	layers, err := s.layerdbChain(c.parent)
	if err != nil {
		return nil, "", false
	}
	return layers, fmt.Sprintf("container %s: %s; its layers are taken from %s and the layer store's parent links",
		c.displayName(), what, filepath.Join(c.mountsDir, "parent")), true
}

func (c *containerRec) displayName() string {
	if c.Name != "" {
		return c.Name
	}
	return ShortID(c.ID)
}

// damagedChain says whether the graph image id is broken because an
// image on its way down (itself included) has metadata that cannot be
// read, rather than because the links themselves are wrong (a parent
// missing from the store, a loop).
func (s *store) damagedChain(id string) bool {
	seen := map[string]bool{}
	for cur := id; !seen[cur]; {
		seen[cur] = true
		if s.unreadable[cur] {
			return true
		}
		r := s.graphRecs[cur]
		if r == nil || r.parent == "" {
			return false
		}
		cur = r.parent
	}
	return false
}

// graphChainFrom reads the aufs/layers file p, which lists the layers
// below some layer: its lines from skip on are an image's chain, and line
// skip-1 must be first (a container's init layer, for skip 1). Its top
// must agree with every parent link that can be read.
func (s *store) graphChainFrom(first, p string, skip int) ([]Layer, bool) {
	data, err := readFile(p, maxList)
	if err != nil {
		return nil, false
	}
	ids, err := parseLayersFile(data)
	if err != nil {
		return nil, false
	}
	if skip == 0 {
		ids = append([]string{first}, ids...)
	} else if len(ids) < skip || ids[skip-1] != first {
		return nil, false
	} else {
		ids = ids[skip:]
	}
	if len(ids) == 0 {
		return nil, false
	}
	for i, id := range ids {
		if !isHexID(id) {
			return nil, false // an init layer in an image's chain
		}
		if r := s.graphRecs[id]; r != nil && !s.unreadable[id] {
			next := ""
			if i+1 < len(ids) {
				next = ids[i+1]
			}
			if r.parent != next {
				return nil, false // the links that can be read say otherwise
			}
		}
	}
	layers := make([]Layer, len(ids))
	for i, id := range ids {
		layers[i] = Layer{ID: id, Dir: s.diffDir(id), Size: readSize(s.graphPath(id, "layersize")), TarSplit: s.graphPath(id, "tar-data.json.gz")}
		if r := s.graphRecs[id]; r != nil {
			layers[i].CreatedBy = r.createdBy
		}
	}
	return layers, true
}

// layerdbChain follows the layer store's parent links from the chain id
// top to the base: the chain, top first. Each entry's chain id must be
// what its diff and parent make it.
func (s *store) layerdbChain(top string) ([]Layer, error) {
	seen := map[string]bool{}
	var layers []Layer
	for cur := top; cur != ""; {
		hexID, err := parseDigest(cur)
		if err != nil {
			return nil, err
		}
		dir := s.casPath("layerdb", "sha256", hexID)
		if seen[cur] || len(layers) >= maxRecovered {
			return nil, &CorruptError{File: filepath.Join(dir, "parent"), Err: errors.New("parent links loop")}
		}
		seen[cur] = true
		e, cerr := s.readLayerdb(hexID)
		if cerr != nil {
			return nil, cerr
		}
		want := chainid.Next(e.parent, e.diff)
		if want != cur {
			return nil, &CorruptError{File: filepath.Join(dir, "diff"), Err: fmt.Errorf("diff and parent make the chain id %s, not %s", want, cur)}
		}
		layers = append(layers, Layer{
			ID:       e.cacheID,
			Dir:      s.diffDir(e.cacheID),
			Size:     e.size,
			DiffID:   e.diff,
			ChainID:  cur,
			TarSplit: filepath.Join(dir, "tar-split.json.gz"),
		})
		cur = e.parent
	}
	return layers, nil
}

// damagedImages lists the images whose metadata is broken, with the
// names the tag store gives them: their chain may still be recovered.
func (s *store) damagedImages() []Image {
	names := map[string][]string{}
	for _, e := range s.tags {
		if e.err == nil && s.brokenImages[e.id] != nil {
			names[e.id] = append(names[e.id], e.display)
		}
	}
	var out []Image
	for _, id := range sortedKeys(s.brokenImages) {
		n := names[id]
		sort.Strings(n)
		out = append(out, Image{ID: id, Names: n, Driver: s.drv.name(), Store: s.name})
	}
	return out
}

// DamagedImages lists, driver by driver, the images left out of Images
// because their metadata is broken. Resolving one by id (ResolveIn)
// recovers its chain where that can be done, with a warning; else it
// fails with what is wrong.
func (s *Store) DamagedImages() []Image {
	var out []Image
	for _, p := range s.parts {
		out = append(out, p.damagedImages()...)
	}
	return out
}

// tagNames lists the names the tag store gives image id.
func (s *store) tagNames(id string) []string {
	var out []string
	for _, e := range s.tags {
		if e.err == nil && e.id == id {
			out = append(out, e.display)
		}
	}
	sort.Strings(out)
	return out
}
