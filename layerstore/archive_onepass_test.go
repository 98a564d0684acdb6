package layerstore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"

	"github.com/aufsmount/aufsmount/layerstore/seekable"
)

// countedAt counts the bytes read through it.
type countedAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countedAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// onePassTar is a layer of a directory, a file of 3 MiB (past a span of
// the gzip index, so its content is not all in one run) and a symlink,
// then a file whose parent is that file when bad is set.
func onePassTar(t *testing.T, bad bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<16)
	for _, h := range []*tar.Header{
		{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "etc/big", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(big))},
		{Name: "etc/link", Typeflag: tar.TypeSymlink, Linkname: "big", Mode: 0o777},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write(big)
		}
	}
	if bad {
		tw.WriteHeader(&tar.Header{Name: "etc/big/under", Typeflag: tar.TypeReg, Mode: 0o644})
	}
	tw.Close()
	return buf.Bytes()
}

// A blob opened for the first time is read once: the pass that checks it
// also indexes its tar (a gzip blob is not inflated a second time for
// that). A zstd blob, whose pass may start over, is indexed after it. A
// blob that fails its check says so before anything its tar holds, and a
// bad tar in a good blob is named as the tar's.
func TestArchiveOnePass(t *testing.T) {
	t.Setenv("AUFSMOUNT_NO_CACHE", "1")
	good, bad := onePassTar(t, false), onePassTar(t, true)
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	zst := func(b []byte) []byte {
		w, _ := zstd.NewWriter(nil)
		return w.EncodeAll(b, nil)
	}
	for _, tc := range []struct {
		name      string
		c         seekable.Compression
		tarStream []byte
		blob      []byte
		digest    digest.Digest // the blob's digest as claimed
		onePass   bool
		err       string
	}{
		{"gzip", seekable.Gzip, good, gz(good), "", true, ""},
		{"uncompressed", seekable.Uncompressed, good, good, "", true, ""},
		{"gzip, found by its first bytes", seekable.Detect, good, gz(good), "", true, ""},
		{"zstd", seekable.Zstd, good, zst(good), "", false, ""},
		{"zstd, found by its first bytes", seekable.Detect, good, zst(good), "", false, ""},
		{"gzip, a bad tar", seekable.Gzip, bad, gz(bad), "", true, "indexing its tar: "},
		{"gzip, not the blob named and a bad tar", seekable.Gzip, bad, gz(bad), digest.FromString("another"), true, "reading its blob: the blob's digest is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.digest
			if d == "" {
				d = digest.FromBytes(tc.blob)
			}
			b := &ArchiveBlob{Archive: "test.tar", Member: "blob", Size: int64(len(tc.blob)), Compression: tc.c, Digest: string(d)}
			r := &countedAt{r: bytes.NewReader(tc.blob)}
			rd, x, err := openSeekable(io.NewSectionReader(r, 0, b.Size), b, string(digest.FromBytes(tc.tarStream)), t.TempDir(), "", "", nil, func() bool { return true })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			if !tc.onePass {
				if x != nil {
					t.Fatal("a zstd pass gave a tar index")
				}
				return
			}
			if x == nil {
				t.Fatal("no tar index from the pass")
			}
			// Each byte once, and the six that tell the compression where
			// the archive did not.
			if n, want := r.n.Load(), b.Size+map[bool]int64{true: 6}[tc.c == seekable.Detect]; n != want {
				t.Errorf("read %d bytes of a %d-byte blob, want %d", n, b.Size, want)
			}
			if m := x.Lookup("etc", "big"); m == nil || m.Size != 3<<20 || m.Off != 1024 {
				t.Errorf("etc/big: %+v, want 3 MiB at 1024", m)
			}
			if m := x.Lookup("etc", "link"); m == nil || m.Target != "big" {
				t.Errorf("etc/link: %+v, want a link to big", m)
			}
			if got := len(x.Dirs[""]); got != 1 {
				t.Errorf("the root lists %d entries, want 1", got)
			}
		})
	}
}
