package storetest

import (
	"reflect"
	"testing"

	"github.com/aufsmount/aufsmount/layerstore"
)

func TestGenerate(t *testing.T) {
	o := GenOptions{Seed: 7, Layers: 12, Entries: 5000}
	a, b := Generate(o), Generate(o)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same options gave different layers")
	}
	if c := Generate(GenOptions{Seed: 8, Layers: 12, Entries: 5000}); reflect.DeepEqual(a, c) {
		t.Fatal("the seed changes nothing")
	}
	if len(a) != 12 {
		t.Fatalf("%d layers", len(a))
	}
	kinds := map[Kind]int{}
	total := 0
	for i, l := range a {
		if _, err := expand(l); err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		total += len(l.Entries)
		for _, e := range l.Entries {
			kinds[e.Kind]++
		}
	}
	if total < 4500 || total > 5000 {
		t.Errorf("%d entries, want about 5000", total)
	}
	for _, k := range []Kind{File, Dir, Symlink, Hardlink, Whiteout, Opaque} {
		if kinds[k] == 0 {
			t.Errorf("no %v", k)
		}
	}
	nodes := Merge(reversed(a))
	if len(nodes) < total/2 {
		t.Errorf("only %d visible of %d entries", len(nodes), total)
	}
}

// BenchmarkWrite writes the benchmark store: about 100,000 entries over
// 60 layers.
func BenchmarkWrite(b *testing.B) {
	img := &Image{Names: []string{"bench"}, Layers: Generate(GenOptions{Seed: 1})}
	s := &Store{Images: []*Image{img}}
	for b.Loop() {
		if _, err := s.Write(b.TempDir(), layerstore.LayoutCAS); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMerge(b *testing.B) {
	layers := reversed(Generate(GenOptions{Seed: 1}))
	for b.Loop() {
		Merge(layers)
	}
}
