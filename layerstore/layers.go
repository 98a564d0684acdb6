package layerstore

import (
	"sort"
	"strings"
)

// Layers lists every layer directory of the driver, sorted by ID, with
// what the metadata says about it filled in where known. It is for
// inspection: entries that are not layer directories are left out, and
// layer metadata that cannot be read is left blank rather than failing.
func (s *store) Layers() ([]Layer, error) {
	if s.layout == LayoutArchive {
		return s.arcLayers(), nil // blobs, not directories
	}
	ids, err := s.drv.listLayers(s)
	if err != nil {
		return nil, err
	}
	known := s.layerMeta()
	var out []Layer
	for _, id := range ids {
		l, ok := known[id]
		if !ok {
			l = Layer{Size: -1}
		}
		l.ID, l.Dir, l.Driver, l.Store = id, s.diffDir(id), s.drv.name(), s.name
		if !isDir(l.Dir) {
			continue // an overlay2 layer being made or removed, with no diff/ yet
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// layerMeta gathers what is known about each layer directory, by name.
func (s *store) layerMeta() map[string]Layer {
	known := map[string]Layer{}
	if s.layout == LayoutContainerd {
		return s.cdLayerMeta()
	}
	if s.layout == LayoutContainers {
		for _, r := range s.images {
			if layers, err := s.csChain(r); err == nil {
				for _, l := range layers {
					known[l.ID] = l
				}
			}
		}
		for id, l := range s.csLayers {
			if _, ok := known[id]; !ok {
				known[id] = s.csLayerOf(l, l.DiffDigest, "", "")
			}
		}
		return known
	}
	if s.layout == LayoutGraph {
		for id, r := range s.images {
			known[id] = Layer{CreatedBy: r.createdBy, Size: readSize(s.graphPath(id, "layersize"))}
		}
		return known
	}
	// Which image layer each chain id is, for created_by.
	type histEntry struct{ diffID, createdBy string }
	byChain := map[string]histEntry{}
	for _, r := range s.images {
		for i, c := range r.chainIDs {
			if _, ok := byChain[c]; !ok || byChain[c].createdBy == "" {
				byChain[c] = histEntry{r.diffIDs[i], r.history[i]}
			}
		}
	}
	dir := s.casPath("layerdb", "sha256")
	entries, err := readDir(dir)
	if err != nil {
		return known
	}
	for _, e := range entries {
		// <hex>-<random>-removing is a layer being deleted: not a name
		// isHexID accepts.
		name := e.Name()
		if !isHexID(name) || strings.Contains(name, "-") {
			continue
		}
		le, cerr := s.readLayerdb(name)
		if cerr != nil {
			continue
		}
		chain := sha256Prefix + name
		known[le.cacheID] = Layer{
			CreatedBy: byChain[chain].createdBy,
			Size:      le.size,
			DiffID:    le.diff,
			ChainID:   chain,
		}
	}
	return known
}
