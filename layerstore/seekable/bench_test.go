package seekable

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkLayer measures, on a real layer, what issue 20 asks of an
// image archive's gzip layers, each per iteration, and reports them:
//
//   - index-s, gzip-dc-s, tar-xzf-s: the index pass (digests included)
//     against decompressing to nothing and extracting to a directory,
//     and index/tar-xzf, the ratio (at most 1 wanted);
//   - index-%: the encoded index as a percentage of the uncompressed
//     size (at most 1 wanted);
//   - readat-MB/s, pagecache-MB/s: reading the whole stream in order in
//     128 KiB reads through ReadAt, and the decompressed file from the
//     page cache, and readat/pagecache, the ratio of their times (at
//     most 1.5 wanted).
//
// The layer is $SEEKABLE_BENCH_BLOB (a .tar.gz), or else a gzip of a tar
// of this machine's /etc and /usr/bin, made once per run.
func BenchmarkLayer(b *testing.B) {
	gz, tar := tool(b, "gzip"), tool(b, "tar")
	dir := b.TempDir()
	blob := os.Getenv("SEEKABLE_BENCH_BLOB")
	if blob == "" {
		blob = filepath.Join(dir, "layer.tar.gz")
		cmd := exec.Command("sh", "-c", `"$0" -C / -cf - etc usr/bin 2>/dev/null | "$1" -6 > "$2"`, tar, gz, blob)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("making the layer: %v\n%s", err, out)
		}
	}
	f, err := os.Open(blob)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	plain := filepath.Join(dir, "layer.tar")
	run(b, "sh", "-c", `"$0" -dc "$1" > "$2"`, gz, blob, plain)
	extract := filepath.Join(dir, "x")

	var tIndex, tGzip, tTar, tRead, tCache time.Duration
	var x *Index
	var idxSize int
	buf := make([]byte, 128<<10)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		x, err = BuildIndex(f, st.Size(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		tIndex += time.Since(t0)
		enc, err := x.MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		idxSize = len(enc)

		tGzip += timed(b, "sh", "-c", `"$0" -dc "$1" > /dev/null`, gz, blob)
		if err := os.RemoveAll(extract); err != nil {
			b.Fatal(err)
		}
		if err := os.Mkdir(extract, 0o755); err != nil {
			b.Fatal(err)
		}
		tTar += timed(b, tar, "-xzf", blob, "-C", extract)

		rd, err := Open(f, st.Size(), x, "")
		if err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		readAll(b, rd, buf)
		tRead += time.Since(t0)
		rd.Close()

		p, err := os.Open(plain)
		if err != nil {
			b.Fatal(err)
		}
		readAll(b, p, buf) // into the page cache
		t0 = time.Now()
		readAll(b, p, buf)
		tCache += time.Since(t0)
		p.Close()
	}
	b.StopTimer()
	n := float64(b.N)
	mb := float64(x.Size) / 1e6
	b.ReportMetric(tIndex.Seconds()/n, "index-s")
	b.ReportMetric(tGzip.Seconds()/n, "gzip-dc-s")
	b.ReportMetric(tTar.Seconds()/n, "tar-xzf-s")
	b.ReportMetric(tIndex.Seconds()/tTar.Seconds(), "index/tar-xzf")
	b.ReportMetric(100*float64(idxSize)/float64(x.Size), "index-%")
	b.ReportMetric(mb*n/tRead.Seconds(), "readat-MB/s")
	b.ReportMetric(mb*n/tCache.Seconds(), "pagecache-MB/s")
	b.ReportMetric(tRead.Seconds()/tCache.Seconds(), "readat/pagecache")
	b.ReportMetric(float64(x.Size), "uncompressed-bytes")
	b.ReportMetric(float64(x.Points()), "points")
}

func readAll(b *testing.B, r io.ReaderAt, buf []byte) {
	for off := int64(0); ; {
		n, err := r.ReadAt(buf, off)
		off += int64(n)
		if err == io.EOF {
			return
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

func tool(b *testing.B, name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return p
}

func run(b *testing.B, name string, args ...string) {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		b.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
}

func timed(b *testing.B, name string, args ...string) time.Duration {
	t0 := time.Now()
	run(b, name, args...)
	return time.Since(t0)
}
