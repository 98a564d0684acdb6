package main

import (
	"fmt"
	"io"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/fs/viewplan"
	"github.com/aufsmount/aufsmount/layerstore"
)

// markerWarner is the command's view planner (package viewplan): it
// resolves and restores the views of one command, and says on w, once
// per layer, what it worked around or restored. asIs restores nothing
// (-o as-is).
type markerWarner struct {
	w    io.Writer
	asIs bool
	p    *viewplan.Planner
}

func newMarkerWarner(w io.Writer) *markerWarner { return &markerWarner{w: w} }

func (m *markerWarner) planner(s *layerstore.Store) *viewplan.Planner {
	if m.p == nil {
		m.p = viewplan.New(s, viewplan.Options{AsIs: m.asIs, Say: sayTo(m.w)})
	}
	return m.p
}

// sayTo prints what a planner says on w, a line each.
func sayTo(w io.Writer) func(kind, msg string) {
	return func(kind, msg string) { fmt.Fprintf(w, "aufsmount: %s: %s\n", kind, oneLine(msg)) }
}

func (m *markerWarner) restore(s *layerstore.Store, t *layerstore.Target) error {
	return m.planner(s).Restore(t)
}

// resolveView resolves ref in s and restores what its layers lost
// (viewplan.Planner.Resolve).
func (m *markerWarner) resolveView(s *layerstore.Store, ref string) (*layerstore.Target, error) {
	return m.planner(s).Resolve(ref)
}

// withIndexLoaders is viewplan.WithLoaders.
func withIndexLoaders(layers []fs.Layer) { viewplan.WithLoaders(layers) }
