package changes

import (
	"github.com/aufsmount/aufsmount/fs/viewplan"
	"github.com/aufsmount/aufsmount/layerstore"
)

// BetweenTargets is Between of the views of t1 and t2, opened (unmounted)
// from their layers, a container's binds left out.
func BetweenTargets(t1, t2 *layerstore.Target) ([]Change, error) {
	a, err := viewplan.Open(t1)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	b, err := viewplan.Open(t2)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return Between(a, b)
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
