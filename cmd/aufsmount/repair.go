package main

import (
	"fmt"
	"io"

	"github.com/aufsmount/aufsmount/layerstore"
)

// markerWarner restores, for the views of one command, the whiteouts and
// opaque markers that image layers lost when the store was copied
// (layerstore.RecoverMarkers), and says so once per layer.
type markerWarner struct {
	w    io.Writer
	seen map[string]bool
}

func newMarkerWarner(w io.Writer) *markerWarner {
	return &markerWarner{w: w, seen: map[string]bool{}}
}

func (m *markerWarner) restore(s *layerstore.Store, t *layerstore.Target) error {
	repairs, err := s.RecoverMarkers(t)
	if err != nil {
		return fmt.Errorf("%s: %w", t.Ref, err)
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
