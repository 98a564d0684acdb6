package main

import (
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/layerstore"
)

func (e *env) historyCommand() *cli.Command {
	return &cli.Command{
		Name:      "history",
		Usage:     "show the history of an image, like docker history",
		UsageText: "aufsmount [--root DIR] history [-q] [--no-trunc] [--format FORMAT | --json] REF",
		Description: `Shows the steps that built the image REF (for a container, its image), top
first, as docker history does: every step, those that made no layer
(CMD, ENV, LABEL ...) included. IMAGE is the image a step made where the
store still has it (the image itself for the top step, then its parents
for a local build), else <missing>; CREATED BY is the command, cut to 45
characters unless --no-trunc; SIZE is the size of the layer the step
made, 0B for one that made none. For the layer directories themselves,
see aufsmount layers.

--format takes docker's fields: .ID .CreatedSince .CreatedAt .CreatedBy
.Size .Comment, and aufsmount's .LayerID (the layer's directory name).

Examples:
   aufsmount history busybox:latest
   aufsmount history --no-trunc --format '{{.CreatedBy}}' user/app:v1`,
		Flags: append(storeFlags(), noTruncFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print a JSON array instead of a table"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print the IMAGE column only"},
			formatFlag(".ID .CreatedSince .CreatedAt .CreatedBy .Size .Comment .LayerID"),
		),
		Action: e.historyAction,
	}
}

// historyJSON is one step in history --json.
type historyJSON struct {
	ID         string `json:"id,omitempty"`      // the image the step made, where the store has it
	Created    string `json:"created,omitempty"` // RFC 3339; absent when unknown
	CreatedBy  string `json:"created_by"`
	Comment    string `json:"comment"`
	EmptyLayer bool   `json:"empty_layer"`
	Size       *int64 `json:"size"`               // bytes; null when unknown
	LayerID    string `json:"layer_id,omitempty"` // the directory of the layer it made
}

var historyHeaders = map[string]string{
	"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
	"Size": "SIZE", "Comment": "COMMENT", "LayerID": "LAYER ID",
}

func (e *env) historyAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("history: expected one REF, got %s (see aufsmount history --help)", nArgs(c.NArg()))
	}
	format, trunc := c.String("format"), !c.Bool("no-trunc")
	if c.Bool("json") && (format != "" || c.Bool("quiet")) {
		return usageErrorf("history: --json goes with neither --format nor -q")
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	t, err := e.resolve(s, c.Args().First())
	if err != nil {
		return err
	}
	steps, err := s.History(t)
	if err != nil {
		return err
	}
	sizes := layerstore.NewSizes()
	if c.Bool("json") {
		out := make([]historyJSON, 0, len(steps))
		for _, h := range steps {
			j := historyJSON{ID: h.ImageID, Created: rfc3339(h.Created), CreatedBy: h.CreatedBy, Comment: h.Comment, EmptyLayer: h.Empty}
			if n := sizes.Step(h); n >= 0 {
				j.Size = &n
			}
			if h.Layer != nil {
				j.LayerID = h.Layer.ID
			}
			out = append(out, j)
		}
		return writeJSON(e.stdout, out)
	}
	id := func(h layerstore.HistoryEntry) string {
		if h.ImageID == "" {
			return "<missing>"
		}
		return layerstore.FormatImageID(s, t.Driver, h.ImageID, trunc)
	}
	if c.Bool("quiet") {
		var b strings.Builder
		for _, h := range steps {
			b.WriteString(id(h) + "\n")
		}
		_, err := io.WriteString(e.stdout, b.String())
		return err
	}
	now := e.now()
	l := &listing{headers: historyHeaders,
		def: "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"}
	for _, h := range steps {
		by := strings.ReplaceAll(h.CreatedBy, "\t", " ")
		if trunc {
			by = ellipsis(oneLine(by), createdByWidth)
		}
		layerID := ""
		if h.Layer != nil {
			layerID = h.Layer.ID
			if trunc {
				layerID = layerstore.ShortID(layerID)
			}
		}
		created := "N/A"
		if !h.Created.IsZero() {
			created = h.Created.Local().Format(time.RFC3339)
		}
		l.rows = append(l.rows, map[string]string{
			"ID": id(h), "CreatedSince": relativeTime(h.Created, now), "CreatedAt": created,
			"CreatedBy": by, "Size": humanSize(sizes.Step(h)), "Comment": h.Comment, "LayerID": layerID,
		})
	}
	width := 0
	if trunc {
		width = terminalWidth(e.stdout)
	}
	return l.print(e.stdout, "history", format, width)
}
