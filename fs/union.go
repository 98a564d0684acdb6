package fs

import (
	"fmt"
	"log"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// union is one stack of layers, top first, and what its nodes share.
type union struct {
	layers []*layer
	raw    bool // one layer as stored, whiteouts and all (MountTree's layers/)
	log    *log.Logger
	pf     *prefetcher // nil: no indexing ahead
	binds  *unionBinds // nil: no binds (binds.go)
	// noOpen says files are opened without OPEN (file.go): set once
	// mounted, for a view of tar layers alone where the kernel can.
	noOpen atomic.Bool
}

// tarOnly says whether every layer is served from a tar stream, with no
// binds: none would gain from FUSE passthrough, which needs an OPEN.
func (u *union) tarOnly() bool {
	for _, l := range u.layers {
		if l.tar == nil {
			return false
		}
	}
	return u.binds == nil
}

// entry is one visible name of a merged directory, with everything
// lookup, getattr and readdir need, so none of them touches a layer.
type entry struct {
	name   string
	attr   fuse.Attr
	layer  int32   // index into union.layers of the layer that shows it
	lowers []int32 // for a directory: lower layers whose same directory merges in, top first
}

// direntBufs recycles getdents buffers.
var direntBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// mergeDir builds the index of the directory rel (a path of the view)
// whose sources are the given layers (top first): every visible entry,
// stat'ed in the layer that shows it, sorted by name, with the binds of
// the directory in it. Only the top source failing is an error; a lower
// layer that went away is logged and skipped.
func (u *union) mergeDir(rel string, sources []int32) ([]entry, error) {
	bufp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bufp)

	m := newMerger()
	attrs := map[*merged]fuse.Attr{}
	for i, li := range sources {
		l := u.layers[li]
		if err := u.mergeLayer(m, l, int(li), u.layerRel(li, rel), *bufp, attrs); err != nil {
			if i == 0 {
				return nil, err
			}
			u.fault(l, err)
		}
		if m.done() {
			break
		}
	}
	res := m.result()
	ents := make([]entry, 0, len(res))
	for _, me := range res {
		a, ok := attrs[me]
		if !ok {
			continue // vanished between getdents and fstatat
		}
		e := entry{name: me.name, attr: a, layer: int32(me.layer)}
		if a.Mode&unix.S_IFMT == unix.S_IFDIR && len(me.lowers) > 0 {
			e.lowers = make([]int32, len(me.lowers))
			for j, lw := range me.lowers {
				e.lowers[j] = int32(lw)
			}
		}
		ents = append(ents, e)
	}
	if u.binds != nil {
		ents = u.bindInto(rel, ents)
	}
	return ents, nil
}

// mergeLayer feeds one layer's listing of rel to m and stats what it shows.
func (u *union) mergeLayer(m *merger, l *layer, li int, rel string, buf []byte, attrs map[*merged]fuse.Attr) error {
	d, err := l.openDir(rel)
	if err != nil {
		return fmt.Errorf("opening %s/%s: %w", l.dir, rel, err)
	}
	defer d.close()
	ents, opaque, err := d.read(buf, u.raw)
	if err != nil {
		return fmt.Errorf("reading %s/%s: %w", l.dir, rel, err)
	}
	for _, me := range m.add(li, ents, opaque) {
		var st unix.Stat_t
		if err := d.stat(me.name, &st); err != nil {
			continue
		}
		var a fuse.Attr
		fillAttr(l, &st, &a)
		attrs[me] = a
	}
	return nil
}

// fault logs, once per layer, that a layer changed while mounted.
func (u *union) fault(l *layer, err error) {
	l.faulted.Do(func() {
		u.log.Printf("layer %s changed or went away while mounted: %v", l.id, err)
	})
}

// find returns the entry called name in a sorted index.
func find(ents []entry, name string) *entry {
	i := sort.Search(len(ents), func(i int) bool { return ents[i].name >= name })
	if i < len(ents) && ents[i].name == name {
		return &ents[i]
	}
	return nil
}
