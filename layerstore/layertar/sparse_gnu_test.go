package layertar_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"

	"github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

// TestIndexTarSparse indexes tars GNU tar wrote with --sparse in each of
// its formats: each sparse file reads back as the file tar was given,
// at any offset, with its size, as do the plain file after them and a
// hard link to one; the index keeps the fragments through its binary
// form.
func TestIndexTarSparse(t *testing.T) {
	testenv.Tool(t, "tar")
	for _, f := range storetest.SparseFormats {
		t.Run(f.Name, func(t *testing.T) {
			data, err := storetest.GNUSparseTar(t.TempDir(), storetest.SparseSpecs, f.Args...)
			if err != nil {
				t.Fatal(err)
			}
			x, err := layertar.IndexTar(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			enc, err := x.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			y, err := layertar.UnmarshalIndex(enc)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]byte{"plain": []byte("not sparse\n"), "link": storetest.SparseSpecs[0].Content()}
			for _, sf := range storetest.SparseSpecs {
				want[sf.Name] = sf.Content()
			}
			for _, ix := range []*layertar.Index{x, y} {
				for name, content := range want {
					dir, base := "", name
					if i := strings.LastIndexByte(name, '/'); i >= 0 {
						dir, base = name[:i], name[i+1:]
					}
					m := ix.Lookup(dir, base)
					if m == nil {
						t.Errorf("%s: not in the index", name)
						continue
					}
					if sparse := name != "plain"; sparse != (m.Sparse != nil) {
						t.Errorf("%s: fragments %v, want sparse %v", name, m.Sparse, sparse)
					}
					if m.Size != int64(len(content)) {
						t.Errorf("%s: size %d, want %d", name, m.Size, len(content))
					}
					r := m.Open(bytes.NewReader(data))
					got, err := io.ReadAll(r)
					if err != nil || !bytes.Equal(got, content) {
						t.Errorf("%s: read whole: %d bytes (%v), not the file's %d", name, len(got), err, len(content))
					}
					// Reads across holes and fragments' edges.
					for _, off := range []int64{0, 99990, 100000, 1<<20 + 100, 1<<20 + 123 + 69990, 2000000 - 3, 32<<10 - 4, int64(len(content)) - 7} {
						if off < 0 || off >= int64(len(content)) {
							continue
						}
						buf := make([]byte, 20)
						n, err := r.ReadAt(buf, off)
						end := min(off+20, int64(len(content)))
						if int64(n) != end-off || !bytes.Equal(buf[:n], content[off:end]) || err != nil && err != io.EOF {
							t.Errorf("%s: 20 bytes at %d: %q (%v), want %q", name, off, buf[:n], err, content[off:end])
						}
					}
				}
			}
		})
	}
}

// TestVerifySparseTarSplit: a tar-split keeps a sparse file's contents
// whole, not its tar's fragments, so its stream cannot be rebuilt:
// Verify says so as a layer without a usable tar-split, naming the file.
func TestVerifySparseTarSplit(t *testing.T) {
	testenv.Tool(t, "tar")
	for _, f := range storetest.SparseFormats[:3] { // PAX 1.0's map is in the data, which a tar-split does not keep either
		t.Run(f.Name, func(t *testing.T) {
			data, err := storetest.GNUSparseTar(t.TempDir(), storetest.SparseSpecs, f.Args...)
			if err != nil {
				t.Fatal(err)
			}
			var ts bytes.Buffer
			its, err := asm.NewInputTarStream(bytes.NewReader(data), storage.NewJSONPacker(&ts), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, its); err != nil {
				t.Fatal(err)
			}
			l := layertar.Layer{Dir: t.TempDir(), OpenTarSplit: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(ts.Bytes())), nil }}
			_, err = layertar.Verify(l, nil)
			const want = "its tar holds a sparse file (holes), whose fragments a tar-split does not keep: the stream cannot be rebuilt"
			if !errors.Is(err, layertar.ErrNoTarSplit) || err.Error() != want {
				t.Errorf("Verify: %v, want %q", err, want)
			}
		})
	}
}
