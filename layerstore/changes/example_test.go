package changes_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/aufsmount/aufsmount/fs"
	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/changes"
)

// Two images built on one base: the second changes /etc/motd, deletes
// /bin/sh and lacks the first one's /etc/app.conf.
func Example() {
	base := st.NewLayer("base", st.F("bin/sh", "sh"), st.F("etc/motd", "hello\n"))
	one := &st.Image{Names: []string{"app:1"}, Layers: []*st.Layer{base, st.NewLayer("one", st.F("etc/app.conf", "1"))}}
	two := &st.Image{Names: []string{"app:2"}, Layers: []*st.Layer{base, st.NewLayer("two", st.F("etc/motd", "bye\n"), st.WH("bin/sh"))}}
	dir, err := os.MkdirTemp("", "changes-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	built, err := (&st.Store{Images: []*st.Image{one, two}}).Write(filepath.Join(dir, "docker"), layerstore.LayoutCAS)
	if err != nil {
		log.Fatal(err)
	}
	store, err := layerstore.Open(built.Root)
	if err != nil {
		log.Fatal(err)
	}
	open := func(ref string) *fs.View {
		t, err := store.Resolve(ref)
		if err != nil {
			log.Fatal(err)
		}
		var layers []fs.Layer
		for _, l := range t.Stack {
			layers = append(layers, fs.Layer{ID: l.ID, Dir: l.Dir, Encoding: l.Encoding, Markers: l.Markers})
		}
		v, err := fs.OpenView(layers)
		if err != nil {
			log.Fatal(err)
		}
		return v
	}
	a, b := open("app:1"), open("app:2")
	defer a.Close()
	defer b.Close()
	cs, err := changes.Between(a, b)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range cs {
		fmt.Println(c)
	}
	// Output:
	// D /bin/sh
	// D /etc/app.conf
	// C /etc/motd
}
