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
func plannerFiltered(s layerstore.Source, w io.Writer, asIs bool, filter layerstore.Filter) *viewplan.Planner {
	return viewplan.New(s, viewplan.Options{AsIs: asIs, Filter: filter, Say: func(kind, msg string) {
		fmt.Fprintf(w, "aufsmount: %s: %s\n", kind, oneLine(msg))
	}})
}
