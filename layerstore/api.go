package layerstore

import (
	"fmt"
	"strings"
	"time"
)

// Layout is the on-disk format of a store.
type Layout int

const (
	// LayoutGraph is the pre-1.10 store: repositories-aufs and graph/.
	LayoutGraph Layout = iota + 1
	// LayoutCAS is the 1.10+ content-addressable store: image/aufs/.
	LayoutCAS
)

func (l Layout) String() string {
	switch l {
	case LayoutGraph:
		return "graph (pre-1.10)"
	case LayoutCAS:
		return "content-addressable (1.10+)"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// Layer is one directory of a chain.
type Layer struct {
	ID        string // the directory name under aufs/diff (graph id, cache id, container id, "<id>-init")
	Dir       string // absolute path of aufs/diff/<ID>
	CreatedBy string // the command that made it, where the metadata says; "" otherwise
	Size      int64  // bytes, where the metadata says; -1 when unknown
	DiffID    string // "sha256:<hex>" for 1.10+ image layers; "" otherwise
	ChainID   string // "sha256:<hex>" for 1.10+ image layers; "" otherwise
}

// Image is one image of the store.
type Image struct {
	ID      string    // full hex id, no "sha256:" prefix
	Names   []string  // short names as Docker prints them: "busybox:latest", "user/app:v1", "busybox@sha256:<hex>"; sorted
	Created time.Time // zero when unknown
	Layers  int       // number of layers in its chain (from metadata, without resolving the chain)
}

// Container is one container of the store.
type Container struct {
	ID      string // full hex id
	Name    string // without the leading "/"
	ImageID string // full hex image id
	Image   string // what docker ps prints: the first name of the image, or its 12-hex short id
	Created time.Time
}

// Kind tells what a reference resolved to.
type Kind int

const (
	KindImage Kind = iota + 1
	KindContainer
)

// Target is what a reference resolves to: an image or a container, with
// its layer chain, checked against every piece of metadata that names it.
type Target struct {
	Kind      Kind
	Ref       string     // what the user typed
	Name      string     // canonical display name: "busybox:latest", a container's name, or the 12-hex id
	Image     *Image     // set for images, and for containers whose image is in the store
	Container *Container // set for containers
	Layers    []Layer    // top first: for a container its writable layer, its init layer, then the image's chain
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

// AmbiguousError says an id prefix matches more than one image or container.
type AmbiguousError struct {
	Ref        string
	Candidates []string // short ids (12 hex) or names of every match, sorted
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%s: ambiguous: %s", e.Ref, strings.Join(e.Candidates, ", "))
}

// CorruptError says a file of the store is missing, unreadable, malformed,
// or disagrees with another; File is the path at fault.
type CorruptError struct {
	File string
	Err  error
}

func (e *CorruptError) Error() string { return fmt.Sprintf("%s: %v", e.File, e.Err) }
func (e *CorruptError) Unwrap() error { return e.Err }
