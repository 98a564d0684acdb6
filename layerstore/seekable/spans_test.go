package seekable

import (
	"bytes"
	"io"
	"testing"
)

// openCounted indexes blob with points every span bytes and opens it,
// counting the compressed bytes its reads take.
func openCounted(t *testing.T, blob []byte, span int64) (*Reader, *countingReaderAt, *Index) {
	t.Helper()
	x, err := build(t, blob, Options{Span: span})
	if err != nil {
		t.Fatal(err)
	}
	counter := &countingReaderAt{r: bytes.NewReader(blob)}
	rd, err := Open(counter, int64(len(blob)), x, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return rd, counter, x
}

// readBackwards reads rd's stream in 4 KiB pieces from its end to its
// start, as a walk in an order other than the stream's reads its files.
func readBackwards(t *testing.T, rd *Reader, size int) []byte {
	t.Helper()
	got := make([]byte, size)
	for end := size; end > 0; end -= 4096 {
		off := max(0, end-4096)
		n, err := rd.ReadAt(got[off:end], int64(off))
		if n != end-off || (err != nil && err != io.EOF) {
			t.Fatalf("ReadAt(%d bytes at %d): %d, %v", end-off, off, n, err)
		}
	}
	return got
}

// Reading a stream backwards decodes each span once: the spans stay
// decoded in the cache, where a decoder alone would decode from the
// span's point again for every piece.
func TestBackwardReadsDecodeOnce(t *testing.T) {
	// Spans of 1 MiB: more than a cursor keeps of what it decoded.
	data := compressible(5, 4<<20)
	blob := gzipMembers(t, 6, data)
	rd, counter, x := openCounted(t, blob, 1<<20)
	if got := readBackwards(t, rd, len(data)); !bytes.Equal(got, data) {
		t.Fatal("backward reads differ from the stream")
	}
	// Each span's compressed bytes once, plus a read-ahead chunk each.
	if limit := int64(len(blob)) + int64(x.Points())*readChunk; counter.n > limit {
		t.Fatalf("read %d compressed bytes for a %d-byte blob of %d spans, want at most %d", counter.n, len(blob), x.Points(), limit)
	}
}

// The cache keeps to its budget, dropping the least recently used spans,
// and a closed Reader's spans go.
func TestSpanCacheBudget(t *testing.T) {
	defer func(b int64) { cache.budget = b }(cache.budget)
	cache.budget = 256 << 10
	data := compressible(6, 2<<20)
	blob := gzipMembers(t, 6, data)
	x, err := build(t, blob, Options{Span: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	rd := open(t, blob, x, "")
	if got := readBackwards(t, rd, len(data)); !bytes.Equal(got, data) {
		t.Fatal("backward reads differ from the stream")
	}
	if err := readsMatch(rd, data, 3, 100); err != nil {
		t.Fatal(err)
	}
	cache.mu.Lock()
	used, spans := cache.used, len(cache.m)
	cache.mu.Unlock()
	// A span runs from one point to the next: the budget and at most
	// one span (the newest, kept even where it alone passes the budget).
	if used > cache.budget+256<<10 || spans == 0 {
		t.Fatalf("the cache holds %d spans of %d bytes, budget %d", spans, used, cache.budget)
	}
	rd.Close()
	cache.mu.Lock()
	defer cache.mu.Unlock()
	for k := range cache.m {
		if k.rd == rd {
			t.Fatal("a closed Reader's spans are still cached")
		}
	}
}

// Many streams read forward a little at a time, in turn, as a walk reads
// the layers of a merged directory: each is decoded once, although the
// bytes they decode pass the cache's budget many times over, since a
// span's bytes go before its decoder does.
func TestInterleavedForwardReadsDecodeOnce(t *testing.T) {
	defer func(b int64) { cache.budget = b }(cache.budget)
	cache.budget = 128 << 10
	type stream struct {
		data    []byte
		blob    []byte
		counter *countingReaderAt
		rd      *Reader
	}
	var streams []*stream
	for i := range 12 {
		data := compressible(uint64(10+i), 1<<20)
		blob := gzipMembers(t, 6, data)
		rd, counter, _ := openCounted(t, blob, 4<<20)
		streams = append(streams, &stream{data, blob, counter, rd})
	}
	buf := make([]byte, 8192)
	for off := int64(0); off < 1<<20; off += int64(len(buf)) {
		for i, s := range streams {
			if _, err := s.rd.ReadAt(buf, off); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			if !bytes.Equal(buf, s.data[off:off+int64(len(buf))]) {
				t.Fatalf("stream %d at %d: wrong bytes", i, off)
			}
		}
	}
	for i, s := range streams {
		if limit := int64(len(s.blob)) + readChunk; s.counter.n > limit {
			t.Errorf("stream %d: read %d compressed bytes of a %d-byte blob, want at most %d", i, s.counter.n, len(s.blob), limit)
		}
	}
}

// A span read in order keeps only what is past its last read, about a
// MiB, not the whole stream: a walk in the stream's order needs no more.
func TestInOrderReadsKeepLittle(t *testing.T) {
	data := compressible(21, 8<<20)
	rd, _, _ := openCounted(t, gzipMembers(t, 6, data), 16<<20)
	buf := make([]byte, 8192)
	most := 0
	for off := int64(0); off < int64(len(data)); off += int64(len(buf)) {
		if _, err := rd.ReadAt(buf, off); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, data[off:off+int64(len(buf))]) {
			t.Fatalf("at %d: wrong bytes", off)
		}
		s := cache.span(rd, 0)
		s.mu.Lock()
		most = max(most, cap(s.data))
		s.mu.Unlock()
	}
	if most > inOrderKeep+512<<10 {
		t.Errorf("a span read in order held up to %d bytes, want at most %d", most, inOrderKeep+512<<10)
	}
}

// A Reader read after Close keeps no span in the cache, whose spans of
// it went at Close.
func TestClosedReaderKeepsNoSpan(t *testing.T) {
	data := compressible(22, 1<<20)
	rd, _, _ := openCounted(t, gzipMembers(t, 6, data), 256<<10)
	if err := readsMatch(rd, data, 4, 20); err != nil {
		t.Fatal(err)
	}
	rd.Close()
	buf := make([]byte, 300<<10)
	if n, err := rd.ReadAt(buf, 200<<10); err != nil || !bytes.Equal(buf[:n], data[200<<10:200<<10+n]) {
		t.Fatalf("ReadAt after Close: %d, %v", n, err)
	}
	cache.mu.Lock()
	defer cache.mu.Unlock()
	for k := range cache.m {
		if k.rd == rd {
			t.Fatalf("span %d of a closed Reader is cached", k.i)
		}
	}
}
