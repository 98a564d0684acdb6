package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/layerstore"
)

func (e *env) layersCommand() *cli.Command {
	return &cli.Command{
		Name:      "layers",
		Aliases:   []string{"history"},
		Usage:     "list the layers of an image or container, top first",
		UsageText: "aufsmount [--root DIR] layers [--json] [--no-trunc] REF",
		Description: `Lists the layer directories that make up REF, top first: for a container
its writable layer, its init layer, then its image's layers. LAYER ID is
the directory name under aufs/diff, DIR its full path, CREATED BY the
command that made it where the metadata says, SIZE its size where the
metadata says ("-" otherwise).

Examples:
   aufsmount layers busybox:latest
   aufsmount history --no-trunc --json my-container`,
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
}

// createdByWidth is where docker history cuts CREATED BY.
const createdByWidth = 45

func (e *env) layersAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("layers: expected one REF, got %d arguments (see aufsmount layers --help)", c.NArg())
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	t, err := s.Resolve(c.Args().First())
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return writeJSON(e.stdout, layersJSON(t.Layers))
	}
	trunc := !c.Bool("no-trunc")
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "LAYER ID\tDIR\tCREATED BY\tSIZE")
	for _, l := range t.Layers {
		id, by := l.ID, oneLine(l.CreatedBy)
		if trunc {
			id, by = layerstore.ShortID(id), ellipsis(by, createdByWidth)
		}
		if by == "" {
			by = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", id, l.Dir, by, humanSize(l.Size))
	}
	return tw.Flush()
}

func layersJSON(layers []layerstore.Layer) []layerJSON {
	out := make([]layerJSON, 0, len(layers))
	for _, l := range layers {
		j := layerJSON{ID: l.ID, Dir: l.Dir, CreatedBy: l.CreatedBy, DiffID: l.DiffID, ChainID: l.ChainID}
		if l.Size >= 0 {
			size := l.Size
			j.Size = &size
		}
		out = append(out, j)
	}
	return out
}
