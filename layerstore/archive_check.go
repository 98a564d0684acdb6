package layerstore

import (
	"errors"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/aufsmount/aufsmount/layerstore/seekable"
)

// What verify and save do with a layer of an image archive
// (docs/archives.md): verify reads its blob whole, save copies it as it
// is. Neither looks at the index cache: a blob damaged since a mount
// indexed it is found all the same.

// CheckArchiveLayer reads b, the blob of a layer whose stream has diff
// id diffID ("" when unknown), whole, through the same pass that indexes
// it for a mount (seekable.BuildIndex): the blob's bytes against its
// digest where the archive names one, its decompression, and the
// uncompressed stream against the diff id. Nothing is cached or spilled.
// progress, if set, is told the blob's bytes read so far. A blob whose
// bytes are not the ones named is an error that is seekable.ErrDigest,
// ErrCorrupt or ErrTruncated; any error names the member.
func CheckArchiveLayer(b *ArchiveBlob, diffID string, progress func(done int64)) (*seekable.Index, error) {
	f, err := openBlob(b)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", clip(b.Member), err)
	}
	defer f.f.Close()
	x, err := seekable.BuildIndex(f.reader(), b.Size, seekable.Options{
		Compression: b.Compression,
		Digest:      digest.Digest(b.Digest),
		DiffID:      digest.Digest(diffID),
		CheckOnly:   true,
		Progress:    progress,
	})
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", clip(b.Member), err)
	}
	return x, nil
}

// BlobDamaged says err, of CheckArchiveLayer, is a blob whose bytes are
// not what the archive says, not one that could not be read.
func BlobDamaged(err error) bool {
	return errors.Is(err, seekable.ErrDigest) || errors.Is(err, seekable.ErrCorrupt) || errors.Is(err, seekable.ErrTruncated)
}

// CopyArchiveBlob writes b's bytes, as the archive holds them, to w,
// checked against b.Digest (which must be known) as they go: a blob
// that is not its digest is a seekable.ErrDigest, once w has had its
// bytes. progress, if set, is told the bytes written, as they are. The
// errors do not name the blob: the caller does.
func CopyArchiveBlob(b *ArchiveBlob, w io.Writer, progress func(n int64)) error {
	want, err := digest.Parse(b.Digest)
	if err != nil {
		return err
	}
	f, err := openBlob(b)
	if err != nil {
		return err
	}
	defer f.f.Close()
	h := want.Algorithm().Hash()
	if _, err := io.Copy(io.MultiWriter(w, h, progressWriter(progress)), f.reader()); err != nil {
		return err
	}
	if got := digest.NewDigest(want.Algorithm(), h); got != want {
		return fmt.Errorf("the blob's digest is %s, expected %s: %w", got, want, seekable.ErrDigest)
	}
	return nil
}

// progressWriter tells progress of the bytes written to it.
type progressWriter func(n int64)

func (p progressWriter) Write(b []byte) (int, error) {
	if p != nil {
		p(int64(len(b)))
	}
	return len(b), nil
}

// arcManifest is the manifest of image id as the archive's index names
// it, checked against its digest: nil for an image of a docker save's
// manifest.json, which names none.
func (s *store) arcManifest(id string) ([]byte, error) {
	ai := s.arcImages[id]
	if ai == nil || ai.manifest.Digest == "" {
		return nil, nil
	}
	data, err := s.arcBlob(ai.manifest)
	if err != nil {
		return nil, s.arc().named(err)
	}
	return data, nil
}
