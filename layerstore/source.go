package layerstore

import "time"

// Source is a source of images and containers: what the command and
// the libraries (fs/viewplan, layerstore/save, layerstore/verify) read
// a store through. A Docker root with its storage drivers (Store) is the
// first; other kinds of store (containerd, containers/storage, image
// archives) each come as one more implementation
// (docs/architecture.md).
type Source interface {
	// Root is the store's directory.
	Root() string
	// Drivers names the storage drivers whose trees the store holds.
	Drivers() []string
	// Images, DamagedImages and Containers list what the store holds;
	// DamagedImages are images whose metadata cannot be read but whose
	// chain may still be known.
	Images() []Image
	DamagedImages() []Image
	Containers() []Container
	// Layers lists every layer directory of the store.
	Layers() ([]Layer, error)
	// Problems lists what opening the store found wrong without
	// failing, each naming the file at fault.
	Problems() []error
	// Stores names the stores a host's filesystem holds that were read,
	// and Unread those found but not read, with why; both are empty
	// for a lone store (docs/hosts.md).
	Stores() []string
	Unread() []Unread
	// LayoutOfDriver is the layout of the tree of one storage driver (0:
	// none); ImageIDOf the id of the image ref names in it ("": none),
	// as docker ps resolves a container's Config.Image.
	LayoutOfDriver(driver string) Layout
	ImageIDOf(driver, ref string) string

	// Resolve finds what ref names (a name, an id or prefix, a
	// container); ResolveKind only of kind only (0: either); ResolveIn
	// only under one driver.
	Resolve(ref string) (*Target, error)
	ResolveKind(ref string, only Kind) (*Target, error)
	ResolveIn(driver, ref string) (*Target, error)

	// RecoverMarkers and RecoverCopy restore in t's Stack what a copy of
	// the store lost (docs/copies.md).
	RecoverMarkers(t *Target) ([]Repair, error)
	RecoverCopy(t *Target) ([]CopyLoss, error)

	// The metadata a save writes as it is: the layout of t's store, its
	// image config, a pre-1.10 layer's graph json, a container's config.
	LayoutOf(t *Target) Layout
	ImageConfig(t *Target) ([]byte, error)
	GraphJSON(t *Target, id string) ([]byte, error)
	ContainerConfig(t *Target) ([]byte, string, error)
	// HostConfig is a container's hostconfig.json (nil: none);
	// ImageTagged when t's image was last tagged (zero: unknown); History
	// the steps of t's image, top first. docker inspect and docker
	// history show them.
	HostConfig(t *Target) ([]byte, error)
	ImageTagged(t *Target) (time.Time, error)
	History(t *Target) ([]HistoryEntry, error)
	// ImageManifest is the manifest the store keeps of t's image, byte
	// for byte and checked against its digest, where it keeps one
	// (containers/storage); nil where it keeps none (Docker).
	ImageManifest(t *Target) ([]byte, error)
}

var _ Source = (*Store)(nil)
