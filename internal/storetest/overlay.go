package storetest

import (
	"os"

	"github.com/aufsmount/aufsmount/layerstore"
)

// overlayDriver is overlay v1: an image layer is the whole tree
// overlay/<id>/root/, its parent's with hard links, this layer applied;
// a container is overlay/<mount-id>/upper/ over its image's top root/.
type overlayDriver struct {
	enc  encoding                 // of container uppers, written by the kernel
	done map[string]chan struct{} // closed once a layer's root/ is written
}

func (d *overlayDriver) own(layerstore.Layout) []string { return []string{"image/overlay", "overlay"} }

func (d *overlayDriver) setup(w *storeWriter) error { return w.mkdirs(0700, "overlay") }

func (d *overlayDriver) layerDir(id string) string { return "overlay/" + id + "/root" }

// layer queues the root/ of s[0], made of hard links of its parent's
// root/ for what the layers below show: it is written after that one.
func (d *overlayDriver) layer(w *storeWriter, s []stackLayer, what string, _ bool) error {
	id := s[0].id
	if err := os.Mkdir(w.path("overlay", id), 0700); err != nil {
		return err
	}
	j := layerJob{dir: w.path(d.layerDir(id)), what: what, done: make(chan struct{})}
	below := ""
	if len(s) > 1 {
		below = w.path(d.layerDir(s[1].id))
		j.after = d.done[s[1].id]
	}
	j.x = treeOf(w.view(s), below)
	d.done[id] = j.done
	w.jobs = append(w.jobs, j)
	return nil
}

// container queues the uppers of the init and writable layers, each what
// it changes over the image's top root/ (Docker copies the init layer's
// upper into the container's, so the init layer is no branch of the
// container's view). Over an image without layers, the init layer is a
// root/ of its own, which the container's upper is over.
func (d *overlayDriver) container(w *storeWriter, mount string, rw, init *Layer, image []stackLayer, what string) (string, string, []string, error) {
	initS := append([]stackLayer{{mount + "-init", init}}, image...)
	lower := image
	initDir := w.path("overlay", mount+"-init", "upper")
	if len(image) == 0 {
		if err := d.layer(w, initS, "init of "+what, true); err != nil {
			return "", "", nil, err
		}
		lower, initDir = initS, w.path(d.layerDir(mount+"-init"))
	} else if err := d.upper(w, initS, len(initS)-len(lower), lower, "init of "+what); err != nil {
		return "", "", nil, err
	}
	s := append([]stackLayer{{mount, rw}}, initS...)
	if err := d.upper(w, s, len(s)-len(lower), lower, "of "+what); err != nil {
		return "", "", nil, err
	}
	rwDir := w.path("overlay", mount, "upper")
	return rwDir, initDir, []string{rwDir, w.path(d.layerDir(lower[0].id))}, nil
}

// upper queues overlay/<s[0].id>/upper/, what the first top layers of s
// change over the root/ of lower (the rest of s), and writes the files
// beside it.
func (d *overlayDriver) upper(w *storeWriter, s []stackLayer, top int, lower []stackLayer, what string) error {
	id := s[0].id
	for _, p := range []string{id, id + "/work", id + "/merged"} {
		if err := os.Mkdir(w.path("overlay", p), 0700); err != nil {
			return err
		}
	}
	xs := make([]*expanded, top)
	for i, l := range s[:top] {
		xs[i] = w.expanded[l.l]
	}
	x := upperOf(w.view(s), top, w.view(lower), xs, d.enc)
	w.jobs = append(w.jobs, layerJob{dir: w.path("overlay", id, "upper"), x: x, what: what})
	return writeFile(w.path("overlay", id, "lower-id"), []byte(lower[0].id), 0644)
}

func (d *overlayDriver) imageStack(chain []string) []string { return topOnly(chain) }

func (d *overlayDriver) finish(*storeWriter) error { return nil }
