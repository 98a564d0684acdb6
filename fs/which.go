package fs

import (
	"fmt"
	iofs "io/fs"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/words"
)

// Reason tells what a layer's entry at a path does in the view.
type Reason int

const (
	// Shown: this layer's entry is the one the view shows.
	Shown Reason = iota
	// Merged: a lower directory merged into the one shown; its entries
	// show, its attributes do not.
	Merged
	// WhitedOut: a whiteout in layer By hides the path At (the path
	// itself or one of its parents) in every layer below By.
	WhitedOut
	// UnderOpaque: directory At is opaque in layer By: nothing of it from
	// the layers below shows.
	UnderOpaque
	// Shadowed: layer By has another entry at At (the path or a parent)
	// that does not merge with this one: a non-directory over anything,
	// or a directory over a non-directory.
	Shadowed
	// MountedOver: a bind (a container's /etc/hosts, a volume) of layer
	// By is mounted at At, the path or a parent.
	MountedOver
)

var reasonNames = [...]string{"shown", "merged", "whited out", "under opaque directory", "shadowed", "mounted over"}

func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Provider is one layer that has an entry at a path, and what becomes of it.
type Provider struct {
	Layer   int    // index in the view's layers (View.Layers), top = 0, then the binds' sources
	LayerID string // that layer's ID; for a bind, its Bind.ID
	Dir     string // that layer's directory; for a bind of a file, the file
	Entry   Entry  // the entry as this layer has it (for a merged directory, its own attributes)
	Reason  Reason
	By      int    // the layer that hides it, for WhitedOut, UnderOpaque, Shadowed and MountedOver; else Layer
	At      string // where it is hidden, with a leading "/": the path, a parent, or the opaque directory
}

// Hidden reports whether the view does not show this layer's entry.
func (p Provider) Hidden() bool { return p.Reason != Shown && p.Reason != Merged }

// Status is what the layer's entry is to the view, in the one word
// aufsmount which prints: "provides", "merged" or "hidden".
func (p Provider) Status() string {
	switch p.Reason {
	case Shown:
		return "provides"
	case Merged:
		return "merged"
	}
	return "hidden"
}

// Why says why a hidden entry does not show, naming the layer at fault
// by: "/etc/motd whited out by 3f9c0a1b2c3d".
func (p Provider) Why(by string) string {
	at := words.Path(p.At)
	switch p.Reason {
	case WhitedOut:
		return fmt.Sprintf("%s whited out by %s", at, by)
	case UnderOpaque:
		return fmt.Sprintf("under %s, made opaque by %s", at, by)
	case Shadowed:
		return fmt.Sprintf("shadowed at %s by %s", at, by)
	case MountedOver:
		return fmt.Sprintf("%s mounted over by %s", at, by)
	}
	return p.Reason.String()
}

// Which returns every layer that has an entry at p, top first: the one
// the view shows (Reason Shown), for a directory the lower ones merged
// into it, and every other one with the reason it is hidden. A bind
// (OpenViewWith) is over the layers, and a bind inside another over that
// one: at or below its destination it is what shows, and what the
// layers have there is MountedOver. When p is not in the view every
// provider is hidden; when no layer has it, Which fails with ENOENT. It
// reuses the union's merge (merger.add) on each directory of the path,
// fed with only what decides p (layer.probe): the name itself, its
// whiteout and the directory's opacity, in each layer's own encoding.
func (v *View) Which(p string) ([]Provider, error) {
	names := splitPath(p)
	v.mu.Lock()
	defer v.mu.Unlock()
	w := &which{v: v, names: names}
	if err := w.walk(); err != nil {
		return nil, &iofs.PathError{Op: "which", Path: p, Err: err}
	}
	if len(w.out) == 0 {
		return nil, &iofs.PathError{Op: "which", Path: p, Err: syscall.ENOENT}
	}
	// Layers hidden at a parent were found before those of the path itself.
	sort.SliceStable(w.out, func(i, j int) bool { return w.rank(w.out[i].Layer) < w.rank(w.out[j].Layer) })
	return w.out, nil
}

// bindOf is the bind point whose source is layer li; nil for a layer of
// the stack.
func (w *which) bindOf(li int) *bindPoint {
	b := w.v.u.binds
	if b == nil || li < b.nstack {
		return nil
	}
	return b.byLayer[li-b.nstack]
}

// rank orders the layers as they lie in the view, top first: the binds
// over the stack, a deeper one over the one it is inside.
func (w *which) rank(li int) int {
	if p := w.bindOf(li); p != nil {
		return -strings.Count(p.dest, "/") - 1
	}
	return li
}

// which is one Which: the path's components and what was found.
type which struct {
	v     *View
	names []string
	out   []Provider
}

// walk goes down the path one directory at a time. At each level the
// sources are the layers whose directory merges into the view's (as
// mergeDir takes them); a layer whose entry for the next name is hidden
// drops out there, and is reported if it has the whole path.
func (w *which) walk() error {
	v := w.v
	dir, rel := &v.root, ""
	sources := append([]int32{dir.layer}, dir.lowers...)
	if len(w.names) == 0 {
		// Every layer has a root: the top one shows, the rest merge.
		for _, li := range sources {
			pr := Provider{Layer: int(li), By: int(li), At: "/", Reason: Merged}
			if li == dir.layer {
				pr.Reason = Shown
			}
			if err := w.report(pr, true); err != nil {
				return err
			}
		}
	}
	for k, name := range w.names {
		last := k == len(w.names)-1
		crel := name
		if rel != "" {
			crel = rel + "/" + name
		}
		// What the view shows there: a bind mounted at the path hides
		// every layer's entry.
		ents, err := v.index(rel, dir)
		if err != nil {
			return fmt.Errorf("reading directory /%s: %w", rel, err)
		}
		next := find(ents, name)
		over := -1
		if next != nil {
			if p := w.bindOf(int(next.layer)); p != nil && p.dest == crel {
				over = int(next.layer)
			}
		}
		m := newMerger()
		whBy, opqBy, closer := -1, -1, -1
		for _, li := range sources {
			lst, opaque, has, err := w.v.u.layers[li].probe(w.v.u.layerRel(li, rel), name)
			if err != nil {
				return err
			}
			up := m.byName[name]
			closedBefore := up != nil && up.closed
			lowersBefore := 0
			if up != nil {
				lowersBefore = len(up.lowers)
			}
			wasOpaque, wasHidden := m.done(), m.hidden[name]
			shown := m.add(int(li), lst, opaque)
			if up != nil && !closedBefore && up.closed {
				closer = int(li)
			}
			if has {
				pr := Provider{Layer: int(li), By: int(li), At: "/" + crel}
				switch {
				case wasOpaque:
					pr.Reason, pr.By, pr.At = UnderOpaque, opqBy, "/"+rel
				case wasHidden:
					pr.Reason, pr.By = WhitedOut, whBy
				case over >= 0:
					pr.Reason, pr.By = MountedOver, over
				case len(shown) > 0:
					pr.Reason = Shown
				case up != nil && len(up.lowers) > lowersBefore:
					pr.Reason = Merged
				case up != nil:
					pr.Reason, pr.By = Shadowed, up.layer
					if closedBefore && closer >= 0 {
						pr.By = closer // no merging through that layer's non-directory
					}
				}
				if err := w.report(pr, last); err != nil {
					return err
				}
			}
			if m.done() && opqBy < 0 {
				opqBy = int(li)
			}
			if m.hidden[name] && whBy < 0 {
				whBy = int(li)
			}
		}
		if over >= 0 {
			if err := w.report(Provider{Layer: over, By: over, At: "/" + crel, Reason: Shown}, last); err != nil {
				return err
			}
		}
		// Go on only where the view does: into a directory it shows.
		if next == nil || next.attr.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil
		}
		dir, rel = next, crel
		sources = append([]int32{dir.layer}, dir.lowers...)
	}
	// The path is a directory the view shows: the merged lower ones below
	// an opaque marker do not show (mergeDir stops there).
	opq := -1
	for i := range w.out {
		pr := &w.out[i]
		if pr.Reason != Shown && pr.Reason != Merged {
			continue
		}
		if opq >= 0 {
			pr.Reason, pr.By, pr.At = UnderOpaque, opq, "/"+rel
			continue
		}
		_, opaque, _, err := w.v.u.layers[pr.Layer].probe(w.v.u.layerRel(int32(pr.Layer), rel), "")
		if err != nil {
			return err
		}
		if opaque {
			opq = pr.Layer
		}
	}
	return nil
}

// report adds a layer whose entry was decided at this level: at the last
// level it is the path's; above, only if the layer has the whole path.
func (w *which) report(pr Provider, last bool) error {
	if !last {
		if pr.Reason == Shown || pr.Reason == Merged {
			return nil // decided further down
		}
	}
	rel := strings.Join(w.names, "/")
	l := w.v.u.layers[pr.Layer]
	var st unix.Stat_t
	if err := l.lstat(w.v.u.layerRel(int32(pr.Layer), rel), &st); err != nil {
		if errGone(err) {
			return nil // the layer has no such entry (or a symlink on the way)
		}
		return fmt.Errorf("in layer %s: %w", l.dir, err)
	}
	name := ""
	if len(w.names) > 0 {
		name = w.names[len(w.names)-1]
	}
	e := entry{name: name, layer: int32(pr.Layer)}
	fillAttr(l, &st, &e.attr)
	pr.Entry = w.v.entryOf(&e)
	pr.LayerID, pr.Dir = l.id, l.dir
	if p := w.bindOf(pr.Layer); p != nil && p.base != "" {
		pr.Dir = l.dir + "/" + p.base
	}
	w.out = append(w.out, pr)
	return nil
}
