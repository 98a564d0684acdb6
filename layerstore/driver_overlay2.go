package layerstore

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// overlay2Driver: overlay2/<id>/diff/ holds a layer's files with overlay
// whiteouts; overlay2/<id>/link its short name, overlay2/<id>/lower the
// short names of the layers below ("l/A:l/B", nearest first). The l/
// symlinks are never read: the chain comes from the metadata, and lower
// is checked against the link files of the chain's own layers.
type overlay2Driver struct{}

func (overlay2Driver) name() string { return "overlay2" }

func (overlay2Driver) layerDir(s *store, id string) string { return overlayDiffDir(s, "overlay2", id) }

func (overlay2Driver) encoding(own bool) *whiteout.Encoding { return whiteout.Overlay }

func (overlay2Driver) stack(s *store, layers []Layer, ctr *containerRec) []Layer {
	return stackAll(layers)
}

func (overlay2Driver) listLayers(s *store) ([]string, error) {
	return listLayerNames(filepath.Join(s.root, "overlay2"))
}

func (overlay2Driver) check(s *store, layers []Layer, ctr *containerRec) error {
	return checkLower(s, "overlay2", layers)
}

func overlayDiffDir(s *store, home, id string) string {
	return filepath.Join(s.root, home, id, "diff")
}

// shortLen is the length of the names overlay2 gives its l/ links.
const shortLen = 26

// checkLower checks a chain of an overlay2-style home: no layer twice,
// every diff/ a real directory, and the top's lower listing exactly the
// link names of the layers below it, in order (absent for a lone layer).
func checkLower(s *store, home string, layers []Layer) error {
	if len(layers) == 0 {
		return nil
	}
	if err := checkUnique(layers); err != nil {
		return err
	}
	if err := checkDirs(layers); err != nil {
		return err
	}
	links := make([]string, len(layers))
	errs := make([]error, len(layers))
	forEach(len(layers)-1, func(i int) {
		p := filepath.Join(s.root, home, layers[i+1].ID, "link")
		links[i+1], errs[i+1] = readLink(p)
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	top := layers[0].ID
	p := filepath.Join(s.root, home, top, "lower")
	data, err := readSmallOptional(p)
	if err != nil {
		return corrupt(p, err)
	}
	var listed []string
	if data != "" {
		for i, e := range strings.Split(data, ":") {
			short, ok := strings.CutPrefix(e, "l/")
			if !ok || !isShortName(short) {
				return corrupt(p, fmt.Errorf("entry %d %q is not l/ and a %d-character link name", i+1, clip(e), shortLen))
			}
			listed = append(listed, short)
		}
	}
	if err := compareLayers("entry", top, listed, links[1:]); err != nil {
		return corrupt(p, err)
	}
	return nil
}

// readLink reads and checks a layer's link file.
func readLink(p string) (string, error) {
	short, err := readSmall(p)
	if err != nil {
		return "", corrupt(p, err)
	}
	if !isShortName(short) {
		return "", corrupt(p, fmt.Errorf("%q is not a %d-character link name (A-Z, 0-9)", clip(short), shortLen))
	}
	return short, nil
}

// isShortName says whether s is a name overlay2 gives a layer's l/ link.
func isShortName(s string) bool {
	if len(s) != shortLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func (overlay2Driver) keepsXattr(string) bool { return true } // not a whole-tree driver

func (overlay2Driver) containerDiff() ContainerDiff { return CompareTrees }

func (overlay2Driver) graphDriverData(t *Target) map[string]string { return mountDirs(t, t.Layers[1:]) }

// mountDirs is the GraphDriver.Data of an overlay mount of t: its top
// layer's directory as UpperDir, merged/ and work/ beside it, and lower,
// top first, as LowerDir (left out when there is none).
func mountDirs(t *Target, lower []Layer) map[string]string {
	upper := t.Layers[0].Dir
	top := filepath.Dir(upper)
	data := map[string]string{"MergedDir": filepath.Join(top, "merged"), "UpperDir": upper, "WorkDir": filepath.Join(top, "work")}
	if len(lower) > 0 {
		dirs := make([]string, len(lower))
		for i, l := range lower {
			dirs[i] = l.Dir
		}
		data["LowerDir"] = strings.Join(dirs, ":")
	}
	return data
}
