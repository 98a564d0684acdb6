package fs

import (
	iofs "io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// DirLayers returns the layers (indexes into the view's layers, top
// first) whose directory p makes up the view's directory p: the layer
// that shows it, then every lower layer whose same directory its
// parent's merge found to merge into it. Reading p, the merge goes down
// this list and stops after the first layer in which p is opaque (that
// layer's own entries still count); DirLayers does not look at p's
// opacity. It fails like Lookup, and with ENOTDIR when p is not a
// directory. Package kernelview builds its shim layers from it.
func (v *View) DirLayers(p string) ([]int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, _, err := v.lookup("dirlayers", p)
	if err != nil {
		return nil, err
	}
	if e.attr.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil, &iofs.PathError{Op: "dirlayers", Path: p, Err: syscall.ENOTDIR}
	}
	out := make([]int, 0, 1+len(e.lowers))
	out = append(out, int(e.layer))
	for _, l := range e.lowers {
		out = append(out, int(l))
	}
	return out, nil
}
