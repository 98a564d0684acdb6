package seekable

import (
	"container/list"
	"sort"
	"sync"
)

// A walk (tar -c, grep -r, diff -r) reads a layer's files in directory
// order, which need not be the order of the stream: Docker writes its
// layers in walk order, but builders and this project's own fixtures
// need not, and a merged view interleaves layers. A cursor only goes
// forward, so each file before the last one read would decode its span
// again. Instead a read decodes the whole span between two points once
// and keeps it in a cache of decoded spans that every Reader of the
// process shares, least recently used dropped first: later reads in it
// are copies.
const (
	spanCacheBytes = 64 << 20 // the cache's budget
	maxCachedSpan  = 16 << 20 // longer spans (a zstd frame of its own) are read through cursors only
)

// cache is the process's cache of decoded spans.
var cache = &spanCache{budget: spanCacheBytes, m: map[spanKey]*list.Element{}}

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

// span is the decoded stream from one point to the next.
type span struct {
	key   spanKey
	out   int64 // where it starts in the stream
	data  []byte
	err   error
	ready chan struct{} // closed once data or err is set
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

// get returns span i of rd, decoding it (with rd's cursors) unless it is
// cached or being decoded by another read, which it waits for.
func (c *spanCache) get(rd *Reader, i int) *span {
	k := spanKey{rd, i}
	c.mu.Lock()
	if e, ok := c.m[k]; ok {
		c.lru.MoveToFront(e)
		c.mu.Unlock()
		s := e.Value.(*span)
		<-s.ready
		return s
	}
	s := &span{key: k, out: rd.idx.points[i].out, ready: make(chan struct{})}
	c.m[k] = c.lru.PushFront(s)
	c.mu.Unlock()

	buf := make([]byte, rd.idx.spanEnd(i)-s.out)
	_, s.err = rd.decodeFrom(buf, s.out)
	c.mu.Lock()
	if s.err != nil {
		c.drop(k) // the next read tries again
	} else {
		s.data = buf
		c.used += int64(len(buf))
		for e := c.lru.Back(); e != nil && c.used > c.budget; {
			prev := e.Prev()
			if o := e.Value.(*span); o != s && o.data != nil {
				c.drop(o.key)
			}
			e = prev
		}
	}
	c.mu.Unlock()
	close(s.ready)
	return s
}

// drop removes the span of k; c.mu is held.
func (c *spanCache) drop(k spanKey) {
	e, ok := c.m[k]
	if !ok {
		return
	}
	c.used -= int64(len(e.Value.(*span).data))
	c.lru.Remove(e)
	delete(c.m, k)
}

// forget drops every span of rd, as it closes.
func (c *spanCache) forget(rd *Reader) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if k.rd == rd {
			c.drop(k)
		}
	}
}
