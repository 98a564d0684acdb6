package main

import (
	"log"

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
single mounts, or faster.

Examples:
   aufsmount mount-all /mnt/store
   aufsmount --root /srv/old-host/docker --all /mnt/store`,
		Flags:  mountFlags(),
		Action: e.mountAction,
	}
}

// storeTree lays out every image, container and layer of s, under
// <driver>/ when the store holds more than one driver. A view whose chain
// is broken is left out and logged: the rest still mounts.
func storeTree(s *layerstore.Store, logger *log.Logger) []fs.TreeEntry {
	var out []fs.TreeEntry
	mw := newMarkerWarner(logger.Writer())
	prefix := func(driver string) string {
		if len(s.Drivers()) > 1 {
			return driver + "/"
		}
		return ""
	}
	for _, img := range s.Images() {
		t, err := s.ResolveIn(img.Driver, img.ID)
		if err == nil {
			err = mw.restore(s, t)
		}
		if err != nil {
			logger.Printf("leaving out image %s: %v", layerstore.ShortID(img.ID), err)
			continue
		}
		layers, at := viewLayers(t), prefix(img.Driver)
		out = append(out, fs.TreeEntry{Path: at + "ids/" + img.ID, Layers: layers})
		for _, n := range img.Names {
			out = append(out, fs.TreeEntry{Path: at + "images/" + n, Layers: layers})
		}
	}
	for _, c := range s.Containers() {
		t, err := s.ResolveIn(c.Driver, c.ID)
		if err == nil {
			err = mw.restore(s, t)
		}
		if err != nil {
			logger.Printf("leaving out container %s: %v", layerstore.ShortID(c.ID), err)
			continue
		}
		layers, at := viewLayers(t), prefix(c.Driver)
		out = append(out, fs.TreeEntry{Path: at + "containers/" + c.ID, Layers: layers})
		if c.Name != "" {
			out = append(out, fs.TreeEntry{Path: at + "containers/" + c.Name, Layers: layers})
		}
	}
	all, err := s.Layers()
	if err != nil {
		logger.Printf("listing layers: %v", err)
	}
	for _, l := range all {
		out = append(out, fs.TreeEntry{Path: prefix(l.Driver) + "layers/" + l.ID, Layers: []fs.Layer{{ID: l.ID, Dir: l.Dir}}, Raw: true})
	}
	return out
}

// viewLayers is what the fs package mounts for a target: its stack, each
// layer with its encoding and the markers its tar-split restored.
func viewLayers(t *layerstore.Target) []fs.Layer {
	out := make([]fs.Layer, len(t.Stack))
	for i, l := range t.Stack {
		out[i] = fs.Layer{ID: l.ID, Dir: l.Dir, Encoding: l.Encoding, Markers: l.Markers}
	}
	return out
}
