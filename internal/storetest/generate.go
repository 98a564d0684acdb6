package storetest

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// GenOptions describe a synthetic image for benchmarks, demos and
// randomized tests.
type GenOptions struct {
	Seed    uint64
	Layers  int   // 0 means 60
	Entries int   // over all layers; 0 means 100,000
	MaxSize int64 // largest regular file; 0 means 256 KiB (most are under 2 KiB)
}

// Generate makes the layers of a synthetic image, base first: a big base
// layer and many smaller ones over it, with nested directories, files of
// assorted sizes, modes and owners, symlinks, hard links, and in the
// upper layers files replaced, whiteouts of lower files and directories,
// and opaque directories. The same options give the same layers.
// No layer whites out a name it also has (the one rule where
// fuse-overlayfs differs from aufs), so either can check the other.
func Generate(o GenOptions) []*Layer {
	if o.Layers <= 0 {
		o.Layers = 60
	}
	if o.Entries <= 0 {
		o.Entries = 100_000
	}
	if o.MaxSize <= 0 {
		o.MaxSize = 256 << 10
	}
	g := &generator{r: rand.New(rand.NewPCG(o.Seed, 0x5eed5eed)), o: o, known: map[string]bool{}}
	// A root filesystem's usual top: new names go below these, so the
	// trees are deep and the root small, as in real images.
	g.dirs = []string{"bin", "etc", "etc/default", "lib", "lib/modules", "opt", "root", "sbin", "srv", "tmp",
		"usr", "usr/bin", "usr/include", "usr/lib", "usr/lib/python3", "usr/share", "usr/share/doc", "usr/share/locale",
		"var", "var/cache", "var/lib", "var/log"}
	for _, d := range g.dirs {
		g.known[d] = true
	}
	baseN := o.Entries * 4 / 10
	if o.Layers == 1 {
		baseN = o.Entries
	}
	layers := make([]*Layer, o.Layers)
	for i := range layers {
		n := baseN
		if i > 0 {
			n = (o.Entries - baseN) / (o.Layers - 1)
		}
		layers[i] = g.layer(i, n)
	}
	return layers
}

type generator struct {
	r     *rand.Rand
	o     GenOptions
	files []string // regular files of the layers so far
	dirs  []string // directories of the layers so far
	known map[string]bool
	seq   int
}

// genLayer is one layer being made: what it already uses, so that the
// description stays valid.
type genLayer struct {
	g     *generator
	l     *Layer
	kinds map[string]Kind // every path of the layer, parents included, and whited-out names
	order []string        // the keys of kinds, in the order they came
	files []string        // its regular files, for hard links
}

func (g *generator) layer(index, n int) *Layer {
	gl := &genLayer{g: g, l: &Layer{CreatedBy: fmt.Sprintf("/generated/step-%d.sh", index)}, kinds: map[string]Kind{}}
	if index == 0 {
		for _, d := range g.dirs {
			gl.add(D(d))
		}
	}
	base := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(index) * 24 * time.Hour)
	gl.l.Created = base
	for tries := 0; len(gl.l.Entries) < n && tries < 20*n; tries++ {
		x := g.r.IntN(100)
		upper := index > 0
		switch {
		case upper && x < 3 && len(g.files) > 0:
			gl.whiteout(g.pick(g.files))
		case upper && x < 4 && len(g.dirs) > 0:
			gl.whiteout(g.pick(g.dirs))
		case upper && x < 5 && len(g.dirs) > 0:
			d := g.pick(g.dirs)
			if gl.free(join(d, opqName)) {
				gl.add(OPQ(d))
			}
		case upper && x < 15 && len(g.files) > 0:
			gl.add(g.file(g.pick(g.files), base))
		case x < 22:
			gl.add(D(g.newPath()).WithMtime(base.Add(time.Duration(g.r.IntN(86400)) * time.Second)))
		case x < 27 && len(g.files) > 0:
			t := g.pick(g.files)
			if g.r.IntN(2) == 0 {
				t = "/" + t
			}
			gl.add(L(g.newPath(), t))
		case x < 29 && len(gl.files) > 0:
			gl.add(H(g.newPath(), gl.files[g.r.IntN(len(gl.files))]))
		default:
			gl.add(g.file(g.newPath(), base))
		}
	}
	for _, p := range gl.order {
		if g.known[p] {
			continue
		}
		g.known[p] = true
		switch gl.kinds[p] {
		case File:
			g.files = append(g.files, p)
		case Dir:
			g.dirs = append(g.dirs, p)
		}
	}
	return gl.l
}

func (g *generator) pick(s []string) string { return s[g.r.IntN(len(s))] }

// newPath is a new name in a random directory of the layers so far.
func (g *generator) newPath() string {
	g.seq++
	dir := g.pick(g.dirs)
	return join(dir, fmt.Sprintf("n%d%s", g.seq, [...]string{"", ".so", ".txt", ".py", " with space", ".conf"}[g.r.IntN(6)]))
}

func (g *generator) file(p string, t time.Time) Entry {
	size := int64(g.r.IntN(2048))
	if g.r.IntN(500) == 0 {
		size = g.r.Int64N(g.o.MaxSize + 1)
	}
	e := Entry{Path: p, Kind: File, Size: size, Mtime: t.Add(time.Duration(g.r.IntN(86400)) * time.Second)}
	switch x := g.r.IntN(100); {
	case x < 20:
		e.Mode = 0755
	case x < 21:
		e.Mode = 04755
	case x < 25:
		e.UID, e.GID = 1000, 1000
	}
	return e
}

// free says whether p and its parents can be added to the layer.
func (gl *genLayer) free(p string) bool {
	if _, ok := gl.kinds[p]; ok {
		return false
	}
	for d, _ := split(p); d != ""; d, _ = split(d) {
		if k, ok := gl.kinds[d]; ok && k != Dir {
			return false
		}
	}
	return true
}

func (gl *genLayer) add(e Entry) {
	p, err := diskPath(e)
	if err != nil || !gl.free(p) {
		return
	}
	gl.l.Entries = append(gl.l.Entries, e)
	for d, _ := split(p); d != ""; d, _ = split(d) {
		gl.set(d, Dir)
	}
	switch e.Kind {
	case Dir:
		gl.set(p, Dir)
		// Usable as a parent at once, so the base layer is deep too.
		if !gl.g.known[p] {
			gl.g.known[p] = true
			gl.g.dirs = append(gl.g.dirs, p)
		}
	case Opaque, Whiteout:
		gl.set(p, Whiteout)
	case File:
		gl.set(p, File)
		gl.files = append(gl.files, p)
	default:
		gl.set(p, e.Kind)
	}
}

func (gl *genLayer) set(p string, k Kind) {
	if _, ok := gl.kinds[p]; !ok {
		gl.order = append(gl.order, p)
	}
	gl.kinds[p] = k
}

// whiteout hides p of the layers below, and keeps the layer from having
// p itself.
func (gl *genLayer) whiteout(p string) {
	if !gl.free(p) {
		return
	}
	n := len(gl.l.Entries)
	gl.add(WH(p))
	if len(gl.l.Entries) > n {
		gl.set(p, Whiteout)
	}
}
