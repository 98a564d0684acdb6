package save

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/distribution/reference"

	"github.com/aufsmount/aufsmount/internal/words"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

// Options are the choices of a save and where it reports.
type Options struct {
	// AsIs saves the layers whose files changed since they were unpacked
	// as they are now, with new diff ids and image ids, instead of
	// stopping the save with a *ChangedError.
	AsIs bool
	// Tag names the image made of the one container saved.
	Tag reference.NamedTagged
	// WithVolumes puts the data of a container's volumes that the store
	// holds in its layer, at their destinations.
	WithVolumes bool

	// Progress is told the bytes of layer streams Write writes, as it
	// writes them; LayerDone, each layer written. Either may be nil.
	Progress  func(n int64)
	LayerDone func()
	// Warn is told what the user should know, one message at a time
	// (which may hold several lines, and has no final newline): notes
	// ("note: ..."), warnings ("warning: ..."), the images saved with a
	// new id, and the details of a *ChangedError. Nil: nothing is told.
	Warn func(msg string)
	// Quote makes a name or path printable in a message; nil: as it is.
	Quote func(string) string
}

// TagError is Options.Tag given when the references name no container or
// several: it names the image made of one container.
type TagError struct{ Containers int }

func (e *TagError) Error() string {
	return fmt.Sprintf("a tag names the image made of a container: give exactly one container (got %d)", e.Containers)
}

// ChangedError is a save stopped, before anything was written or while
// writing, by layers whose files no longer match their tar-splits
// (Options.AsIs unset); Options.Warn was told the differences.
type ChangedError struct {
	Layers  []string // each layer as messages name it: its short id and directory
	Writing bool     // found while writing the layer's stream
}

func (e *ChangedError) Error() string {
	if e.Writing {
		return fmt.Sprintf("layer %s changed since it was unpacked (nothing saved)", e.Layers[0])
	}
	n := len(e.Layers)
	return fmt.Sprintf("%d %s no longer %s the original tars (nothing saved)", n, words.Plural(n, "layer", "layers"), words.Plural(n, "matches", "match"))
}

// Archive is one save, planned: what is to be written, then the writing.
type Archive struct {
	s   layerstore.Source
	opt Options

	items  []*item
	layers []*layer // every layer to write, once, in the order written
	now    time.Time
}

// item is one image of the archive: an image of the store, or the image
// a container is committed into.
type item struct {
	t      *layerstore.Target
	layout layerstore.Layout
	tags   []reference.NamedTagged
	chain  []*layer // base first; a container's own layer last, unless it is empty

	// 1.10+: the image config as imagedb holds it (for a container, its
	// image's). Pre-1.10: graph json of each layer of the image, base first.
	config    []byte
	graphJSON [][]byte
	// manifest is the image's own manifest where the store keeps one
	// (containers/storage): written as it is when it describes what the
	// archive holds, so that the image keeps its digest.
	manifest []byte

	// A container: its own layer, its Config, and its OS.
	own       *layer
	ownEmpty  bool // it changed nothing: no layer, as docker commit
	ctrConfig json.RawMessage
	ctrOS     string

	created time.Time
	v1ids   []string // the legacy directory of each layer of chain
	// Written: the config the archive holds, its id.
	outConfig []byte
	outID     string
}

// layer is one layer to write.
type layer struct {
	l layerstore.Layer
	// fresh is set for a layer written as a fresh tar of its directory
	// (why in note); nil for one written as its original stream.
	fresh *layertar.Fresh
	note  string
	asIs  bool // changed since unpacked, saved as it is now (AsIs)
	// blob is, for a layer of an image archive, its blob: copied as it
	// is, compressed or not, under its digest (digest).
	blob   *layerstore.ArchiveBlob
	digest string

	size    int64
	sized   bool   // size is known (an original stream's, from its tar-split)
	entries int    // of a fresh tar
	diffID  string // the stream's digest: known before writing (blob) or once written
	known   bool   // diffID is known before writing: the content is its blob
	pre110  bool   // a layer of a pre-1.10 image: no diff id recorded
	home    string // the archive path of its content
	v1id    string // the legacy directory its content is in, when it is not a blob
	mtime   time.Time

	findings []layertar.Finding
	err      error
}

// Plan resolves refs in s and decides how each layer is written: its
// original stream or a fresh tar, and its size. A layer that no longer
// matches its tar-split stops the save here, before anything is written
// (unless opt.AsIs).
func Plan(s layerstore.Source, refs []string, opt Options) (*Archive, error) {
	a := &Archive{s: s, opt: opt, now: time.Now().UTC()}
	if err := a.resolve(refs); err != nil {
		return nil, err
	}
	if err := a.chains(); err != nil {
		return nil, err
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	if err := a.sizes(); err != nil {
		return nil, err
	}
	if err := a.legacyIDs(); err != nil {
		return nil, err
	}
	return a, nil
}

// Layers is how many layer streams the archive holds.
func (a *Archive) Layers() int { return len(a.layers) }

// Size is the bytes of the layer streams, as planned.
func (a *Archive) Size() int64 {
	var total int64
	for _, l := range a.layers {
		total += l.size
	}
	return total
}

// HasContainer says whether a container is among what is saved.
func (a *Archive) HasContainer() bool {
	return slices.ContainsFunc(a.items, func(it *item) bool { return it.own != nil })
}

// Write writes the archive to w, in one pass. The writes to w overlap
// the reading of the layers (a few 1 MiB buffers in flight); the first
// error of w ends the writing and is returned.
func (a *Archive) Write(w io.Writer) error {
	aw := newAsyncWriter(w)
	err := a.archive(aw)
	if cerr := aw.Close(); err == nil {
		err = cerr
	}
	return err
}

func (a *Archive) warn(format string, args ...any) {
	if a.opt.Warn != nil {
		a.opt.Warn(fmt.Sprintf(format, args...))
	}
}

func (a *Archive) quote(s string) string {
	if a.opt.Quote != nil {
		return a.opt.Quote(s)
	}
	return s
}

func (a *Archive) progress(n int64) {
	if a.opt.Progress != nil {
		a.opt.Progress(n)
	}
}

// name is how a message names a layer: its short id and directory (or
// blob).
func (l *layer) name() string { return fmt.Sprintf("%s (%s)", layerstore.ShortID(l.l.ID), l.l.Where()) }
