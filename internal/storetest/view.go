package storetest

import (
	"maps"

	"github.com/aufsmount/aufsmount/layerstore"
)

// View is the merged view of img as its Stack shows it: Merge of its
// layers, the same whatever the driver but for two things the driver
// decides. Link counts are as the driver's directories have them: the
// overlay drivers leave out names aufs hides, hard links of them
// included; vfs trees have only the names the view has; overlay trees
// share inodes with the trees of every layer above or beside them, so
// their counts are not known (0: Compare does not check them). And
// overlay2 loses an image layer's opaque root: the kernel merges the
// roots of its layers, whatever their marks.
func (b *Built) View(img *Image) []Node { return b.view(b.ChainLayers[img], 0) }

// ContainerView is View for a container: Merge of ContainerLayers. Its
// own two layers keep an opaque root (the kernel, which wrote them, never
// makes one: it whites out every name below instead).
func (b *Built) ContainerView(c *Container) []Node {
	own := 2
	if b.Layout == layerstore.LayoutContainers {
		own = 1 // no init layer
	}
	return b.view(b.ContainerLayers[c], own)
}

// view is the view of layers (top first), the first own of them a
// container's.
func (b *Built) view(layers []*Layer, own int) []Node {
	form := b.Driver
	if b.form != "" {
		form = b.form
	}
	xs := make([]*expanded, len(layers))
	for i, l := range layers {
		x, err := expand(l)
		if err != nil {
			panic(err) // Write checked them
		}
		if form == DriverOverlay2 && i >= own && x.byPath[opqName] != nil {
			y := *x
			y.byPath = maps.Clone(x.byPath)
			delete(y.byPath, opqName)
			x = &y
		}
		xs[i] = x
	}
	nodes := mergeExpanded(xs)
	names := map[inodeKey]int{}
	kept := make([]map[string]int, len(xs))
	for i := range nodes {
		n := &nodes[i]
		if n.Entry.Kind == Dir {
			continue
		}
		switch form {
		case DriverOverlay2, DriverFuseOverlayfs:
			if kept[n.Layer] == nil {
				_, kept[n.Layer] = overlayForm(xs[n.Layer], encoding{}, nil)
			}
			n.Nlink = kept[n.Layer][n.Origin]
		case DriverVFS:
			names[keyOf(*n)]++
		case DriverOverlay:
			n.Nlink = 0
		}
	}
	if form == DriverVFS {
		for i := range nodes {
			if nodes[i].Entry.Kind != Dir {
				nodes[i].Nlink = names[keyOf(nodes[i])]
			}
		}
	}
	return nodes
}
