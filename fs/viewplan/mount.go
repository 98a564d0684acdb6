package viewplan

import (
	"strings"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/layerstore"
)

// Mount is what one mount serves, resolved: the layers and binds of a
// reference's view, or for mount-all every view of the store. It is
// plain data, JSON as it is, so that a command can resolve it while the
// process that will serve it starts, and hand it over.
type Mount struct {
	Root   string     `json:"root"`
	Driver string     `json:"driver,omitempty"` // the storage driver of the view (for mount-all, of the store)
	Layers []fs.Layer `json:"layers"`
	Binds  []fs.Bind  `json:"binds,omitempty"` // a container's /etc/hosts, volumes ... over its layers
	// Tree is, for mount-all, every view of the store.
	Tree []fs.TreeEntry `json:"tree,omitempty"`
	// Notes are what was said of the mount (views left out, mount points
	// not shown), for the log of the process that serves it.
	Notes []string `json:"notes,omitempty"`
}

// Mount resolves ref (Resolve) to what a mount of it serves. The mount
// points of a container that its view cannot show (Unshown) are said as
// a note, and kept in Notes. With Options.Index, the layers of an image
// archive are indexed here, where a display can show how it goes.
func (p *Planner) Mount(ref string) (*Mount, error) {
	t, err := p.Resolve(ref)
	if err != nil {
		return nil, err
	}
	m := &Mount{Root: p.s.Root(), Driver: t.Driver, Layers: Layers(t), Binds: Binds(t, p.s.Root())}
	if t.Archive != "" {
		m.Root = t.Archive // the store of a transport reference's image: its archive
	}
	if p.o.Index != nil {
		layerstore.IndexArchive(t, *p.o.Index)
	}
	if note := Unshown(t); note != "" {
		p.say("note", "%s", note)
		m.Notes = append(m.Notes, note)
	}
	return m, nil
}

// MountAll lays out every view of the store for one mount (Tree).
func (p *Planner) MountAll() *Mount {
	tree, notes := p.Tree()
	return &Mount{Root: p.s.Root(), Driver: strings.Join(p.s.Drivers(), ","), Tree: tree, Notes: notes}
}
