package layerstore

import (
	"fmt"
	"strings"
	"time"

	"github.com/aufsmount/aufsmount/layerstore/layertar"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// Layout is the on-disk format of a store.
type Layout int

const (
	// LayoutGraph is the pre-1.10 store: repositories-aufs and graph/.
	LayoutGraph Layout = iota + 1
	// LayoutCAS is the 1.10+ content-addressable store: image/aufs/.
	LayoutCAS
	// LayoutContainers is a containers/storage graphroot (Podman, CRI-O,
	// Buildah): <driver>-layers/, <driver>-images/, <driver>-containers/
	// (docs/containers-storage.md).
	LayoutContainers
	// LayoutContainerd is a containerd root (Docker 29's image store,
	// Kubernetes nodes, nerdctl and ctr): io.containerd.metadata.v1.bolt/
	// meta.db, the content store and a snapshotter (docs/containerd.md).
	LayoutContainerd
	// LayoutArchive is an image archive or layout: a docker save tar, an
	// oci-archive or an OCI layout directory (archive.go,
	// docs/archives.md).
	LayoutArchive
)

func (l Layout) String() string {
	switch l {
	case LayoutGraph:
		return "graph (pre-1.10)"
	case LayoutCAS:
		return "content-addressable (1.10+)"
	case LayoutContainers:
		return "containers/storage"
	case LayoutContainerd:
		return "containerd"
	case LayoutArchive:
		return "image archive"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// Layer is one directory of a chain.
type Layer struct {
	ID       string             // the layer's directory name in the driver's tree (graph id, cache id, mount id, "<id>-init")
	Dir      string             // absolute path of its files: aufs/diff/<ID>, overlay2/<ID>/diff, overlay/<ID>/root or upper, vfs/dir/<ID>
	Driver   string             // the storage driver that wrote it
	Store    string             // in a host's filesystem, the store that holds it; "" otherwise
	Encoding *whiteout.Encoding // in a Target's Stack: how the layer marks whiteouts; nil elsewhere
	// Markers, in a Target's Stack: the whiteouts and opaque directories
	// of an image layer's tar-split that its directory lost (see
	// Store.RecoverMarkers); nil when it has them all.
	Markers *whiteout.Markers
	// Restore, in a Target's Stack, says what the directory lost to a
	// copy and where it is recorded (Store.RecoverCopy); nil when nothing
	// was lost.
	Restore *Restore
	// TarSplit is the path of the layer's tar-split (1.10+ image layers),
	// which may be missing; "" where there is none to look for.
	TarSplit string
	// Blob is, for a containerd image layer, its blob in the content
	// store, of media type BlobType: containerd keeps no tar-split, and
	// the blob's tar stream stands in for one. "" where there is none.
	Blob, BlobType string
	// Archive is, for a layer of an image archive, where its blob is:
	// such a layer has no Dir. Nil elsewhere.
	Archive *ArchiveBlob
	// EngineRoot says the directory's root is as the engine made it, not
	// as the layer's tar has it: containers/storage makes every layer's
	// root 0555 and does not apply the tar's ./ entry to it.
	EngineRoot bool
	CreatedBy  string // the command that made it, where the metadata says; "" otherwise
	Size       int64  // bytes, where the metadata says; -1 when unknown
	DiffID     string // "sha256:<hex>" for 1.10+ image layers; "" otherwise
	ChainID    string // "sha256:<hex>" for 1.10+ image layers; "" otherwise
}

// Image is one image of the store.
type Image struct {
	ID      string    // full hex id, no "sha256:" prefix
	Names   []string  // short names as Docker prints them: "busybox:latest", "user/app:v1", "busybox@sha256:<hex>"; sorted
	Created time.Time // zero when unknown
	Layers  int       // number of layers in its chain (from metadata, without resolving the chain)
	Driver  string    // the storage driver whose tree holds it
	Store   string    // in a host's filesystem, the store that holds it ("docker", "podman:alice"); "" otherwise
	// Parent is the id of the image it was built on, where the store
	// records one (imagedb/metadata/sha256/<id>/parent; before 1.10,
	// every image but a base); "" otherwise.
	Parent string
	// Intermediate is set for an image docker images shows only with -a:
	// it has no name, and another image is built on it (its Parent), or
	// its chain is the start of another image's.
	Intermediate bool
	// Namespace is the containerd namespace that holds it ("moby",
	// "k8s.io", "default"); "" in other stores.
	Namespace string
	// Note says what is unusual in how the image is read, where that is
	// so: a containerd image whose layers are not unpacked is served from
	// its layer blobs, or cannot be mounted where one of them is gone.
	Note string
}

// Container is one container of the store.
type Container struct {
	ID      string // full hex id
	Name    string // without the leading "/"
	ImageID string // full hex image id
	Image   string // what docker ps prints: the first name of the image, or its 12-hex short id
	Created time.Time
	Driver  string // the storage driver of its layers
	Store   string // in a host's filesystem, the store that holds it; "" otherwise

	// What its config says, for ps and inspect (details.go); a field of
	// the wrong shape is left empty.
	Path        string
	Args        []string
	ConfigImage string // Config.Image: the image as named when the container was made
	State       State
	Ports       []Port            // NetworkSettings.Ports, sorted
	Labels      map[string]string // Config.Labels
	Networks    []string          // NetworkSettings.Networks, by name, sorted
	Mounts      []MountPoint      // MountPoints (Volumes before 1.7), by destination

	Namespace string // the containerd namespace that holds it; "" in other stores
	// Sandbox marks a Kubernetes pod's sandbox ("pause") container
	// (io.cri-containerd.kind=sandbox), which ps shows only with -a, as
	// crictl ps does.
	Sandbox bool
}

// Kind tells what a reference resolved to.
type Kind int

const (
	KindImage Kind = iota + 1
	KindContainer
)

// String is "image" or "container", as messages name a target.
func (k Kind) String() string {
	if k == KindContainer {
		return "container"
	}
	return "image"
}

// Target is what a reference resolves to: an image or a container, with
// its layer chain, checked against every piece of metadata that names it.
type Target struct {
	Kind      Kind
	Ref       string     // what the user typed
	Name      string     // canonical display name: "busybox:latest", a container's name, or the 12-hex id
	Image     *Image     // set for images, and for containers whose image is in the store
	Container *Container // set for containers
	Layers    []Layer    // top first: for a container its writable layer, its init layer, then the image's chain
	// Stack is the branches of its view, top first, each with its
	// encoding: every layer of Layers for the drivers that stack layers
	// (aufs, overlay2, fuse-overlayfs); the top alone where each layer is
	// a whole tree (vfs, an overlay v1 image); an overlay v1 container's
	// upper over its image's top root.
	Stack  []Layer
	Driver string // the storage driver whose tree holds it
	Store  string // in a host's filesystem, the store that holds it; "" otherwise
	// Archive is, for an image a transport reference named
	// (docker-archive:FILE, oci-archive:FILE, oci:DIR; ParseTransport),
	// the absolute path of that archive or layout, which holds it; ""
	// for a target of the Source's own store.
	Archive string
	// Below is, for a container, the stack of its view without its
	// writable layer: its init layer over its image, what docker diff
	// compares it with. Nil for images.
	Below []Layer
	// Binds are, for a container, the files and directories of the store
	// that Docker bind-mounted into it (its /etc/hostname, /etc/hosts,
	// /etc/resolv.conf, its volumes), each checked to be in the store;
	// Unshown the mount points a view cannot show (binds.go).
	Binds   []Bind
	Unshown []Unshown
	// Warnings say what was wrong with the store but worked around: an
	// image config that cannot be read, whose chain came from the
	// driver's own files instead (recover.go). One line each.
	Warnings []string

	drv driver // the driver that holds it: names alone are not unique across kinds of store
}

// NotFoundError says a reference names nothing in the store.
type NotFoundError struct {
	Ref         string
	Suggestions []string // nearest known names, best first (at most a few)
}

func (e *NotFoundError) Error() string {
	if len(e.Suggestions) == 0 {
		return fmt.Sprintf("%s: not found", e.Ref)
	}
	return fmt.Sprintf("%s: not found (did you mean %s?)", e.Ref, strings.Join(e.Suggestions, ", "))
}

// AmbiguousError says a reference matches more than one image or
// container: an id prefix, or a name found under two storage drivers.
type AmbiguousError struct {
	Ref        string
	Candidates []string // short ids (12 hex) or names of every match, sorted; with "(driver)" across drivers
	Hint       string   // what to do about it, or ""
}

func (e *AmbiguousError) Error() string {
	msg := fmt.Sprintf("%s: ambiguous: %s", e.Ref, strings.Join(e.Candidates, ", "))
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// CorruptError says a file of the store is missing, unreadable, malformed,
// or disagrees with another; File is the path at fault.
type CorruptError struct {
	File string
	Err  error
}

func (e *CorruptError) Error() string { return fmt.Sprintf("%s: %v", e.File, e.Err) }
func (e *CorruptError) Unwrap() error { return e.Err }

// Restore is how a view gives a layer's directory back what a copy of
// the store took from it (docs/copies.md).
type Restore struct {
	// From are the image layers whose tar-splits record the directory,
	// top first: the layer itself, or for a whole tree its chain.
	From []Layer
	// Copier is who copied the directory, and whether owners were kept.
	Copier layertar.Copier
}

// Tree names the driver tree that holds the image, for ResolveIn: its
// driver's name, after its store's in a host's filesystem, and with its
// containerd namespace.
func (img Image) Tree() string { return treeKey(img.Store, img.Driver, img.Namespace) }

// Tree names the driver tree that holds the container, for ResolveIn.
func (c Container) Tree() string { return treeKey(c.Store, c.Driver, c.Namespace) }

func treeKey(store, driver, namespace string) string {
	key := driver
	if store != "" {
		key = store + "/" + driver
	}
	if namespace != "" {
		key += "@" + namespace
	}
	return key
}
