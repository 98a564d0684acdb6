package changes

import (
	"fmt"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/fs/viewplan"
	"github.com/aufsmount/aufsmount/layerstore"
)

// BetweenTargets is Between of the views of t1 and t2, opened (unmounted)
// from their layers, a container's binds left out. The layers at the
// bottom of both stacks that are one chain (the same chain ids), though
// they are in two stores or one is an archive's, are read from one side
// alone (shareChains): Between then shares them, and the other side's
// are never read, nor an archive's blob indexed for them.
func BetweenTargets(t1, t2 *layerstore.Target) ([]Change, error) {
	la, lb := viewplan.Layers(t1), viewplan.Layers(t2)
	shareChains(t1.Stack, t2.Stack, la, lb)
	a, err := fs.OpenView(la)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", t1.Ref, err)
	}
	defer a.Close()
	b, err := fs.OpenView(lb)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", t2.Ref, err)
	}
	defer b.Close()
	return Between(a, b)
}

// shareChains makes the layers la and lb of the stacks sa and sb (the
// same, as package fs takes them) read the layers at the bottom of both
// whose chain ids agree from one side: a layer of one chain id holds
// the same tree wherever it is kept. A directory is taken over an
// archive's blob, whose first reading builds its index; otherwise a's.
func shareChains(sa, sb []layerstore.Layer, la, lb []fs.Layer) {
	for n := 1; n <= len(sa) && n <= len(sb); n++ {
		i, j := len(sa)-n, len(sb)-n
		if sa[i].ChainID == "" || sa[i].ChainID != sb[j].ChainID {
			return
		}
		if la[i].Archive != nil && lb[j].Archive == nil {
			la[i] = lb[j]
		} else {
			lb[j] = la[i]
		}
	}
}

// OfContainerTarget is OfContainer of the container t, its view opened
// (unmounted) from its layers.
func OfContainerTarget(t *layerstore.Target) ([]Change, error) {
	v, err := viewplan.Open(t)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	return OfContainer(t, v)
}
