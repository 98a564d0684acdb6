package layerstore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/layerstore/layertar"
	"github.com/aufsmount/aufsmount/layerstore/seekable"
)

// ArchiveStream is the blob of an image archive's layer opened for
// serving (docs/archives.md): its uncompressed tar stream readable at
// any offset, and the index of that tar (layertar.IndexTar), which says
// where each file's bytes are in it.
type ArchiveStream struct {
	// Index is nil from OpenArchiveLayerLazy, until TarIndex.
	Index *layertar.Index
	Data  *seekable.Reader
	File  *os.File // the archive's tar, or the layout's blob file
	// load decodes the index cached for a stream opened lazily.
	load func() (*layertar.Index, error)
}

// TarIndex is Index, which a stream opened by OpenArchiveLayerLazy
// decodes from the cache at its first call (once, however many call).
func (s *ArchiveStream) TarIndex() (*layertar.Index, error) {
	if s.load == nil {
		return s.Index, nil
	}
	return s.load()
}

// Close releases the stream and its file.
func (s *ArchiveStream) Close() error {
	s.Data.Close()
	return s.File.Close()
}

// OpenArchiveLayer opens b, the blob of a layer whose tar stream has
// diff id diffID ("" when unknown), for serving. Its first opening reads
// the blob whole: it builds the blob's seekable index, checking its
// digest and diff id and its compressed data, then indexes its tar. Both
// indexes are cached by the blob's digest under
// $XDG_CACHE_HOME/aufsmount/archive (none with AUFSMOUNT_NO_CACHE), so
// a later opening reads neither. The archive is opened read-only,
// without updating its access time. Errors name the member and the
// archive.
func OpenArchiveLayer(b *ArchiveBlob, diffID string) (*ArchiveStream, error) {
	return openNamed(b, diffID, false)
}

// OpenArchiveLayerLazy is OpenArchiveLayer, but where the index of the
// tar is cached it is decoded at the first TarIndex, not now: a view
// opens its layers' streams as it mounts, and decoding the indexes of
// 100,000 entries takes a good part of a second, which the view spends
// in the background after mounting instead.
func OpenArchiveLayerLazy(b *ArchiveBlob, diffID string) (*ArchiveStream, error) {
	return openNamed(b, diffID, true)
}

func openNamed(b *ArchiveBlob, diffID string, lazy bool) (*ArchiveStream, error) {
	s, err := openArchiveLayer(b, diffID, nil, lazy)
	if err != nil {
		return nil, fmt.Errorf("layer %s of %s: %w", clip(b.Member), b.Archive, err)
	}
	return s, nil
}

// openArchiveLayer is OpenArchiveLayer(Lazy); progress, if set, is told
// the blob's bytes read so far by its index pass.
func openArchiveLayer(b *ArchiveBlob, diffID string, progress func(done int64), lazy bool) (*ArchiveStream, error) {
	f, err := openBlob(b)
	if err != nil {
		return nil, err
	}
	s := &ArchiveStream{File: f.f}
	blob := f.reader()
	dir, key := cacheRoot("archive"), ""
	if hex, err := parseDigest(b.Digest); err == nil && dir != "" {
		key = hex
	}
	spill := dir
	if dir == "" {
		// A zstd stream that must be decompressed goes to a file, which
		// the Reader keeps open: its directory can go at once.
		if spill, err = os.MkdirTemp("", "aufsmount-spill-"); err != nil {
			f.f.Close()
			return nil, err
		}
		defer os.RemoveAll(spill)
	}
	// A pass that must read the blob again indexes its tar too, unless
	// the cache holds that index (which is then kept, not decoded twice).
	var cached *layertar.Index
	withTar := func() bool { cached = cachedTarIndex(dir, key); return cached == nil }
	var x *layertar.Index
	s.Data, x, err = openSeekable(blob, b, diffID, spill, key, blobStamp(f.f, b), progress, withTar)
	if err != nil {
		f.f.Close()
		return nil, err
	}
	if x != nil {
		s.Index = x
		cacheTarIndex(dir, key, x)
		return s, nil
	}
	if cached != nil {
		s.Index = cached
		return s, nil
	}
	if lazy && key != "" && exists(filepath.Join(dir, key+".tar")) {
		s.load = sync.OnceValues(func() (*layertar.Index, error) { return s.tarIndex(dir, key) })
		return s, nil
	}
	if s.Index, err = s.tarIndex(dir, key); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// tarIndex is the index of the stream's tar cached under key, or made
// from the stream (whose blob was checked as it opened) and cached.
func (s *ArchiveStream) tarIndex(dir, key string) (*layertar.Index, error) {
	if x := cachedTarIndex(dir, key); x != nil {
		return x, nil
	}
	x, err := layertar.IndexTar(io.NewSectionReader(s.Data, 0, s.Data.Size()))
	if err != nil {
		return nil, fmt.Errorf("indexing its tar: %w", err)
	}
	cacheTarIndex(dir, key, x)
	return x, nil
}

// cacheTarIndex keeps x, the index of a checked blob's tar, under key.
func cacheTarIndex(dir, key string, x *layertar.Index) {
	if key != "" {
		if data, err := x.MarshalBinary(); err == nil {
			writeCacheFile(dir, key+".tar", data)
		}
	}
}

// openBlob opens the file holding b: the archive's tar, or the blob's
// file beneath the layout directory, no symlink followed.
func openBlob(b *ArchiveBlob) (arcFile, error) {
	if b.File != b.Archive {
		a := &archive{path: b.Archive, dir: true}
		f, err := a.open(b.Member)
		if err == nil && f.size != b.Size {
			f.f.Close()
			return arcFile{}, fmt.Errorf("it has %d bytes, %d when the layout was read", f.size, b.Size)
		}
		return f, err
	}
	f, err := openNoatime(b.File, os.O_RDONLY|syscall.O_NOFOLLOW)
	if err != nil {
		return arcFile{}, fmt.Errorf("opening the archive: %w", bare(err))
	}
	end := b.Offset + b.Size
	if n := len(b.Sparse); n > 0 {
		end = b.Sparse[n-1].Stream + b.Sparse[n-1].Length
	}
	if st, err := f.Stat(); err != nil || st.Size() < end {
		f.Close()
		return arcFile{}, errors.New("the archive ends before the blob does")
	}
	return arcFile{f: f, off: b.Offset, size: b.Size, frags: b.Sparse, file: b.File}, nil
}

// openSeekable opens the blob's uncompressed stream, with the seekable
// index cached under key, or built (and cached), telling progress. Where
// it builds the index and withTar is set, the same pass indexes the
// stream's tar, which it returns: a gzip blob is then decompressed once,
// not once to check it and again to read its tar. A zstd blob's pass may
// start over, and its stream is read again (decoding zstd, or reading
// the decompressed copy, costs little beside inflating gzip).
func openSeekable(blob *io.SectionReader, b *ArchiveBlob, diffID, spill, key, stamp string, progress func(done int64), withTar func() bool) (*seekable.Reader, *layertar.Index, error) {
	dir := cacheRoot("archive")
	seen := filepath.Join(dir, key+".seen")
	if key != "" && stamp != "" && checkedIn(seen, stamp) {
		var idx seekable.Index
		if data, err := readFile(filepath.Join(dir, key+".seekable"), maxIndex); err == nil && idx.UnmarshalBinary(data) == nil {
			if rd, err := seekable.Open(blob, b.Size, &idx, spill); err == nil {
				return rd, nil, nil
			}
		}
	}
	opt := seekable.Options{
		Compression: b.Compression,
		Digest:      digest.Digest(b.Digest),
		DiffID:      digest.Digest(diffID),
		SpillDir:    spill,
		Progress:    progress,
	}
	var tarred func(error) (*layertar.Index, error)
	if opt.Compression == seekable.Detect {
		if c, err := seekable.DetectCompression(blob, b.Size); err == nil {
			opt.Compression = c // else the pass says what is wrong
		}
	}
	if opt.Compression != seekable.Detect && opt.Compression != seekable.Zstd && withTar() {
		opt.Output, tarred = indexTarOf()
		// A pass that panics still lets the indexer go.
		defer tarred(errAbandoned)
	}
	idx, err := seekable.BuildIndex(blob, b.Size, opt)
	var x *layertar.Index
	if tarred != nil {
		x, err = tarredAfter(tarred, err)
	} else if err != nil {
		err = fmt.Errorf("reading its blob: %w", err)
	}
	if err != nil {
		return nil, nil, err
	}
	if key != "" {
		if data, err := idx.MarshalBinary(); err == nil {
			writeCacheFile(dir, key+".seekable", data)
			if stamp != "" {
				addStamp(seen, stamp)
			}
		}
	}
	rd, err := seekable.Open(blob, b.Size, idx, spill)
	if err != nil {
		return nil, nil, fmt.Errorf("reading its blob: %w", err)
	}
	return rd, x, nil
}

// indexTarOf indexes, in the background, the tar stream written to w;
// done, given the error of what wrote it, waits for the index.
func indexTarOf() (w io.Writer, done func(error) (*layertar.Index, error)) {
	pr, pw := io.Pipe()
	type result struct {
		x   *layertar.Index
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r = result{err: fmt.Errorf("internal error: %v", p)}
			}
			// Past the tar's end, or after a bad entry, the stream goes
			// on: the pass must finish, to check the blob.
			io.Copy(io.Discard, pr)
			ch <- r
		}()
		r.x, r.err = layertar.IndexTar(pr)
	}()
	var once sync.Once
	var r result
	return pw, func(werr error) (*layertar.Index, error) {
		once.Do(func() {
			pw.CloseWithError(werr)
			r = <-ch
		})
		return r.x, r.err
	}
}

// errAbandoned ends the stream of a pass that did not finish.
var errAbandoned = errors.New("the index pass was abandoned")

// tarredAfter waits for the tar index of a pass that ended with err: a
// blob that failed its check is reported as such, before what its tar
// holds.
func tarredAfter(done func(error) (*layertar.Index, error), err error) (*layertar.Index, error) {
	x, terr := done(err)
	if err != nil {
		return nil, fmt.Errorf("reading its blob: %w", err)
	}
	if terr != nil {
		return nil, fmt.Errorf("indexing its tar: %w", terr)
	}
	return x, nil
}

// cachedTarIndex is the index of the tar the cache holds under key, or
// nil.
func cachedTarIndex(dir, key string) *layertar.Index {
	if key == "" {
		return nil
	}
	data, err := readFile(filepath.Join(dir, key+".tar"), maxIndex)
	if err != nil {
		return nil
	}
	x, err := layertar.UnmarshalIndex(data)
	if err != nil {
		return nil
	}
	return x
}

// A blob's index is cached by its digest, but a digest is only a claim of
// the archive: a copy of the blob in another archive, or the same archive
// changed since, may be damaged. So the cache also keeps, in <key>.seen,
// the files in which the blob was read and found to be the one its
// digest names, each as blobStamp gives it, and an index is used for a
// blob only in one of them; any other reads the blob again, as the first
// opening did (docs/archives.md).
const maxStamps = 32

// blobStamp names the file holding b as it is now: device, inode, size,
// modification and change times (which no writer can keep), and the
// blob's place in it; "" where it cannot be read.
func blobStamp(f *os.File, b *ArchiveBlob) string { return fileStamp(f, b.Offset, b.Size) }

// fileStamp names the size bytes at off of f, as f is now; "" where it
// cannot be read.
func fileStamp(f *os.File, off, size int64) string {
	var st unix.Stat_t
	if f == nil || unix.Fstat(int(f.Fd()), &st) != nil {
		return ""
	}
	return fmt.Sprintf("%d %d %d %d.%09d %d.%09d %d %d", st.Dev, st.Ino, st.Size,
		st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec, off, size)
}

// indexed says whether the cache dir holds b's indexes under hex, for
// the file that holds b as it is.
func indexed(b *ArchiveBlob, dir, hex string) bool {
	if !exists(filepath.Join(dir, hex+".seekable")) || !exists(filepath.Join(dir, hex+".tar")) {
		return false
	}
	f, err := openBlob(b)
	if err != nil {
		return false
	}
	defer f.f.Close()
	stamp := blobStamp(f.f, b)
	return stamp != "" && checkedIn(filepath.Join(dir, hex+".seen"), stamp)
}

// checkedIn says whether the list at p holds stamp.
func checkedIn(p, stamp string) bool {
	data, err := readFile(p, maxStamps*128)
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(data), "\n") {
		if l == stamp {
			return true
		}
	}
	return false
}

// addStamp adds stamp to the list at p, the oldest dropped past maxStamps.
func addStamp(p, stamp string) {
	var lines []string
	if data, err := readFile(p, maxStamps*128); err == nil {
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if l != "" && l != stamp {
				lines = append(lines, l)
			}
		}
	}
	lines = append(lines, stamp)
	lines = lines[max(0, len(lines)-maxStamps):]
	writeCacheFile(filepath.Dir(p), filepath.Base(p), []byte(strings.Join(lines, "\n")+"\n"))
}
