package seekable

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// maxCursors is how many decoders a Reader keeps between reads: each
// continues where its last read ended and holds the last few hundred
// KiB it decoded, so reading files in order, even two at once, decodes
// the stream about once.
const maxCursors = 4

// Reader reads a blob's uncompressed stream at any offset.
type Reader struct {
	r     io.ReaderAt
	idx   *Index
	spill *os.File

	mu    sync.Mutex
	idle  []cursor // least recently used first
	close bool
	// closed is close for the span cache, which must keep no span of a
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
	rd.mu.Lock()
	idle := rd.idle
	rd.idle, rd.close = nil, true
	rd.mu.Unlock()
	rd.closed.Store(true)
	cache.forget(rd)
	for _, c := range idle {
		c.release()
	}
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

// decode reads p at off from the decoded spans (spans.go), or through
// the cursors where a span is too long to keep.
func (rd *Reader) decode(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		i := rd.idx.spanAt(pos)
		if rd.idx.spanEnd(i)-rd.idx.points[i].out > maxCachedSpan {
			m, err := rd.decodeFrom(p[n:], pos)
			return n + m, err
		}
		m, err := cache.span(rd, i).read(rd, p[n:], pos)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// decodeFrom reads p at off through a cursor.
func (rd *Reader) decodeFrom(p []byte, off int64) (int, error) {
	c, err := rd.acquire(off)
	if err != nil {
		return 0, err
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		h := c.held()
		if start := c.end() - int64(len(h)); pos >= start && pos < c.end() {
			n += copy(p[n:], h[pos-start:])
			continue
		}
		if pos < c.end()-int64(len(h)) {
			err = c.start(rd.idx.pointFor(pos))
		} else {
			_, err = c.more()
			if err == io.EOF {
				err = fmt.Errorf("the stream ends at %d, its index says %d (has the blob changed?): %w", c.end(), rd.idx.Size, ErrTruncated)
			}
		}
		if err != nil {
			c.release()
			return n, fmt.Errorf("decompressing at %d: %w", pos, err)
		}
	}
	rd.put(c)
	return n, nil
}

// acquire takes the idle cursor that reaches off soonest: one holding
// it, or one before it and past the point a fresh start would use; or
// starts the least recently used (or a new) one at that point.
func (rd *Reader) acquire(off int64) (cursor, error) {
	p := rd.idx.pointFor(off)
	rd.mu.Lock()
	best := -1
	for i, c := range rd.idle {
		start := c.end() - int64(len(c.held()))
		if off >= start && (off < c.end() || c.end() >= p.out) {
			best = i
		}
	}
	var c cursor
	fresh := best < 0
	switch {
	case best >= 0:
		c = rd.idle[best]
		rd.idle = append(rd.idle[:best], rd.idle[best+1:]...)
	case len(rd.idle) >= maxCursors:
		c = rd.idle[0]
		rd.idle = rd.idle[1:]
	}
	rd.mu.Unlock()
	if c == nil {
		c = rd.newCursor()
	}
	if fresh {
		if err := c.start(p); err != nil {
			c.release()
			return nil, fmt.Errorf("decompressing from %d: %w", p.out, err)
		}
	}
	return c, nil
}

func (rd *Reader) newCursor() cursor {
	if rd.idx.Compression == Zstd {
		return &zstdCursor{r: rd.r, size: rd.idx.CompressedSize}
	}
	return &gzipCursor{r: rd.r, size: rd.idx.CompressedSize}
}

// put makes c idle again, the most recently used.
func (rd *Reader) put(c cursor) {
	rd.mu.Lock()
	if rd.close {
		rd.mu.Unlock()
		c.release()
		return
	}
	rd.idle = append(rd.idle, c)
	var evict cursor
	if len(rd.idle) > maxCursors {
		evict = rd.idle[0]
		rd.idle = rd.idle[1:]
	}
	rd.mu.Unlock()
	if evict != nil {
		evict.release()
	}
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
