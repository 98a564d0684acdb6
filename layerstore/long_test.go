package layerstore

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aufsmount/aufsmount/internal/chainid"
)

const longChain = 1000

func TestLongChainGraph(t *testing.T) {
	t.Parallel()
	g := newGraph(t)
	parent := ""
	var ids []string // top first
	for i := 0; i < longChain; i++ {
		id := hexOf(fmt.Sprint("long", i))
		// Only the top's aufs/layers is read; writing all of them would
		// cost the test a quadratic amount of disk.
		g.imageOpt(id, parent, fmt.Sprint("step ", i), i == longChain-1)
		ids = append([]string{id}, ids...)
		parent = id
	}
	g.tag("long", "latest", ids[0])
	cid := hexOf("long container")
	g.container(cid, "longbox", ids[0])

	start := time.Now()
	s := g.open()
	imgs := s.Images()
	if len(imgs) != longChain {
		t.Fatalf("%d images", len(imgs))
	}
	depth := map[string]int{}
	for _, img := range imgs {
		depth[img.ID] = img.Layers
	}
	for i, id := range ids {
		if depth[id] != longChain-i {
			t.Fatalf("image %d has %d layers, want %d", i, depth[id], longChain-i)
		}
	}
	tg, err := s.Resolve("long")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(layerIDs(tg.Layers), ids) {
		t.Errorf("chain differs")
	}
	if tg.Layers[longChain-1].CreatedBy != "step 0" {
		t.Errorf("base CreatedBy %q", tg.Layers[longChain-1].CreatedBy)
	}
	tg, err = s.Resolve("longbox")
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.Layers) != longChain+2 {
		t.Errorf("container chain of %d", len(tg.Layers))
	}
	t.Logf("open and two resolves of %d layers: %v", longChain, time.Since(start))
}

func TestLongChainCAS(t *testing.T) {
	t.Parallel()
	c := newCAS(t)
	labels := make([]string, longChain)
	for i := range labels {
		labels[i] = fmt.Sprint("long", i)
	}
	id := c.imageOpt(false, labels...)
	c.tag("long:latest", id)
	c.container(hexOf("long container"), "longbox", id)

	start := time.Now()
	s := c.open()
	tg, err := s.Resolve("long")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(layerIDs(tg.Layers), c.caches[id]) {
		t.Errorf("chain differs")
	}
	if tg.Image.Layers != longChain {
		t.Errorf("Layers %d", tg.Image.Layers)
	}
	top := tg.Layers[0]
	if top.ChainID != c.chains[id][longChain-1] || top.DiffID != diffIDOf(labels[longChain-1]) {
		t.Errorf("top layer %+v", top)
	}
	tg, err = s.Resolve("longbox")
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.Layers) != longChain+2 {
		t.Errorf("container chain of %d", len(tg.Layers))
	}
	t.Logf("open and two resolves of %d layers: %v", longChain, time.Since(start))
}

// chainIDs must agree with the OCI image-spec's definition.
func TestChainIDs(t *testing.T) {
	c := newCAS(t)
	for _, labels := range [][]string{{"a"}, {"a", "b"}, {"a", "b", "c", "d"}} {
		id := c.image(labels...)
		var diffs []string
		for _, l := range labels {
			diffs = append(diffs, diffIDOf(l))
		}
		if got := chainid.All(diffs); !reflect.DeepEqual(got, c.chains[id]) {
			t.Errorf("chainid.All(%v) = %v, want %v", labels, got, c.chains[id])
		}
	}
	if got := chainid.All(nil); len(got) != 0 {
		t.Errorf("chainid.All(nil) = %v", got)
	}
}
