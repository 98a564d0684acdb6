package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/layerstore"
)

func (e *env) layersCommand() *cli.Command {
	return &cli.Command{
		Name:      "layers",
		Usage:     "list the layer directories of an image or container, top first",
		UsageText: "aufsmount [--root DIR] layers [--json] [--no-trunc] REF",
		Description: `Lists the layer directories that make up REF, top first: for a container
its writable layer, its init layer, then its image's layers. LAYER ID is
the directory's name in the driver's tree, DIR where it is (the store's
root left out and ids cut, as .../overlay2/3f9c0a1b2c3d.../diff, unless
--no-trunc), CREATED BY the command that made it where the metadata
says, SIZE what the store's size file says, or what the directory holds
when that says 0 or is missing ("-" when neither can be told). For the
steps of an image as docker shows them, see aufsmount history.

Examples:
   aufsmount layers busybox:latest
   aufsmount layers --no-trunc --json my-container`,
		Flags:  append(storeFlags(), jsonFlag(), noTruncFlag()),
		Action: e.layersAction,
	}
}

// layerJSON is one layer in layers --json.
type layerJSON struct {
	ID        string `json:"id"`
	Dir       string `json:"dir"`
	CreatedBy string `json:"created_by"`
	Size      *int64 `json:"size"` // null when unknown
	DiffID    string `json:"diff_id,omitempty"`
	ChainID   string `json:"chain_id,omitempty"`
	// Archive is where a layer of an image archive is (it has no dir).
	Archive *layerstore.ArchiveBlob `json:"archive,omitempty"`
}

// createdByWidth is where docker history cuts CREATED BY.
const createdByWidth = 45

func (e *env) layersAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("layers: expected one REF, got %s (see aufsmount layers --help)", nArgs(c.NArg()))
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	t, err := e.resolve(s, c.Args().First())
	if err != nil {
		return err
	}
	sizes := layerstore.NewSizes()
	if c.Bool("json") {
		return writeJSON(e.stdout, layersJSON(t.Layers, sizes))
	}
	trunc := !c.Bool("no-trunc")
	width := 0
	if trunc {
		width = terminalWidth(e.stdout)
	}
	g := newGrid(width, column{header: "LAYER ID"}, column{header: "DIR", fit: cutPath},
		column{header: "CREATED BY", fit: cutEnd}, column{header: "SIZE"})
	for _, l := range t.Layers {
		id, dir, by := l.ID, l.Where(), oneLine(l.CreatedBy)
		if trunc {
			id, dir, by = layerstore.ShortID(id), shortDir(dir, s.Root()), ellipsis(by, createdByWidth)
		}
		if by == "" {
			by = "-"
		}
		g.add(id, dir, by, humanSize(sizes.Layer(l)))
	}
	return g.write(e.stdout)
}

func layersJSON(layers []layerstore.Layer, sizes *layerstore.Sizes) []layerJSON {
	out := make([]layerJSON, 0, len(layers))
	for _, l := range layers {
		j := layerJSON{ID: l.ID, Dir: l.Dir, CreatedBy: l.CreatedBy, DiffID: l.DiffID, ChainID: l.ChainID, Archive: l.Archive}
		if size := sizes.Layer(l); size >= 0 {
			j.Size = &size
		}
		out = append(out, j)
	}
	return out
}

// resolve resolves ref in s, and says what was wrong with the store but
// worked around (a damaged image config: Target.Warnings).
func (e *env) resolve(s layerstore.Source, ref string) (*layerstore.Target, error) {
	t, err := s.Resolve(ref)
	if err != nil {
		return nil, err
	}
	for _, w := range t.Warnings {
		fmt.Fprintf(e.stderr, "aufsmount: warning: %s\n", oneLine(w))
	}
	return t, nil
}
