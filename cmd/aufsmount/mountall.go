package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/layerstore"
)

func (e *env) mountAllCommand() *cli.Command {
	return &cli.Command{
		Name:      "mount-all",
		Usage:     "mount every image, container and layer of the store in one read-only tree",
		UsageText: "aufsmount mount-all [-f] [--debug] [--log FILE] [-o OPTS] MOUNTPOINT",
		Description: `Mounts the whole store at MOUNTPOINT (also: aufsmount --all MOUNTPOINT):

   images/<name>:<tag>       every tag; a name keeps its slashes as
                             directories (images/user/app:v1,
                             images/registry:5000/team/app:v2), and
                             images/<name>@sha256:<hex> for digest names
   ids/<image id>/           every image, tagged or not
   containers/<name>/        every container, by name and by full id
   containers/<id>/
   layers/<layer id>/        one layer's own files as stored, whiteouts
                             visible, for inspection

Each view is merged on first use. Views share their layers' inodes and
caches, so diff -r images/app:v1 images/app:v2 is as fast as diffing two
single mounts, or faster. A container's view has its volumes and
/etc/hosts as a single mount has them.

A view that cannot be laid out is left out and the rest mounts: a tag
whose path is a directory of other views (x:5000 beside x:5000/z:1; the
image is still under ids/), an image or container whose chain is broken.
What is left out, or mounted from the driver's own files because its
image metadata is damaged, is said on stderr before the mount is made.

Examples:
   aufsmount mount-all /mnt/store
   aufsmount --root /srv/old-host/docker --all /mnt/store`,
		Flags:  mountFlags(),
		Action: e.mountAction,
	}
}

// storeTree lays out every image, container and layer of s, under
// <driver>/ when the store holds more than one driver, with each
// container's binds. A view that cannot be mounted (its chain is
// broken, its path is another's) is left out and the rest still mounts:
// what was left out or worked around is said on warn, and returned as
// notes for the log.
func storeTree(s *layerstore.Store, warn io.Writer, asIs bool) ([]fs.TreeEntry, []string) {
	var out []fs.TreeEntry
	var notes []string
	say := func(format string, args ...any) {
		msg := oneLine(fmt.Sprintf(format, args...))
		notes = append(notes, msg)
		fmt.Fprintf(warn, "aufsmount: warning: %s\n", msg)
	}
	mw := newMarkerWarner(warn)
	mw.asIs = asIs
	prefix := func(driver string) string {
		if len(s.Drivers()) > 1 {
			return driver + "/"
		}
		return ""
	}
	resolve := func(what, driver, id string) *layerstore.Target {
		t, err := s.ResolveIn(driver, id)
		if err == nil {
			for _, w := range t.Warnings {
				say("%s", w)
			}
			err = mw.restore(s, t)
		}
		if err != nil {
			say("leaving out %s %s: %v", what, layerstore.ShortID(id), err)
			return nil
		}
		return t
	}
	// Images whose metadata is broken come too: their chain may still be
	// known (layerstore's recover.go); if not, they are said to be left out.
	for _, img := range append(s.Images(), s.DamagedImages()...) {
		t := resolve("image", img.Driver, img.ID)
		if t == nil {
			continue
		}
		layers, at := viewLayers(t), prefix(img.Driver)
		out = append(out, fs.TreeEntry{Path: at + "ids/" + img.ID, Layers: layers})
		for _, n := range img.Names {
			out = append(out, fs.TreeEntry{Path: at + "images/" + n, Layers: layers})
		}
	}
	unshown := 0
	for _, c := range s.Containers() {
		t := resolve("container", c.Driver, c.ID)
		if t == nil {
			continue
		}
		if len(t.Unshown) > 0 {
			unshown++
			notes = append(notes, unshownNote(t))
		}
		layers, binds, at := viewLayers(t), viewBinds(t, s.Root()), prefix(c.Driver)
		out = append(out, fs.TreeEntry{Path: at + "containers/" + c.ID, Layers: layers, Binds: binds})
		if c.Name != "" {
			out = append(out, fs.TreeEntry{Path: at + "containers/" + c.Name, Layers: layers, Binds: binds})
		}
	}
	if unshown > 0 {
		msg := fmt.Sprintf("%d %s mount what is not in the store (host directories, tmpfs, volumes of other drivers): not shown; aufsmount inspect lists them",
			unshown, plural(unshown, "container", "containers"))
		fmt.Fprintf(warn, "aufsmount: note: %s\n", msg)
	}
	all, err := s.Layers()
	if err != nil {
		say("listing layers: %v", err)
	}
	for _, l := range all {
		out = append(out, fs.TreeEntry{Path: prefix(l.Driver) + "layers/" + l.ID, Layers: []fs.Layer{{ID: l.ID, Dir: l.Dir}}, Raw: true})
	}
	kept, left := fs.PlanTree(out)
	for _, lo := range left {
		say("leaving out %s: %s", lo.Entry.Path, lo.Reason)
	}
	return kept, notes
}

// viewBinds is what the fs package shows over a container's layers: the
// binds of its store, each reached from the store's root.
func viewBinds(t *layerstore.Target, root string) []fs.Bind {
	var out []fs.Bind
	for _, b := range t.Binds {
		out = append(out, fs.Bind{Dest: b.Dest, Root: root, Source: b.Source, ID: b.Source})
	}
	return out
}

// unshownNote says in one line which mount points of a container its
// view cannot show.
func unshownNote(t *layerstore.Target) string {
	var parts []string
	for _, u := range t.Unshown {
		parts = append(parts, u.String())
	}
	return fmt.Sprintf("container %s: not shown, not in the store: %s", t.Name, strings.Join(parts, "; "))
}

// viewLayers is what the fs package mounts for a target: its stack, each
// layer with its encoding and the markers its tar-split restored.
func viewLayers(t *layerstore.Target) []fs.Layer {
	out := make([]fs.Layer, len(t.Stack))
	for i, l := range t.Stack {
		out[i] = fs.Layer{ID: l.ID, Dir: l.Dir, Encoding: l.Encoding, Markers: l.Markers}
		if l.Restore != nil {
			out[i].Restore = &fs.Restore{Copier: l.Restore.Copier}
			for _, r := range l.Restore.From {
				out[i].Restore.From = append(out[i].Restore.From, fs.RestoreSource{ID: r.ID, Driver: r.Driver, TarSplit: r.TarSplit, DiffID: r.DiffID})
			}
		}
	}
	withIndexLoaders(out)
	return out
}
