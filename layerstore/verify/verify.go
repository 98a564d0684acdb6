package verify

import (
	"errors"

	"github.com/aufsmount/aufsmount/internal/workpool"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
	"github.com/aufsmount/aufsmount/layerstore/seekable"
)

// Options say where Run reports how far it is. Any may be nil.
type Options struct {
	// Start is told, before any layer is read, how many layers are to be
	// checked and their bytes.
	Start func(layers int, bytes int64)
	// Progress is told the bytes of the streams rebuilt as they go;
	// LayerDone, each layer checked. Both are called from several
	// goroutines at once.
	Progress  func(n int64)
	LayerDone func()
}

// Layer is the verdict on one layer.
type Layer struct {
	Layer  layerstore.Layer
	Status Status
	// Reason says why a layer is UNVERIFIABLE or in ERROR (Err), and
	// for a checked layer whose stream is not its diff id, that it is
	// not. It may hold a path, and so any character.
	Reason   string
	Err      error
	Digest   string             // of the rebuilt stream
	Size     int64              // of the rebuilt stream
	Findings []layertar.Finding // in path order
	// Mismatch is set where the rebuilt stream is not the layer's diff id.
	Mismatch *layertar.Mismatch
	// Blob is, for a layer of an image archive (Layer.Archive), what
	// reading its blob found: the blob's digest, size and compression.
	// Digest and Size are then its uncompressed stream's.
	Blob *seekable.Index
	// Contents says the original stream is there to rebuild; Directory,
	// whether the directory is as unpacked. Both are for a Checked layer.
	Contents  bool
	Directory Directory
}

// Checked says the layer's stream was rebuilt and judged: it is OK,
// LOSSY or MODIFIED.
func (l *Layer) Checked() bool {
	switch l.Status {
	case OK, Lossy, Modified:
		return true
	}
	return false
}

// Target is the verdict on one image or container.
type Target struct {
	Kind     string // "image" or "container"; "" for a reference not resolved
	Name, ID string
	Status   Status
	Err      error    // the reference could not be resolved
	Layers   []*Layer // top first
}

// Result is what Run found: every layer once, in the order the targets
// met them, and every target in the order asked.
type Result struct {
	Layers  []*Layer
	Targets []Target
}

// Unresolved says some reference could not be resolved.
func (r *Result) Unresolved() bool {
	for _, t := range r.Targets {
		if t.Err != nil {
			return true
		}
	}
	return false
}

// Run checks the images and containers refs name, or every image and
// container of s where there are none. A reference that cannot be
// resolved is a Target with its Err; the rest are still checked.
func Run(s layerstore.Source, refs []string, opt Options) *Result {
	r := &Result{}
	dirs := map[string]*Layer{}
	for _, t := range targets(s, refs) {
		tc := Target{Kind: t.kind, Name: t.name, Err: t.err}
		if t.t != nil {
			tc.Layers = r.plan(t.t, dirs)
			tc.Kind, tc.Name, tc.ID = t.t.Kind.String(), t.t.Name, targetID(t.t)
		}
		r.Targets = append(r.Targets, tc)
	}
	var todo []*Layer
	var total int64
	for _, l := range r.Layers {
		if l.Status == "" {
			todo = append(todo, l)
			total += l.bytes()
		}
	}
	if opt.Start != nil {
		opt.Start(len(todo), total)
	}
	workpool.Each(len(todo), workpool.Cores(), func(i int) {
		todo[i].check(opt.Progress)
		if opt.LayerDone != nil {
			opt.LayerDone()
		}
	})
	for i := range r.Targets {
		if r.Targets[i].Err == nil {
			r.Targets[i].Status = worst(r.Targets[i].Layers)
		}
	}
	return r
}

// target is a reference resolved, or not.
type target struct {
	kind, name string
	t          *layerstore.Target
	err        error
}

// targets resolves refs, or every image and container of s.
func targets(s layerstore.Source, refs []string) []target {
	var out []target
	for _, r := range refs {
		t, err := s.Resolve(r)
		out = append(out, target{name: r, t: t, err: err})
	}
	if len(refs) > 0 {
		return out
	}
	for _, img := range s.Images() {
		t, err := s.ResolveIn(img.Tree(), img.ID)
		name := layerstore.ShortID(img.ID)
		if len(img.Names) > 0 {
			name = img.Names[0]
		}
		out = append(out, target{kind: "image", name: name, t: t, err: err})
	}
	for _, ct := range s.Containers() {
		t, err := s.ResolveIn(ct.Tree(), ct.ID)
		out = append(out, target{kind: "container", name: ct.Name, t: t, err: err})
	}
	return out
}

func targetID(t *layerstore.Target) string {
	switch {
	case t.Container != nil:
		return t.Container.ID
	case t.Image != nil:
		return t.Image.ID
	}
	return ""
}

// plan adds the layers of t not met before to r, by directory (or an
// archive's blob), and returns t's; a container's own layers are
// unverifiable from the start, as is a layer without a tar-split (or,
// of an archive, a blob).
func (r *Result) plan(t *layerstore.Target, dirs map[string]*Layer) []*Layer {
	own := 0
	if t.Kind == layerstore.KindContainer && t.Image != nil {
		own = len(t.Layers) - t.Image.Layers
	}
	var out []*Layer
	for j, l := range t.Layers {
		lc := dirs[l.Where()]
		if lc == nil {
			lc = &Layer{Layer: l}
			switch {
			case j < own && j == 0:
				lc.Status, lc.Reason = Unverifiable, "a container's writable layer: no tar-split"
			case j < own:
				lc.Status, lc.Reason = Unverifiable, "a container's init layer: no tar-split"
			case l.Archive != nil:
			case !l.HasTarSplit():
				lc.Status, lc.Reason = Unverifiable, "no tar-split"
			}
			dirs[l.Where()] = lc
			r.Layers = append(r.Layers, lc)
		}
		out = append(out, lc)
	}
	return out
}

// check verifies one image layer, and judges it.
func (lc *Layer) check(progress func(int64)) {
	if lc.Layer.Archive != nil {
		lc.checkBlob(progress)
		return
	}
	rep, err := layertar.Verify(layerstore.TarLayer(lc.Layer), progress)
	switch {
	case errors.Is(err, layertar.ErrNoTarSplit):
		lc.Status, lc.Reason = Unverifiable, layertar.NoTarSplitReason(err, "no tar-split (the store has lost it)")
		return
	case err != nil:
		lc.Status, lc.Reason, lc.Err = Error, err.Error(), err
		return
	}
	lc.Digest, lc.Size, lc.Findings, lc.Mismatch = rep.Digest, rep.Size, rep.Findings, rep.Mismatch
	if rep.Mismatch != nil {
		lc.Reason = rep.Mismatch.Error()
	}
	lc.Status, lc.Contents = judge(lc.Findings, rep.Mismatch != nil, lc.Layer.DiffID != "")
	lc.Directory = directory(lc.Findings)
}
