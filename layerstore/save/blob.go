package save

import (
	"fmt"
	"io"

	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/imagetar"
	"github.com/aufsmount/aufsmount/layerstore/seekable"
)

// A layer of an image archive (docs/archives.md) is saved as its blob,
// byte for byte: a compressed blob stays compressed, under the digest
// the archive's manifest gives it, so that the config is kept as it is
// and the image's own manifest (Source.ImageManifest) still describes
// the archive written, and is written as it is.

// planBlob sizes a layer of an archive and finds its blob's digest:
// the archive's, or for a blob it names by no digest (a compressed
// layer of a docker save), that of a reading of it, which checks it.
func (l *layer) planBlob() error {
	l.size, l.sized, l.digest = l.blob.Size, true, l.blob.Digest
	if l.digest != "" {
		return nil
	}
	x, err := layerstore.CheckArchiveLayer(l.blob, l.l.DiffID, nil)
	if err != nil {
		return err
	}
	l.digest = string(x.Digest)
	return nil
}

// noteZstd tells of the zstd blobs kept so: Docker 20.10's docker load
// reads gzip and plain tars only (Docker 23 reads zstd too).
func (a *Archive) noteZstd() {
	for _, l := range a.layers {
		if l.blob != nil && l.blob.Compression == seekable.Zstd {
			a.warn("note: layer %s is kept zstd-compressed, as the archive has it: docker load before Docker 23 cannot read it", l.name())
		}
	}
}

// writeBlob writes a layer of an archive at its home: its blob, checked
// against its digest as it is copied.
func (a *Archive) writeBlob(tw *imagetar.Writer, l *layer) error {
	b := *l.blob
	b.Digest = l.digest
	err := tw.Stream(l.home, l.size, l.mtime, func(w io.Writer) error {
		return layerstore.CopyArchiveBlob(&b, w, a.progress)
	})
	if err != nil {
		return fmt.Errorf("layer %s: %w", l.name(), err)
	}
	return nil
}

// blobDigest is the digest the layer's content is kept under: its
// blob's, for a layer of an archive; else its stream's, the diff id.
func (l *layer) blobDigest() string {
	if l.blob != nil {
		return l.digest
	}
	return l.diffID
}

// mediaType is the OCI media type of the layer's content.
func (l *layer) mediaType() string {
	if l.blob != nil {
		switch l.blob.Compression {
		case seekable.Gzip:
			return imagetar.MediaTypeLayer + "+gzip"
		case seekable.Zstd:
			return imagetar.MediaTypeLayer + "+zstd"
		}
	}
	return imagetar.MediaTypeLayer
}
