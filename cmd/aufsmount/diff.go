package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/internal/words"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/changes"
)

func (e *env) diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "list the paths that differ between two images or containers, or what a container changed",
		UsageText: "aufsmount [--root DIR] diff [--json] [--exit-code] REF1 REF2\n   aufsmount [--root DIR] diff [--json] [--exit-code] CONTAINER",
		Description: `With one CONTAINER, prints what docker diff prints: what the container
changed, its writable layer against its image and init layer, sorted by
path. A for a path it added, D for one it deleted, C for one it changed
as Docker 20.10 decides: for aufs, whatever the writable layer holds
that is below too, but a directory that kept its mode, size and
modification time, which is C only when it holds a path added or
deleted; for the other drivers, a path whose type, mode, owner, device
number or capability differ, or for anything but a directory its size
or modification time, and every directory above a change. The
files Docker writes for every container (/etc/hosts, /etc/hostname,
/.dockerenv ...) are not listed unless the container changed them.

With REF1 and REF2, compares the merged views of the two, without
mounting, and prints one line per path that differs, sorted by path:

   A /path   in REF2 only (added)
   D /path   in REF1 only (deleted)
   C /path   in both, changed: content, type, mode bits, owner, symlink
             target, device number or extended attributes (not times,
             not link counts)

A directory in one of them only is listed with everything below it.
Only the paths that the layers the two do not share touch are looked at,
so two images that differ by a small layer compare at once whatever
their size. In paths, a backslash prints as \\, a newline as \n, a tab
as \t, and other control characters, non-printable characters and bytes
that are not UTF-8 as \ooo (octal). --json prints an array of
{"op", "path"} with the path as it is, plus "path_base64" holding its
bytes when it is not valid UTF-8 (JSON strings cannot hold such bytes).

--exit-code makes the exit status 1 when there are differences (0 when
there are none, 2 or 1 on errors, as otherwise), for scripts.

Neither form looks at a container's volumes and other mounts: only at
its layers.

Examples:
   aufsmount diff busybox:latest user/app:v1
   aufsmount diff --json user/app:v1 my-container
   aufsmount diff --exit-code my-container || echo changed`,
		Flags: append(storeFlags(),
			&cli.BoolFlag{Name: "json", Usage: `print a JSON array of {"op", "path"} instead of lines`},
			&cli.BoolFlag{Name: "exit-code", Usage: "exit with status 1 when there are differences"}),
		Action: e.diffAction,
	}
}

func (e *env) diffAction(c *cli.Context) error {
	if c.NArg() != 1 && c.NArg() != 2 {
		return usageErrorf("diff: expected REF1 REF2 or a CONTAINER, got %s (see aufsmount diff --help)", nArgs(c.NArg()))
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	p := planner(s, e.stderr, false)
	t1, err := p.Resolve(c.Args().Get(0))
	if err != nil {
		return err
	}
	var cs []changes.Change
	if c.NArg() == 1 {
		if t1.Kind != layerstore.KindContainer {
			return usageErrorf("diff: %s is an image: one REF must be a container (what it changed); compare an image with another REF (see aufsmount diff --help)", c.Args().Get(0))
		}
		cs, err = changes.OfContainerTarget(t1)
	} else {
		var t2 *layerstore.Target
		if t2, err = p.Resolve(c.Args().Get(1)); err != nil {
			return err
		}
		cs, err = changes.BetweenTargets(t1, t2)
	}
	if err != nil {
		return err
	}
	if c.Bool("json") {
		err = writeJSON(e.stdout, diffJSON(cs))
	} else {
		var b strings.Builder
		for _, ch := range cs {
			fmt.Fprintf(&b, "%s %s\n", ch.Kind, words.Path(ch.Path))
		}
		_, err = io.WriteString(e.stdout, b.String())
	}
	if err == nil && c.Bool("exit-code") && len(cs) > 0 {
		return errSilent
	}
	return err
}

type changeJSON struct {
	Op         string `json:"op"`
	Path       string `json:"path"`
	PathBase64 string `json:"path_base64,omitempty"`
}

func diffJSON(cs []changes.Change) []changeJSON {
	out := make([]changeJSON, 0, len(cs))
	for _, ch := range cs {
		j := changeJSON{Op: ch.Kind.String(), Path: ch.Path}
		if !utf8.ValidString(ch.Path) {
			j.PathBase64 = base64.StdEncoding.EncodeToString([]byte(ch.Path))
		}
		out = append(out, j)
	}
	return out
}
