package viewplan

import (
	"fmt"
	"strings"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

// Options tune a Planner.
type Options struct {
	// AsIs restores nothing: the directories exactly as they are
	// (-o as-is).
	AsIs bool
	// Say, if set, is told what the user should know, once each: kind
	// is "warning" (something was worked around) or "note".
	Say func(kind, msg string)
	// Filter, when not empty, makes the whole-store tree (Tree) of the
	// containers it matches alone: one pod's, one namespace's.
	Filter layerstore.Filter
	// Index, if set, makes Mount build the indexes of an image archive's
	// layers that are not cached yet (layerstore.IndexArchive), telling
	// it how that goes, so that the mount's server finds them cached.
	Index *layerstore.IndexProgress
}

// Planner plans the views of one command: each layer's restoration is
// said once however many views hold it.
type Planner struct {
	s    layerstore.Source
	o    Options
	seen map[string]bool
}

// New makes a Planner for the views of s.
func New(s layerstore.Source, o Options) *Planner {
	return &Planner{s: s, o: o, seen: map[string]bool{}}
}

func (p *Planner) say(kind, format string, args ...any) {
	if p.o.Say != nil {
		p.o.Say(kind, fmt.Sprintf(format, args...))
	}
}

// once says a message about key the first time.
func (p *Planner) once(key, kind, format string, args ...any) {
	if !p.seen[key] {
		p.seen[key] = true
		p.say(kind, format, args...)
	}
}

// Resolve resolves ref and restores what its layers lost; the target's
// Stack is then what a view must show. What was worked around
// (Target.Warnings) is said too.
func (p *Planner) Resolve(ref string) (*layerstore.Target, error) {
	t, err := p.s.Resolve(ref)
	if err != nil {
		return nil, err
	}
	for _, w := range t.Warnings {
		p.say("warning", "%s", w)
	}
	if err := p.Restore(t); err != nil {
		return nil, err
	}
	return t, nil
}

// Restore gives t's image layers back what a copy of the store took
// from them (layerstore.RecoverMarkers and RecoverCopy), unless AsIs.
func (p *Planner) Restore(t *layerstore.Target) error {
	if p.o.AsIs {
		return nil
	}
	repairs, err := p.s.RecoverMarkers(t)
	if err != nil {
		return fmt.Errorf("%s: %w", t.Ref, err)
	}
	losses, err := p.s.RecoverCopy(t)
	if err != nil {
		return fmt.Errorf("%s: %w", t.Ref, err)
	}
	metadata := false
	for _, c := range losses {
		metadata = metadata || c.Owners || c.Modes || c.Times
		p.once("copy "+c.Layer.Dir, "note", "%s", c)
	}
	if metadata {
		// The layers above have no tar-split: what the copy did to them
		// stays, and the user should know the view is the copy's there.
		for _, l := range t.Stack {
			if l.TarSplit == "" {
				p.once("copy "+l.Dir, "note", "layer %s (%s) has no tar-split: its owners, modes and times are shown as the copy has them", l.ID, l.Dir)
			}
		}
	}
	for _, r := range repairs {
		p.once(r.Layer.Dir, "warning", "%s", r)
	}
	return nil
}

// Layers is what package fs mounts for a target: its stack, each layer
// with its encoding, the markers its tar-split restored and, where a
// copy lost its metadata, where to restore it from, or for a layer of an
// image archive where its blob is (with their loaders).
func Layers(t *layerstore.Target) []fs.Layer {
	out := make([]fs.Layer, len(t.Stack))
	for i, l := range t.Stack {
		out[i] = fsLayer(l)
		if l.Restore != nil {
			out[i].Restore = &fs.Restore{Copier: l.Restore.Copier}
			for _, r := range l.Restore.From {
				out[i].Restore.From = append(out[i].Restore.From, fs.RestoreSource{ID: r.ID, Driver: r.Driver, TarSplit: r.TarSplit, DiffID: r.DiffID})
			}
		}
	}
	WithLoaders(out)
	return out
}

// fsLayer is the layer package fs serves for l: its directory, or the
// blob of an image archive's layer.
func fsLayer(l layerstore.Layer) fs.Layer {
	out := fs.Layer{ID: l.ID, Dir: l.Dir, Encoding: l.Encoding, Markers: l.Markers}
	if b := l.Archive; b != nil {
		out.Archive = &fs.ArchiveLayer{Archive: b.Archive, Member: b.Member, File: b.File, Offset: b.Offset, Size: b.Size, Digest: b.Digest, DiffID: l.DiffID,
			Sparse: b.Sparse, NoTrustedXattrs: b.NoTrustedXattrs}
	}
	return out
}

// WithLoaders lets the layers whose metadata the view restores load
// their index (layerstore.LoadRestore) when first used, and the layers
// of an image archive open their blob (layerstore.OpenArchiveLayer): a
// plan that came over a pipe has lost its loaders.
func WithLoaders(layers []fs.Layer) {
	for i := range layers {
		if a := layers[i].Archive; a != nil {
			a.Load = func() (*fs.TarStream, error) { return loadArchive(a) }
		}
		r := layers[i].Restore
		if r == nil {
			continue
		}
		var from []layerstore.Layer
		for _, s := range r.From {
			from = append(from, layerstore.Layer{ID: s.ID, Driver: s.Driver, TarSplit: s.TarSplit, DiffID: s.DiffID})
		}
		r.Load = func() (*layertar.Packed, error) { return layerstore.LoadRestore(from) }
	}
}

// Binds is what package fs shows over a container's layers: the binds
// of its store, each reached from the store's root.
func Binds(t *layerstore.Target, root string) []fs.Bind {
	var out []fs.Bind
	for _, b := range t.Binds {
		out = append(out, fs.Bind{Dest: b.Dest, Root: root, Source: b.Source, ID: b.Source})
	}
	return out
}

// Unshown says in one line which mount points of a container its view
// cannot show; "" when it shows them all.
func Unshown(t *layerstore.Target) string {
	if len(t.Unshown) == 0 {
		return ""
	}
	var parts []string
	for _, u := range t.Unshown {
		parts = append(parts, u.String())
	}
	return fmt.Sprintf("container %s: not shown, not in the store: %s", t.Name, strings.Join(parts, "; "))
}

// loadArchive opens the blob of an image archive's layer for serving.
func loadArchive(a *fs.ArchiveLayer) (*fs.TarStream, error) {
	b := &layerstore.ArchiveBlob{Archive: a.Archive, Member: a.Member, File: a.File, Offset: a.Offset, Size: a.Size, Sparse: a.Sparse, Digest: a.Digest}
	s, err := layerstore.OpenArchiveLayerLazy(b, a.DiffID)
	if err != nil {
		return nil, err
	}
	return &fs.TarStream{Index: s.Index, LoadIndex: s.TarIndex, Data: s.Data, File: s.File, Close: s.Close}, nil
}
