package main

import (
	"fmt"
	"io"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

// markerWarner restores, for the views of one command, what image
// layers lost when the store was copied: whiteouts and opaque markers
// (layerstore.RecoverMarkers), owners, modes, times, xattrs, devices,
// fifos and hard links (layerstore.RecoverCopy); and says so once per
// layer. asIs restores nothing (-o as-is).
type markerWarner struct {
	w    io.Writer
	seen map[string]bool
	asIs bool
}

func newMarkerWarner(w io.Writer) *markerWarner {
	return &markerWarner{w: w, seen: map[string]bool{}}
}

func (m *markerWarner) restore(s *layerstore.Store, t *layerstore.Target) error {
	if m.asIs {
		return nil
	}
	repairs, err := s.RecoverMarkers(t)
	if err != nil {
		return fmt.Errorf("%s: %w", t.Ref, err)
	}
	losses, err := s.RecoverCopy(t)
	if err != nil {
		return fmt.Errorf("%s: %w", t.Ref, err)
	}
	owners := false
	for _, c := range losses {
		owners = owners || c.Owners || c.Modes || c.Times
		if !m.seen["copy "+c.Layer.Dir] {
			m.seen["copy "+c.Layer.Dir] = true
			fmt.Fprintf(m.w, "aufsmount: note: %s\n", c)
		}
	}
	if owners {
		// The layers above have no tar-split: what the copy did to them
		// stays, and the user should know the view is the copy's there.
		for _, l := range t.Stack {
			if l.TarSplit == "" && !m.seen["copy "+l.Dir] {
				m.seen["copy "+l.Dir] = true
				fmt.Fprintf(m.w, "aufsmount: note: layer %s (%s) has no tar-split: its owners, modes and times are shown as the copy has them\n", l.ID, l.Dir)
			}
		}
	}
	for _, r := range repairs {
		if !m.seen[r.Layer.Dir] {
			m.seen[r.Layer.Dir] = true
			fmt.Fprintf(m.w, "aufsmount: warning: %s\n", r)
		}
	}
	return nil
}

// resolveView resolves ref in s and restores what its layers lost; the
// target's Stack is then what a view must show. What was worked around
// (Target.Warnings) is said too.
func (m *markerWarner) resolveView(s *layerstore.Store, ref string) (*layerstore.Target, error) {
	t, err := s.Resolve(ref)
	if err != nil {
		return nil, err
	}
	for _, w := range t.Warnings {
		fmt.Fprintf(m.w, "aufsmount: warning: %s\n", oneLine(w))
	}
	if err := m.restore(s, t); err != nil {
		return nil, err
	}
	return t, nil
}

// withIndexLoaders lets the layers whose metadata the view restores load
// their tar-split's index (layerstore.LoadIndex) when first used.
func withIndexLoaders(layers []fs.Layer) {
	for i := range layers {
		r := layers[i].Restore
		if r == nil {
			continue
		}
		var from []layerstore.Layer
		for _, s := range r.From {
			from = append(from, layerstore.Layer{ID: s.ID, Driver: s.Driver, TarSplit: s.TarSplit, DiffID: s.DiffID})
		}
		r.Load = func() (*layertar.Packed, error) { return layerstore.LoadRestore(from) }
	}
}
