package layerstore

import (
	"fmt"
	"path"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/beneath"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// Repair is what RecoverMarkers did for one layer of a view.
type Repair struct {
	Layer     Layer
	Whiteouts int // whiteouts the tar-split records that the directory lost
	Opaque    int // opaque directories likewise
	// Unrecoverable is set for a container layer above a repaired image
	// layer: it was copied the same way and has no tar-split, so what it
	// lost cannot be told or restored.
	Unrecoverable bool
}

func (r Repair) String() string {
	if r.Unrecoverable {
		return fmt.Sprintf("layer %s (%s) has no tar-split; if it lost whiteouts or opaque markers when the store was copied, they cannot be recovered", r.Layer.ID, r.Layer.Dir)
	}
	return fmt.Sprintf("layer %s (%s) lacks %d whiteouts and %d opaque markers that its tar-split records (copied without device nodes or xattrs?): the view follows the tar-split", r.Layer.ID, r.Layer.Dir, r.Whiteouts, r.Opaque)
}

// losable reports whether a copy of the store can lose enc's markers:
// device nodes (copied without root) and xattrs (copied without -X).
func losable(enc *whiteout.Encoding) bool {
	return enc != nil && (enc.Devices || len(enc.OpaqueXattrs) > 0)
}

// RecoverMarkers checks each image layer of t's Stack whose encoding keeps
// its markers in device nodes or xattrs against the layer's tar-split
// (docs/drivers.md): markers the tar-split records and the directory
// lacks are set in that layer's Markers, and the layer is reported. When
// one is, every layer above it that has no tar-split (a container's) is
// reported Unrecoverable. A tar-split that cannot be read is an error
// naming it; a layer without one is left as it is.
func (s *Store) RecoverMarkers(t *Target) ([]Repair, error) {
	found := make([]*whiteout.Markers, len(t.Stack))
	counts := make([][2]int, len(t.Stack))
	errs := make([]error, len(t.Stack))
	forEach(len(t.Stack), func(i int) {
		l := t.Stack[i]
		if l.TarSplit == "" || !losable(l.Encoding) {
			return
		}
		m, err := layerMarkers(l)
		if err != nil || m.Empty() {
			errs[i] = err
			return
		}
		found[i], counts[i], errs[i] = missingMarkers(l, m)
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	var out []Repair
	lowest := -1
	for i, m := range found {
		if m.Empty() {
			continue
		}
		t.Stack[i].Markers = m
		out = append(out, Repair{Layer: t.Stack[i], Whiteouts: counts[i][0], Opaque: counts[i][1]})
		lowest = i
	}
	for i := 0; i < lowest; i++ {
		if l := t.Stack[i]; l.TarSplit == "" && losable(l.Encoding) {
			out = append(out, Repair{Layer: l, Unrecoverable: true})
		}
	}
	return out, nil
}

// missingMarkers is the part of m that layer l's directory lacks, with
// how many whiteouts and opaque directories that is.
func missingMarkers(l Layer, m *whiteout.Markers) (*whiteout.Markers, [2]int, error) {
	r, err := beneath.OpenMeta(l.Dir)
	if err != nil {
		return nil, [2]int{}, &CorruptError{File: l.Dir, Err: err}
	}
	defer r.Close()
	miss := &whiteout.Markers{}
	var n [2]int
	for dir, names := range m.Whiteouts {
		for _, name := range names {
			// An entry of the name in its place is not a loss: the tar held
			// both, and only the entry could be unpacked in this form, as
			// the engine's own mount shows it.
			// A directory there is the layer's own, and nothing below
			// merges into it (docs/whiteouts.md, rule 1): the overlay
			// form marks it opaque, which a copy can lose too.
			var st unix.Stat_t
			p := path.Join(dir, name)
			switch {
			case layertar.HasWhiteout(r, l.Encoding, dir, name):
			case r.Lstat(p, &st) != nil:
				miss.Add(path.Join(dir, whiteout.Prefix+name))
				n[0]++
			case st.Mode&unix.S_IFMT == unix.S_IFDIR && l.Encoding.CanBeOpaque(p) && !layertar.HasOpaque(r, l.Encoding, p) && !m.IsOpaque(p):
				miss.Add(path.Join(p, whiteout.OpaqueName))
				n[1]++
			}
		}
	}
	for dir := range m.Opaque {
		if l.Encoding.CanBeOpaque(dir) && !layertar.HasOpaque(r, l.Encoding, dir) {
			miss.Add(path.Join(dir, whiteout.OpaqueName))
			n[1]++
		}
	}
	return miss, n, nil
}
