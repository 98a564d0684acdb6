package verify_test

import (
	"fmt"
	"os"
	"path/filepath"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/verify"
)

// Verifies an image of two layers, one of whose files has since had its
// mode changed: its contents are intact, its directory is not. Each layer
// is given its status and its two verdicts, and its findings; the image,
// the worst of its layers'.
func Example() {
	dir, err := os.MkdirTemp("", "verify-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	img := &st.Image{Names: []string{"app:v1"}, Layers: []*st.Layer{
		st.NewLayer("", st.F("etc/motd", "hello\n")),
		st.NewLayer("", st.F("etc/app.conf", "debug = false\n")),
	}}
	b, err := (&st.Store{Images: []*st.Image{img}}).Write(filepath.Join(dir, "docker"), layerstore.LayoutCAS)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The image's top layer is the first of its chain.
	if err := os.Chmod(filepath.Join(b.Chain[img][0], "etc/app.conf"), 0o600); err != nil {
		fmt.Println(err)
		return
	}
	s, err := layerstore.Open(b.Root)
	if err != nil {
		fmt.Println(err)
		return
	}
	res := verify.Run(s, []string{"app:v1"}, verify.Options{})
	for _, t := range res.Targets {
		for i, l := range t.Layers {
			fmt.Printf("layer %d: %s, contents intact %v, directory %s\n", i, l.Status, l.Contents, l.Directory)
			for _, f := range l.Findings {
				fmt.Printf("    %s\n", f)
			}
		}
		fmt.Printf("%s %s: %s\n", t.Kind, t.Name, t.Status)
	}
	// Output:
	// layer 0: MODIFIED, contents intact true, directory changed
	//     /etc/app.conf: mode 0600, was 0644
	// layer 1: OK, contents intact true, directory intact
	// image app:v1: MODIFIED
}
