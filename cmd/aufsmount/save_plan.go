package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"

	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/imagetar"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// saver is one save: what is to be written, then the writing.
type saver struct {
	e    *env
	s    *layerstore.Store
	asIs bool
	tag  reference.NamedTagged // --tag, for the container saved

	withVolumes bool // a container's volumes in its layer (save_volumes.go)

	items  []*saveItem
	layers []*saveLayer // every layer to write, once, in the order written
	now    time.Time
}

// saveItem is one image of the archive: an image of the store, or the
// image a container is committed into.
type saveItem struct {
	t      *layerstore.Target
	layout layerstore.Layout
	tags   []reference.NamedTagged
	chain  []*saveLayer // base first; a container's own layer last, unless it is empty

	// 1.10+: the image config as imagedb holds it (for a container, its
	// image's). Pre-1.10: graph json of each layer of the image, base first.
	config    []byte
	graphJSON [][]byte

	// A container: its own layer, its Config, and its OS.
	own       *saveLayer
	ownEmpty  bool // it changed nothing: no layer, as docker commit
	ctrConfig json.RawMessage
	ctrOS     string

	created time.Time
	v1ids   []string // the legacy directory of each layer of chain
	// Written: the config the archive holds, its id, its platform.
	outConfig []byte
	outID     string
}

// saveLayer is one layer to write.
type saveLayer struct {
	l layerstore.Layer
	// fresh is set for a layer written as a fresh tar of its directory
	// (why in note); nil for one written as its original stream.
	fresh *layertar.Fresh
	note  string
	asIs  bool // changed since unpacked, saved as it is now (--as-is)

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

func (l *saveLayer) name() string { return shortName(layerstore.ShortID(l.l.ID), l.l.Dir) }

// plan resolves the refs and decides how each layer is written: its
// original stream or a fresh tar, and its size; a layer that no longer
// matches its tar-split stops the save here, before anything is written
// (unless --as-is).
func (sv *saver) plan(refs []string) error {
	sv.now = time.Now().UTC()
	if err := sv.resolve(refs); err != nil {
		return err
	}
	if err := sv.chains(); err != nil {
		return err
	}
	if err := sv.check(); err != nil {
		return err
	}
	if err := sv.sizes(); err != nil {
		return err
	}
	return sv.legacyIDs()
}

// resolve turns the refs into items, as docker save does: a tag saves
// that tag, a bare name every tag of that name, an id (or a digest
// reference) the image with no name; and a container, which docker
// save does not take, the image committing it would make.
func (sv *saver) resolve(refs []string) error {
	byKey := map[string]*saveItem{}
	add := func(t *layerstore.Target, tag reference.NamedTagged) {
		key := t.Driver + "/" + targetKey(t)
		it := byKey[key]
		if it == nil {
			it = &saveItem{t: t, layout: sv.s.LayoutOf(t)}
			byKey[key] = it
			sv.items = append(sv.items, it)
		}
		if tag == nil {
			return
		}
		for _, have := range it.tags {
			if have.String() == tag.String() {
				return
			}
		}
		it.tags = append(it.tags, tag)
	}
	for _, ref := range refs {
		if named, ok := nameOnly(ref); ok {
			tagged, err := sv.tagsOf(named)
			if err != nil {
				return err
			}
			if len(tagged) > 0 {
				for _, tt := range tagged {
					add(tt.t, tt.tag)
				}
				continue
			}
		}
		t, err := sv.s.Resolve(ref)
		if err != nil {
			return err
		}
		if t.Kind == layerstore.KindContainer {
			add(t, nil)
			continue
		}
		var tag reference.NamedTagged
		if !strings.HasPrefix(ref, "sha256:") {
			if named, err := reference.ParseNormalizedNamed(ref); err == nil {
				if nt, ok := named.(reference.NamedTagged); ok && !isDigested(named) && hasName(t, nt) {
					tag = nt
				}
			}
		}
		add(t, tag)
	}
	ctrs := 0
	for _, it := range sv.items {
		if it.t.Kind == layerstore.KindContainer {
			ctrs++
			if sv.tag != nil {
				it.tags = []reference.NamedTagged{sv.tag}
			}
		}
	}
	if sv.tag != nil && ctrs != 1 {
		return usageErrorf("save: --tag names the image made of a container: give exactly one container (got %d)", ctrs)
	}
	return nil
}

func targetKey(t *layerstore.Target) string {
	if t.Container != nil {
		return "c/" + t.Container.ID
	}
	return "i/" + t.Image.ID
}

func isDigested(n reference.Named) bool {
	_, ok := n.(reference.Digested)
	return ok
}

// hasName says whether image t is tagged tag (it was found by it, and
// not by a container name or an id prefix that looks like a name).
func hasName(t *layerstore.Target, tag reference.NamedTagged) bool {
	if t.Image == nil {
		return false
	}
	for _, n := range t.Image.Names {
		if named, err := reference.ParseNormalizedNamed(n); err == nil && named.String() == tag.String() {
			return true
		}
	}
	return false
}

// nameOnly parses ref as a bare repository name, no tag or digest.
func nameOnly(ref string) (reference.Named, bool) {
	if strings.HasPrefix(ref, "sha256:") {
		return nil, false
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil || !reference.IsNameOnly(named) {
		return nil, false
	}
	return named, true
}

type taggedTarget struct {
	t   *layerstore.Target
	tag reference.NamedTagged
}

// tagsOf lists every tag of repository named in the store, sorted, each
// with its image: what docker save of a bare name saves. Tags of one
// name under two drivers are ambiguous.
func (sv *saver) tagsOf(named reference.Named) ([]taggedTarget, error) {
	type hit struct {
		img layerstore.Image
		tag reference.NamedTagged
	}
	var hits []hit
	drivers := map[string]bool{}
	for _, img := range sv.s.Images() {
		for _, n := range img.Names {
			nn, err := reference.ParseNormalizedNamed(n)
			if err != nil || nn.Name() != named.Name() || isDigested(nn) {
				continue
			}
			if nt, ok := nn.(reference.NamedTagged); ok {
				hits = append(hits, hit{img, nt})
				drivers[img.Driver] = true
			}
		}
	}
	if len(drivers) > 1 {
		var ds []string
		for d := range drivers {
			ds = append(ds, d)
		}
		sort.Strings(ds)
		return nil, &layerstore.AmbiguousError{Ref: reference.FamiliarString(named), Candidates: ds, Hint: "name the driver with --driver"}
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].tag.String() < hits[j].tag.String() })
	var out []taggedTarget
	for _, h := range hits {
		t, err := sv.s.ResolveIn(h.img.Driver, h.img.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, taggedTarget{t, h.tag})
	}
	return out, nil
}

// chains reads each item's metadata and lists its layers, base first,
// each layer of the store once.
func (sv *saver) chains() error {
	byDir := map[string]*saveLayer{}
	layer := func(l layerstore.Layer, pre110 bool) *saveLayer {
		if sl := byDir[l.Dir]; sl != nil {
			return sl
		}
		sl := &saveLayer{l: l, pre110: pre110}
		byDir[l.Dir] = sl
		sv.layers = append(sv.layers, sl)
		return sl
	}
	for _, it := range sv.items {
		t := it.t
		if t.Image == nil {
			return fmt.Errorf("%s: its image %s is not in the store", t.Ref, layerstore.ShortID(t.Container.ImageID))
		}
		own := 0
		if t.Kind == layerstore.KindContainer {
			own = len(t.Layers) - t.Image.Layers
		}
		image := t.Layers[own:]
		if len(image) == 0 && t.Kind == layerstore.KindImage {
			return fmt.Errorf("%s: the image has no layers: nothing to save (docker save refuses it too)", t.Ref)
		}
		pre110 := it.layout == layerstore.LayoutGraph
		for i := len(image) - 1; i >= 0; i-- {
			it.chain = append(it.chain, layer(image[i], pre110))
			if pre110 {
				data, err := sv.s.GraphJSON(t, image[i].ID)
				if err != nil {
					return err
				}
				it.graphJSON = append(it.graphJSON, data)
			}
		}
		if pre110 {
			var top struct{ Created time.Time }
			if err := json.Unmarshal(it.graphJSON[len(it.graphJSON)-1], &top); err == nil {
				it.created = top.Created
			}
		} else {
			data, err := sv.s.ImageConfig(t)
			if err != nil {
				return err
			}
			it.config = data
			var c struct{ Created time.Time }
			if err := json.Unmarshal(data, &c); err == nil {
				it.created = c.Created
			}
		}
		if t.Kind == layerstore.KindContainer {
			if err := sv.container(it, t.Layers[:own]); err != nil {
				return err
			}
		}
	}
	return nil
}

// container plans a container's own layer: a fresh tar of what its
// writable layer changed, its init layer left out.
func (sv *saver) container(it *saveItem, own []layerstore.Layer) error {
	t := it.t
	data, file, err := sv.s.ContainerConfig(t)
	if err != nil {
		return err
	}
	var cc struct {
		Config json.RawMessage
		OS     string
	}
	if err := json.Unmarshal(data, &cc); err != nil {
		return &layerstore.CorruptError{File: file, Err: err}
	}
	it.ctrConfig, it.ctrOS = cc.Config, cc.OS
	it.created = sv.now
	rw := own[0]
	f := &layertar.Fresh{Layer: layerstore.TarLayer(rw)}
	f.OpenTarSplit = nil
	var init *layerstore.Layer
	if len(own) > 1 {
		init = &own[1]
	}
	switch {
	case rw.Encoding == whiteout.None:
		// vfs: every layer a whole tree; the container's is a diff
		// against its init layer's tree (or its image's top, or nothing).
		f.Whole = true
		switch {
		case init != nil:
			f.Base, f.BaseEncoding = init.Dir, init.Encoding
		case len(it.chain) > 0:
			f.Base, f.BaseEncoding = it.chain[len(it.chain)-1].l.Dir, whiteout.None
		default:
			f.Whole = false
		}
	case t.Driver == "overlay" && init != nil && filepath.Base(init.Dir) == "upper":
		// overlay v1: the container's upper/ began as a copy of its init
		// layer's: what is still the same there is the init layer's.
		f.Base, f.BaseEncoding = init.Dir, init.Encoding
	}
	sv.mounts(it, f)
	it.own = &saveLayer{l: rw, fresh: f, note: ownLayerNote}
	sv.layers = append(sv.layers, it.own)
	it.chain = append(it.chain, it.own)
	return nil
}

// check decides how each image layer is written. An original stream
// needs its tar-split and the layer's contents as they were: the stream
// is the tar-split's headers around the files' bytes, so whatever the
// directory's metadata says (a copy's losses, or changes somebody made),
// the digest is the diff id as long as the bytes are. layertar.Check,
// which reads headers and stats, not contents, finds files of another
// size early; the digest, held against the diff id while writing, finds
// the rest. A layer whose contents changed gets a fresh tar, said so,
// or with the findings, is the end of the save (unless --as-is).
func (sv *saver) check() error {
	var todo []*saveLayer
	for _, l := range sv.layers {
		if l.fresh != nil {
			continue
		}
		if l.l.TarSplit == "" {
			sv.freshen(l, "it has no tar-split")
			continue
		}
		todo = append(todo, l)
	}
	parallel(len(todo), func(i int) {
		l := todo[i]
		l.findings, l.err = layertar.Check(layerstore.TarLayer(l.l))
		if l.err == nil {
			// Its size, from the tar-split too, while it is at hand.
			l.size, l.err = layertar.Size(layerstore.TarLayer(l.l))
			l.sized = l.err == nil
		}
	})
	var stop []*saveLayer
	for _, l := range todo {
		switch {
		case errors.Is(l.err, layertar.ErrNoTarSplit):
			l.err = nil
			sv.freshen(l, "it has no tar-split (the store has lost it)")
			continue
		case l.err != nil:
			return fmt.Errorf("layer %s: %w", l.name(), l.err)
		}
		serious, meta := splitFindings(l.findings)
		if meta > 0 {
			fmt.Fprintf(sv.e.stderr, "aufsmount: note: layer %s: its directory's metadata differs from its tar-split in %d %s (aufsmount verify lists them); its original stream is saved, as the tar-split records it\n",
				l.name(), meta, plural(meta, "way", "ways"))
		}
		l.findings = serious
		if len(serious) == 0 {
			continue
		}
		if !sv.asIs {
			stop = append(stop, l)
			continue
		}
		l.asIs = true
		sv.freshen(l, "its files changed since it was unpacked")
		sv.cascade(l)
	}
	if err := sv.lostMarkers(); err != nil {
		return err
	}
	if len(stop) > 0 {
		for _, l := range stop {
			fmt.Fprintf(sv.e.stderr, "aufsmount: layer %s no longer matches its tar-split: %d %s\n", l.name(), len(l.findings), plural(len(l.findings), "difference", "differences"))
			for _, f := range l.findings {
				fmt.Fprintf(sv.e.stderr, "    %s\n", quotePath(f.String()))
			}
		}
		return fmt.Errorf("save: %d %s no longer %s the original tars (nothing saved; --as-is saves them as they are now, with new ids)",
			len(stop), plural(len(stop), "layer", "layers"), plural(len(stop), "matches", "match"))
	}
	return nil
}

// lostMarkers gives each layer saved as it is now, but that has a
// tar-split, the whiteouts and opaque markers the tar-split records and a
// copy of the store lost: its fresh tar has them too.
func (sv *saver) lostMarkers() error {
	done := map[*saveItem]bool{}
	for _, l := range sv.layers {
		if !l.asIs || l.l.TarSplit == "" || l.fresh == nil {
			continue
		}
		for _, it := range sv.items {
			if done[it] || !slices.Contains(it.chain, l) {
				continue
			}
			done[it] = true
			if _, err := sv.s.RecoverMarkers(it.t); err != nil {
				return err
			}
			for _, x := range it.t.Stack {
				for _, y := range sv.layers {
					if y.asIs && y.fresh != nil && x.Dir == y.l.Dir && !x.Markers.Empty() {
						y.fresh.Markers = x.Markers
					}
				}
			}
		}
	}
	return nil
}

// splitFindings tells the findings that change a layer's contents, which
// its original stream cannot be rebuilt without, from those of its
// metadata only, which the tar-split's headers restore in the stream.
func splitFindings(fs []layertar.Finding) (contents []layertar.Finding, meta int) {
	for _, f := range fs {
		if f.Kind.Contents() {
			contents = append(contents, f)
		} else {
			meta++
		}
	}
	return contents, meta
}

// freshen makes l a fresh tar, for why.
func (sv *saver) freshen(l *saveLayer, why string) {
	f := &layertar.Fresh{Layer: layerstore.TarLayer(l.l)}
	f.OpenTarSplit = nil
	l.fresh, l.note = f, why
}

// cascade makes fresh diffs of the layers above l, where each layer is
// a whole tree (vfs, overlay v1), when l is saved as it is now: their
// original streams are diffs against l as it was, and over l as it is
// would no longer give their trees. It returns the layers it changed.
func (sv *saver) cascade(l *saveLayer) []*saveLayer {
	if l.l.Encoding != whiteout.None {
		return nil
	}
	var out []*saveLayer
	for _, it := range sv.items {
		i := slices.Index(it.chain, l)
		if i < 0 {
			continue
		}
		for j := i + 1; j < len(it.chain); j++ {
			x := it.chain[j]
			if x.fresh != nil || x == it.own {
				continue
			}
			sv.freshen(x, "a layer below it is saved as it is now, and each layer of the "+x.l.Driver+" driver is a whole tree: it is saved as its diff from that")
			x.asIs = true
			x.fresh.Base, x.fresh.BaseEncoding = it.chain[j-1].l.Dir, it.chain[j-1].l.Encoding
			x.fresh.CompareContent = true
			out = append(out, x)
		}
	}
	return out
}

// wholeBases gives each fresh whole-tree image layer (vfs, overlay v1)
// the tree of the layer below it, to be a diff against.
func (sv *saver) wholeBases() {
	for _, it := range sv.items {
		for i, l := range it.chain {
			if l.fresh == nil || l == it.own || !l.fresh.Whole {
				continue
			}
			if i == 0 {
				l.fresh.Whole = false // a base layer: the whole tree is its diff
				continue
			}
			l.fresh.Base, l.fresh.BaseEncoding = it.chain[i-1].l.Dir, it.chain[i-1].l.Encoding
		}
	}
}

// sizes finds the size of every layer's stream before anything is
// written: an archive entry's header gives it before its bytes.
func (sv *saver) sizes() error {
	sv.wholeBases()
	parallel(len(sv.layers), func(i int) {
		l := sv.layers[i]
		if l.sized && l.fresh == nil {
			return
		}
		if l.fresh != nil {
			l.size, l.entries, l.err = layertar.FreshSize(*l.fresh)
			return
		}
		l.size, l.err = layertar.Size(layerstore.TarLayer(l.l))
	})
	for _, l := range sv.layers {
		if l.err != nil {
			return fmt.Errorf("layer %s: %w", l.name(), l.err)
		}
	}
	for _, it := range sv.items {
		if it.own != nil && it.own.entries == 0 {
			// docker commit of a container that changed nothing adds no
			// layer, only a history entry.
			it.chain = it.chain[:len(it.chain)-1]
			it.ownEmpty = true
			sv.drop(it.own)
		}
	}
	known := map[string]*saveLayer{}
	var out []*saveLayer
	for _, l := range sv.layers {
		if l.fresh == nil && !l.pre110 && !sv.asIs && l.l.DiffID != "" {
			// The stream is the original: its digest is the diff id.
			l.diffID, l.known = l.l.DiffID, true
			if prev := known[l.diffID]; prev != nil {
				// Two layers of one stream (the same layer pulled twice):
				// stored once, as docker save does.
				sv.alias(l, prev)
				continue
			}
			known[l.diffID] = l
			l.home = imagetar.BlobPath(l.diffID)
		}
		out = append(out, l)
	}
	sv.layers = out
	return nil
}

// alias makes every chain that has l use prev instead.
func (sv *saver) alias(l, prev *saveLayer) {
	for _, it := range sv.items {
		for i := range it.chain {
			if it.chain[i] == l {
				it.chain[i] = prev
			}
		}
	}
}

// drop takes l out of the layers to write.
func (sv *saver) drop(l *saveLayer) {
	for i, x := range sv.layers {
		if x == l {
			sv.layers = append(sv.layers[:i], sv.layers[i+1:]...)
			return
		}
	}
}

// parallel calls f(0) ... f(n-1), a few at a time.
func parallel(n int, f func(i int)) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(n, max(2, runtime.GOMAXPROCS(0))); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

// legacyIDs names the legacy directory of each layer of each image (its
// v1 id, as docker save computes it: from the layer's chain id, its
// parent's v1 id and, for an image's top, the image's config) before
// anything is written: a layer whose digest is known only once written
// has its content in the first of them, and its blob links there.
// Pre-1.10 layers keep their own ids, and their json as it is.
func (sv *saver) legacyIDs() error {
	for _, it := range sv.items {
		top, err := sv.topV1(it)
		if err != nil {
			return err
		}
		parent := ""
		for i, l := range it.chain {
			var id string
			switch {
			case l.pre110:
				id = l.l.ID
			default:
				v := imagetar.LowerV1()
				if i == len(it.chain)-1 {
					v = top
				}
				key := l.l.ChainID
				if key == "" {
					// A container's own layer has no chain id before it is
					// written: one from the container stands in.
					key = imagetar.Digest([]byte("aufsmount container layer " + it.t.Container.ID))
				}
				if id, err = imagetar.V1ID(v, key, parent); err != nil {
					return err
				}
			}
			it.v1ids = append(it.v1ids, id)
			parent = id
			if l.home == "" {
				l.home, l.v1id = id+"/layer.tar", id
			}
			if l.mtime.IsZero() {
				l.mtime = it.created
			}
		}
	}
	for _, l := range sv.layers {
		if l.fresh == nil || l.note == ownLayerNote {
			continue
		}
		var names []string
		for _, it := range sv.items {
			for _, x := range it.chain {
				if x == l {
					names = append(names, quotePath(it.t.Name))
					break
				}
			}
		}
		what := "has a new config and id"
		if len(names) > 1 {
			what = "have new configs and ids"
		}
		if l.asIs {
			fmt.Fprintf(sv.e.stderr, "aufsmount: warning: layer %s changed since it was unpacked (%d %s): saved as it is now, as a fresh tar; %s %s\n",
				l.name(), len(l.findings), plural(len(l.findings), "difference", "differences"), strings.Join(names, ", "), what)
		} else {
			fmt.Fprintf(sv.e.stderr, "aufsmount: warning: layer %s: %s: saved as a fresh tar of its files; %s %s\n",
				l.name(), l.note, strings.Join(names, ", "), what)
		}
	}
	return nil
}

const ownLayerNote = "a container's own layer"

// topV1 is the V1Image of an item's top layer: its config's, which the
// diff ids do not change; for a container, its commit's.
func (sv *saver) topV1(it *saveItem) (imagetar.V1Layer, error) {
	cfg := it.config
	if it.layout == layerstore.LayoutGraph {
		cfg = it.graphJSON[len(it.graphJSON)-1]
	}
	if it.own != nil {
		var err error
		if cfg, err = imagetar.CommitConfig(sv.commit(it, cfg, imagetar.EmptyLayerDiffID)); err != nil {
			return imagetar.V1Layer{}, fmt.Errorf("%s: %w", it.t.Ref, err)
		}
	}
	v, err := imagetar.TopV1(cfg)
	if err != nil {
		return v, fmt.Errorf("%s: %w", it.t.Ref, err)
	}
	return v, nil
}

// commit is the commit of container item it over the image config base.
func (sv *saver) commit(it *saveItem, base []byte, diffID string) imagetar.Commit {
	return imagetar.Commit{Base: base, Config: it.ctrConfig, ContainerID: it.t.Container.ID, OS: it.ctrOS, Created: sv.now, DiffID: diffID}
}
