package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strconv"
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
		Usage:     "list the store's images, like docker images",
		UsageText: "aufsmount [--root DIR] images [-a] [-q] [--digests] [--no-trunc] [--format FORMAT | --json] [REPOSITORY[:TAG]]",
		Description: `Lists the images of the store, newest first, as docker images does: one
row per repository and tag; an image known only by digest shows TAG
<none>, an untagged one <none> <none>. SIZE adds up the sizes of its
layers. Intermediate images (untagged, and the parent of another image,
or whose layers start another image's) are left out unless -a is given.
REPOSITORY[:TAG] keeps the rows whose name matches it, with shell
wildcards as docker's reference filter has them ('team/*', 'debian:1*').

--format takes docker's fields: .Repository .Tag .Digest .ID
.CreatedSince .CreatedAt .Size .VirtualSize .SharedSize .UniqueSize
.Containers, and aufsmount's .LayerCount and .Driver. Images whose
metadata is broken are left out, with a warning on stderr naming the
file at fault.

Examples:
   aufsmount images
   aufsmount images -a --digests 'team/*'
   aufsmount images --format '{{.Repository}}:{{.Tag}} {{.Size}}'
   aufsmount --root /srv/old-host/docker images --json`,
		Flags: append(storeFlags(), jsonFlag(), noTruncFlag(),
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show intermediate images too"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print the image ids only, each once"},
			&cli.BoolFlag{Name: "digests", Usage: "show the digests of the images"},
			formatFlag(".Repository .Tag .Digest .ID .CreatedSince .CreatedAt .Size .LayerCount .Driver ..."),
		),
		Action: e.imagesAction,
	}
}

// imageJSON is one image in images --json.
type imageJSON struct {
	ID           string   `json:"id"`
	Names        []string `json:"names"`
	Created      string   `json:"created,omitempty"` // RFC 3339; absent when unknown
	LayerCount   int      `json:"layer_count"`
	Layers       int      `json:"layers"`           // layer_count, under the name it had first; kept for the scripts that use it
	Size         *int64   `json:"size"`             // bytes; null when unknown
	Parent       string   `json:"parent,omitempty"` // the parent image's id, where the store records one
	Intermediate bool     `json:"intermediate"`
	Driver       string   `json:"driver"`              // the storage driver whose tree holds it
	Store        string   `json:"store,omitempty"`     // in a host's filesystem, the store that holds it
	Namespace    string   `json:"namespace,omitempty"` // the containerd namespace that holds it
	Note         string   `json:"note,omitempty"`      // why it cannot be mounted, where so
}

var imageHeaders = map[string]string{
	"Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "ID": "IMAGE ID",
	"CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "VirtualSize": "VIRTUAL SIZE",
	"SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE", "Containers": "CONTAINERS",
	"LayerCount": "LAYERS", "Driver": "DRIVER", "Store": "STORE", "Namespace": "NAMESPACE",
}

func (e *env) imagesAction(c *cli.Context) error {
	if c.NArg() > 1 {
		return usageErrorf("images: expected at most one REPOSITORY[:TAG], got %s (see aufsmount images --help)", nArgs(c.NArg()))
	}
	pattern := c.Args().First()
	if pattern != "" {
		if _, err := path.Match(pattern, ""); err != nil {
			return usageErrorf("images: %q: %v", pattern, err)
		}
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	e.warnProblems(s)
	format, quiet, trunc := c.String("format"), c.Bool("quiet"), !c.Bool("no-trunc")
	if c.Bool("json") && (format != "" || quiet) {
		return usageErrorf("images: --json goes with neither --format nor -q")
	}
	digests := c.Bool("digests") || strings.Contains(format, ".Digest")
	needSize := c.Bool("json") || !quiet && usesField(format, "Size", "VirtualSize")
	sizes := layerstore.NewSizes()
	// JSON lists every image, as docker images -a does, and says which
	// are intermediate.
	list := layerstore.ListImages(s, pattern, c.Bool("all") || c.Bool("json"))
	size := func(img layerstore.Image) int64 {
		n, err := sizes.Image(s, img)
		if err != nil {
			fmt.Fprintf(e.stderr, "aufsmount: warning: image %s: %s\n", layerstore.ShortID(img.ID), oneLine(err.Error()))
		}
		return n
	}
	if c.Bool("json") {
		out := make([]imageJSON, 0, len(list))
		for _, img := range list {
			names := img.Names
			if names == nil {
				names = []string{}
			}
			j := imageJSON{ID: img.ID, Names: names, Created: rfc3339(img.Created), LayerCount: img.Layers, Layers: img.Layers,
				Parent: img.Parent, Intermediate: img.Intermediate, Driver: img.Driver, Store: img.Store,
				Namespace: img.Namespace, Note: img.Note}
			if n := size(img); n >= 0 {
				j.Size = &n
			}
			out = append(out, j)
		}
		return writeJSON(e.stdout, out)
	}
	if quiet {
		seen := map[string]bool{}
		var b strings.Builder
		for _, img := range list {
			id := layerstore.FormatImageID(s, img.Driver, img.ID, trunc)
			if !seen[id] {
				seen[id] = true
				b.WriteString(id + "\n")
			}
		}
		_, err := io.WriteString(e.stdout, b.String())
		return err
	}
	l := &listing{headers: imageHeaders}
	l.def = "table {{.Repository}}\t{{.Tag}}"
	if layerstore.Namespaces(s) > 1 { // containerd's: its names are per namespace
		l.def = "table {{.Namespace}}\t{{.Repository}}\t{{.Tag}}"
	}
	if len(s.Stores()) > 1 { // a host's filesystem
		l.def = strings.Replace(l.def, "table ", "table {{.Store}}\t", 1)
	}
	if c.Bool("digests") {
		l.def += "\t{{.Digest}}"
	}
	l.def += "\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	if len(s.Drivers()) > 1 {
		l.def += "\t{{.Driver}}"
	}
	now := e.now()
	for _, img := range list {
		if img.Note != "" {
			fmt.Fprintf(e.stderr, "aufsmount: note: image %s: %s\n", layerstore.ShortID(img.ID), oneLine(img.Note))
		}
	}
	for _, img := range list {
		sz, vsz := "N/A", "N/A"
		if needSize {
			n := size(img)
			sz, vsz = humanSize(n), humanSizeDigits(n, 4)
		}
		for _, r := range layerstore.NameRows(img.Names, digests) {
			row := map[string]string{
				"Repository": r.Repo, "Tag": r.Tag, "Digest": r.Digest, "ID": layerstore.FormatImageID(s, img.Driver, img.ID, trunc),
				"CreatedSince": relativeTime(img.Created, now), "CreatedAt": dockerTime(img.Created),
				"Size": sz, "VirtualSize": vsz, "SharedSize": "N/A", "UniqueSize": "N/A", "Containers": "N/A",
				"LayerCount": strconv.Itoa(img.Layers), "Driver": img.Driver,
			}
			if img.Store != "" { // a host's filesystem; docker's {{json .}} has no such field
				row["Store"] = img.Store
			}
			if img.Namespace != "" {
				row["Namespace"] = img.Namespace
			}
			l.rows = append(l.rows, row)
		}
	}
	width := 0
	if trunc {
		width = terminalWidth(e.stdout)
	}
	return l.print(e.stdout, "images", format, width)
}

// dockerTime is a time as docker's CreatedAt prints it.
func dockerTime(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return t.Local().Format("2006-01-02 15:04:05 -0700 MST")
}

// warnProblems reports what Open left out, so that a missing image is
// not a mystery. They do not change the exit status.
func (e *env) warnProblems(s layerstore.Source) {
	for _, p := range s.Problems() {
		fmt.Fprintf(e.stderr, "aufsmount: warning: %s\n", oneLine(p.Error()))
	}
	for _, u := range s.Unread() {
		fmt.Fprintf(e.stderr, "aufsmount: note: store %s (%s) found, not read: %s\n", u.Name, u.Dir, oneLine(u.Why))
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
