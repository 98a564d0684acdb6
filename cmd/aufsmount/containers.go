package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/layerstore"
)

func (e *env) containersCommand() *cli.Command {
	return &cli.Command{
		Name:      "containers",
		Aliases:   []string{"ps"},
		Usage:     "list the store's containers, like docker ps -a",
		UsageText: "aufsmount [--root DIR] containers [--json] [--no-trunc]",
		Description: `Lists every container of the store, running or not when the store was
copied, newest first. A container can be mounted by id, id prefix or name:
the view is its image with its own changes on top.

Examples:
   aufsmount containers
   aufsmount ps --json`,
		Flags:  append(storeFlags(), jsonFlag(), noTruncFlag()),
		Action: e.containersAction,
	}
}

// containerJSON is one container in containers --json.
type containerJSON struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Image   string   `json:"image"`
	ImageID string   `json:"image_id"`
	Created string   `json:"created,omitempty"` // RFC 3339; absent when unknown
	Layers  []string `json:"layers"`            // top first: writable, init, the image's chain
	Error   string   `json:"error,omitempty"`   // why Layers could not be resolved
	Driver  string   `json:"driver"`            // the storage driver of its layers
}

func (e *env) containersAction(c *cli.Context) error {
	if c.NArg() != 0 {
		return usageErrorf("containers: takes no arguments (see aufsmount containers --help)")
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	e.warnProblems(s)
	containers := s.Containers()
	if c.Bool("json") {
		out := make([]containerJSON, 0, len(containers))
		for _, ct := range containers {
			j := containerJSON{ID: ct.ID, Name: ct.Name, Image: ct.Image, ImageID: ct.ImageID, Created: rfc3339(ct.Created), Layers: []string{}, Driver: ct.Driver}
			// The full id cannot be ambiguous, and Resolve checks the chain.
			t, err := s.ResolveIn(ct.Driver, ct.ID)
			if err != nil {
				j.Error = err.Error()
				fmt.Fprintf(e.stderr, "aufsmount: warning: container %s: %s\n", layerstore.ShortID(ct.ID), oneLine(err.Error()))
			} else {
				for _, l := range t.Layers {
					j.Layers = append(j.Layers, l.ID)
				}
			}
			out = append(out, j)
		}
		return writeJSON(e.stdout, out)
	}
	now := e.now()
	tw := newTable(e.stdout)
	drivers := newDriverColumn(s)
	fmt.Fprintln(tw, "CONTAINER ID\tIMAGE\tCREATED\tNAMES"+drivers.header())
	for _, ct := range containers {
		id := ct.ID
		if !c.Bool("no-trunc") {
			id = layerstore.ShortID(id)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\n", id, ct.Image, relativeTime(ct.Created, now), ct.Name, drivers.cell(ct.Driver))
	}
	return tw.Flush()
}
