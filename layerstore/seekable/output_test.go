package seekable

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// The pass writes the stream it decodes to Output, whole and in order,
// whatever the blob's members; a zstd pass, which may start over, is
// refused one.
func TestOutput(t *testing.T) {
	a, b := compressible(31, 3<<20), compressible(32, 700<<10)
	whole := append(append([]byte(nil), a...), b...)
	for _, tc := range []struct {
		name string
		blob []byte
		err  string
	}{
		{"gzip, one member", gzipMembers(t, 6, whole), ""},
		{"gzip, two members", gzipMembers(t, 1, a, b), ""},
		{"gzip, stored blocks", gzipMembers(t, 0, whole), ""},
		{"uncompressed", whole, ""},
		{"zstd", zstdFramesOf(t, a, b), "cannot write its stream out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			x, err := build(t, tc.blob, Options{Span: 1 << 20, Output: &out, DiffID: sha(whole)})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), whole) {
				t.Fatalf("Output got %d bytes, not the %d-byte stream", out.Len(), len(whole))
			}
			if x.Size != int64(len(whole)) {
				t.Fatalf("Size = %d, want %d", x.Size, len(whole))
			}
		})
	}
}

// A writer that fails stops the pass, and the error says so.
func TestOutputFails(t *testing.T) {
	data := compressible(33, 1<<20)
	_, err := build(t, gzipMembers(t, 6, data), Options{Output: failingWriter{}})
	if err == nil || !strings.Contains(err.Error(), "writing the stream out: no room") {
		t.Fatalf("err = %v, want writing the stream out: no room", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errNoRoom }

var errNoRoom = errors.New("no room")
