package storetest

import (
	"os"
	"slices"
	"strings"

	"github.com/aufsmount/aufsmount/layerstore"
)

// aufsDriver keeps a layer in aufs/diff/<id>, its parents in
// aufs/layers/<id>.
type aufsDriver struct{}

func (aufsDriver) own(layout layerstore.Layout) []string {
	// The two layouts share aufs/, as on a host migrated to 1.10.
	if layout == layerstore.LayoutGraph {
		return []string{"graph", "repositories-aufs"}
	}
	return []string{"image/aufs"}
}

func (aufsDriver) setup(w *storeWriter) error {
	if err := w.mkdirs(0700, "aufs"); err != nil {
		return err
	}
	return w.mkdirs(0755, "aufs/diff", "aufs/layers", "aufs/mnt")
}

func (aufsDriver) layerDir(id string) string { return "aufs/diff/" + id }

// layer queues a layer directory and makes its aufs/mnt and aufs/layers
// beside it.
func (d aufsDriver) layer(w *storeWriter, s []stackLayer, what string, _ bool) error {
	id := s[0].id
	w.jobs = append(w.jobs, layerJob{dir: w.path(d.layerDir(id)), x: w.expanded[s[0].l], linkWh: w.s.AufsHardlinkWhiteouts, what: what})
	if err := os.Mkdir(w.path("aufs", "mnt", id), 0755); err != nil {
		return err
	}
	// The aufs driver writes one id a line, each ending in a newline.
	var b strings.Builder
	for _, p := range s[1:] {
		b.WriteString(p.id)
		b.WriteByte('\n')
	}
	return writeFile(w.path("aufs", "layers", id), []byte(b.String()), 0644)
}

func (d aufsDriver) container(w *storeWriter, mount string, rw, init *Layer, image []stackLayer, what string) (string, string, []string, error) {
	return stackedContainer(w, d, mount, rw, init, image, what)
}

func (aufsDriver) imageStack(chain []string) []string { return slices.Clone(chain) }

func (aufsDriver) finish(*storeWriter) error { return nil }
