package layerstore

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// imageChain is an image's layers, top first, from its metadata. The
// aufs/layers file and the directories are checked by verify.
func (s *Store) imageChain(img *imageRec) ([]Layer, error) {
	if s.layout == LayoutCAS {
		return s.casChain(img)
	}
	return s.graphChain(img)
}

func (s *Store) diffDir(id string) string {
	return filepath.Join(s.root, "aufs", "diff", id)
}

func (s *Store) layersFile(id string) string {
	return filepath.Join(s.root, "aufs", "layers", id)
}

// verify checks a chain built from metadata against the rest of the
// store: no directory twice, aufs/layers/<top> lists exactly the layers
// below the top in order, and every aufs/diff/<id> is a real directory.
// Only the top's layers file is read, so a chain of n layers costs n
// directory checks and one file.
func (s *Store) verify(layers []Layer) error {
	if len(layers) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(layers))
	for _, l := range layers {
		if seen[l.ID] {
			return &CorruptError{File: l.Dir, Err: fmt.Errorf("layer %s appears twice in one chain (cycle)", l.ID)}
		}
		seen[l.ID] = true
	}
	top := layers[0].ID
	p := s.layersFile(top)
	data, err := readFile(p, maxList)
	if err != nil {
		return corrupt(p, err)
	}
	listed, err := parseLayersFile(data)
	if err != nil {
		return corrupt(p, err)
	}
	want := make([]string, 0, len(layers)-1)
	for _, l := range layers[1:] {
		want = append(want, l.ID)
	}
	if err := compareLayers(top, listed, want); err != nil {
		return corrupt(p, err)
	}
	errs := make([]error, len(layers))
	forEach(len(layers), func(i int) { errs[i] = checkLayerDir(layers[i].Dir) })
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// parseLayersFile parses an aufs/layers/<id> file: the ids of every layer
// below, one per line, nearest first; empty for a base layer.
func parseLayersFile(data []byte) ([]string, error) {
	lines := strings.Split(string(data), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	seen := make(map[string]bool, len(lines))
	out := make([]string, 0, len(lines))
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			return nil, fmt.Errorf("line %d is empty", i+1)
		}
		if err := checkLayerName(fmt.Sprintf("line %d", i+1), l); err != nil {
			return nil, err
		}
		if seen[l] {
			return nil, fmt.Errorf("line %d lists %s a second time (cycle)", i+1, l)
		}
		seen[l] = true
		out = append(out, l)
	}
	return out, nil
}

// compareLayers says how the ids listed in aufs/layers/<top> differ from
// the ones the metadata gives.
func compareLayers(top string, listed, want []string) error {
	for i, l := range listed {
		if l == top {
			return fmt.Errorf("line %d lists the layer itself (cycle)", i+1)
		}
	}
	for i := 0; i < len(listed) && i < len(want); i++ {
		if listed[i] != want[i] {
			return fmt.Errorf("line %d is %s, but the metadata makes it %s", i+1, listed[i], want[i])
		}
	}
	switch {
	case len(listed) > len(want):
		return fmt.Errorf("lists %d layers below %s, the metadata %d: %s is extra", len(listed), shortID(top), len(want), listed[len(want)])
	case len(listed) < len(want):
		if len(listed) == 0 {
			return errors.New("lists no layers below, but the metadata has " + fmt.Sprint(len(want)))
		}
		return fmt.Errorf("lists %d layers below %s, the metadata %d: %s is missing", len(listed), shortID(top), len(want), want[len(listed)])
	}
	return nil
}
