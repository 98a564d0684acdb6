package viewplan

import (
	"fmt"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/layerstore"
)

// Open opens the view of t's layers without mounting it, as diff
// compares it: a container's binds left out.
func Open(t *layerstore.Target) (*fs.View, error) {
	return open(t, nil)
}

// OpenWithBinds opens t's view as a mount of it shows it: a container's
// binds of the store at root over its layers.
func OpenWithBinds(t *layerstore.Target, root string) (*fs.View, error) {
	return open(t, Binds(t, root))
}

func open(t *layerstore.Target, binds []fs.Bind) (*fs.View, error) {
	v, err := fs.OpenViewWith(Layers(t), binds)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", t.Ref, err)
	}
	return v, nil
}
