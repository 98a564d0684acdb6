package layerstore

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aufsmount/aufsmount/layerstore/imagetar"
)

// An image whose snapshots are gone (imported with --no-unpack, or its
// snapshots garbage-collected or removed) keeps its layers' blobs in the
// content store: its layers are served from them as an archive's are
// (Layer.Archive, docs/archives.md), the content store read as an OCI
// layout's blobs/ beneath it. Where only some of its snapshots remain
// (its top one is gone, a lower one is another image's), every layer
// comes from its blob: one way to read the whole chain, and no snapshot
// of another image is taken for this one's without its parents checked.

// cdContent is the content store read as a layout: its blobs are opened
// beneath it, no symlink followed.
func (d cdDriver) cdContent() *archive {
	return &archive{path: filepath.Join(d.root.dir, cdContentDir), kind: "containerd", dir: true}
}

// cdMissingBlob is the first of ci's layer blobs that the namespace or
// the content store lacks, as its digest; "" when all are there.
func (s *store) cdMissingBlob(ns *cdNamespace, ci *cdImage) string {
	for _, l := range ci.layers {
		if p := s.cdBlobPath(l.Digest); p == "" || !ns.blobs[l.Digest] || !exists(p) {
			return l.Digest
		}
	}
	return ""
}

// cdBlobChain is image img's layers, top first, each served from its
// blob in the content store (an image not unpacked). A blob that is gone
// is an error naming its digest.
func (s *store) cdBlobChain(img *imageRec, ci *cdImage) ([]Layer, error) {
	d := s.cd()
	ns := d.root.meta[d.ns]
	content := d.cdContent()
	n := len(img.chainIDs)
	layers := make([]Layer, n)
	for i, desc := range ci.layers {
		h, err := parseDigest(desc.Digest)
		if err != nil {
			return nil, corrupt(s.cdBlobPath(ci.manifest), fmt.Errorf("layer %d: %w", i+1, err))
		}
		if !ns.blobs[desc.Digest] || !exists(s.cdBlobPath(desc.Digest)) {
			return nil, corrupt(s.cdBlobPath(desc.Digest), fmt.Errorf("image %s is not unpacked, and its layer blob %s is gone too (garbage-collected, or discarded after unpacking)", displayName(img), desc.Digest))
		}
		b, err := content.layerBlob("blobs/sha256/"+h, imagetar.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}, img.diffIDs[i])
		if err != nil {
			return nil, err
		}
		b.NoTrustedXattrs = true // containerd never applies them (docs/containerd.md)
		layers[n-1-i] = Layer{ID: strings.TrimPrefix(img.chainIDs[i], sha256Prefix), DiffID: img.diffIDs[i], ChainID: img.chainIDs[i],
			CreatedBy: img.history[i], Size: -1, Archive: &b}
	}
	return layers, nil
}

// fromBlobs says whether a chain's layers are served from blobs, not
// from snapshot directories.
func fromBlobs(layers []Layer) bool { return len(layers) > 0 && layers[len(layers)-1].Archive != nil }
