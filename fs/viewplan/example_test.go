package viewplan_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aufsmount/aufsmount/fs/viewplan"
	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

// A copy of an overlay2 store that lost its owners and times: the plan
// of an image's view restores its layers from their tar-splits, and
// says so once per layer.
func Example() {
	dir, _ := os.MkdirTemp("", "viewplan")
	defer os.RemoveAll(dir)
	os.Setenv("AUFSMOUNT_NO_CACHE", "1")
	base := st.NewLayer("base", st.F("etc/motd", "hi").WithOwner(33, 33), st.F("bin/sh", "sh"))
	top := st.NewLayer("top", st.WH("etc/motd"))
	img := &st.Image{Names: []string{"app:v1"}, Layers: []*st.Layer{base, top}}
	s := st.Store{Driver: st.DriverOverlay2, Images: []*st.Image{img}}
	b, err := s.Write(filepath.Join(dir, "docker"), layerstore.LayoutCAS)
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := b.Damage(st.LostOwners | st.LostTimes); err != nil {
		fmt.Println(err)
		return
	}
	store, err := layerstore.Open(b.Root)
	if err != nil {
		fmt.Println(err)
		return
	}
	p := viewplan.New(store, viewplan.Options{Say: func(kind, msg string) { fmt.Println(kind + ": a layer restored") }})
	t, err := p.Resolve("app:v1")
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, l := range viewplan.Layers(t) {
		fmt.Printf("layer %d: encoding %s, restored %v\n", i, l.Encoding.Name, l.Restore != nil)
	}
	// Output:
	// note: a layer restored
	// note: a layer restored
	// layer 0: encoding overlay, restored true
	// layer 1: encoding overlay, restored true
}
