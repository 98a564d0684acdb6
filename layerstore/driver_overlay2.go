package layerstore

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// stackedOverlay is a driver that keeps overlay2's layout under its home
// directory: <home>/<id>/diff/ holds a layer's files, <home>/<id>/link its
// short name, <home>/<id>/lower the short names of the layers below
// ("l/A:l/B", nearest first). The l/ symlinks are never read: the chain
// comes from the metadata, and lower is checked against the link files of
// the chain's own layers. Docker's overlay2 and fuse-overlayfs, and
// containers/storage's overlay, are each one of these.
type stackedOverlay struct {
	home string
	enc  *whiteout.Encoding // how its layers mark whiteouts
}

// overlay2Driver is Docker's overlay2: what the kernel's overlayfs reads.
var overlay2Driver = stackedOverlay{home: "overlay2", enc: whiteout.Overlay}

func (d stackedOverlay) name() string { return d.home }

func (d stackedOverlay) layerDir(s *store, id string) string { return overlayDiffDir(s, d.home, id) }

func (d stackedOverlay) encoding(own bool) *whiteout.Encoding { return d.enc }

func (stackedOverlay) stack(s *store, layers []Layer, ctr *containerRec) []Layer {
	return stackAll(layers)
}

func (d stackedOverlay) listLayers(s *store) ([]string, error) {
	return listLayerNames(filepath.Join(s.root, d.home))
}

func (d stackedOverlay) check(s *store, layers []Layer, ctr *containerRec) error {
	return checkLower(s, d.home, layers)
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

func (stackedOverlay) keepsXattr(string) bool { return true } // not a whole-tree driver

func (stackedOverlay) containerDiff() ContainerDiff { return CompareTrees }

// graphDriverData: the directories of the overlay mount of t's layers.
func (stackedOverlay) graphDriverData(t *Target) map[string]string { return mountDirs(t, t.Layers[1:]) }

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
