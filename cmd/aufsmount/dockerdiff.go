package main

import (
	"bytes"
	"fmt"
	"sort"
	"time"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// containerChanges is what docker diff prints for container t: the
// changes of its writable layer against the view below it (its init
// layer over its image), so that what Docker wrote in the init layer for
// every container shows only where the container changed it. Docker
// 20.10 has two ways of finding them, and a container's driver picks one:
//
//   - aufs walks the writable layer (archive.Changes in moby): a path it
//     holds is A when the view below lacks it, else C, except a
//     directory whose mode, size and modification time are those of the
//     one below (there only to hold what changed inside); a path its
//     whiteouts hide is D; and the directory holding an A or a D is C
//     when it is not listed already.
//   - Every other driver (overlay2 too, in 20.10) compares the two trees
//     (archive.ChangesDirs, the "naive" diff): a path only the
//     container's tree has is A, and so is everything below it; a path
//     only the tree below has is D (a directory alone, not what it
//     held); a path both have is C when its type, mode, owner, device
//     number or security.capability differ, or for anything but a
//     directory its size or modification time; and every directory above
//     a change is C.
//
// A directory the writable layer makes opaque lists what it hides as D,
// with either way. Only the paths the writable layer touches can differ,
// so only those are compared, except where that layer is a whole tree
// (vfs): there the trees are compared whole.
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
	d := &dockerDiff{upper: upper, lower: lower, walk: t.Driver == "aufs", out: map[string]byte{}}
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
	walk         bool            // Docker walks the writable layer (aufs), rather than compare the trees
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
	changed, err := d.changed(p, eu, el)
	if changed {
		d.out[p] = 'C'
	}
	return err
}

// changed is Docker's test of a path both views have (see
// containerChanges).
func (d *dockerDiff) changed(p string, eu, el *fs.Entry) (bool, error) {
	if d.walk {
		return !eu.IsDir() || !el.IsDir() || eu.Mode != el.Mode || eu.Size != el.Size || !sameFsTime(eu.Mtime, el.Mtime), nil
	}
	if eu.Mode != el.Mode || eu.Uid != el.Uid || eu.Gid != el.Gid || eu.Rdev != el.Rdev {
		return true, nil
	}
	if !eu.IsDir() && (eu.Size != el.Size || !sameFsTime(eu.Mtime, el.Mtime)) {
		return true, nil
	}
	cu, err := capability(d.upper, p)
	if err != nil {
		return false, err
	}
	cl, err := capability(d.lower, p)
	return !bytes.Equal(cu, cl), err
}

// capability is the security.capability of p, which Docker's comparison
// of trees reads along with the stat.
func capability(v *fs.View, p string) ([]byte, error) {
	x, err := v.Xattrs(p)
	if err != nil {
		return nil, fmt.Errorf("reading the extended attributes of /%s: %w", p, err)
	}
	return x["security.capability"], nil
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

// result is the changes sorted by path, with C for the directories
// Docker lists because of what changed inside them: every one above a
// change where it compares trees, the one holding each A or D where it
// walks the writable layer.
func (d *dockerDiff) result() []change {
	var changed []string
	for p, op := range d.out {
		if !d.walk || op != 'C' {
			changed = append(changed, p)
		}
	}
	for _, p := range changed {
		for par := parentPath(p); par != ""; par = parentPath(par) {
			if _, ok := d.out[par]; !ok {
				d.out[par] = 'C'
			}
			if d.walk {
				break
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
