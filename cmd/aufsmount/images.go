package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/layerstore"
)

func jsonFlag() cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: "print a JSON array instead of a table"}
}

func noTruncFlag() cli.Flag {
	return &cli.BoolFlag{Name: "no-trunc", Usage: "do not shorten ids and commands"}
}

func (e *env) imagesCommand() *cli.Command {
	return &cli.Command{
		Name:      "images",
		Usage:     "list the store's images, like docker images -a",
		UsageText: "aufsmount [--root DIR] images [--json] [--no-trunc]",
		Description: `Lists every image of the store, newest first: one row per repository and
tag; an image known only by digest shows TAG <none>, an untagged one
<none> <none>. Images whose metadata is broken are left out, with a
warning on stderr naming the file at fault.

Examples:
   aufsmount images
   aufsmount --root /srv/old-host/docker images --json`,
		Flags:  append(storeFlags(), jsonFlag(), noTruncFlag()),
		Action: e.imagesAction,
	}
}

// imageJSON is one image in images --json.
type imageJSON struct {
	ID      string   `json:"id"`
	Names   []string `json:"names"`
	Created string   `json:"created,omitempty"` // RFC 3339; absent when unknown
	Layers  int      `json:"layers"`
	Driver  string   `json:"driver"` // the storage driver whose tree holds it
}

func (e *env) imagesAction(c *cli.Context) error {
	if c.NArg() != 0 {
		return usageErrorf("images: takes no arguments (see aufsmount images --help)")
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	e.warnProblems(s)
	images := s.Images()
	if c.Bool("json") {
		out := make([]imageJSON, 0, len(images))
		for _, img := range images {
			names := img.Names
			if names == nil {
				names = []string{}
			}
			out = append(out, imageJSON{ID: img.ID, Names: names, Created: rfc3339(img.Created), Layers: img.Layers, Driver: img.Driver})
		}
		return writeJSON(e.stdout, out)
	}
	now := e.now()
	tw := newTable(e.stdout)
	drivers := newDriverColumn(s)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tLAYERS"+drivers.header())
	for _, img := range images {
		id := img.ID
		if !c.Bool("no-trunc") {
			id = layerstore.ShortID(id)
		}
		for _, r := range imageRows(img.Names) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d%s\n", r.repo, r.tag, id, relativeTime(img.Created, now), img.Layers, drivers.cell(img.Driver))
		}
	}
	return tw.Flush()
}

type imageRow struct{ repo, tag string }

// imageRows lays an image's names out the way docker images does: a row
// per tag; a repository known only by digest gets one row with tag
// <none>; no names at all gives <none> <none>.
func imageRows(names []string) []imageRow {
	var rows []imageRow
	var digestOnly []string
	tagged := map[string]bool{}
	for _, n := range names {
		repo, tag, digest := splitName(n)
		switch {
		case tag != "":
			rows = append(rows, imageRow{repo, tag})
			tagged[repo] = true
		case digest != "":
			digestOnly = append(digestOnly, repo)
		}
	}
	seen := map[string]bool{}
	for _, repo := range digestOnly {
		if !tagged[repo] && !seen[repo] {
			rows = append(rows, imageRow{repo, "<none>"})
			seen[repo] = true
		}
	}
	if len(rows) == 0 {
		rows = append(rows, imageRow{"<none>", "<none>"})
	}
	return rows
}

// splitName splits a short name ("busybox:latest",
// "registry:5000/team/app:v2", "busybox@sha256:<hex>") into repository and
// tag or digest. A registry's port is not a tag: the tag follows the last
// slash.
func splitName(name string) (repo, tag, digest string) {
	if i := strings.IndexByte(name, '@'); i >= 0 {
		return name[:i], "", name[i+1:]
	}
	slash := strings.LastIndexByte(name, '/')
	if i := strings.LastIndexByte(name, ':'); i > slash {
		return name[:i], name[i+1:], ""
	}
	return name, "", ""
}

// warnProblems reports what Open left out, so that a missing image is
// not a mystery. They do not change the exit status.
func (e *env) warnProblems(s *layerstore.Store) {
	for _, p := range s.Problems() {
		fmt.Fprintf(e.stderr, "aufsmount: warning: %s\n", oneLine(p.Error()))
	}
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}
