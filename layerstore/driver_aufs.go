package layerstore

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// aufsDriver: aufs/diff/<id>/ holds a layer's files with .wh. whiteouts;
// aufs/layers/<id> lists the layers below it, nearest first. The only
// driver of the pre-1.10 layout too.
type aufsDriver struct{}

func (aufsDriver) name() string { return "aufs" }

func (aufsDriver) layerDir(s *store, id string) string {
	return filepath.Join(s.root, "aufs", "diff", id)
}

func (aufsDriver) encoding(own bool) *whiteout.Encoding { return whiteout.Aufs }

func (aufsDriver) stack(s *store, layers []Layer, ctr *containerRec) []Layer {
	return stackAll(layers)
}

func (aufsDriver) listLayers(s *store) ([]string, error) {
	return listLayerNames(filepath.Join(s.root, "aufs", "diff"))
}

// check: no directory twice, aufs/layers/<top> lists exactly the layers
// below the top in order, and every aufs/diff/<id> is a real directory.
// Only the top's layers file is read, so a chain of n layers costs n
// directory checks and one file.
func (aufsDriver) check(s *store, layers []Layer, ctr *containerRec) error {
	if len(layers) == 0 {
		return nil
	}
	if err := checkUnique(layers); err != nil {
		return err
	}
	top := layers[0].ID
	p := filepath.Join(s.root, "aufs", "layers", top)
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
	if err := compareLayers("line", top, listed, want); err != nil {
		return corrupt(p, err)
	}
	return checkDirs(layers)
}

// listLayerNames lists the entries of dir that are directories named like
// layers.
func listLayerNames(dir string) ([]string, error) {
	entries, err := readDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() || !isLayerName(e.Name()) {
			continue
		}
		out = append(out, e.Name())
	}
	return out, nil
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

// compareLayers says how the ids listed for the layers below top (in
// aufs/layers/<top> by line, or overlay2's lower by entry) differ from the ones the
// metadata gives.
func compareLayers(unit, top string, listed, want []string) error {
	for i, l := range listed {
		if l == top {
			return fmt.Errorf("%s %d lists the layer itself (cycle)", unit, i+1)
		}
	}
	for i := 0; i < len(listed) && i < len(want); i++ {
		if listed[i] != want[i] {
			return fmt.Errorf("%s %d is %s, but the metadata makes it %s", unit, i+1, listed[i], want[i])
		}
	}
	switch {
	case len(listed) > len(want):
		return fmt.Errorf("lists %d layers below %s, the metadata %d: %s is extra", len(listed), ShortID(top), len(want), listed[len(want)])
	case len(listed) < len(want):
		if len(listed) == 0 {
			return errors.New("lists no layers below, but the metadata has " + fmt.Sprint(len(want)))
		}
		return fmt.Errorf("lists %d layers below %s, the metadata %d: %s is missing", len(listed), ShortID(top), len(want), want[len(listed)])
	}
	return nil
}

func (aufsDriver) keepsXattr(string) bool { return true } // not a whole-tree driver

func (aufsDriver) containerDiff() ContainerDiff { return WalkWritableLayer }

// graphDriverData: docker shows no directories for aufs.
func (aufsDriver) graphDriverData(*Target) map[string]string { return nil }
