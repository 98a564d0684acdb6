package viewplan

import (
	"fmt"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/layerstore"
)

// Tree lays out every image, container and layer of the store for one
// mount (fs.MountTree), under <driver>/ when the store holds more than
// one driver, with each container's binds. A view that cannot be mounted
// (its chain is broken, its path is another's) is left out and the rest
// still mounts: what was left out or worked around is said, and returned
// as notes for the log.
func (p *Planner) Tree() ([]fs.TreeEntry, []string) {
	s := p.s
	var out []fs.TreeEntry
	var notes []string
	warn := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		notes = append(notes, msg)
		p.say("warning", "%s", msg)
	}
	// In a host's filesystem, each store's views are under <store>/, and
	// under <store>/<driver>/ for a store of several drivers; a
	// containerd store's under <namespace>/ where it has several.
	images, ctrs := append(s.Images(), s.DamagedImages()...), s.Containers()
	trees := map[string]map[string]bool{}      // store -> its drivers
	namespaces := map[string]map[string]bool{} // store -> its namespaces
	note := func(store, driver, ns string) {
		if trees[store] == nil {
			trees[store], namespaces[store] = map[string]bool{}, map[string]bool{}
		}
		trees[store][driver] = true
		if ns != "" {
			namespaces[store][ns] = true
		}
	}
	for _, img := range images {
		note(img.Store, img.Driver, img.Namespace)
	}
	for _, c := range ctrs {
		note(c.Store, c.Driver, c.Namespace)
	}
	prefix := func(store, driver, ns string) string {
		at := ""
		if store != "" {
			at = store + "/"
			if len(trees[store]) > 1 {
				at += driver + "/"
			}
		} else if len(s.Drivers()) > 1 {
			at = driver + "/"
		}
		if ns != "" && len(namespaces[store]) > 1 {
			at += ns + "/"
		}
		return at
	}
	resolve := func(what, tree, id string) *layerstore.Target {
		t, err := s.ResolveIn(tree, id)
		if err == nil {
			for _, w := range t.Warnings {
				warn("%s", w)
			}
			err = p.Restore(t)
		}
		if err != nil {
			warn("leaving out %s %s: %v", what, layerstore.ShortID(id), err)
			return nil
		}
		return t
	}
	// Images whose metadata is broken come too: their chain may still be
	// known (layerstore's recover.go); if not, they are said to be left out.
	if !p.o.Filter.Empty() {
		images = nil // the containers it picks, alone
	}
	for _, img := range images {
		t := resolve("image", img.Tree(), img.ID)
		if t == nil {
			continue
		}
		layers, at := Layers(t), prefix(img.Store, img.Driver, img.Namespace)
		out = append(out, fs.TreeEntry{Path: at + "ids/" + img.ID, Layers: layers})
		for _, n := range img.Names {
			out = append(out, fs.TreeEntry{Path: at + "images/" + n, Layers: layers})
		}
	}
	unshown := 0
	for _, c := range ctrs {
		if !p.o.Filter.Match(c) {
			continue
		}
		t := resolve("container", c.Tree(), c.ID)
		if t == nil {
			continue
		}
		if note := Unshown(t); note != "" {
			unshown++
			notes = append(notes, note)
		}
		layers, binds, at := Layers(t), Binds(t, s.Root()), prefix(c.Store, c.Driver, c.Namespace)
		out = append(out, fs.TreeEntry{Path: at + "containers/" + c.ID, Layers: layers, Binds: binds})
		if c.Name != "" && c.Name != c.ID { // containerd's are often named by their id
			out = append(out, fs.TreeEntry{Path: at + "containers/" + c.Name, Layers: layers, Binds: binds})
		}
	}
	if unshown > 0 {
		noun := "containers"
		if unshown == 1 {
			noun = "container"
		}
		p.say("note", "%d %s mount what is not in the store (host directories, tmpfs, volumes of other drivers): not shown; aufsmount inspect lists them", unshown, noun)
	}
	var all []layerstore.Layer
	if p.o.Filter.Empty() {
		var err error
		if all, err = s.Layers(); err != nil {
			warn("listing layers: %v", err)
		}
	}
	for _, l := range all {
		out = append(out, fs.TreeEntry{Path: prefix(l.Store, l.Driver, "") + "layers/" + l.ID, Layers: []fs.Layer{fsLayer(l)}, Raw: true})
	}
	kept, left := fs.PlanTree(out)
	for _, lo := range left {
		warn("leaving out %s: %s", lo.Entry.Path, lo.Reason)
	}
	return kept, notes
}
