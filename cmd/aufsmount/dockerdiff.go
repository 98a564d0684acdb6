package main

import (
	"fmt"
	"sort"
	"syscall"
	"time"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/whiteout"
)

// containerChanges is what docker diff prints for container t: the
// changes of its writable layer against the view below it (its init
// layer over its image), so that what Docker wrote in the init layer for
// every container shows only where the container changed it:
//
//   - A: a path the writable layer has that the view below does not,
//     and everything below an added directory;
//   - D: a path of the view below that a whiteout of the writable layer
//     hides, or that a directory it made opaque no longer shows (the
//     path itself, not what was below it);
//   - C: a path both have whose type, mode, owner, size, modification
//     time, symlink target or device number differ (for a directory:
//     type, mode, owner or modification time), and the directory holding
//     each path added or deleted.
//
// Where the writable layer is a whole tree (vfs), the two views are
// compared whole, as Docker does for it.
func containerChanges(t *layerstore.Target) ([]change, error) {
	upper, err := openTargetView(t)
	if err != nil {
		return nil, err
	}
	defer upper.Close()
	markers := map[string]*whiteout.Markers{}
	for _, l := range t.Stack {
		markers[l.Dir] = l.Markers
	}
	var below []fs.Layer
	for _, l := range t.Below {
		below = append(below, fs.Layer{ID: l.ID, Dir: l.Dir, Encoding: l.Encoding, Markers: markers[l.Dir]})
	}
	var lower *fs.View
	if len(below) > 0 {
		if lower, err = fs.OpenView(below); err != nil {
			return nil, fmt.Errorf("reading %s: %w", t.Ref, err)
		}
		defer lower.Close()
	}
	d := &dockerDiff{upper: upper, lower: lower, out: map[string]byte{}}
	if t.Driver == "vfs" {
		err = d.whole("")
	} else {
		err = upper.WalkLayer(0, d.touched)
	}
	if err != nil {
		return nil, err
	}
	return d.result(), nil
}

// dockerDiff is one containerChanges.
type dockerDiff struct {
	upper, lower *fs.View
	out          map[string]byte // path (no leading slash) -> op
}

func (d *dockerDiff) lookup(v *fs.View, p string) (*fs.Entry, error) {
	if v == nil {
		return nil, nil
	}
	return lookupIn(v, p)
}

// touched takes one path the writable layer touches (fs.View.WalkLayer).
func (d *dockerDiff) touched(p string, kind fs.ChangeKind, isDir bool) error {
	if p == "" && kind != fs.MakesOpaque {
		return nil
	}
	switch kind {
	case fs.Holds:
		eu, err := d.lookup(d.upper, p)
		if err != nil || eu == nil {
			return err
		}
		el, err := d.lookup(d.lower, p)
		if err != nil {
			return err
		}
		return d.compare(p, eu, el)
	case fs.WhitesOut:
		if eu, err := d.lookup(d.upper, p); err != nil || eu != nil {
			return err // there again: Holds says what became of it
		}
		el, err := d.lookup(d.lower, p)
		if err == nil && el != nil {
			d.out[p] = 'D'
		}
		return err
	case fs.MakesOpaque:
		return d.hidden(p)
	}
	return nil
}

// hidden marks D what the view below has in directory p that the
// container's view no longer shows.
func (d *dockerDiff) hidden(p string) error {
	el, err := d.lookup(d.lower, p)
	if err != nil || el == nil || !el.IsDir() {
		return err
	}
	lows, err := d.lower.ReadDir(p)
	if err != nil {
		return err
	}
	for _, e := range lows {
		q := join(p, e.Name)
		if eu, err := d.lookup(d.upper, q); err != nil {
			return err
		} else if eu == nil {
			d.out[q] = 'D'
		}
	}
	return nil
}

// compare records p, which the container's view shows as eu and the
// view below as el (nil: absent).
func (d *dockerDiff) compare(p string, eu, el *fs.Entry) error {
	if el == nil {
		d.out[p] = 'A'
		return nil
	}
	same, err := d.sameMeta(p, eu, el)
	if err != nil {
		return err
	}
	if !same {
		d.out[p] = 'C'
	}
	return nil
}

// sameMeta is Docker's test of a changed path: for a directory its type,
// mode, owner and modification time, for anything else its size, device
// number and symlink target too.
func (d *dockerDiff) sameMeta(p string, a, b *fs.Entry) (bool, error) {
	if a.Mode != b.Mode || a.Uid != b.Uid || a.Gid != b.Gid || !sameFsTime(a.Mtime, b.Mtime) {
		return false, nil
	}
	if a.IsDir() {
		return true, nil
	}
	if a.Size != b.Size || a.Rdev != b.Rdev {
		return false, nil
	}
	if a.Mode&syscall.S_IFMT == syscall.S_IFLNK {
		ta, err := d.upper.Readlink(p)
		if err != nil {
			return false, err
		}
		tb, err := d.lower.Readlink(p)
		return ta == tb, err
	}
	return true, nil
}

// sameFsTime is Docker's: equal, or equal in seconds where one of them
// has no fraction (a filesystem or a tar that keeps none).
func sameFsTime(a, b time.Time) bool {
	return a.Equal(b) || a.Unix() == b.Unix() && (a.Nanosecond() == 0 || b.Nanosecond() == 0)
}

// whole compares directory p of both views entirely (vfs: the writable
// layer is a full copy of the tree below it).
func (d *dockerDiff) whole(p string) error {
	ups, err := d.upper.ReadDir(p)
	if err != nil {
		return err
	}
	var lows []fs.Entry
	if d.lower != nil {
		if el, err := d.lookup(d.lower, p); err != nil {
			return err
		} else if el != nil && el.IsDir() {
			if lows, err = d.lower.ReadDir(p); err != nil {
				return err
			}
		}
	}
	low := map[string]*fs.Entry{}
	for i := range lows {
		low[lows[i].Name] = &lows[i]
	}
	for i := range ups {
		eu := &ups[i]
		q := join(p, eu.Name)
		el := low[eu.Name]
		delete(low, eu.Name)
		if err := d.compare(q, eu, el); err != nil {
			return err
		}
		if eu.IsDir() {
			if err := d.whole(q); err != nil {
				return err
			}
		}
	}
	for name := range low {
		d.out[join(p, name)] = 'D'
	}
	return nil
}

// result is the changes sorted by path, with C for the directory holding
// each path added or deleted, as docker diff lists it.
func (d *dockerDiff) result() []change {
	for p, op := range d.out {
		if op == 'C' {
			continue
		}
		if par := parentPath(p); par != "" {
			if _, ok := d.out[par]; !ok {
				d.out[par] = 'C'
			}
		}
	}
	out := make([]change, 0, len(d.out))
	for p, op := range d.out {
		out = append(out, change{op: op, path: "/" + p})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}
