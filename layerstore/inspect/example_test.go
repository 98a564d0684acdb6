package inspect_test

import (
	"fmt"
	"os"
	"path/filepath"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/inspect"
)

// Inspect an image of a Docker root as docker inspect would, and run a
// -f template on it.
func Example() {
	dir, _ := os.MkdirTemp("", "inspect")
	defer os.RemoveAll(dir)
	img := &st.Image{Names: []string{"app:v1"}, Layers: []*st.Layer{st.NewLayer("base", st.F("etc/motd", "hi\n"))}}
	b, err := (&st.Store{Driver: "overlay2", Images: []*st.Image{img}}).Write(filepath.Join(dir, "docker"), layerstore.LayoutCAS)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := layerstore.Open(b.Root)
	if err != nil {
		fmt.Println(err)
		return
	}
	t, err := s.Resolve("app:v1")
	if err != nil {
		fmt.Println(err)
		return
	}
	v, warnings, err := inspect.Of(s, t)
	if err != nil || len(warnings) > 0 {
		fmt.Println(err, warnings)
		return
	}
	im := v.(*inspect.Image)
	fmt.Println(im.RepoTags, *im.Size, im.GraphDriver.Name, len(im.RootFS.Layers))
	data, _ := inspect.TemplateData(v)
	fmt.Println(data.(map[string]any)["Os"])
	// Output:
	// [app:v1] 3 overlay2 1
	// linux
}
