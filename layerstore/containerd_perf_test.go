package layerstore_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

// BenchmarkContainerdOpen opens a containerd root of 1,000 images of 3
// layers each (the bound for images: 0.5 s).
func BenchmarkContainerdOpen(b *testing.B) {
	ns := &storetest.CDNamespace{Name: "k8s.io"}
	base := storetest.NewLayer("base", storetest.F("base", "b"))
	for i := range 1000 {
		ns.Images = append(ns.Images, &storetest.CDImage{Names: []string{fmt.Sprintf("docker.io/test/app:%d", i)},
			Layers: []*storetest.Layer{base, storetest.NewLayer("mid", storetest.F("m", "m")), storetest.NewLayer(fmt.Sprint(i), storetest.F("f", fmt.Sprint(i)))}})
	}
	built, err := (&storetest.Containerd{Namespaces: []*storetest.CDNamespace{ns}}).Write(filepath.Join(b.TempDir(), "c"))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		s, err := layerstore.Open(built.Root)
		if err != nil || len(s.Images()) != 1000 {
			b.Fatal(err)
		}
	}
}

// BenchmarkContainerdResolve resolves an image of 60 layers (the issue's
// bound for a mount: 30 ms).
func BenchmarkContainerdResolve(b *testing.B) {
	var layers []*storetest.Layer
	for i := range 60 {
		layers = append(layers, storetest.NewLayer(fmt.Sprint(i), storetest.F(fmt.Sprint("f", i), "x")))
	}
	img := &storetest.CDImage{Names: []string{"docker.io/test/deep:1"}, Layers: layers}
	built, err := (&storetest.Containerd{Namespaces: []*storetest.CDNamespace{{Name: "default", Images: []*storetest.CDImage{img}}}}).Write(filepath.Join(b.TempDir(), "c"))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		s, err := layerstore.Open(built.Root)
		if err != nil {
			b.Fatal(err)
		}
		if t, err := s.Resolve("test/deep:1"); err != nil || len(t.Layers) != 60 {
			b.Fatal(err)
		}
	}
}
