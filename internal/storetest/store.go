package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aufsmount/aufsmount/layerstore"
)

// Image is an image: its layers, base first, and its names.
type Image struct {
	// Names are what docker images prints: "busybox:latest",
	// "user/app:v1", "registry:5000/team/app:v2", "busybox@sha256:<64 hex>";
	// a name without tag or digest means ":latest", and
	// "docker.io/library/busybox" means "busybox".
	Names []string
	// Layers are base first. The same *Layer may be shared by several
	// images: at the same position over the same layers it is one layer
	// on disk, as with a common base image.
	Layers  []*Layer
	Created time.Time // zero: the newest layer's time
}

// Container is a container made from Image.
type Container struct {
	Name    string // without the leading "/"
	Image   *Image // one of the Store's images
	Init    *Layer // nil: what docker puts there (.dockerenv, etc/hosts ...)
	RW      *Layer // the writable layer; nil: empty
	Created time.Time
	// Command, Volumes and Ran are what a containers/storage store's
	// engine records of the container (KindContainersStorage: Podman's
	// database); Docker's containers have none. Command nil means
	// ["sh"]; Ran says it ran and exited (else it was only created).
	Command []string
	Volumes []Volume
	Ran     bool
}

// Store describes a Docker root directory, or the part of one that a
// storage driver keeps.
type Store struct {
	// Kind is whose store it is: Docker's (the zero value) or a
	// containers/storage graphroot (cstorage.go).
	Kind       StoreKind
	Images     []*Image
	Containers []*Container
	// Driver is the storage driver: "" or DriverAufs, DriverOverlay2,
	// DriverFuseOverlayfs, DriverOverlay or DriverVFS. Drivers other
	// than aufs have the 1.10+ layout only.
	Driver string
	// AufsHardlinkWhiteouts (aufs) writes every layer as a live aufs
	// branch has it: .wh..wh.aufs, .wh..wh.plnk/ and .wh..wh.orph/ at its
	// root, and its whiteouts and opaque markers as hard links of
	// .wh..wh.aufs (so their own Mode, owner and times are not used).
	AufsHardlinkWhiteouts bool
	// Rootless (overlay2, overlay, fuse-overlayfs with devices) marks an
	// opaque directory as a rootless engine does, with the xattr
	// user.overlay.opaque=y instead of trusted.overlay.opaque=y.
	Rootless bool
	// FuseOverlayfsDevices writes fuse-overlayfs layers as a privileged
	// fuse-overlayfs does: whiteouts as 0/0 devices and opaque
	// directories as an xattr, as overlay2 has them, instead of the
	// files .wh.<name> and .wh..wh..opq (real fuse-overlayfs writes
	// either).
	FuseOverlayfsDevices bool
	// MountProgram (KindContainersStorage, overlay) writes the layers as
	// containers/storage keeps them with fuse-overlayfs as its
	// mount_program: whiteouts and opaque directories as the files
	// .wh.<name> and .wh..wh..opq.
	MountProgram bool
	// RunRoot (KindContainersStorage) is the run root Podman's database
	// records; "" means /run/containers/storage.
	RunRoot string
}

// Built tells where Write put everything. Every directory is absolute.
type Built struct {
	Root   string
	Layout layerstore.Layout
	Driver string // never "": DriverAufs for a Store that left it out
	// ImageID is the full 64-hex id of each image (no "sha256:"). Two
	// images that are the same to Docker (same config) get the same id.
	ImageID     map[*Image]string
	ContainerID map[*Container]string
	// MountID names the directories of a container's writable layer:
	// its id for LayoutGraph, a mount id for LayoutCAS; its init layer's
	// are MountID + "-init".
	MountID map[*Container]string
	// Chain is the directory of every layer of an image, top first;
	// ChainLayers the layers they hold, in the same order. A layer's
	// directory is aufs/diff/<id>, <driver>/<id>/diff (overlay2,
	// fuse-overlayfs), overlay/<id>/root (overlay: the whole tree so
	// far) or vfs/dir/<id> (vfs: the same). Empty layers have no
	// directory with LayoutCAS.
	Chain       map[*Image][]string
	ChainLayers map[*Image][]*Layer
	// Stack is the directories that make an image's view, top first:
	// its Chain for the drivers that stack layers (aufs, overlay2,
	// fuse-overlayfs), its top directory alone for those that keep whole
	// trees (overlay, vfs); empty for an image without layers.
	Stack map[*Image][]string
	// DiffIDs and ChainIDs are "sha256:<hex>", top first, aligned with
	// Chain; set for LayoutCAS only.
	DiffIDs  map[*Image][]string
	ChainIDs map[*Image][]string
	// LayerIDs (LayoutContainers) are the containers/storage ids of an
	// image's layers, top first, aligned with Chain; VolumeDir the
	// _data directory of each named volume.
	LayerIDs  map[*Image][]string
	VolumeDir map[string]string
	// ContainerChain is the directories of the writable layer, the init
	// layer, then the image's chain; ContainerLayers the layers they
	// hold (Init and RW filled in when the Container left them nil).
	// The writable and init directories are aufs/diff/<mount-id>,
	// <driver>/<mount-id>/diff, overlay/<mount-id>/upper (what the init
	// and writable layers change over the image's top root/, in overlay
	// form; overlay/<mount-id>-init/upper what the init layer changes) or
	// vfs/dir/<mount-id> (the whole tree), and likewise <mount-id>-init.
	// overlay over an image without layers: the init layer is a tree,
	// overlay/<mount-id>-init/root.
	ContainerChain  map[*Container][]string
	ContainerLayers map[*Container][]*Layer
	// ContainerStack is the directories that make a container's view,
	// top first: its ContainerChain (aufs, overlay2, fuse-overlayfs),
	// [upper, the root/ it is over] (overlay), [its tree] (vfs).
	ContainerStack map[*Container][]string
	// LayerDir is the directory of img.Layers[i] (base first, as in the
	// description): "" for an Empty layer with LayoutCAS.
	LayerDir func(img *Image, i int) string
	// form is the Docker driver whose layer form the layers have, where
	// it is not Driver (a containers/storage store's overlay layers are
	// in overlay2's or fuse-overlayfs' form).
	form string
}

// Write lays the store out under root in the given layout.
//
// The root may already hold another driver's store (Write it first),
// as on a host that switched drivers: each driver has its own
// image/<driver>/ and layer directories, and they share containers/,
// where each container's config names its driver. aufs stores of the two
// layouts may share a root too (a host migrated to 1.10; they share
// aufs/). Write refuses a root that already has this driver's own
// directories (image/<driver>/, or graph/ and repositories-aufs for a
// pre-1.10 aufs store; <driver>/ for a driver other than aufs), and a
// container whose directory is taken (same name, driver and layout).
func (s *Store) Write(root string, layout layerstore.Layout) (*Built, error) {
	if s.Kind == KindContainersStorage || layout == layerstore.LayoutContainers {
		return s.writeContainersStorage(root, layout)
	}
	if layout != layerstore.LayoutGraph && layout != layerstore.LayoutCAS {
		return nil, fmt.Errorf("writing store %s: unknown layout %v", root, layout)
	}
	name, drv, err := s.newDriver()
	if err != nil {
		return nil, fmt.Errorf("writing store %s: %w", root, err)
	}
	if name != DriverAufs && (layout != layerstore.LayoutCAS || s.AufsHardlinkWhiteouts) {
		return nil, fmt.Errorf("writing store %s: driver %s has only the 1.10+ layout, and no aufs branches", root, name)
	}
	root, err = filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	w := &storeWriter{s: s, root: root, layout: layout, driver: name, drv: drv, expanded: map[*Layer]*expanded{},
		stacks: map[*Image][]stackLayer{}, b: &Built{
			Root:            root,
			Layout:          layout,
			Driver:          name,
			ImageID:         map[*Image]string{},
			ContainerID:     map[*Container]string{},
			MountID:         map[*Container]string{},
			Chain:           map[*Image][]string{},
			ChainLayers:     map[*Image][]*Layer{},
			Stack:           map[*Image][]string{},
			DiffIDs:         map[*Image][]string{},
			ChainIDs:        map[*Image][]string{},
			ContainerChain:  map[*Container][]string{},
			ContainerLayers: map[*Container][]*Layer{},
			ContainerStack:  map[*Container][]string{},
		}}
	dirs := map[*Image][]string{}
	w.b.LayerDir = func(img *Image, i int) string {
		if d := dirs[img]; i >= 0 && i < len(d) {
			return d[i]
		}
		return ""
	}
	if err := w.check(); err != nil {
		return nil, fmt.Errorf("writing store %s: %w", root, err)
	}
	if err := w.claim(); err != nil {
		return nil, fmt.Errorf("writing store %s: %w", root, err)
	}
	if layout == layerstore.LayoutGraph {
		err = w.graph(dirs)
	} else {
		err = w.cas(dirs)
	}
	if err != nil {
		return nil, fmt.Errorf("writing store %s: %w", root, err)
	}
	return w.b, nil
}

// claim makes the root, and refuses it when it has the driver's own
// directories.
func (w *storeWriter) claim() error {
	if err := os.MkdirAll(w.root, 0700); err != nil {
		return err
	}
	for _, p := range w.drv.own(w.layout) {
		if _, err := os.Lstat(w.path(p)); err == nil {
			return fmt.Errorf("the root already has %s: a store of driver %s is there", p, w.driver)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// storeWriter is the state of one Write.
type storeWriter struct {
	s        *Store
	root     string
	layout   layerstore.Layout
	driver   string
	drv      driver
	b        *Built
	stacks   map[*Image][]stackLayer // every layer of an image, top first
	expanded map[*Layer]*expanded
	names    map[*Image][]imageName
	jobs     []layerJob
	tar      map[*Layer]*layerTar
}

// check refuses a description that cannot be laid out, naming the part at
// fault, and expands every layer once.
func (w *storeWriter) check() error {
	w.names = map[*Image][]imageName{}
	seen := map[*Image]bool{}
	for i, img := range w.s.Images {
		if img == nil {
			return fmt.Errorf("image %d is nil", i)
		}
		if seen[img] {
			return fmt.Errorf("image %d %v listed twice", i, img.Names)
		}
		seen[img] = true
		if len(img.Layers) == 0 && w.layout == layerstore.LayoutGraph {
			return fmt.Errorf("image %d %v has no layer (a pre-1.10 image is its top layer)", i, img.Names)
		}
		for _, n := range img.Names {
			in, err := parseName(n)
			if err != nil {
				return fmt.Errorf("image %d: %w", i, err)
			}
			w.names[img] = append(w.names[img], in)
		}
		for j, l := range img.Layers {
			if err := w.expand(l); err != nil {
				return fmt.Errorf("image %d %v layer %d (%s): %w", i, img.Names, j, l.name(), err)
			}
		}
	}
	cnames := map[string]bool{}
	for i, c := range w.s.Containers {
		if c == nil {
			return fmt.Errorf("container %d is nil", i)
		}
		if c.Name == "" || strings.ContainsAny(c.Name, "/\x00") || cnames[c.Name] {
			return fmt.Errorf("container %d: bad or repeated name %q", i, c.Name)
		}
		cnames[c.Name] = true
		if !seen[c.Image] {
			return fmt.Errorf("container %q: its image is not one of the store's", c.Name)
		}
		for _, l := range []*Layer{c.Init, c.RW} {
			if l == nil {
				continue
			}
			if err := w.expand(l); err != nil {
				return fmt.Errorf("container %q layer (%s): %w", c.Name, l.name(), err)
			}
		}
	}
	return nil
}

func (w *storeWriter) expand(l *Layer) error {
	if w.expanded[l] != nil {
		return nil
	}
	x, err := expand(l)
	if err != nil {
		return err
	}
	w.expanded[l] = x
	return nil
}

// containerLayers are the init and writable layers of c, filled in.
func (w *storeWriter) containerLayers(c *Container) (init, rw *Layer) {
	init, rw = c.Init, c.RW
	if init == nil {
		init = defaultInit(w.layout)
	}
	if rw == nil {
		rw = &Layer{}
	}
	for _, l := range []*Layer{init, rw} {
		if w.expanded[l] == nil {
			x, err := expand(l)
			if err != nil {
				panic(err) // built here, always valid
			}
			w.expanded[l] = x
		}
	}
	return init, rw
}

// defaultInit is the init layer docker makes for a container.
func defaultInit(layout layerstore.Layout) *Layer {
	f := func(p string) Entry { return Entry{Path: p, Mode: 0755} }
	l := &Layer{Entries: []Entry{
		D("dev"), D("dev/pts"), D("dev/shm"), f("dev/console"),
		D("etc"), f("etc/hostname"), f("etc/hosts"), L("etc/mtab", "/proc/mounts"), f("etc/resolv.conf"),
		D("proc"), D("sys"), f(".dockerenv"),
	}}
	if layout == layerstore.LayoutGraph {
		l.Entries = append(l.Entries, f(".dockerinit"))
	}
	return l
}

// mkdirs makes the directories of a store, each path relative to root.
func (w *storeWriter) mkdirs(mode os.FileMode, paths ...string) error {
	for _, p := range paths {
		if err := os.MkdirAll(filepath.Join(w.root, p), mode); err != nil {
			return err
		}
	}
	return nil
}

// commonDirs are what both layouts have at the top, and the driver's.
func (w *storeWriter) commonDirs() error {
	if err := w.mkdirs(0700, "containers", "volumes", "tmp", "trust"); err != nil {
		return err
	}
	return w.drv.setup(w)
}

func writeFile(p string, data []byte, mode os.FileMode) error {
	return os.WriteFile(p, data, mode)
}

// hexID is a deterministic 64-hex id for what; Docker's are random.
func hexID(what ...string) string {
	h := sha256.New()
	for _, s := range what {
		fmt.Fprintf(h, "%d:%s\x00", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func created(t time.Time) time.Time {
	if t.IsZero() {
		return DefaultTime
	}
	return t
}

func layerCreated(l *Layer) time.Time { return created(l.Created) }

// cmdOf is the container_config Cmd of the step that made a layer.
func cmdOf(l *Layer) []string {
	if l.CreatedBy == "" {
		return nil
	}
	return []string{"/bin/sh", "-c", l.CreatedBy}
}

var errNameTaken = errors.New("name given to two different images")

// containerFiles writes containers/<cid>/: the config under its
// layout's name, and hostconfig.json.
func (w *storeWriter) containerFiles(cid, configName string, config any) error {
	dir := filepath.Join(w.root, "containers", cid)
	if err := os.Mkdir(dir, 0700); err != nil {
		return fmt.Errorf("container %s: %w", cid, err)
	}
	if err := writeJSON(filepath.Join(dir, configName), config, 0600); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "hostconfig.json"), hostConfig{NetworkMode: "default", RestartPolicy: restartPolicy{Name: "no"}}, 0600); err != nil {
		return err
	}
	for f, data := range map[string]string{
		"hostname":    cid[:12] + "\n",
		"hosts":       "127.0.0.1\tlocalhost\n",
		"resolv.conf": "nameserver 8.8.8.8\n",
	} {
		if err := writeFile(filepath.Join(dir, f), []byte(data), 0644); err != nil {
			return err
		}
	}
	return nil
}
