package main

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/fs/viewplan"
	"github.com/aufsmount/aufsmount/internal/words"
	"github.com/aufsmount/aufsmount/layerstore"
)

func (e *env) whichCommand() *cli.Command {
	return &cli.Command{
		Name:      "which",
		Usage:     "tell which layer provides a path of an image or container",
		UsageText: "aufsmount [--root DIR] which [--json] [--no-trunc] REF PATH",
		Description: `Prints the layer that provides PATH in the view of REF, then every lower
layer that also has an entry at PATH, top first. STATUS is "provides"
for the layer shown, "merged" for a lower directory whose entries show
in the directory shown (its own attributes do not), or "hidden" with
the reason: whited out by a layer above (at PATH or at a parent
directory), under a directory made opaque by a layer above, or
shadowed by a layer above that has another kind of entry there (no
merging through a file or symlink). PATH is taken from the root of the
image, with or without a leading "/"; symlinks are never followed.

In a container, what Docker mounted into it and the store holds (its
/etc/hostname, /etc/hosts and /etc/resolv.conf, its volumes, binds of
paths in the store) is over the layers, as a mount shows it: its "layer"
is its source in the store (containers/<id>/hosts, volumes/<name>/_data),
and what the layers have at or below it is hidden, mounted over.

A mount answers the same for its files: the extended attribute
user.aufsmount.layer holds the id of the layer that provides a path
(getfattr -n user.aufsmount.layer FILE).

If PATH is not in the view, the layers that have it are still listed,
and the exit status is 1.

Examples:
   aufsmount which user/app:v1 /etc/motd
   aufsmount which --no-trunc --json my-container etc/hosts`,
		Flags:  append(storeFlags(), jsonFlag(), noTruncFlag()),
		Action: e.whichAction,
	}
}

// providerJSON is one layer in which --json.
type providerJSON struct {
	ID     string `json:"id"`
	Dir    string `json:"dir"`
	Status string `json:"status"`           // provides, merged or hidden
	Reason string `json:"reason,omitempty"` // for hidden: whited out, under opaque directory, shadowed, mounted over
	By     string `json:"by,omitempty"`     // for hidden: the id of the layer that hides it
	At     string `json:"at,omitempty"`     // for hidden: the path the rule applies to (PATH or a parent)
}

func (e *env) whichAction(c *cli.Context) error {
	if c.NArg() != 2 {
		return usageErrorf("which: expected REF PATH, got %s (see aufsmount which --help)", nArgs(c.NArg()))
	}
	ref, path := c.Args().Get(0), c.Args().Get(1)
	s, err := openStore(c)
	if err != nil {
		return err
	}
	t, err := planner(s, e.stderr, false).Resolve(ref)
	if err != nil {
		return err
	}
	// The container's binds too, as its mount shows them.
	v, err := viewplan.OpenWithBinds(t, s.Root())
	if err != nil {
		return err
	}
	defer v.Close()
	ps, err := v.Which(path)
	if errors.Is(err, iofs.ErrNotExist) {
		return fmt.Errorf("%s: %s: no layer has it", ref, words.Path(path))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", ref, err)
	}
	layers := v.Layers()
	if c.Bool("json") {
		out := make([]providerJSON, 0, len(ps))
		for _, p := range ps {
			j := providerJSON{ID: p.LayerID, Dir: p.Dir, Status: p.Status()}
			if p.Hidden() {
				j.Reason, j.By, j.At = p.Reason.String(), layers[p.By].ID, p.At
			}
			out = append(out, j)
		}
		if err := writeJSON(e.stdout, out); err != nil {
			return err
		}
	} else {
		id := func(s string) string { return s }
		if !c.Bool("no-trunc") {
			id = func(id string) string {
				if strings.Contains(id, "/") { // a bind's source in the store
					return strings.TrimPrefix(shortDir(filepath.Join(s.Root(), id), s.Root()), ".../")
				}
				return layerstore.ShortID(id)
			}
		}
		dir, width := func(d string) string { return d }, 0
		if !c.Bool("no-trunc") {
			dir, width = func(d string) string { return shortDir(d, s.Root()) }, terminalWidth(e.stdout)
		}
		g := newGrid(width, column{header: "LAYER ID"}, column{header: "DIR", fit: cutPath}, column{header: "STATUS", fit: cutEnd})
		for _, p := range ps {
			st := p.Status()
			if p.Hidden() {
				st += ": " + p.Why(id(layers[p.By].ID))
			}
			g.add(id(p.LayerID), dir(p.Dir), st)
		}
		if err := g.write(e.stdout); err != nil {
			return err
		}
	}
	if ps[0].Hidden() {
		return fmt.Errorf("%s: %s: not in the view (hidden in %d %s)", ref, words.Path(path), len(ps), words.Plural(len(ps), "layer", "layers"))
	}
	return nil
}
