package layertar

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"

	"github.com/vbatts/tar-split/tar/storage"
)

// headerStream is a layer's tar stream with its file contents left out:
// it yields the tar-split's segments (headers and padding) as they are,
// and for file contents it only moves its offset along. archive/tar skips
// an entry's data with Seek when it can, so a tar.Reader over it reads
// every header without a byte of any file.
type headerStream struct {
	up   storage.Unpacker
	seg  []byte // what is left of the current segment
	hole int64  // what is left of the current file's content
	pos  int64
	err  error
	// onFile, if set, sees every file entry as it goes by.
	onFile func(e *storage.Entry)
}

// next loads the next entry; io.EOF at the end.
func (h *headerStream) next() error {
	e, err := h.up.Next()
	if err != nil {
		return err
	}
	switch e.Type {
	case storage.SegmentType:
		h.seg = e.Payload
	case storage.FileType:
		if h.onFile != nil {
			h.onFile(e)
		}
		if e.Size < 0 {
			return fmt.Errorf("entry %q has size %d", e.GetName(), e.Size)
		}
		h.hole = e.Size
	default:
		return fmt.Errorf("unknown tar-split entry type %d", e.Type)
	}
	return nil
}

func (h *headerStream) Read(p []byte) (int, error) {
	for len(h.seg) == 0 && h.hole == 0 {
		if h.err != nil {
			return 0, h.err
		}
		if err := h.next(); err != nil {
			h.err = err
			return 0, err
		}
	}
	if len(h.seg) > 0 {
		n := copy(p, h.seg)
		h.seg = h.seg[n:]
		h.pos += int64(n)
		return n, nil
	}
	// Only a reader that does not seek lands here: content reads as zeros.
	n := int(min(int64(len(p)), h.hole))
	clear(p[:n])
	h.hole -= int64(n)
	h.pos += int64(n)
	return n, nil
}

// Seek moves forward only (whence io.SeekCurrent), as archive/tar does
// when it skips an entry's data.
func (h *headerStream) Seek(off int64, whence int) (int64, error) {
	if whence != io.SeekCurrent || off < 0 {
		return h.pos, errors.New("headerStream: only forward seeks")
	}
	for off > 0 {
		switch {
		case h.hole > 0:
			n := min(off, h.hole)
			h.hole -= n
			h.pos += n
			off -= n
		case len(h.seg) > 0:
			n := min(off, int64(len(h.seg)))
			h.seg = h.seg[n:]
			h.pos += n
			off -= n
		default:
			if h.err != nil {
				return h.pos, h.err
			}
			if err := h.next(); err != nil {
				h.err = err
				if err == io.EOF {
					return h.pos, nil // past the end: the next read says so
				}
				return h.pos, err
			}
		}
	}
	return h.pos, nil
}

// eachHeader hands fn every header of the tar stream the tar-split ts
// records, without reading any file's content.
func eachHeader(ts io.Reader, fn func(*tar.Header)) error {
	tr := tar.NewReader(&headerStream{up: newUnpacker(ts)})
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the tar-split's headers: %w", err)
		}
		fn(hdr)
	}
}
