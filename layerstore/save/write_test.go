package save_test

import (
	"errors"
	"path/filepath"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/save"
)

// failingWriter takes n bytes, then fails every write.
type failingWriter struct{ n int }

var errFull = errors.New("no space left")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errFull
	}
	w.n -= len(p)
	return len(p), nil
}

// The first error of the writer ends Write and is what it returns,
// wherever in the archive it comes: in the first buffer, or after some
// buffers were written.
func TestWriteError(t *testing.T) {
	img := &st.Image{Names: []string{"big:1"}, Layers: []*st.Layer{st.NewLayer("", st.F("big.bin", string(make([]byte, 5<<20))))}}
	b, err := (&st.Store{Images: []*st.Image{img}}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	s, err := layerstore.Open(b.Root)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 100, 3 << 20} {
		a, err := save.Plan(s, []string{"big:1"}, save.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Write(&failingWriter{n: n}); !errors.Is(err, errFull) {
			t.Errorf("writer failing after %d bytes: Write returned %v, want %v", n, err, errFull)
		}
	}
}
