package save

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/distribution/reference"

	"github.com/aufsmount/aufsmount/internal/words"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/imagetar"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

// archive writes the planned archive to w in one pass: every layer's
// stream first, each straight from its directory, then what depends on
// their digests: the configs, the legacy directories, the OCI manifests,
// index.json, manifest.json and repositories.
func (a *Archive) archive(w io.Writer) error {
	tw := imagetar.NewWriter(w)
	for _, l := range a.layers {
		if err := a.writeLayer(tw, l); err != nil {
			return err
		}
		if a.opt.LayerDone != nil {
			a.opt.LayerDone()
		}
	}
	for _, it := range a.items {
		if err := a.configOf(it); err != nil {
			return err
		}
		if !tw.Has(imagetar.BlobPath(it.outID)) {
			if err := tw.File(imagetar.BlobPath(it.outID), it.outConfig, it.created); err != nil {
				return err
			}
		}
	}
	if err := a.legacy(tw); err != nil {
		return err
	}
	return a.manifests(tw)
}

// writeLayer writes one layer's stream at its home, and checks it: an
// original stream must still be the layer's, byte for byte.
func (a *Archive) writeLayer(tw *imagetar.Writer, l *layer) error {
	if l.blob != nil {
		return a.writeBlob(tw, l)
	}
	var rep *layertar.Report
	err := tw.Stream(l.home, l.size, l.mtime, func(w io.Writer) error {
		var err error
		if l.fresh != nil {
			rep, err = layertar.WriteFresh(*l.fresh, w, a.progress)
		} else {
			// A stream whose digest is held against the diff id needs no
			// crc64 check of each file as it goes: the culprits are looked
			// for only if the digest is wrong.
			if l.known {
				rep, err = layertar.WriteNoCRC(layerstore.TarLayer(l.l), w, a.progress)
			} else {
				rep, err = layertar.Write(layerstore.TarLayer(l.l), w, a.progress)
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("layer %s: %w", l.name(), err)
	}
	if l.fresh == nil {
		// What the rebuild finds is of the contents alone: files missing,
		// unreadable, of another size or other bytes.
		serious := rep.Findings
		// A known diff id is the layer's own (plan): the rebuild held
		// the stream against it.
		mismatch := l.known && rep.Mismatch != nil
		if mismatch && len(serious) == 0 {
			// The culprits: every change Verify finds, a missing file
			// among them; a copy's losses do not touch the bytes.
			if v, err := layertar.Verify(layerstore.TarLayer(l.l), nil); err == nil {
				for _, f := range v.Findings {
					if !f.Loss {
						serious = append(serious, f)
					}
				}
			}
		}
		changed := len(serious) > 0 || mismatch
		switch {
		case changed && !a.opt.AsIs:
			msg := "layer " + l.name() + " no longer matches its tar-split:" + a.findingLines(serious)
			if mismatch {
				msg += "\n    " + rep.Mismatch.Error()
			}
			a.warn("%s", msg)
			return &ChangedError{Layers: []string{l.name()}, Writing: true}
		case changed:
			l.asIs = true
			a.warn("warning: layer %s: its files changed since it was unpacked (found while writing it: %d %s): saved as it is now, with diff id %s",
				l.name(), len(serious), words.Plural(len(serious), "difference", "differences"), rep.Digest)
			for _, x := range a.cascade(l) {
				if x.size, x.entries, err = layertar.FreshSize(*x.fresh); err != nil {
					return fmt.Errorf("layer %s: %w", x.name(), err)
				}
				a.warn("warning: layer %s: %s", x.name(), x.note)
			}
		case rep.Mismatch != nil:
			// Not a known diff id (it is not the stream's home): it goes
			// under the digest it has.
			l.asIs = true
			a.warn("warning: layer %s: %v: saved as it is now", l.name(), rep.Mismatch)
		}
	}
	if l.known && rep.Mismatch != nil {
		return fmt.Errorf("layer %s: its stream is %s, not the %s it was to be", l.name(), rep.Digest, l.diffID)
	}
	l.diffID = rep.Digest
	return nil
}

// diffIDs is the digest of each layer of an item's chain, base first.
func (it *item) diffIDs() []string {
	out := make([]string, len(it.chain))
	for i, l := range it.chain {
		out[i] = l.diffID
	}
	return out
}

// configOf makes the config the archive holds for it: the store's own,
// byte for byte, where every layer is its original stream; with the new
// diff ids otherwise; for a pre-1.10 image the migration's; for a
// container its commit's.
func (a *Archive) configOf(it *item) error {
	image := it.chain
	if it.own != nil && !it.ownEmpty {
		image = image[:len(image)-1]
	}
	ids := it.diffIDs()[:len(image)]
	var base []byte
	var err error
	if it.layout == layerstore.LayoutGraph {
		hist := make([]imagetar.History, len(it.graphJSON))
		for i, g := range it.graphJSON {
			if hist[i], err = imagetar.HistoryFromV1(g); err != nil {
				return fmt.Errorf("%s: layer %s: %w", it.t.Ref, image[i].l.ID, err)
			}
		}
		if base, err = imagetar.MakeConfigFromV1(it.graphJSON[len(it.graphJSON)-1], ids, hist); err != nil {
			return fmt.Errorf("%s: %w", it.t.Ref, err)
		}
	} else {
		base = it.config
		orig := make([]string, len(image))
		for i, l := range image {
			orig[i] = l.l.DiffID
		}
		if !slices.Equal(orig, ids) {
			if base, err = imagetar.WithDiffIDs(it.config, ids); err != nil {
				return fmt.Errorf("%s: %w", it.t.Ref, err)
			}
		}
	}
	it.outConfig = base
	if it.own != nil {
		own := imagetar.EmptyLayerDiffID
		if !it.ownEmpty {
			own = it.own.diffID
		}
		if it.outConfig, err = imagetar.CommitConfig(a.commit(it, base, own)); err != nil {
			return fmt.Errorf("%s: %w", it.t.Ref, err)
		}
	}
	it.outID = imagetar.Digest(it.outConfig)
	if it.t.Kind == layerstore.KindContainer || it.layout == layerstore.LayoutGraph || it.outID != "sha256:"+it.t.Image.ID {
		what := "image " + a.quote(it.t.Name)
		switch {
		case it.t.Kind == layerstore.KindContainer:
			what = "container " + a.quote(it.t.Name) + " committed"
		case it.layout == layerstore.LayoutGraph:
			what = "pre-1.10 image " + a.quote(it.t.Name) + " migrated"
		}
		a.warn("%s: saved as image %s", what, strings.TrimPrefix(it.outID, "sha256:"))
	}
	return nil
}

// legacy writes each layer's legacy directory: VERSION, json and
// layer.tar (its content, or a link to where that is), and the blobs of
// the layers whose content is in one.
func (a *Archive) legacy(tw *imagetar.Writer) error {
	for _, it := range a.items {
		os := "linux"
		if p, err := imagetar.PlatformOf(it.outConfig); err == nil {
			os = p.OS
		}
		top, err := imagetar.TopV1(it.outConfig)
		if err != nil {
			return err
		}
		for i, l := range it.chain {
			dir := it.v1ids[i]
			if tw.Has(dir + "/json") {
				continue
			}
			var js []byte
			switch {
			case l.pre110 && i < len(it.graphJSON):
				js = it.graphJSON[i]
			default:
				v := imagetar.LowerV1()
				if i == len(it.chain)-1 {
					v = top
				}
				v.ID, v.OS = dir, os
				if i > 0 {
					v.Parent = it.v1ids[i-1]
				}
				if js, err = json.Marshal(v); err != nil {
					return err
				}
			}
			if err := tw.File(dir+"/VERSION", []byte("1.0"), it.created); err != nil {
				return err
			}
			if err := tw.File(dir+"/json", js, it.created); err != nil {
				return err
			}
			if l.home != dir+"/layer.tar" {
				if err := tw.Symlink(dir+"/layer.tar", "../"+l.home, it.created); err != nil {
					return err
				}
			}
		}
	}
	for _, l := range a.layers {
		if blob := imagetar.BlobPath(l.diffID); !l.known && !tw.Has(blob) {
			if err := tw.Symlink(blob, "../../"+l.home, l.mtime); err != nil {
				return err
			}
		}
	}
	return nil
}

// manifests writes an OCI manifest per image, index.json, oci-layout,
// manifest.json and repositories.
func (a *Archive) manifests(tw *imagetar.Writer) error {
	var index []imagetar.Descriptor
	var items []imagetar.ManifestItem
	repos := map[string]map[string]string{}
	for _, it := range a.items {
		plat, err := imagetar.PlatformOf(it.outConfig)
		if err != nil {
			return err
		}
		m := imagetar.Manifest{
			SchemaVersion: 2,
			MediaType:     imagetar.MediaTypeManifest,
			Config:        imagetar.Descriptor{MediaType: imagetar.MediaTypeConfig, Digest: it.outID, Size: int64(len(it.outConfig)), Platform: plat},
			Layers:        []imagetar.Descriptor{},
		}
		mi := imagetar.ManifestItem{Config: imagetar.BlobPath(it.outID)}
		for _, l := range it.chain {
			m.Layers = append(m.Layers, imagetar.Descriptor{MediaType: l.mediaType(), Digest: l.blobDigest(), Size: l.size})
			mi.Layers = append(mi.Layers, imagetar.BlobPath(l.blobDigest()))
		}
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if own, mt, ok := a.ownManifest(it, m); ok {
			data, m.MediaType = own, mt
		}
		digest := imagetar.Digest(data)
		if !tw.Has(imagetar.BlobPath(digest)) {
			if err := tw.File(imagetar.BlobPath(digest), data, imagetar.Epoch); err != nil {
				return err
			}
		}
		desc := imagetar.Descriptor{MediaType: m.MediaType, Digest: digest, Size: int64(len(data)), Platform: plat}
		if len(it.tags) == 0 {
			index = append(index, desc)
		}
		for _, tag := range it.tags {
			d := desc
			d.Annotations = map[string]string{imagetar.AnnotationImageName: tag.String(), imagetar.AnnotationRefName: tag.Tag()}
			index = append(index, d)
			mi.RepoTags = append(mi.RepoTags, reference.FamiliarString(tag))
			name := reference.FamiliarName(tag)
			if repos[name] == nil {
				repos[name] = map[string]string{}
			}
			repos[name][tag.Tag()] = it.v1ids[len(it.v1ids)-1]
		}
		items = append(items, mi)
	}
	data, err := json.Marshal(imagetar.Index{SchemaVersion: 2, MediaType: imagetar.MediaTypeIndex, Manifests: index})
	if err != nil {
		return err
	}
	if err := tw.File("index.json", data, imagetar.Epoch); err != nil {
		return err
	}
	if err := tw.File("oci-layout", []byte(imagetar.OCILayout), imagetar.Epoch); err != nil {
		return err
	}
	if err := tw.File("manifest.json", encodeJSON(items), imagetar.Epoch); err != nil {
		return err
	}
	if len(repos) > 0 {
		if err := tw.File("repositories", encodeJSON(repos), imagetar.Epoch); err != nil {
			return err
		}
	}
	return tw.Close()
}

// ownManifest is the image's own manifest (item.manifest) where it
// describes exactly what the archive holds, m: the same config and the
// same layer blobs. Its media type is what it says, or the OCI one. One
// that names other blobs (compressed layers of a pull) is not written,
// and the user is told the image's digest changes.
func (a *Archive) ownManifest(it *item, m imagetar.Manifest) ([]byte, string, bool) {
	if it.manifest == nil {
		return nil, "", false
	}
	var own imagetar.Manifest
	fits := json.Unmarshal(it.manifest, &own) == nil && own.Config.Digest == m.Config.Digest && len(own.Layers) == len(m.Layers)
	for i := 0; fits && i < len(own.Layers); i++ {
		fits = own.Layers[i].Digest == m.Layers[i].Digest && own.Layers[i].Size == m.Layers[i].Size
	}
	if !fits {
		a.warn("%s: its manifest names compressed layers, which the store does not keep: the archive holds a new manifest of its uncompressed layers (the image id stays, its digest changes)", it.t.Name)
		return nil, "", false
	}
	mt := own.MediaType
	if mt == "" {
		mt = imagetar.MediaTypeManifest
	}
	return it.manifest, mt, true
}

// encodeJSON is v as json.Encoder writes it (Docker writes manifest.json
// and repositories so): with a final newline.
func encodeJSON(v any) []byte {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		panic(err) // only maps and slices of strings
	}
	return b.Bytes()
}
