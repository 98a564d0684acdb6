package save

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/aufsmount/aufsmount/internal/words"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

// check decides how each image layer is written. An original stream
// needs its tar-split and the layer's contents as they were: the stream
// is the tar-split's headers around the files' bytes, so whatever the
// directory's metadata says (a copy's losses, or changes somebody made),
// the digest is the diff id as long as the bytes are. layertar.Check,
// which reads headers and stats, not contents, finds files of another
// size early; the digest, held against the diff id while writing, finds
// the rest. A layer whose contents changed gets a fresh tar, said so,
// or with the findings, is the end of the save (unless --as-is).
func (a *Archive) check() error {
	var todo []*layer
	for _, l := range a.layers {
		if l.fresh != nil || l.blob != nil {
			continue
		}
		if !l.l.HasTarSplit() {
			a.freshen(l, "it has no tar-split")
			continue
		}
		todo = append(todo, l)
	}
	parallel(len(todo), func(i int) {
		l := todo[i]
		l.findings, l.err = layertar.Check(layerstore.TarLayer(l.l))
		if l.err == nil {
			// Its size, from the tar-split too, while it is at hand.
			l.size, l.err = layertar.Size(layerstore.TarLayer(l.l))
			l.sized = l.err == nil
		}
	})
	var stop []*layer
	for _, l := range todo {
		switch {
		case errors.Is(l.err, layertar.ErrNoTarSplit):
			why := layertar.NoTarSplitReason(l.err, "it has no tar-split (the store has lost it)")
			l.err = nil
			a.freshen(l, why)
			continue
		case l.err != nil:
			return fmt.Errorf("layer %s: %w", l.name(), l.err)
		}
		serious, meta := splitFindings(l.findings)
		if meta > 0 {
			a.warn("note: layer %s: its directory's metadata differs from its tar-split in %d %s (aufsmount verify lists them); its original stream is saved, as the tar-split records it",
				l.name(), meta, words.Plural(meta, "way", "ways"))
		}
		l.findings = serious
		if len(serious) == 0 {
			continue
		}
		if !a.opt.AsIs {
			stop = append(stop, l)
			continue
		}
		l.asIs = true
		a.freshen(l, "its files changed since it was unpacked")
		a.cascade(l)
	}
	if err := a.lostMarkers(); err != nil {
		return err
	}
	if len(stop) > 0 {
		e := &ChangedError{}
		for _, l := range stop {
			msg := fmt.Sprintf("layer %s no longer matches its tar-split: %d %s", l.name(), len(l.findings), words.Plural(len(l.findings), "difference", "differences"))
			a.warn("%s%s", msg, a.findingLines(l.findings))
			e.Layers = append(e.Layers, l.name())
		}
		return e
	}
	return nil
}

// lostMarkers gives each layer saved as it is now, but that has a
// tar-split, the whiteouts and opaque markers the tar-split records and a
// copy of the store lost: its fresh tar has them too.
func (a *Archive) lostMarkers() error {
	done := map[*item]bool{}
	for _, l := range a.layers {
		if !l.asIs || !l.l.HasTarSplit() || l.fresh == nil {
			continue
		}
		for _, it := range a.items {
			if done[it] || !slices.Contains(it.chain, l) {
				continue
			}
			done[it] = true
			if _, err := a.s.RecoverMarkers(it.t); err != nil {
				return err
			}
			for _, x := range it.t.Stack {
				for _, y := range a.layers {
					if y.asIs && y.fresh != nil && x.Dir == y.l.Dir && !x.Markers.Empty() {
						y.fresh.Markers = x.Markers
					}
				}
			}
		}
	}
	return nil
}

// findingLines is a line for each finding, each after a newline,
// indented: the details below a message.
func (a *Archive) findingLines(fs []layertar.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("\n    " + a.quote(f.String()))
	}
	return b.String()
}

// splitFindings tells the findings that change a layer's contents, which
// its original stream cannot be rebuilt without, from those of its
// metadata only, which the tar-split's headers restore in the stream.
func splitFindings(fs []layertar.Finding) (contents []layertar.Finding, meta int) {
	for _, f := range fs {
		if f.Kind.Contents() {
			contents = append(contents, f)
		} else {
			meta++
		}
	}
	return contents, meta
}

// freshen makes l a fresh tar, for why.
func (a *Archive) freshen(l *layer, why string) {
	f := &layertar.Fresh{Layer: layerstore.TarLayer(l.l)}
	f.OpenTarSplit = nil
	l.fresh, l.note = f, why
}

// cascade makes fresh diffs of the layers above l, where each layer is
// a whole tree (vfs, overlay v1), when l is saved as it is now: their
// original streams are diffs against l as it was, and over l as it is
// would no longer give their trees. It returns the layers it changed.
func (a *Archive) cascade(l *layer) []*layer {
	if !l.l.WholeTree() {
		return nil
	}
	var out []*layer
	for _, it := range a.items {
		i := slices.Index(it.chain, l)
		if i < 0 {
			continue
		}
		for j := i + 1; j < len(it.chain); j++ {
			x := it.chain[j]
			if x.fresh != nil || x == it.own {
				continue
			}
			a.freshen(x, "a layer below it is saved as it is now, and each layer of the "+x.l.Driver+" driver is a whole tree: it is saved as its diff from that")
			x.asIs = true
			x.fresh.Base, x.fresh.BaseEncoding = it.chain[j-1].l.Dir, it.chain[j-1].l.Encoding
			x.fresh.CompareContent = true
			out = append(out, x)
		}
	}
	return out
}

// wholeBases gives each fresh whole-tree image layer (vfs, overlay v1)
// the tree of the layer below it, to be a diff against.
func (a *Archive) wholeBases() {
	for _, it := range a.items {
		for i, l := range it.chain {
			if l.fresh == nil || l == it.own || !l.fresh.Whole {
				continue
			}
			if i == 0 {
				l.fresh.Whole = false // a base layer: the whole tree is its diff
				continue
			}
			l.fresh.Base, l.fresh.BaseEncoding = it.chain[i-1].l.Dir, it.chain[i-1].l.Encoding
		}
	}
}

// parallel calls f(0) ... f(n-1), a few at a time.
func parallel(n int, f func(i int)) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(n, max(2, runtime.GOMAXPROCS(0))); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

// legacyIDs names the legacy directory of each layer of each image (its
