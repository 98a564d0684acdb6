package seekable

import (
	"container/list"
	"fmt"
	"io"
	"sort"
	"sync"

	"golang.org/x/sys/unix"
)

// A walk (tar -c, grep -r, diff -r) reads a layer's files in directory
// order. Docker and BuildKit write a layer in that order, so each
// layer's reads go forward; other builders need not, and decoding can
// only start at a point, so a read before the last one would decode from
// its point again: up to a span (4 MiB) for a file of a few bytes. So
// each span keeps its decoder where the last read left it, and what it
// decoded: a read inside what is kept is a copy, a read after it decodes
// on from there, and only a read before it starts again at the point.
// The decoded bytes of every Reader of the process share one budget:
// over it, the bytes a span decoded before its last read are dropped,
// least recently used first, but not its decoder (a few hundred KiB) nor
// what it decoded past that read, so a layer read in order is decoded
// once however many layers a walk goes through at a time.
const (
	spanCacheBytes = 512 << 20 // the budget of decoded bytes kept, at most a 16th of the memory
	maxSpans       = 512       // spans kept; past it the least recently used goes whole, decoder and all
	inOrderKeep    = 1 << 20   // what a span read in order holds before it drops what is behind its last read
)

// cache is the process's spans.
var cache = &spanCache{budget: budget(), m: map[spanKey]*list.Element{}}

// budget is spanCacheBytes, or a 16th of the machine's memory where that
// is less (but 64 MiB at least): a walk of an image whose layers are not
// in walk order keeps about its small files' streams decoded.
func budget() int64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return spanCacheBytes
	}
	return max(64<<20, min(spanCacheBytes, int64(si.Totalram)*int64(si.Unit)/16))
}

type spanCache struct {
	mu     sync.Mutex
	budget int64
	used   int64
	lru    list.List // of *span, most recently used first
	m      map[spanKey]*list.Element
}

type spanKey struct {
	rd *Reader
	i  int // the point the span starts at
}

// span is the stream from one point to the next, as far as decoded.
type span struct {
	key  spanKey
	out  int64      // where it starts in the stream
	end  int64      // where it ends: the next point, or the stream's end
	mu   sync.Mutex // held by a read, which may decode more
	from int64      // where data starts in the stream
	data []byte     // decoded bytes kept, from `from` on
	last int64      // where the last read ended
	// keepAll says reads came out of order: keep everything decoded.
	// Until then only what is past the last read is kept, in a buffer
	// used again: reads in order never look back, and fresh memory for a
	// whole stream costs more than decoding it.
	keepAll bool
	c       cursor // decodes on from from+len(data); nil when none
	charged int64  // len(data) as counted in the budget; under the cache's mu
}

// spanAt is the index of the point at or before off.
func (x *Index) spanAt(off int64) int {
	return sort.Search(len(x.points), func(i int) bool { return x.points[i].out > off }) - 1
}

// spanEnd is where span i ends: the next point, or the stream's end.
func (x *Index) spanEnd(i int) int64 {
	if i+1 < len(x.points) {
		return x.points[i+1].out
	}
	return x.Size
}

// span returns rd's span i, kept or new, as the most recently used.
func (c *spanCache) span(rd *Reader, i int) *span {
	k := spanKey{rd, i}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*span)
	}
	out := rd.idx.points[i].out
	s := &span{key: k, out: out, end: rd.idx.spanEnd(i), from: out}
	if rd.closed.Load() {
		return s // read once, never kept
	}
	c.m[k] = c.lru.PushFront(s)
	return s
}

// read copies the stream at off into p, up to the span's end, decoding
// what it does not hold yet.
func (s *span) read(rd *Reader, p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := min(off+int64(len(p)), s.end)
	held := s.from + int64(len(s.data))
	if off < s.from || (s.c == nil && held < want) {
		// A read before what is kept: the span is not read in order,
		// so from now on it keeps all it decodes.
		s.keepAll = s.keepAll || off < s.from
		s.restart(rd)
	}
	s.last = min(s.last, off) // what this read wants stays while it decodes
	for s.from+int64(len(s.data)) < want {
		if err := s.more(rd); err != nil {
			return 0, fmt.Errorf("decompressing at %d: %w", s.from+int64(len(s.data)), err)
		}
	}
	n := copy(p, s.data[off-s.from:])
	s.last = off + int64(n)
	if s.c != nil && s.from+int64(len(s.data)) >= s.end {
		// Whole: its decoder stands where the next span starts, so a
		// stream read in order is decoded by one decoder, once.
		c := s.c
		s.c = nil
		if !cache.handOn(rd, s.key.i+1, c) {
			c.release()
		}
	} else if s.c != nil && !cache.holds(s) { // taken out while read
		s.c.release()
		s.c = nil
	}
	return n, nil
}

// restart drops what s holds and starts a decoder at its point.
func (s *span) restart(rd *Reader) {
	if s.c != nil {
		s.c.release()
		s.c = nil
	}
	cache.charge(s, -int64(len(s.data)))
	s.from, s.data = s.out, nil
}

// more decodes the next run of the span and keeps it.
func (s *span) more(rd *Reader) error {
	if s.c == nil {
		c := rd.newCursor()
		if err := c.start(rd.idx.points[s.key.i]); err != nil {
			c.release()
			return err
		}
		s.c = c
	}
	b, err := s.c.more()
	if err == io.EOF {
		err = fmt.Errorf("the stream ends at %d, its index says %d (has the blob changed?): %w", s.c.end(), rd.idx.Size, ErrTruncated)
	}
	if err != nil {
		s.c.release()
		s.c = nil
		return err
	}
	s.keep(b)
	return nil
}

// keep appends b, clipped at the span's end, to what s holds.
func (s *span) keep(b []byte) {
	b = b[:min(int64(len(b)), s.end-s.from-int64(len(s.data)))]
	if need := len(s.data) + len(b); need > cap(s.data) {
		// Grow by doubling, never past the span: a small file costs
		// little, a whole span no more than its length.
		grown := make([]byte, len(s.data), min(s.end-s.from, max(int64(need), 2*int64(cap(s.data)), 64<<10)))
		copy(grown, s.data)
		s.data = grown
	}
	s.data = append(s.data, b...)
	cut := min(int64(len(s.data)), s.last-s.from)
	if s.keepAll || len(s.data) < inOrderKeep || cut < 0 {
		cut = 0
	}
	if cut > 0 {
		s.data = s.data[:copy(s.data, s.data[cut:])]
		s.from += cut
	}
	cache.charge(s, int64(len(b))-cut) // once, net: the others lose only what this span keeps
}

// handOn gives d, a decoder that has passed the start of rd's span i, to
// that span with what it holds of it, unless the span is busy, decoding
// or holding something already.
func (c *spanCache) handOn(rd *Reader, i int, d cursor) bool {
	if i >= len(rd.idx.points) || rd.closed.Load() {
		return false // no span to go on, or no cache
	}
	next := c.span(rd, i)
	if !next.mu.TryLock() {
		return false
	}
	defer next.mu.Unlock()
	h := d.held()
	from := d.end() - int64(len(h))
	if next.c != nil || len(next.data) > 0 || next.out < from || next.out > d.end() {
		return false
	}
	next.from = next.out
	next.c = d
	next.keep(h[next.out-from:])
	return true
}

// charge counts n more bytes of s and, while the cache is over its
// budget, drops the bytes of the least recently used other spans.
func (c *spanCache) charge(s *span, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.linked(s) {
		return // dropped: its bytes go with the reads that hold it
	}
	s.charged += n
	c.used += n
	for e := c.lru.Back(); e != nil && (c.used > c.budget || len(c.m) > maxSpans); {
		prev := e.Prev()
		if o := e.Value.(*span); o != s && o.mu.TryLock() {
			// What a span decoded before its last read goes first. What
			// it decoded past it (a run at most), where the next read in
			// order starts, and its decoder stay, as long as there are
			// at most maxSpans spans.
			if cut := min(int64(len(o.data)), max(0, o.last-o.from)); len(c.m) > maxSpans {
				c.drop(o)
			} else if cut > 0 {
				o.data = append([]byte(nil), o.data[cut:]...)
				o.from += cut
				c.used -= o.charged - int64(len(o.data))
				o.charged = int64(len(o.data))
			}
			o.mu.Unlock()
		}
		e = prev
	}
}

// holds says whether s is in the cache.
func (c *spanCache) holds(s *span) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.linked(s)
}

// linked says whether s is in the cache; c.mu is held.
func (c *spanCache) linked(s *span) bool {
	e, ok := c.m[s.key]
	return ok && e.Value.(*span) == s
}

// unlink takes o out of the cache and its counts; c.mu is held.
func (c *spanCache) unlink(o *span) {
	c.used -= o.charged
	o.charged = 0
	c.lru.Remove(c.m[o.key])
	delete(c.m, o.key)
}

// drop removes o, whose mu is held, and its decoder; c.mu is held.
func (c *spanCache) drop(o *span) {
	c.unlink(o)
	o.data = nil
	if o.c != nil {
		o.c.release()
		o.c = nil
	}
}

// forget drops every span of rd, as it closes; a span a read still holds
// is only taken out, and goes with that read.
func (c *spanCache) forget(rd *Reader) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if o := e.Value.(*span); k.rd == rd {
			if o.mu.TryLock() {
				c.drop(o)
				o.mu.Unlock()
			} else {
				c.unlink(o)
			}
		}
	}
}
