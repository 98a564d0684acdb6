// Package whiteout holds the ways Docker's storage drivers write down,
// inside a layer directory, that a path of the layers below is deleted
// (a whiteout) or that a directory hides everything below it (an opaque
// directory), as data: one Encoding per way, each a row of one table.
//
// The union (package fs) asks an Encoding what each name of a layer's
// directory means and whether the directory is opaque; layerstore says
// which Encoding each layer uses. Markers holds the whiteouts and opaque
// directories a layer's tar-split records, for layers whose directory
// lost them. docs/whiteouts.md describes the encodings and the rules.
package whiteout
