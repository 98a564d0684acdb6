package layerstore

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// driver is what differs between Docker's storage drivers
// (docs/drivers.md): where a layer's files are, how it marks deletions,
// how an image's or a container's view is stacked, and which of the
// driver's own files must agree with the metadata. The image and layer
// metadata (image/<driver>/) is the same for all of them. Each driver is
// one file.
type driver interface {
	name() string
	// layerDir is the directory of the files of the layer named id (a
	// cache id, a mount id, or an init layer's id), as listed in a chain.
	layerDir(s *store, id string) string
	// check verifies a chain (top first; a container's begins with its
	// writable and init layers) against the driver's own files.
	check(s *store, layers []Layer, ctr *containerRec) error
	// encoding is how the driver's image layers (own false) or a
	// container's own layers (own true) mark whiteouts on disk.
	encoding(own bool) *whiteout.Encoding
	// stack is the branches of the view of a checked chain (whose layers
	// carry their encodings), top first.
	stack(s *store, layers []Layer, ctr *containerRec) []Layer
	// listLayers names every layer directory the driver holds, for
	// Layers; "" layers dirs (not a layer) are left out.
	listLayers(s *store) ([]string, error)
	// keepsXattr tells whether a layer of a whole-tree driver keeps the
	// extended attribute name of what it copies from the layer below.
	keepsXattr(name string) bool
	// containerDiff is how docker diff finds what a container of the
	// driver changed.
	containerDiff() ContainerDiff
	// graphDriverData is GraphDriver.Data as docker inspect shows it for
	// the resolved target t (which has layers): the directories a mount
	// of its view is made of; nil where docker gives none.
	graphDriverData(t *Target) map[string]string
}

// ContainerDiff is how Docker 20.10's docker diff finds what a container
// changed, which its driver decides (layerstore/changes does the same).
type ContainerDiff int

const (
	// CompareTrees compares the container's tree with the one below it
	// (archive.ChangesDirs in moby, the "naive" diff); only the paths the
	// writable layer touches can differ.
	CompareTrees ContainerDiff = iota
	// CompareWholeTrees compares the trees too, but whole: the writable
	// layer is a full copy of the tree below with the changes made (vfs),
	// so what it touched cannot be told apart.
	CompareWholeTrees
	// WalkWritableLayer walks the writable layer (archive.Changes in
	// moby), which marks its deletions (aufs).
	WalkWritableLayer
)

// ContainerDiff is how docker diff finds what the container t changed.
func (t *Target) ContainerDiff() ContainerDiff {
	if d := t.driver(); d != nil {
		return d.containerDiff()
	}
	return CompareTrees
}

// GraphDriver is GraphDriver as docker inspect shows it for t: the
// storage driver's name, and the directories a mount of the view would
// be made of, as the store has them now (nil for aufs and vfs, and for a
// target without layers).
func (t *Target) GraphDriver() (name string, data map[string]string) {
	if d := t.driver(); d != nil && len(t.Layers) > 0 {
		data = d.graphDriverData(t)
	}
	return t.Driver, data
}

// driver is the driver that holds t: the one it was resolved in, or for
// a Target made elsewhere, Docker's driver of its name.
func (t *Target) driver() driver {
	if t.drv != nil {
		return t.drv
	}
	return driverByName(t.Driver)
}

// drivers are the supported drivers, in the order a multi-driver root
// lists them.
var drivers = []driver{aufsDriver{}, overlay2Driver, fuseOverlayfsDriver, overlayDriver{}, vfsDriver{}}

// driverByName returns the supported driver called name, or nil.
func driverByName(name string) driver {
	for _, d := range drivers {
		if d.name() == name {
			return d
		}
	}
	return nil
}

// DriverNames lists the supported drivers: Docker's (containers/storage
// calls its own overlay and vfs), then containerd's snapshotters.
func DriverNames() []string {
	out := make([]string, len(drivers))
	for i, d := range drivers {
		out[i] = d.name()
	}
	return append(out, cdSnapshotters...)
}

// CheckDriverName is nil when aufsmount reads storage driver name, else
// an error saying so, with the drivers it reads. flag is how the command
// line gave the name, written before it ("--driver ", "-o driver=").
func CheckDriverName(flag, name string) error {
	known := DriverNames()
	switch {
	case name == "":
		return fmt.Errorf("%s names no storage driver (it takes %s)", strings.TrimSpace(flag), strings.Join(known, ", "))
	case !slices.Contains(known, name):
		return fmt.Errorf("%s%s: not a storage driver aufsmount reads (it reads %s)", flag, name, strings.Join(known, ", "))
	}
	return nil
}

// stackAll is the stack of the drivers whose layers are stacked as they
// are: every layer of the chain.
func stackAll(layers []Layer) []Layer { return append([]Layer(nil), layers...) }

// checkDirs checks that every layer directory of a chain is a real
// directory, all at once.
func checkDirs(layers []Layer) error {
	errs := make([]error, len(layers))
	forEach(len(layers), func(i int) { errs[i] = checkLayerDir(layers[i].Dir) })
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkUnique refuses a chain that names one layer twice.
func checkUnique(layers []Layer) error {
	seen := make(map[string]bool, len(layers))
	for _, l := range layers {
		if seen[l.ID] {
			return &CorruptError{File: l.Dir, Err: fmt.Errorf("layer %s appears twice in one chain (cycle)", l.ID)}
		}
		seen[l.ID] = true
	}
	return nil
}
