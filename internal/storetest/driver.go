package storetest

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/aufsmount/aufsmount/layerstore"
)

// The storage drivers Write lays a store out for (docs/drivers.md), as
// Store.Driver and a container's config.v2.json name them.
const (
	DriverAufs          = "aufs"
	DriverOverlay2      = "overlay2"
	DriverFuseOverlayfs = "fuse-overlayfs"
	DriverOverlay       = "overlay" // overlay v1
	DriverVFS           = "vfs"
)

// Drivers are the names of every driver Write knows, for table tests.
var Drivers = []string{DriverAufs, DriverOverlay2, DriverFuseOverlayfs, DriverOverlay, DriverVFS}

// stackLayer is one layer of a stack: its directory's name and what it
// holds.
type stackLayer struct {
	id string
	l  *Layer
}

// driver lays out the layer directories of one storage driver.
type driver interface {
	// own is what of a root belongs to the driver in the layout: Write
	// refuses a root that has any of it.
	own(layout layerstore.Layout) []string
	// setup makes the driver's top directories.
	setup(w *storeWriter) error
	// layerDir is, relative to the root, the directory of the image
	// layer id: what Built.Chain lists.
	layerDir(id string) string
	// layer queues the directory of s[0] over s[1:] (nearest first), a
	// layer of an image or, for the drivers that stack a container's
	// layers, of a container.
	layer(w *storeWriter, s []stackLayer, what string, container bool) error
	// container queues the writable and init layers of a container,
	// named mount and mount+"-init", over the image's layers (top first);
	// it returns their directories and the stack of its view, top first.
	container(w *storeWriter, mount string, rw, init *Layer, image []stackLayer, what string) (rwDir, initDir string, stack []string, err error)
	// imageStack is the stack of an image's view, from its chain.
	imageStack(chain []string) []string
	// finish writes what needs every layer queued.
	finish(w *storeWriter) error
}

// newDriver is the driver a Store names.
func (s *Store) newDriver() (string, driver, error) {
	switch s.Driver {
	case "", DriverAufs:
		return DriverAufs, aufsDriver{}, nil
	case DriverOverlay2, DriverFuseOverlayfs:
		return s.Driver, &overlay2Driver{dir: s.Driver, enc: s.encoding(), kernel: s.Driver == DriverOverlay2, parents: map[string]bool{}}, nil
	case DriverOverlay:
		return s.Driver, &overlayDriver{enc: s.encoding(), done: map[string]chan struct{}{}}, nil
	case DriverVFS:
		return s.Driver, vfsDriver{}, nil
	}
	return "", nil, fmt.Errorf("unknown driver %q (want one of %v)", s.Driver, Drivers)
}

// encoding is how the driver marks whiteouts and opaque directories in
// the layers it keeps in overlay form: as the kernel's overlayfs does,
// but for fuse-overlayfs without FuseOverlayfsDevices.
func (s *Store) encoding() encoding {
	if s.Driver == DriverFuseOverlayfs && !s.FuseOverlayfsDevices {
		return encoding{}
	}
	if s.Rootless {
		return encoding{devices: true, opaque: "user.overlay.opaque"}
	}
	return encoding{devices: true, opaque: "trusted.overlay.opaque"}
}

// path is p, relative to the root, made absolute.
func (w *storeWriter) path(p ...string) string {
	return filepath.Join(append([]string{w.root}, p...)...)
}

// id is a deterministic 64-hex id for what. Those of drivers other than
// aufs depend on the driver too, so that two drivers' stores in one root
// do not share ids, as Docker's random ones would not.
func (w *storeWriter) id(what ...string) string {
	if w.driver != DriverAufs {
		what = append([]string{w.driver}, what...)
	}
	return hexID(what...)
}

// stackedContainer queues a container's layers for a driver that stacks
// them as it stacks an image's: the init layer over the image's, the
// writable one over both.
func stackedContainer(w *storeWriter, d driver, mount string, rw, init *Layer, image []stackLayer, what string) (string, string, []string, error) {
	initS := append([]stackLayer{{mount + "-init", init}}, image...)
	if err := d.layer(w, initS, "init of "+what, true); err != nil {
		return "", "", nil, err
	}
	s := append([]stackLayer{{mount, rw}}, initS...)
	if err := d.layer(w, s, "of "+what, true); err != nil {
		return "", "", nil, err
	}
	stack := make([]string, len(s))
	for i, l := range s {
		stack[i] = w.path(d.layerDir(l.id))
	}
	return stack[0], stack[1], stack, nil
}

// topOnly is the stack of a driver whose layers are whole trees: the top
// one alone.
func topOnly(chain []string) []string { return slices.Clone(chain[:min(1, len(chain))]) }

// layersOf are the layers of a stack.
func layersOf(s []stackLayer) []*Layer {
	ls := make([]*Layer, len(s))
	for i, l := range s {
		ls[i] = l.l
	}
	return ls
}

// view is the merged view of a stack.
func (w *storeWriter) view(s []stackLayer) []Node {
	xs := make([]*expanded, len(s))
	for i, l := range s {
		xs[i] = w.expanded[l.l]
	}
	return mergeExpanded(xs)
}
