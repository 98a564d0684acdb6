package seekable

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// readsMatch reads n random ranges of rd and compares them with want.
func readsMatch(rd *Reader, want []byte, seed uint64, n int) error {
	r := rand.New(rand.NewPCG(seed, 7))
	for i := 0; i < n; i++ {
		off := r.Int64N(int64(len(want)) + 1)
		size := r.IntN(300 << 10)
		got := make([]byte, size)
		m, err := rd.ReadAt(got, off)
		end := min(int64(len(want)), off+int64(size))
		switch {
		case int64(m) != end-off:
			return fmt.Errorf("ReadAt(%d bytes at %d): %d bytes, %v", size, off, m, err)
		case end < off+int64(size) && err != io.EOF:
			return fmt.Errorf("ReadAt(%d bytes at %d) past the end: error %v, want io.EOF", size, off, err)
		case end == off+int64(size) && err != nil:
			return fmt.Errorf("ReadAt(%d bytes at %d): %v", size, off, err)
		case !bytes.Equal(got[:m], want[off:end]):
			return fmt.Errorf("ReadAt(%d bytes at %d): wrong bytes", size, off)
		}
	}
	return nil
}

// Round trips at random offsets against the plainly decompressed stream,
// for each kind of blob.
func TestReadAtRandomOffsets(t *testing.T) {
	data := compressible(3, 5<<20+123)
	a, b, c := data[:1<<20], data[1<<20:1<<20+77], data[1<<20+77:]
	for _, tc := range []struct {
		name   string
		blob   []byte
		kind   Compression
		points int
	}{
		// 80 spans of 64 KiB; a point waits for the next block or frame.
		{"gzip", gzipMembers(t, 6, data), Gzip, 32},
		{"gzip level 1", gzipMembers(t, 1, data), Gzip, 32},
		{"gzip stored", gzipMembers(t, 0, data), Gzip, 32},
		{"gzip huffman only", gzipMembers(t, -2, data), Gzip, 32},
		{"gzip three members", gzipMembers(t, 9, a, b, c), Gzip, 32},
		{"zstd frames", zstdFramesOf(t, chunks(data, 40<<10)...), Zstd, 32},
		{"uncompressed", data, Uncompressed, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := build(t, tc.blob, Options{Span: 64 << 10, Digest: sha(tc.blob), DiffID: sha(data)})
			if err != nil {
				t.Fatal(err)
			}
			if x.Compression != tc.kind || x.Size != int64(len(data)) || x.Spilled {
				t.Fatalf("index: %v, %d bytes, spilled %v", x.Compression, x.Size, x.Spilled)
			}
			// About one point per span (a point waits for a block boundary).
			if x.Points() < tc.points || x.Points() > tc.points*5/2 {
				t.Fatalf("%d points, want %d to %d", x.Points(), tc.points, tc.points*5/2)
			}
			if err := readsMatch(open(t, tc.blob, x, ""), data, 1, 200); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func chunks(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	return append(out, b)
}

// Reading the whole stream in order, in small reads, decodes it about
// once: each span's decoder carries on where the last read stopped, and
// hands on to the next span.
func TestSequentialReadsDecodeOnce(t *testing.T) {
	data := compressible(4, 2<<20)
	blob := gzipMembers(t, 6, data)
	rd, counter, _ := openCounted(t, blob, 64<<10)
	got := make([]byte, 0, len(data))
	buf := make([]byte, 4096)
	for off := int64(0); ; off += 4096 {
		n, err := rd.ReadAt(buf, off)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatal("sequential reads differ from the stream")
	}
	// Each byte of the blob read once, plus read-ahead of the last chunk.
	if counter.n > int64(len(blob))+readChunk {
		t.Fatalf("read %d compressed bytes for a %d-byte blob", counter.n, len(blob))
	}
}

type countingReaderAt struct {
	r io.ReaderAt
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

func TestZstd(t *testing.T) {
	data := compressible(5, 3<<20)
	t.Run("one frame spills", func(t *testing.T) {
		blob := zstdFramesOf(t, data)
		dir := t.TempDir()
		x, err := build(t, blob, Options{Span: 64 << 10, SpillDir: dir, DiffID: sha(data)})
		if err != nil {
			t.Fatal(err)
		}
		if !x.Spilled || x.Size != int64(len(data)) {
			t.Fatalf("spilled %v, %d bytes", x.Spilled, x.Size)
		}
		files := spillFiles(t, dir)
		if len(files) != 1 || files[0] != "sha256-"+sha(data).Encoded() {
			t.Fatalf("spill directory holds %q", files)
		}
		if err := readsMatch(open(t, blob, x, dir), data, 2, 100); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("one frame without a spill directory", func(t *testing.T) {
		_, err := build(t, zstdFramesOf(t, data), Options{Span: 64 << 10})
		if err == nil || err.Error() != "a zstd stream with frames too big to restart in needs a directory for its decompressed copy (none given)" {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("one frame checked alone keeps nothing", func(t *testing.T) {
		blob := zstdFramesOf(t, data)
		dir := t.TempDir()
		x, err := build(t, blob, Options{Span: 64 << 10, SpillDir: dir, Digest: sha(blob), DiffID: sha(data), CheckOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if x.Spilled || x.Size != int64(len(data)) || x.DiffID != sha(data) {
			t.Fatalf("spilled %v, %d bytes, diff id %s", x.Spilled, x.Size, x.DiffID)
		}
		if files := spillFiles(t, dir); len(files) != 0 {
			t.Fatalf("spill directory holds %q", files)
		}
		other := append([]byte(nil), data...)
		other[len(other)/2] ^= 1
		_, err = build(t, zstdFramesOf(t, other), Options{Span: 64 << 10, DiffID: sha(data), CheckOnly: true})
		if !errors.Is(err, ErrDigest) {
			t.Fatalf("another stream: error %v, want a digest mismatch", err)
		}
	})
	t.Run("a small single frame is read from its start", func(t *testing.T) {
		small := data[:100<<10]
		blob := zstdFramesOf(t, small)
		x, err := build(t, blob, Options{Span: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		if x.Spilled || x.Points() != 1 {
			t.Fatalf("spilled %v, %d points", x.Spilled, x.Points())
		}
		if err := readsMatch(open(t, blob, x, ""), small, 3, 50); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("several frames and a skippable one", func(t *testing.T) {
		parts := chunks(data, 100<<10)
		blob := zstdFramesOf(t, parts[:10]...)
		// A skippable frame (magic 0x184d2a5e, 5 bytes) in the middle.
		blob = append(blob, 0x5e, 0x2a, 0x4d, 0x18, 5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o')
		blob = append(blob, zstdFramesOf(t, parts[10:]...)...)
		x, err := build(t, blob, Options{Span: 200 << 10, Digest: sha(blob), DiffID: sha(data)})
		if err != nil {
			t.Fatal(err)
		}
		// 31 frames of 100 KiB: a point every second frame.
		if x.Spilled || x.Points() != 16 {
			t.Fatalf("spilled %v, %d points", x.Spilled, x.Points())
		}
		if err := readsMatch(open(t, blob, x, ""), data, 4, 100); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBuildIndexErrors(t *testing.T) {
	data := compressible(6, 1<<20)
	gz := gzipMembers(t, 6, data)
	zs := zstdFramesOf(t, chunks(data, 64<<10)...)
	corrupt := append([]byte(nil), gz...)
	corrupt[len(corrupt)/2] ^= 0x55
	badCRC := append([]byte(nil), gz...)
	badCRC[len(badCRC)-8] ^= 1
	// Past the 64 MiB below which the ratio is not applied.
	zeros := make([]byte, 72<<20)
	gzZeros := gzipMembers(t, 9, zeros)
	for _, tc := range []struct {
		name string
		blob []byte
		opt  Options
		err  error
		msg  string
	}{
		{"gzip digest", gz, Options{Digest: sha([]byte("other"))}, ErrDigest,
			"the blob's digest is " + string(sha(gz)) + ", expected sha256:d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa: digest mismatch"},
		{"diff id", gz, Options{DiffID: sha([]byte("other"))}, ErrDigest,
			"the uncompressed stream's digest (diff id) is " + string(sha(data)) + ", expected sha256:d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa: digest mismatch"},
		{"zstd digest", zs, Options{Digest: sha([]byte("other"))}, ErrDigest, ""},
		{"uncompressed diff id", data, Options{DiffID: sha([]byte("other"))}, ErrDigest, ""},
		{"truncated gzip", gz[:len(gz)/2], Options{}, ErrTruncated, ""},
		{"gzip without its trailer", gz[:len(gz)-5], Options{}, ErrTruncated, ""},
		{"truncated zstd", zs[:len(zs)-100], Options{}, ErrTruncated, ""},
		{"corrupt gzip", corrupt, Options{}, ErrCorrupt, ""},
		{"corrupt gzip with a digest", corrupt, Options{Digest: sha(gz)}, ErrDigest, ""},
		{"gzip CRC", badCRC, Options{}, ErrCorrupt, ""},
		{"trailing garbage", append(append([]byte(nil), gz...), "junk"...), Options{}, ErrCorrupt, ""},
		{"a second member cut short", append(append([]byte(nil), gz...), 0x1f, 0x8b, 8), Options{}, ErrTruncated, ""},
		{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0, 1, 2}, Options{}, ErrCorrupt, "xz compression: not supported (gzip, zstd or none): corrupt compressed data"},
		{"gzip bomb by size", gzZeros, Options{MaxSize: 32 << 20}, ErrTooLarge, ""},
		{"uncompressed over the size limit", data, Options{MaxSize: 512 << 10}, ErrTooLarge,
			"the uncompressed stream passes 524288 bytes, the limit for a 1048576-byte blob (at most 1100 times its size, 524288 bytes in all): uncompressed stream over the limit"},
		{"gzip bomb by ratio", gzZeros, Options{MaxRatio: 10}, ErrTooLarge, ""},
		{"zstd bomb by ratio", zstdFramesOf(t, zeros), Options{SpillDir: t.TempDir()}, ErrTooLarge, ""},
		{"bad expected digest", gz, Options{Digest: "sha256:1234"}, nil, `expected digest "sha256:1234": invalid checksum digest length`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, tc.blob, tc.opt)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Fatalf("error\n%s\nwant\n%s", err, tc.msg)
			}
		})
	}
}

// Limits: a layer of zeros under the floor is no bomb.
func TestSmallLayerOfZerosIsNoBomb(t *testing.T) {
	zeros := make([]byte, 32<<20)
	x, err := build(t, gzipMembers(t, 9, zeros), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if x.Size != 32<<20 {
		t.Fatalf("%d bytes", x.Size)
	}
}

// Readers share one Reader: each read takes its own cursor.
func TestConcurrentReads(t *testing.T) {
	data := compressible(10, 2<<20)
	blob := gzipMembers(t, 6, data)
	x, err := build(t, blob, Options{Span: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	rd := open(t, blob, x, "")
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			if err := readsMatch(rd, data, uint64(g), 30); err != nil {
				t.Error(err)
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}
