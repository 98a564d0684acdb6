package verify

import "github.com/aufsmount/aufsmount/layerstore"

// A layer of an image archive has no directory and no tar-split: its
// blob is what there is to check (docs/archives.md). It is read whole
// every time, the index a mount cached of it left aside: OK where its
// bytes are its digest and its stream its diff id, MODIFIED where they
// are not (or do not decompress), ERROR where it cannot be read.

// checkBlob checks the blob of an archive's layer, and judges it.
func (lc *Layer) checkBlob(progress func(int64)) {
	var done int64
	x, err := layerstore.CheckArchiveLayer(lc.Layer.Archive, lc.Layer.DiffID, func(n int64) {
		if progress != nil {
			progress(n - done)
		}
		done = n
	})
	switch {
	case layerstore.BlobDamaged(err):
		lc.Status, lc.Reason = Modified, err.Error()
		return
	case err != nil:
		lc.Status, lc.Reason, lc.Err = Error, err.Error(), err
		return
	}
	lc.Status, lc.Contents, lc.Blob = OK, true, x
	lc.Digest, lc.Size = string(x.DiffID), x.Size
}

// bytes is what checking the layer reads, for the progress: its
// stream's size, or its blob's.
func (lc *Layer) bytes() int64 {
	if b := lc.Layer.Archive; b != nil {
		return b.Size
	}
	return max(lc.Layer.Size, 0)
}
