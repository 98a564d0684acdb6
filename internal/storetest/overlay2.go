package storetest

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"

	"github.com/aufsmount/aufsmount/layerstore"
)

// overlay2Driver keeps a layer in <dir>/<id>/diff/, named to the kernel
// through the short link <dir>/l/<link>. fuse-overlayfs has the same
// layout under its own name, with its own encoding.
type overlay2Driver struct {
	dir     string
	enc     encoding
	kernel  bool            // the kernel's overlayfs writes its containers' layers
	parents map[string]bool // the layers with a child: they are committed
}

func (d *overlay2Driver) own(layerstore.Layout) []string { return []string{"image/" + d.dir, d.dir} }

func (d *overlay2Driver) setup(w *storeWriter) error { return w.mkdirs(0700, d.dir, d.dir+"/l") }

func (d *overlay2Driver) layerDir(id string) string { return d.dir + "/" + id + "/diff" }

// layer queues a layer's diff/ and writes the files beside it, as
// Docker's Create does.
func (d *overlay2Driver) layer(w *storeWriter, s []stackLayer, what string, container bool) error {
	id := s[0].id
	top := w.path(d.dir, id)
	if err := os.Mkdir(top, 0700); err != nil {
		return err
	}
	var below []Node
	if container && d.kernel {
		below = w.view(s[1:])
	}
	x, _ := overlayForm(w.expanded[s[0].l], d.enc, below)
	w.jobs = append(w.jobs, layerJob{dir: filepath.Join(top, "diff"), x: x, what: what})
	link := d.link(id)
	if err := writeFile(filepath.Join(top, "link"), []byte(link), 0644); err != nil {
		return err
	}
	if err := os.Symlink("../"+id+"/diff", w.path(d.dir, "l", link)); err != nil {
		return err
	}
	var dirs []string
	if len(s) > 1 {
		// The layers below, nearest first, through their links: the
		// kernel's mount options must fit in a page.
		lower := make([]string, len(s)-1)
		for i, p := range s[1:] {
			lower[i] = "l/" + d.link(p.id)
		}
		if err := writeFile(filepath.Join(top, "lower"), []byte(strings.Join(lower, ":")), 0644); err != nil {
			return err
		}
		dirs = append(dirs, "work")
		d.parents[s[1].id] = true
	}
	if container {
		dirs = append(dirs, "merged") // it has been mounted
	}
	for _, n := range dirs {
		if err := os.Mkdir(filepath.Join(top, n), 0700); err != nil {
			return err
		}
	}
	return nil
}

// link is the short name of layer id: 26 characters of A-Z0-9. Docker's
// are random; these are derived from the id, so that stores are
// reproducible.
func (d *overlay2Driver) link(id string) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	sum, _ := hex.DecodeString(hexID("link", d.dir, id))
	b := make([]byte, 26)
	for i := range b {
		b[i] = chars[int(sum[i])%len(chars)]
	}
	return string(b)
}

func (d *overlay2Driver) container(w *storeWriter, mount string, rw, init *Layer, image []stackLayer, what string) (string, string, []string, error) {
	return stackedContainer(w, d, mount, rw, init, image, what)
}

func (d *overlay2Driver) imageStack(chain []string) []string { return aufsDriver{}.imageStack(chain) }

// finish marks committed the layers that have a child, as Docker's Create
// does to the parent of each layer it makes.
func (d *overlay2Driver) finish(w *storeWriter) error {
	for id := range d.parents {
		if err := writeFile(w.path(d.dir, id, "committed"), nil, 0600); err != nil {
			return err
		}
	}
	return nil
}
