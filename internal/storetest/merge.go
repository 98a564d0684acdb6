package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Node is one visible path of a merged view (or of one layer directory,
// for LayerNodes).
type Node struct {
	Path  string // "" for the root
	Layer int    // index into the layers given, 0 = top, of the entry shown (the topmost directory for a merged one)
	// Entry is what the path shows, with defaults filled in (Mode holds
	// the permission bits, Mtime and Atime are set). A hard link shows
	// the entry of its inode's first name, Path included (Origin): Kind,
	// attributes and content. An implicit parent directory shows as a Dir
	// with the default attributes.
	Entry Entry
	// Layers are, for a directory, the layers merged into it, top first.
	Layers []int
	// Nlink is, for a non-directory, the number of names its inode has in
	// its layer (hard links count, whether visible in the view or not).
	Nlink int
	// Origin is the path in its layer of the inode's first name: nodes with
	// the same Layer and Origin are one inode.
	Origin string
}

// Merge is the merged view of layers (top first) under the aufs rules of
// docs/whiteouts.md: every visible path, sorted by Path bytewise. It
// panics on a description Write would refuse; TryMerge returns the error.
func Merge(layers []*Layer) []Node {
	n, err := TryMerge(layers)
	if err != nil {
		panic(err)
	}
	return n
}

// TryMerge is Merge returning bad descriptions as an error.
func TryMerge(layers []*Layer) ([]Node, error) {
	xs := make([]*expanded, len(layers))
	for i, l := range layers {
		x, err := expand(l)
		if err != nil {
			return nil, fmt.Errorf("layer %d (%s): %w", i, l.name(), err)
		}
		xs[i] = x
	}
	return mergeExpanded(xs), nil
}

// mergeExpanded is Merge of layers already expanded.
func mergeExpanded(xs []*expanded) []Node {
	m := merger{xs: xs}
	var root []int
	for i, x := range xs {
		root = append(root, i)
		if x.byPath[opqName] != nil {
			break // an opaque root hides every layer below
		}
	}
	top := &raw{path: rootPath, e: Entry{Kind: Dir}.normalized(), origin: rootPath}
	if len(xs) > 0 {
		top = xs[0].byPath[rootPath]
	}
	m.out = append(m.out, Node{Path: rootPath, Layer: 0, Entry: top.e, Layers: root, Origin: rootPath})
	m.dir(rootPath, root)
	sortNodes(m.out)
	return m.out
}

type merger struct {
	xs  []*expanded
	out []Node
}

// candidate is what the topmost layer having a name put there, and for a
// directory the layers that merge into it.
type candidate struct {
	layer  int
	r      *raw
	layers []int
	open   bool // a directory still merging with the layers below
}

// dir adds the children of the merged directory path, made of the
// directories of list (top first, already cut by whiteouts, opaque markers
// and non-directories).
func (m *merger) dir(path string, list []int) {
	decided := map[string]*candidate{}
	var names []string
	hidden := map[string]bool{}
	for _, li := range list {
		x := m.xs[li]
		var whiteouts []string
		for _, r := range x.children[path] {
			_, name := split(r.path)
			if strings.HasPrefix(name, metaPref) {
				continue // the opaque marker (seen by the parent) or aufs bookkeeping
			}
			if strings.HasPrefix(name, whPrefix) {
				whiteouts = append(whiteouts, name[len(whPrefix):])
				continue
			}
			if c := decided[name]; c != nil {
				if !c.open {
					continue
				}
				if r.e.Kind != Dir {
					c.open = false // a directory does not merge through a non-directory
					continue
				}
				c.layers = append(c.layers, li)
				if x.byPath[join(r.path, opqName)] != nil {
					c.open = false
				}
				continue
			}
			if hidden[name] {
				continue
			}
			c := &candidate{layer: li, r: r, open: r.e.Kind == Dir}
			if c.open {
				c.layers = []int{li}
				if x.byPath[join(r.path, opqName)] != nil {
					c.open = false
				}
			}
			decided[name] = c
			names = append(names, name)
		}
		// A whiteout hides its name below this layer, not in it: a name
		// this layer also has stays, and a directory stops merging here.
		for _, w := range whiteouts {
			if w == "" || w == "." || w == ".." {
				continue
			}
			if c := decided[w]; c != nil {
				c.open = false
			} else {
				hidden[w] = true
			}
		}
	}
	for _, name := range names {
		c := decided[name]
		p := join(path, name)
		m.out = append(m.out, m.xs[c.layer].node(c.r, c.layer, p, c.layers))
		if c.r.e.Kind == Dir {
			m.dir(p, c.layers)
		}
	}
}

// node is the Node showing r of this layer at path p.
func (x *expanded) node(r *raw, layer int, p string, layers []int) Node {
	n := Node{Path: p, Layer: layer, Entry: r.e, Origin: r.origin}
	if r.e.Kind == Hardlink {
		// The target's entry, Path included: it seeds the content.
		n.Entry = x.byPath[r.origin].e
	}
	if n.Entry.Kind == Dir {
		n.Layers = layers
	} else {
		n.Nlink = x.nlink[r.origin]
	}
	return n
}

// LayerNodes is every name Write puts in the aufs directory of l, whiteouts
// and opaque markers included (as Kind Whiteout and Opaque, with Path the
// name on disk), without the bookkeeping AufsHardlinkWhiteouts adds;
// sorted by Path, the root first.
func LayerNodes(l *Layer) ([]Node, error) {
	x, err := expand(l)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.name(), err)
	}
	return nodesOf(x), nil
}

// nodesOf is every name of a layer directory as Compare wants it.
func nodesOf(x *expanded) []Node {
	out := make([]Node, 0, len(x.order))
	for _, r := range x.order {
		out = append(out, x.node(r, 0, r.path, []int{0}))
	}
	sortNodes(out)
	return out
}

func sortNodes(n []Node) {
	slices.SortFunc(n, func(a, b Node) int { return cmp.Compare(a.Path, b.Path) })
}

// name says which layer a message is about.
func (l *Layer) name() string {
	if l == nil {
		return "nil"
	}
	if l.CreatedBy == "" {
		return fmt.Sprintf("with %d entries", len(l.Entries))
	}
	return fmt.Sprintf("%q", l.CreatedBy)
}
