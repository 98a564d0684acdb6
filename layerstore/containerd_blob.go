package layerstore

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/klauspost/compress/zstd"
	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"

	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

// containerd keeps no tar-split of a layer, but its content store keeps
// the layer's blob unless discarded after unpacking: its tar stream,
// uncompressed, is read into a tar-split as it goes, for verify and save
// to use as Docker's own.

// blobTarSplit opens the layer blob p of mediaType as an uncompressed
// tar-split. A blob that is gone is layertar.ErrNoTarSplit, saying so.
func blobTarSplit(p, mediaType string) (io.ReadCloser, error) {
	f, err := openNoatime(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK)
	if errors.Is(err, os.ErrNotExist) {
		return nil, &layertar.MissingError{Why: fmt.Sprintf("no tar-split, and its blob %s is gone (discarded after unpacking, or garbage-collected)", p)}
	}
	if err != nil {
		return nil, corrupt(p, bare(err))
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, corrupt(p, errors.New("not a regular file"))
	}
	var r io.Reader = f
	closeR := func() {}
	switch {
	case strings.HasSuffix(mediaType, "gzip"):
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, corrupt(p, fmt.Errorf("not gzip: %w", err))
		}
		r = zr
	case strings.HasSuffix(mediaType, "zstd"):
		zr, err := zstd.NewReader(f)
		if err != nil {
			f.Close()
			return nil, corrupt(p, fmt.Errorf("not zstd: %w", err))
		}
		r, closeR = zr, zr.Close
	case strings.HasSuffix(mediaType, ".tar"):
	default:
		f.Close()
		return nil, &layertar.MissingError{Why: fmt.Sprintf("no tar-split, and its blob %s is of media type %q, not a layer tar", p, mediaType)}
	}
	pr, pw := io.Pipe()
	go func() {
		defer f.Close()
		defer closeR()
		its, err := asm.NewInputTarStream(r, storage.NewJSONPacker(pw), nil)
		if err == nil {
			_, err = io.Copy(io.Discard, its)
		}
		if err != nil {
			err = corrupt(p, err)
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}
