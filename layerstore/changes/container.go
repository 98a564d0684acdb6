package changes

import (
	"bytes"
	"fmt"
	"time"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// OfContainer is what docker diff lists for the container t, whose view
// (its stack) is upper: the changes of its writable layer against the
// view below it (its init layer over its image), so that what Docker
// wrote in the init layer for every container shows only where the
// container changed it. Docker 20.10 has two ways of finding them, and
// the container's driver picks one (t.ContainerDiff):
//
//   - layerstore.WalkWritableLayer (aufs; archive.Changes in moby): a
//     path the writable layer holds is Added when the view below lacks
//     it, else Modified, except a directory whose mode, size and
//     modification time are those of the one below (there only to hold
//     what changed inside); a path its whiteouts hide is Deleted; and the
//     directory holding an Added or a Deleted is Modified when it is not
//     listed already.
//   - layerstore.CompareTrees and CompareWholeTrees (every other driver,
//     overlay2 too; archive.ChangesDirs, the "naive" diff): a path only
//     the container's tree has is Added, and so is everything below it;
//     a path only the tree below has is Deleted (a directory alone, not
//     what it held); a path both have is Modified when its type, mode,
//     owner, device number or security.capability differ, or for
//     anything but a directory its size or modification time; and every
//     directory above a change is Modified.
//
// A directory the writable layer makes opaque lists what it hides as
// Deleted, with either way. Only the paths the writable layer touches can
// differ, so only those are compared, except where that layer is a whole
// tree (CompareWholeTrees): there the trees are compared whole.
func OfContainer(t *layerstore.Target, upper *fs.View) ([]Change, error) {
	if t.Kind != layerstore.KindContainer {
		return nil, fmt.Errorf("%s is not a container", t.Ref)
	}
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
		var err error
		if lower, err = fs.OpenView(below); err != nil {
			return nil, fmt.Errorf("reading %s: %w", t.Ref, err)
		}
		defer lower.Close()
	}
	how := t.ContainerDiff()
	d := &dockerDiff{upper: upper, lower: lower, walk: how == layerstore.WalkWritableLayer, out: map[string]Kind{}}
	var err error
	if how == layerstore.CompareWholeTrees {
		err = d.whole("")
	} else {
		err = upper.WalkLayer(0, d.touched)
	}
	if err != nil {
		return nil, err
	}
	return d.result(), nil
}

// dockerDiff is one OfContainer.
type dockerDiff struct {
	upper, lower *fs.View // lower is nil for an empty view below
	walk         bool     // Docker walks the writable layer, rather than compare the trees
	out          map[string]Kind
}

// touched takes one path the writable layer touches (fs.View.WalkLayer).
func (d *dockerDiff) touched(p string, kind fs.ChangeKind, isDir bool) error {
	if p == "" && kind != fs.MakesOpaque {
		return nil
	}
	switch kind {
	case fs.Holds:
		eu, err := lookupIn(d.upper, p)
		if err != nil || eu == nil {
			return err
		}
		el, err := lookupIn(d.lower, p)
		if err != nil {
			return err
		}
		return d.compare(p, eu, el)
	case fs.WhitesOut:
		if eu, err := lookupIn(d.upper, p); err != nil || eu != nil {
			return err // there again: Holds says what became of it
		}
		el, err := lookupIn(d.lower, p)
		if err == nil && el != nil {
			d.out[p] = Deleted
		}
		return err
	case fs.MakesOpaque:
		return d.hidden(p)
	}
	return nil
}

// hidden marks Deleted what the view below has in directory p that the
// container's view no longer shows.
func (d *dockerDiff) hidden(p string) error {
	el, err := lookupIn(d.lower, p)
	if err != nil || el == nil || !el.IsDir() {
		return err
	}
	lows, err := d.lower.ReadDir(p)
	if err != nil {
		return err
	}
	for _, e := range lows {
		q := join(p, e.Name)
		if eu, err := lookupIn(d.upper, q); err != nil {
			return err
		} else if eu == nil {
			d.out[q] = Deleted
		}
	}
	return nil
}

// compare records p, which the container's view shows as eu and the
// view below as el (nil: absent).
func (d *dockerDiff) compare(p string, eu, el *fs.Entry) error {
	if el == nil {
		d.out[p] = Added
		return nil
	}
	changed, err := d.changed(p, eu, el)
	if changed {
		d.out[p] = Modified
	}
	return err
}

// changed is Docker's test of a path both views have (see OfContainer).
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

// whole compares directory p of both views entirely (the writable layer
// is a full copy of the tree below it).
func (d *dockerDiff) whole(p string) error {
	ups, err := d.upper.ReadDir(p)
	if err != nil {
		return err
	}
	var lows []fs.Entry
	if el, err := lookupIn(d.lower, p); err != nil {
		return err
	} else if el != nil && el.IsDir() {
		if lows, err = d.lower.ReadDir(p); err != nil {
			return err
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
		d.out[join(p, name)] = Deleted
	}
	return nil
}

// result is the changes sorted by path, with Modified for the
// directories Docker lists because of what changed inside them: every one
// above a change where it compares trees, the one holding each Added or
// Deleted where it walks the writable layer.
func (d *dockerDiff) result() []Change {
	var changed []string
	for p, k := range d.out {
		if !d.walk || k != Modified {
			changed = append(changed, p)
		}
	}
	for _, p := range changed {
		for par := parentPath(p); par != ""; par = parentPath(par) {
			if _, ok := d.out[par]; !ok {
				d.out[par] = Modified
			}
			if d.walk {
				break
			}
		}
	}
	return sorted(d.out)
}
