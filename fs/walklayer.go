package fs

import (
	"fmt"
	"sort"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// ChangeKind is what a layer does to a path of the union.
type ChangeKind int

const (
	Holds       ChangeKind = iota // the layer has an entry at the path
	WhitesOut                     // a whiteout in the layer hides the path in the layers below
	MakesOpaque                   // the layer makes the directory at the path opaque
)

// WalkLayer calls fn for every path layer i (top = 0) of the view
// touches: each entry it holds (isDir telling a directory), each path its
// whiteouts hide, each directory it makes opaque; parents before their
// children, paths without a leading slash, "" for the root (which it
// always holds). Names are told apart as the merge does (layerDir.read,
// in the layer's encoding): bookkeeping is skipped and never entered, and
// whiteouts that hide nothing are skipped. Nothing is followed.
func (v *View) WalkLayer(i int, fn func(path string, kind ChangeKind, isDir bool) error) error {
	if i < 0 || i >= v.u.stackLen() {
		return fmt.Errorf("walking layer %d: the view has %d layers", i, v.u.stackLen())
	}
	buf := make([]byte, 64<<10)
	if err := fn("", Holds, true); err != nil {
		return err
	}
	return v.walkLayerDir(v.u.layers[i], "", buf, fn)
}

func (v *View) walkLayerDir(l *layer, rel string, buf []byte, fn func(string, ChangeKind, bool) error) error {
	d, err := l.openDir(rel)
	if err != nil {
		return fmt.Errorf("opening %s/%s: %w", l.dir, rel, err)
	}
	ents, opaque, err := d.read(buf, false)
	d.close()
	if err != nil {
		return fmt.Errorf("reading %s/%s: %w", l.dir, rel, err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].name < ents[j].name })
	join := func(name string) string {
		if rel == "" {
			return name
		}
		return rel + "/" + name
	}
	if opaque {
		if err := fn(rel, MakesOpaque, true); err != nil {
			return err
		}
	}
	for _, e := range ents {
		var err error
		switch e.kind {
		case whiteout.Plain:
			err = fn(join(e.name), Holds, e.isDir)
			if err == nil && e.isDir {
				err = v.walkLayerDir(l, join(e.name), buf, fn)
			}
		case whiteout.Whiteout:
			if e.target != "" {
				err = fn(join(e.target), WhitesOut, false)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}
