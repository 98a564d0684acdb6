package beneath

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Sub opens the directory rel inside the tree as a tree of its own,
// resolved as Open resolves every path: without following a symlink on
// the way, the last component included, and without leaving the tree.
// Opened from a detached clone (OpenRoot as root), it stays on that
// read-only noatime clone. The new tree is independent of r: closing r
// leaves it open.
func (r *Root) Sub(rel string) (*Root, error) {
	if rel == "" {
		rel = "."
	}
	fd, err := r.Open(rel, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, fmt.Errorf("opening %s/%s: %w", r.Dir, rel, err)
	}
	dir := r.Dir
	if rel != "." {
		dir += "/" + rel
	}
	return &Root{Dir: dir, fd: fd}, nil
}

// Stat stats rel inside the directory dir the way Open reaches it:
// without following any symlink on the way or at the end, and without
// leaving dir (RESOLVE_BENEATH). dir itself is opened as it is, with no
// mount cloned: it is for checking that a path a store names is inside
// it, not for reading it.
func Stat(dir, rel string, st *unix.Stat_t) error {
	r, err := OpenMeta(dir)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := r.Open(rel, unix.O_PATH)
	if err != nil {
		return err
	}
	defer unix.Close(f)
	return unix.Fstat(f, st)
}
