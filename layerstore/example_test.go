package layerstore_test

import (
	"fmt"
	"os"
	"path/filepath"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

// Open a Docker root, list its images, and resolve a name to the layers
// its view stacks, top first, each in its driver's whiteout encoding.
func Example() {
	dir, _ := os.MkdirTemp("", "layerstore")
	defer os.RemoveAll(dir)
	base := st.NewLayer("base", st.F("etc/motd", "hi"))
	top := st.NewLayer("top", st.WH("etc/motd"), st.F("app", "v1"))
	img := &st.Image{Names: []string{"app:v1"}, Layers: []*st.Layer{base, top}}
	b, store, err := writeExampleStore(dir, img)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, im := range store.Images() {
		fmt.Println(im.Names, im.Layers, "layers,", im.Driver)
	}
	t, err := store.Resolve("docker.io/library/app:v1")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range t.Stack {
		fmt.Println(filepath.Base(filepath.Dir(l.Dir)) == filepath.Base(filepath.Dir(b.Chain[img][0])), l.Encoding.Name)
	}
	// Output:
	// [app:v1] 2 layers, overlay2
	// true overlay
	// false overlay
}

// The sizes docker images and docker history show: an image's is its
// layers' added up, each layer directory measured once for the whole
// listing however many images share it.
func ExampleSizes() {
	dir, _ := os.MkdirTemp("", "layerstore")
	defer os.RemoveAll(dir)
	base := st.NewLayer("base", st.F("etc/motd", "hello\n"))
	v1 := &st.Image{Names: []string{"app:v1"}, Layers: []*st.Layer{base, st.NewLayer("v1", st.F("app", "v1"))}}
	v2 := &st.Image{Names: []string{"app:v2"}, Layers: []*st.Layer{base, st.NewLayer("v2", st.F("app", "v2.0"))}}
	_, store, err := writeExampleStore(dir, v1, v2)
	if err != nil {
		fmt.Println(err)
		return
	}
	sizes := layerstore.NewSizes()
	for _, name := range []string{"app:v1", "app:v2"} {
		t, err := store.Resolve(name)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %d bytes in %d layers\n", name, sizes.Chain(t.Layers), len(t.Layers))
	}
	// Output:
	// app:v1: 8 bytes in 2 layers
	// app:v2: 10 bytes in 2 layers
}

// writeExampleStore writes an overlay2 store of images under dir, and opens it.
func writeExampleStore(dir string, images ...*st.Image) (*st.Built, *layerstore.Store, error) {
	s := st.Store{Driver: st.DriverOverlay2, Images: images}
	b, err := s.Write(filepath.Join(dir, "docker"), layerstore.LayoutCAS)
	if err != nil {
		return nil, nil, err
	}
	store, err := layerstore.Open(b.Root)
	return b, store, err
}
