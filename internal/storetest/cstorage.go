package storetest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/aufsmount/aufsmount/layerstore"
)

// A containers/storage graphroot (Podman, CRI-O, Buildah; docs/
// containers-storage.md) as containers/storage 1.44 and Podman 4.3 write
// it, checked against a store written by Podman 4.3:
//
//	<drv>-layers/layers.json, <drv>-layers/<id>.tar-split.gz
//	<drv>-images/images.json, <drv>-images/<id>/<big data>
//	<drv>-containers/containers.json, <drv>-containers/<id>/userdata/
//	overlay/<id>/{diff,link,lower,work,merged,empty}, overlay/l/<link>
//	vfs/dir/<id>
//	volumes/<name>/_data, libpod/bolt_state.db
//
// A layer id is, as containers/image's storage destination computes it
// (layerID in storage/storage_dest.go), its diff id's hex for a base
// layer, else the hex sha256 of parent id + "+" + diff id hex. A
// container has one layer of its own, named "<container>-layer", and no
// init layer. Its ids and those of its layer are random to Podman:
// derived from its name here, so that stores are reproducible.

// StoreKind is whose store Write lays out.
type StoreKind int

const (
	// KindDocker is a Docker root (the zero value).
	KindDocker StoreKind = iota
	// KindContainersStorage is a containers/storage graphroot, written
	// with layout LayoutContainers and driver DriverOverlay or DriverVFS.
	KindContainersStorage
)

// Volume is a named volume of a container (KindContainersStorage):
// <root>/volumes/<Name>/_data, holding Files, mounted at Dest. Containers
// that name the same volume share it; at most one of them gives Files.
type Volume struct {
	Name  string
	Dest  string // absolute, in the container
	Files []Entry
}

// csLayer is one layer of layers.json.
type csLayer struct {
	id, parent string
	names      []string
	l          *Layer
	created    time.Time
	tar        *layerTar // image layers only
	what       string
}

// csWriter is the state of one Write of a containers/storage store.
type csWriter struct {
	*storeWriter
	enc      encoding
	links    *overlay2Driver // for its link names
	layers   []*csLayer      // layers.json, in creation order
	byID     map[string]*csLayer
	top      map[*Image]string // the top layer id of each image
	volumes  map[string]*Volume
	volLayer map[string]*Layer   // what each volume holds, as a layer
	volOwner map[string][]string // volume name -> ids of the containers using it
}

func (s *Store) writeContainersStorage(root string, layout layerstore.Layout) (*Built, error) {
	if s.Kind != KindContainersStorage || layout != layerstore.LayoutContainers {
		return nil, fmt.Errorf("writing store %s: a containers/storage store is written with Kind KindContainersStorage and layout LayoutContainers together (got kind %d, layout %v)", root, s.Kind, layout)
	}
	switch {
	case s.Driver != DriverOverlay && s.Driver != DriverVFS:
		return nil, fmt.Errorf("writing store %s: containers/storage driver %q (want %q or %q)", root, s.Driver, DriverOverlay, DriverVFS)
	case s.MountProgram && s.Driver != DriverOverlay:
		return nil, fmt.Errorf("writing store %s: MountProgram is for driver %q only", root, DriverOverlay)
	case s.AufsHardlinkWhiteouts || s.FuseOverlayfsDevices:
		return nil, fmt.Errorf("writing store %s: AufsHardlinkWhiteouts and FuseOverlayfsDevices are for Docker stores", root)
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	b := &Built{
		Root: root, Layout: layout, Driver: s.Driver,
		ImageID: map[*Image]string{}, ContainerID: map[*Container]string{}, MountID: map[*Container]string{},
		Chain: map[*Image][]string{}, ChainLayers: map[*Image][]*Layer{}, Stack: map[*Image][]string{},
		DiffIDs: map[*Image][]string{}, ChainIDs: map[*Image][]string{}, LayerIDs: map[*Image][]string{},
		VolumeDir: map[string]string{}, ContainerChain: map[*Container][]string{},
		ContainerLayers: map[*Container][]*Layer{}, ContainerStack: map[*Container][]string{},
	}
	switch {
	case s.Driver == DriverVFS:
	case s.MountProgram:
		b.form = DriverFuseOverlayfs
	default:
		b.form = DriverOverlay2
	}
	w := &csWriter{
		storeWriter: &storeWriter{s: s, root: root, layout: layout, driver: s.Driver, b: b,
			expanded: map[*Layer]*expanded{}, stacks: map[*Image][]stackLayer{}},
		enc:   csEncoding(s),
		links: &overlay2Driver{dir: DriverOverlay},
		byID:  map[string]*csLayer{}, top: map[*Image]string{},
		volumes: map[string]*Volume{}, volLayer: map[string]*Layer{}, volOwner: map[string][]string{},
	}
	dirs := map[*Image][]string{}
	b.LayerDir = func(img *Image, i int) string {
		if d := dirs[img]; i >= 0 && i < len(d) {
			return d[i]
		}
		return ""
	}
	if err := w.csCheck(); err != nil {
		return nil, fmt.Errorf("writing store %s: %w", root, err)
	}
	if err := w.write(dirs); err != nil {
		return nil, fmt.Errorf("writing store %s: %w", root, err)
	}
	return b, nil
}

// csEncoding is how the store's overlay layers mark whiteouts and opaque
// directories: as the kernel does (user.overlay.* when rootless), or as
// containers/storage untars for a mount_program (the aufs form, which
// fuse-overlayfs reads).
func csEncoding(s *Store) encoding {
	switch {
	case s.MountProgram:
		return encoding{}
	case s.Rootless:
		return encoding{devices: true, opaque: "user.overlay.opaque"}
	}
	return encoding{devices: true, opaque: "trusted.overlay.opaque"}
}

// csCheck refuses a description containers/storage cannot have, and
// expands every layer once.
func (w *csWriter) csCheck() error {
	if err := w.check(); err != nil {
		return err
	}
	for i, img := range w.s.Images {
		for _, n := range img.Names {
			if _, err := fullName(n); err != nil {
				return fmt.Errorf("image %d: %w", i, err)
			}
		}
	}
	for _, c := range w.s.Containers {
		if c.Init != nil {
			return fmt.Errorf("container %q: containers/storage has no init layer", c.Name)
		}
		for _, v := range c.Volumes {
			if v.Name == "" || !validVolumeName(v.Name) {
				return fmt.Errorf("container %q: bad volume name %q", c.Name, v.Name)
			}
			if !filepath.IsAbs(v.Dest) {
				return fmt.Errorf("container %q: volume %q: destination %q is not absolute", c.Name, v.Name, v.Dest)
			}
			if old := w.volumes[v.Name]; old != nil && len(old.Files) > 0 && len(v.Files) > 0 {
				return fmt.Errorf("container %q: volume %q is given files twice", c.Name, v.Name)
			}
			if old := w.volumes[v.Name]; old == nil || len(v.Files) > 0 {
				w.volumes[v.Name] = &v
			}
		}
	}
	for name, v := range w.volumes {
		w.volLayer[name] = &Layer{Entries: v.Files}
		if err := w.expand(w.volLayer[name]); err != nil {
			return fmt.Errorf("volume %q: %w", name, err)
		}
	}
	return nil
}

// validVolumeName is Podman's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]*.
func validVolumeName(n string) bool {
	for i, c := range []byte(n) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || i > 0 && (c == '_' || c == '.' || c == '-')
		if !ok {
			return false
		}
	}
	return true
}

// claim makes the root, and refuses one that has a store of the driver,
// or Podman's database.
func (w *csWriter) claim() error {
	if err := os.MkdirAll(w.root, 0700); err != nil {
		return err
	}
	d := w.driver
	for _, p := range []string{d + "-layers", d + "-images", d + "-containers", d, "libpod/bolt_state.db"} {
		if _, err := os.Lstat(w.path(p)); err == nil {
			return fmt.Errorf("the root already has %s: a store is there", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func (w *csWriter) write(dirs map[*Image][]string) error {
	if err := w.claim(); err != nil {
		return err
	}
	if err := w.topDirs(); err != nil {
		return err
	}
	var all []*Layer
	for _, img := range w.s.Images {
		all = append(all, slices.DeleteFunc(slices.Clone(img.Layers), func(l *Layer) bool { return l.Empty })...)
	}
	if err := w.tars(all, w.path("tmp"), 0600); err != nil {
		return err
	}
	for _, img := range w.s.Images {
		if err := w.imageLayers(img, dirs); err != nil {
			return err
		}
	}
	for _, cl := range w.layers {
		if err := w.layerDir(cl, false); err != nil {
			return err
		}
	}
	if err := w.images(); err != nil {
		return err
	}
	if err := w.containers(); err != nil {
		return err
	}
	if err := w.writeLayersJSON(); err != nil {
		return err
	}
	if err := w.libpod(); err != nil {
		return err
	}
	return writeLayers(w.jobs)
}

// topDirs makes the directories and lock files Podman makes at the top.
func (w *csWriter) topDirs() error {
	d := w.driver
	if err := w.mkdirs(0700, d+"-layers", d+"-images", d+"-containers", "libpod", "volumes", "tmp", "mounts"); err != nil {
		return err
	}
	files := map[string]string{"storage.lock": "", "userns.lock": "", "defaultNetworkBackend": "cni",
		d + "-layers/layers.lock": "", d + "-images/images.lock": "", d + "-containers/containers.lock": ""}
	if d == DriverVFS {
		if err := w.mkdirs(0700, "vfs/dir"); err != nil {
			return err
		}
	} else {
		if err := w.mkdirs(0700, "overlay"); err != nil {
			return err
		}
		if err := w.mkdirs(0755, "overlay/l"); err != nil {
			return err
		}
		if err := writeFile(w.path("overlay", ".has-mount-program"), fmt.Appendf(nil, "%t", w.s.MountProgram), 0600); err != nil {
			return err
		}
	}
	for p, data := range files {
		if err := writeFile(w.path(p), []byte(data), 0644); err != nil {
			return err
		}
	}
	return nil
}
