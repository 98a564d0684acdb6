package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
}

// Store describes a Docker root directory that used the aufs driver.
type Store struct {
	Images     []*Image
	Containers []*Container
	// AufsHardlinkWhiteouts writes every layer as a live aufs branch
	// has it: .wh..wh.aufs, .wh..wh.plnk/ and .wh..wh.orph/ at its root,
	// and its whiteouts and opaque markers as hard links of .wh..wh.aufs
	// (so their own Mode, owner and times are not used).
	AufsHardlinkWhiteouts bool
}

// Built tells where Write put everything.
type Built struct {
	Root   string
	Layout layerstore.Layout
	// ImageID is the full 64-hex id of each image (no "sha256:"). Two
	// images that are the same to Docker (same config) get the same id.
	ImageID     map[*Image]string
	ContainerID map[*Container]string
	// MountID is the name under aufs/diff of a container's writable
	// layer: its id for LayoutGraph, a mount id for LayoutCAS; its init
	// layer is MountID + "-init".
	MountID map[*Container]string
	// Chain is the aufs/diff directories of an image (absolute), top
	// first; ChainLayers the layers they hold, in the same order.
	// Empty layers have no directory with LayoutCAS.
	Chain       map[*Image][]string
	ChainLayers map[*Image][]*Layer
	// DiffIDs and ChainIDs are "sha256:<hex>", top first, aligned with
	// Chain; set for LayoutCAS only.
	DiffIDs  map[*Image][]string
	ChainIDs map[*Image][]string
	// ContainerChain is the writable layer, the init layer, then the
	// image's chain; ContainerLayers the layers they hold (Init and RW
	// filled in when the Container left them nil).
	ContainerChain  map[*Container][]string
	ContainerLayers map[*Container][]*Layer
	// LayerDir is the directory of img.Layers[i] (base first, as in the
	// description): "" for an Empty layer with LayoutCAS.
	LayerDir func(img *Image, i int) string
}

// Write lays the store out under root (missing or empty) in the given
// layout.
func (s *Store) Write(root string, layout layerstore.Layout) (*Built, error) {
	if layout != layerstore.LayoutGraph && layout != layerstore.LayoutCAS {
		return nil, fmt.Errorf("writing store %s: unknown layout %v", root, layout)
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if err := emptyRoot(root); err != nil {
		return nil, err
	}
	w := &storeWriter{s: s, root: root, layout: layout, expanded: map[*Layer]*expanded{}, b: &Built{
		Root:            root,
		Layout:          layout,
		ImageID:         map[*Image]string{},
		ContainerID:     map[*Container]string{},
		MountID:         map[*Container]string{},
		Chain:           map[*Image][]string{},
		ChainLayers:     map[*Image][]*Layer{},
		DiffIDs:         map[*Image][]string{},
		ChainIDs:        map[*Image][]string{},
		ContainerChain:  map[*Container][]string{},
		ContainerLayers: map[*Container][]*Layer{},
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

func emptyRoot(root string) error {
	if err := os.MkdirAll(root, 0700); err != nil {
		return err
	}
	f, err := os.Open(root)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); err != io.EOF {
		if err == nil {
			return fmt.Errorf("writing store %s: not empty", root)
		}
		return err
	}
	return nil
}

// storeWriter is the state of one Write.
type storeWriter struct {
	s        *Store
	root     string
	layout   layerstore.Layout
	b        *Built
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

// layerDir queues a layer directory and makes its aufs/mnt and
// aufs/layers beside it; parents are the ids below it, nearest first.
func (w *storeWriter) layerDir(id string, l *Layer, parents []string, what string) (string, error) {
	dir := filepath.Join(w.root, "aufs", "diff", id)
	w.jobs = append(w.jobs, layerJob{dir: dir, x: w.expanded[l], linkWh: w.s.AufsHardlinkWhiteouts, what: what})
	if err := os.Mkdir(filepath.Join(w.root, "aufs", "mnt", id), 0755); err != nil {
		return "", err
	}
	// The aufs driver writes one id a line, each ending in a newline.
	var b strings.Builder
	for _, p := range parents {
		b.WriteString(p)
		b.WriteByte('\n')
	}
	if err := writeFile(filepath.Join(w.root, "aufs", "layers", id), []byte(b.String()), 0644); err != nil {
		return "", err
	}
	return dir, nil
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

// commonDirs are what both layouts have at the top.
func (w *storeWriter) commonDirs() error {
	if err := w.mkdirs(0700, "aufs", "containers", "volumes", "tmp", "trust"); err != nil {
		return err
	}
	return w.mkdirs(0755, "aufs/diff", "aufs/layers", "aufs/mnt")
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
		return err
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
