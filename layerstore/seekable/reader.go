package seekable

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
)

// Reader reads a blob's uncompressed stream at any offset.
type Reader struct {
	r     io.ReaderAt
	idx   *Index
	spill *os.File

	// closed says Close was called: the span cache keeps no span of a
	// closed Reader (spans.go).
	closed atomic.Bool
}

// cursor is a decoder started at some point and read forward.
type cursor interface {
	// start restarts it at a point of the index.
	start(p point) error
	// more decodes the next run of output; io.EOF at the end.
	more() ([]byte, error)
	// held is the recent output still in memory; it ends at end().
	held() []byte
	end() int64
	release()
}

// Open makes a Reader of the blob r (size bytes) that BuildIndex made
// idx from; a spilled stream is read from spillDir.
func Open(r io.ReaderAt, size int64, idx *Index, spillDir string) (*Reader, error) {
	if size != idx.CompressedSize {
		return nil, fmt.Errorf("the blob has %d bytes, its index says %d: %w", size, idx.CompressedSize, ErrIndex)
	}
	rd := &Reader{r: r, idx: idx}
	if idx.Spilled {
		p := filepath.Join(spillDir, idx.SpillName())
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("opening the decompressed copy: %w", err)
		}
		st, err := f.Stat()
		if err == nil && st.Size() != idx.Size {
			err = fmt.Errorf("%s has %d bytes, the index says %d: %w", p, st.Size(), idx.Size, ErrIndex)
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		rd.spill = f
	}
	return rd, nil
}

// Size is the length of the uncompressed stream.
func (rd *Reader) Size() int64 { return rd.idx.Size }

// Close releases the decoders and the spilled copy.
func (rd *Reader) Close() error {
	rd.closed.Store(true)
	cache.forget(rd)
	if rd.spill != nil {
		return rd.spill.Close()
	}
	return nil
}

// ReadAt reads len(p) bytes of the uncompressed stream at off.
func (rd *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	if off >= rd.idx.Size {
		return 0, io.EOF
	}
	var eof error
	if rest := rd.idx.Size - off; int64(len(p)) > rest {
		p, eof = p[:rest], io.EOF
	}
	var n int
	var err error
	switch {
	case rd.spill != nil:
		n, err = rd.spill.ReadAt(p, off)
	case rd.idx.Compression == Uncompressed:
		n, err = rd.r.ReadAt(p, off)
	default:
		n, err = rd.decode(p, off)
	}
	if err == nil || (err == io.EOF && n == len(p)) {
		err = eof
	}
	return n, err
}

// decode reads p at off through the spans it covers (spans.go).
func (rd *Reader) decode(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		i := rd.idx.spanAt(pos)
		m, err := cache.span(rd, i).read(rd, p[n:], pos)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (rd *Reader) newCursor() cursor {
	if rd.idx.Compression == Zstd {
		return &zstdCursor{r: rd.r, size: rd.idx.CompressedSize}
	}
	return &gzipCursor{r: rd.r, size: rd.idx.CompressedSize}
}

// gzipCursor is the inflater as a cursor.
type gzipCursor struct {
	r      io.ReaderAt
	size   int64
	f      inflater
	window []byte
}

func (g *gzipCursor) start(p point) error {
	if g.window == nil {
		g.window = make([]byte, windowSize)
	}
	w, err := unpackWindow(p.window, g.window)
	if err != nil {
		return err
	}
	g.f.gzip = true
	return g.f.start(g.r, g.size, p.in, p.out, w, false)
}

func (g *gzipCursor) more() ([]byte, error) { return g.f.more() }
func (g *gzipCursor) held() []byte          { return g.f.held() }
func (g *gzipCursor) end() int64            { return g.f.end() }
func (g *gzipCursor) release()              {}
