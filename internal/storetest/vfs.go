package storetest

import (
	"github.com/aufsmount/aufsmount/layerstore"
	"golang.org/x/sys/unix"
)

// vfsDriver keeps every layer, a container's too, as a full copy of the
// tree so far: vfs/dir/<id>/.
type vfsDriver struct{}

func (vfsDriver) own(layerstore.Layout) []string { return []string{"image/vfs", "vfs"} }

// setup makes vfs/dir/ and, as Docker's quota support does,
// vfs/backingFsBlockDev: a block device of the file system below, which
// is no layer.
func (vfsDriver) setup(w *storeWriter) error {
	if err := w.mkdirs(0700, "vfs", "vfs/dir"); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Stat(w.root, &st); err != nil {
		return err
	}
	return unix.Mknod(w.path("vfs", "backingFsBlockDev"), unix.S_IFBLK|0600, int(st.Dev))
}

func (vfsDriver) layerDir(id string) string { return "vfs/dir/" + id }

func (d vfsDriver) layer(w *storeWriter, s []stackLayer, what string, _ bool) error {
	w.jobs = append(w.jobs, layerJob{dir: w.path(d.layerDir(s[0].id)), x: treeOf(w.view(s), ""), what: what})
	return nil
}

// container: the init layer is the image's tree with it applied, the
// container's the init's with its writable layer applied; its view is its
// own tree alone.
func (d vfsDriver) container(w *storeWriter, mount string, rw, init *Layer, image []stackLayer, what string) (string, string, []string, error) {
	initS := append([]stackLayer{{mount + "-init", init}}, image...)
	if err := d.layer(w, initS, "init of "+what, true); err != nil {
		return "", "", nil, err
	}
	if err := d.layer(w, append([]stackLayer{{mount, rw}}, initS...), "of "+what, true); err != nil {
		return "", "", nil, err
	}
	rwDir := w.path(d.layerDir(mount))
	return rwDir, w.path(d.layerDir(mount + "-init")), []string{rwDir}, nil
}

func (vfsDriver) imageStack(chain []string) []string { return topOnly(chain) }

func (vfsDriver) finish(*storeWriter) error { return nil }
