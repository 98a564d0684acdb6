package save

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aufsmount/aufsmount/internal/words"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/imagetar"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

// chains reads each item's metadata and lists its layers, base first,
// each layer of the store (a directory, or an archive's blob) once.
func (a *Archive) chains() error {
	byDir := map[string]*layer{}
	add := func(l layerstore.Layer, pre110 bool) *layer {
		if sl := byDir[l.Where()]; sl != nil {
			return sl
		}
		sl := &layer{l: l, pre110: pre110, blob: l.Archive}
		byDir[l.Where()] = sl
		a.layers = append(a.layers, sl)
		return sl
	}
	for _, it := range a.items {
		t := it.t
		if t.Image == nil {
			return fmt.Errorf("%s: its image %s is not in the store", t.Ref, layerstore.ShortID(t.Container.ImageID))
		}
		image := t.Layers[len(t.Own()):]
		if len(image) == 0 && t.Kind == layerstore.KindImage {
			return fmt.Errorf("%s: the image has no layers: nothing to save (docker save refuses it too)", t.Ref)
		}
		pre110 := it.layout == layerstore.LayoutGraph
		for i := len(image) - 1; i >= 0; i-- {
			it.chain = append(it.chain, add(image[i], pre110))
			if pre110 {
				data, err := a.s.GraphJSON(t, image[i].ID)
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
			data, err := a.s.ImageConfig(t)
			if err != nil {
				return err
			}
			it.config = data
			if t.Kind == layerstore.KindImage {
				if it.manifest, err = a.s.ImageManifest(t); err != nil {
					return err
				}
			}
			var c struct{ Created time.Time }
			if err := json.Unmarshal(data, &c); err == nil {
				it.created = c.Created
			}
		}
		if t.Kind == layerstore.KindContainer {
			if err := a.container(it); err != nil {
				return err
			}
		}
	}
	return nil
}

// container plans a container's own layer: a fresh tar of what its
// writable layer changed, its init layer left out.
func (a *Archive) container(it *item) error {
	t := it.t
	data, file, err := a.s.ContainerConfig(t)
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
	it.created = a.now
	rw := t.Own()[0]
	f := &layertar.Fresh{Layer: layerstore.TarLayer(rw)}
	f.OpenTarSplit = nil
	if base, whole := t.CommitBase(); base != nil {
		f.Base, f.BaseEncoding, f.Whole = base.Dir, base.Encoding, whole
	} else {
		f.Whole = false // its whole tree, if it is one, is its own changes
	}
	a.mounts(it, f)
	it.own = &layer{l: rw, fresh: f, note: ownLayerNote}
	a.layers = append(a.layers, it.own)
	it.chain = append(it.chain, it.own)
	return nil
}

// sizes finds the size of every layer's stream before anything is
// written: an archive entry's header gives it before its bytes.
func (a *Archive) sizes() error {
	a.wholeBases()
	parallel(len(a.layers), func(i int) {
		l := a.layers[i]
		if l.blob != nil {
			l.err = l.planBlob()
			return
		}
		if l.sized && l.fresh == nil {
			return
		}
		if l.fresh != nil {
			l.size, l.entries, l.err = layertar.FreshSize(*l.fresh)
			return
		}
		l.size, l.err = layertar.Size(layerstore.TarLayer(l.l))
	})
	for _, l := range a.layers {
		if l.err != nil {
			return fmt.Errorf("layer %s: %w", l.name(), l.err)
		}
	}
	a.noteZstd()
	for _, it := range a.items {
		if it.own != nil && it.own.entries == 0 {
			// docker commit of a container that changed nothing adds no
			// layer, only a history entry.
			it.chain = it.chain[:len(it.chain)-1]
			it.ownEmpty = true
			a.drop(it.own)
		}
	}
	known := map[string]*layer{}
	var out []*layer
	for _, l := range a.layers {
		if l.blob != nil || l.fresh == nil && !l.pre110 && !a.opt.AsIs && l.l.DiffID != "" {
			// The stream is the original: its digest is the diff id (an
			// archive's blob is copied as it is, checked as it goes).
			l.diffID, l.known = l.l.DiffID, true
			if prev := known[l.blobDigest()]; prev != nil {
				// Two layers of one stream (the same layer pulled twice):
				// stored once, as docker save does.
				a.alias(l, prev)
				continue
			}
			known[l.blobDigest()] = l
			l.home = imagetar.BlobPath(l.blobDigest())
		}
		out = append(out, l)
	}
	a.layers = out
	return nil
}

// alias makes every chain that has l use prev instead.
func (a *Archive) alias(l, prev *layer) {
	for _, it := range a.items {
		for i := range it.chain {
			if it.chain[i] == l {
				it.chain[i] = prev
			}
		}
	}
}

// drop takes l out of the layers to write.
func (a *Archive) drop(l *layer) {
	for i, x := range a.layers {
		if x == l {
			a.layers = append(a.layers[:i], a.layers[i+1:]...)
			return
		}
	}
}

// v1 id, as docker save computes it: from the layer's chain id, its
// parent's v1 id and, for an image's top, the image's config) before
// anything is written: a layer whose digest is known only once written
// has its content in the first of them, and its blob links there.
// Pre-1.10 layers keep their own ids, and their json as it is.
func (a *Archive) legacyIDs() error {
	for _, it := range a.items {
		top, err := a.topV1(it)
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
	for _, l := range a.layers {
		if l.fresh == nil || l.note == ownLayerNote {
			continue
		}
		var names []string
		for _, it := range a.items {
			for _, x := range it.chain {
				if x == l {
					names = append(names, a.quote(it.t.Name))
					break
				}
			}
		}
		what := "has a new config and id"
		if len(names) > 1 {
			what = "have new configs and ids"
		}
		if l.asIs {
			a.warn("warning: layer %s changed since it was unpacked (%d %s): saved as it is now, as a fresh tar; %s %s",
				l.name(), len(l.findings), words.Plural(len(l.findings), "difference", "differences"), strings.Join(names, ", "), what)
		} else {
			a.warn("warning: layer %s: %s: saved as a fresh tar of its files; %s %s",
				l.name(), l.note, strings.Join(names, ", "), what)
		}
	}
	return nil
}

const ownLayerNote = "a container's own layer"

// topV1 is the V1Image of an item's top layer: its config's, which the
// diff ids do not change; for a container, its commit's.
func (a *Archive) topV1(it *item) (imagetar.V1Layer, error) {
	cfg := it.config
	if it.layout == layerstore.LayoutGraph {
		cfg = it.graphJSON[len(it.graphJSON)-1]
	}
	if it.own != nil {
		var err error
		if cfg, err = imagetar.CommitConfig(a.commit(it, cfg, imagetar.EmptyLayerDiffID)); err != nil {
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
func (a *Archive) commit(it *item, base []byte, diffID string) imagetar.Commit {
	return imagetar.Commit{Base: base, Config: it.ctrConfig, ContainerID: it.t.Container.ID, OS: it.ctrOS, Created: a.now, DiffID: diffID}
}
