package main

import (
	"fmt"
	"io"

	"github.com/aufsmount/aufsmount/fs/viewplan"
	"github.com/aufsmount/aufsmount/layerstore"
)

// planner is the view planner (package viewplan) of one command: what it
// worked around or restored is said on w, a line each, once per layer.
// asIs restores nothing (-o as-is).
func planner(s layerstore.Source, w io.Writer, asIs bool) *viewplan.Planner {
	return plannerFiltered(s, w, asIs, layerstore.Filter{})
}

// plannerFiltered is planner whose whole-store tree has the containers
// filter matches alone (mount-all --filter).
// The first index pass over an archive's image shows its progress on w.
func plannerFiltered(s layerstore.Source, w io.Writer, asIs bool, filter layerstore.Filter) *viewplan.Planner {
	var prog *progress
	return viewplan.New(s, viewplan.Options{AsIs: asIs, Filter: filter, Say: func(kind, msg string) {
		fmt.Fprintf(w, "aufsmount: %s: %s\n", kind, oneLine(msg))
	}, Index: &layerstore.IndexProgress{
		Start:     func(image string, layers int, bytes int64) { prog = newProgress(w, "indexing "+image, layers, bytes) },
		Progress:  func(n int64) { prog.add(n) },
		LayerDone: func() { prog.layerDone() },
		End:       func() { prog.close() },
	}})
}
