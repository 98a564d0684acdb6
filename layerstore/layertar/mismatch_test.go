package layertar_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

// TestMismatch: the rebuild holds its stream against the layer's diff id
// and reports a mismatch itself; the stream of a file changed to other
// bytes of the same size is the diff id of a layer made with them.
func TestMismatch(t *testing.T) {
	build := func(motd string) (*st.Built, *st.Image) {
		img := &st.Image{Names: []string{"t:1"}, Layers: []*st.Layer{st.NewLayer("", st.F("etc/motd", motd))}}
		b, err := (&st.Store{Images: []*st.Image{img}}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
		if err != nil {
			t.Fatal(err)
		}
		return b, img
	}
	b, img := build("hello\n")
	other, otherImg := build("hallo\n")
	orig, changed := b.DiffIDs[img][0], other.DiffIDs[otherImg][0]
	s, err := layerstore.Open(b.Root)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := s.Resolve("t:1")
	if err != nil {
		t.Fatal(err)
	}
	l := layerstore.TarLayer(tg.Layers[0])
	if l.DiffID != orig {
		t.Fatalf("TarLayer's DiffID %s, want the store's %s", l.DiffID, orig)
	}
	write := func(l layertar.Layer) *layertar.Report {
		rep, err := layertar.WriteNoCRC(l, io.Discard, nil)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := write(l); rep.Mismatch != nil {
		t.Errorf("intact layer: Mismatch %v", rep.Mismatch)
	}
	if err := os.WriteFile(filepath.Join(b.LayerDir(img, 0), "etc/motd"), []byte("hallo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		diffID string
		want   *layertar.Mismatch
	}{
		{"diff id known", orig, &layertar.Mismatch{Digest: changed, DiffID: orig}},
		{"no diff id", "", nil},
		{"the changed stream's", changed, nil},
	}
	for _, tt := range tests {
		l.DiffID = tt.diffID
		got := write(l).Mismatch
		if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
			t.Errorf("%s: Mismatch %+v, want %+v", tt.name, got, tt.want)
		}
	}
	l.DiffID = orig
	if got, want := write(l).Mismatch.Error(), "its rebuilt stream is "+changed+", not its diff id "+orig; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
