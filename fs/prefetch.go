package fs

import (
	"runtime"
	"sync"
)

// maxPrefetch bounds the directories waiting to be indexed ahead.
const maxPrefetch = 4096

// prefetcher indexes subdirectories the kernel has just listed before
// anyone opens them, on a spare core. A walk (find, du, tar, diff -r)
// lists a directory, then descends into its subdirectories one at a time,
// and while a directory is indexed the walker waits. Indexing the next
// one while the walker and the kernel digest the current listing turns
// that wait into work done in parallel.
//
// The queue is a stack of listings, each a list of subdirectories in
// listing order: a depth-first walker wants the first subdirectory of
// the newest listing next, then the rest of that listing after the first
// one's subtree. Only listed directories are queued, so it never reaches
// more than one level below what was asked for.
type prefetcher struct {
	mu      sync.Mutex
	stack   []pending
	queued  int
	running bool
}

// pending is the subdirectories of one listing not yet indexed.
type pending struct {
	parent *dirNode
	dirs   []*dirNode
}

// newPrefetcher returns nil, which queues nothing, with no spare core.
func newPrefetcher() *prefetcher {
	if runtime.GOMAXPROCS(0) < 2 {
		return nil
	}
	return &prefetcher{}
}

// add queues d, a subdirectory of parent just handed to the kernel.
func (p *prefetcher) add(parent, d *dirNode) {
	if p == nil || d.index.Load() != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.stack); n > 0 && p.stack[n-1].parent == parent {
		p.stack[n-1].dirs = append(p.stack[n-1].dirs, d)
	} else {
		p.stack = append(p.stack, pending{parent: parent, dirs: []*dirNode{d}})
	}
	p.queued++
	for p.queued > maxPrefetch { // the oldest listings are the least likely next
		p.queued -= len(p.stack[0].dirs)
		p.stack[0] = pending{}
		p.stack = p.stack[1:]
	}
	if !p.running {
		p.running = true
		go p.run()
	}
}

// run indexes queued directories until none is left; add starts it again.
func (p *prefetcher) run() {
	for {
		d := p.next()
		if d == nil {
			return
		}
		d.entries()
	}
}

func (p *prefetcher) next() *dirNode {
	p.mu.Lock()
	defer p.mu.Unlock()
	for n := len(p.stack); n > 0; n = len(p.stack) {
		top := &p.stack[n-1]
		if len(top.dirs) == 0 {
			p.stack[n-1] = pending{}
			p.stack = p.stack[:n-1]
			continue
		}
		d := top.dirs[0]
		top.dirs[0] = nil
		top.dirs = top.dirs[1:]
		p.queued--
		if d.index.Load() == nil {
			return d
		}
	}
	p.running = false
	return nil
}
