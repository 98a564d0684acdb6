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
	s := st.Store{Driver: st.DriverOverlay2, Images: []*st.Image{img}}
	b, err := s.Write(filepath.Join(dir, "docker"), layerstore.LayoutCAS)
	if err != nil {
		fmt.Println(err)
		return
	}
	store, err := layerstore.Open(b.Root)
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
