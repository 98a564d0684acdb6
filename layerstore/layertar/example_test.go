package layertar_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

// Rebuild a layer's original tar stream from its tar-split and its
// directory: its digest is the layer's diff id while the files are
// intact, whatever a copy did to their owners.
func ExampleWrite() {
	dir, _ := os.MkdirTemp("", "layertar")
	defer os.RemoveAll(dir)
	img := &st.Image{Names: []string{"app:v1"}, Layers: []*st.Layer{st.NewLayer("base", st.F("etc/motd", "hi").WithOwner(33, 33))}}
	s := st.Store{Driver: st.DriverOverlay2, Images: []*st.Image{img}}
	b, err := s.Write(filepath.Join(dir, "docker"), layerstore.LayoutCAS)
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := b.Damage(st.LostOwners); err != nil {
		fmt.Println(err)
		return
	}
	store, _ := layerstore.Open(b.Root)
	t, err := store.Resolve("app:v1")
	if err != nil {
		fmt.Println(err)
		return
	}
	l := t.Stack[0]
	rep, err := layertar.Write(layerstore.TarLayer(l), io.Discard, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("digest is the diff id:", rep.Digest == l.DiffID)
	for _, f := range rep.Findings {
		fmt.Println(f)
	}
	// Output:
	// digest is the diff id: true
}
