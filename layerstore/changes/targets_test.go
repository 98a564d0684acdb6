package changes

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

// TestBetweenTargetsOfTwoStores diffs an image of a store with one of a
// gzip OCI layout, named by a transport reference, both ways: the diff
// is DiffImages' own, and the layout's blob of the base both share
// (the same chain id) is never read, so that its index is never built.
func TestBetweenTargetsOfTwoStores(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("AUFSMOUNT_NO_CACHE", "")
	d := st.NewDiffImages()
	dir := t.TempDir()
	store, err := (&st.Store{Driver: st.DriverOverlay2, Images: []*st.Image{d.A}}).Write(filepath.Join(dir, "docker"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	layout, err := (&st.Archive{Kind: st.OCILayout, Compression: "gzip", Images: []*st.Image{d.B}}).Write(filepath.Join(dir, "layout"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := layerstore.Open(store.Root)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Resolve("test/a:1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Resolve("oci:" + layout.Path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := BetweenTargets(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(show(got), st.DiffAB) {
		t.Errorf("BetweenTargets(a, b):\n got %q\nwant %q", show(got), st.DiffAB)
	}
	// The other way round, each change is the opposite one.
	back, err := BetweenTargets(b, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(st.DiffAB) || back[0].String() != "D /bin/ls" || back[len(back)-1].String() != "C /x/xattr" {
		t.Errorf("BetweenTargets(b, a) = %q", show(back))
	}
	blobs := layout.Blobs[d.B] // base, b1, b2
	var indexed []string
	ents, _ := os.ReadDir(filepath.Join(cache, "aufsmount/archive"))
	for _, e := range ents {
		indexed = append(indexed, e.Name())
	}
	var want []string
	for _, b := range blobs[1:] {
		want = append(want, b[7:]+".seekable", b[7:]+".seen", b[7:]+".tar")
	}
	slices.Sort(want)
	if !slices.Equal(indexed, want) {
		t.Errorf("indexed %q, want b1's and b2's blobs alone (%q); the base is %s", indexed, want, blobs[0])
	}
}
