package seekable

import (
	"bytes"
	"compress/gzip"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
)

// gzipMembers compresses each part as its own gzip member (compress/gzip,
// not the code under test) and concatenates them.
func gzipMembers(t testing.TB, level int, parts ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, p := range parts {
		w, err := gzip.NewWriterLevel(&b, level)
		if err != nil {
			t.Fatal(err)
		}
		w.Name = "layer.tar" // a header field to skip
		if _, err := w.Write(p); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// zstdFramesOf compresses each part as its own zstd frame.
func zstdFramesOf(t testing.TB, parts ...[]byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var out []byte
	for _, p := range parts {
		out = enc.EncodeAll(p, out)
	}
	return out
}

func sha(b []byte) digest.Digest { return digest.FromBytes(b) }

func build(t testing.TB, blob []byte, opt Options) (*Index, error) {
	t.Helper()
	return BuildIndex(bytes.NewReader(blob), int64(len(blob)), opt)
}

func open(t testing.TB, blob []byte, x *Index, spill string) *Reader {
	t.Helper()
	rd, err := Open(bytes.NewReader(blob), int64(len(blob)), x, spill)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return rd
}

func spillFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	hidden, _ := filepath.Glob(filepath.Join(dir, ".*"))
	m = append(m, hidden...)
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}
