package layerstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

// The caches of what a layer's tar-split records, kept per user by diff
// id (of which it is a function), outside the store: a layer's survey
// (copies.go), and for a layer that lost something, the index of every
// header, which the view reads a directory at a time (docs/copies.md).

// LoadRestore returns the index a view restores a layer's directory
// from, packed: the index of the layer of from (Layer.Restore), read a
// directory at a time from the cache file that holds it, or of its
// chain's layers, merged, in memory.
func LoadRestore(from []Layer) (*layertar.Packed, error) {
	if len(from) == 1 {
		if f, size := cachedIndexFile(from[0]); f != nil {
			// The file stays open as long as the view: it is read from.
			if p, err := layertar.Pack(io.NewSectionReader(f, 8, size-8), size-8); err == nil {
				return p, nil
			}
			f.Close()
		}
	}
	x, err := chainIndex(from)
	if err != nil {
		return nil, err
	}
	data, err := x.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return layertar.Pack(bytes.NewReader(data), int64(len(data)))
}

// cachedIndexFile opens the cache file of l's index, when it holds the
// index of l's tar-split as it is, with its size.
func cachedIndexFile(l Layer) (*os.File, int64) {
	hex, err := parseDigest(l.DiffID)
	dir := cacheRoot("index")
	if err != nil || dir == "" {
		return nil, 0
	}
	f, err := openNoatime(filepath.Join(dir, hex), os.O_RDONLY|syscall.O_NOFOLLOW)
	if err != nil {
		return nil, 0
	}
	var head [8]byte
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() < 8 || st.Size()-8 > maxIndex {
		f.Close()
		return nil, 0
	}
	if _, err := f.ReadAt(head[:], 0); err != nil || int64(binary.LittleEndian.Uint64(head[:])) != tarSplitSize(l) {
		f.Close()
		return nil, 0
	}
	return f, st.Size()
}

// cachedIndex is the encoded index the cache holds for l's tar-split,
// or nil.
func cachedIndex(l Layer) []byte {
	f, size := cachedIndexFile(l)
	if f == nil {
		return nil
	}
	defer f.Close()
	data := make([]byte, size-8)
	if _, err := f.ReadAt(data, 8); err != nil {
		return nil
	}
	return data
}

// layerSurvey returns l's survey record, from the cache when it has one
// for l's diff id; nil when l has no tar-split. Making one reads the
// whole tar-split, and keeps its index too (loadIndex).
func layerSurvey(l Layer) (*surveyRecord, error) {
	size := tarSplitSize(l)
	hex, err := parseDigest(l.DiffID)
	dir := cacheRoot("survey")
	if err == nil && dir != "" && size > 0 {
		var rec surveyRecord
		if data, err := readFile(filepath.Join(dir, hex), maxJSON); err == nil && json.Unmarshal(data, &rec) == nil && rec.Size == size && rec.Version == surveyVersion {
			return &rec, nil
		}
	}
	x, err := layertar.ReadIndex(TarLayer(l))
	if errors.Is(err, layertar.ErrNoTarSplit) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the tar-split of layer %s: %w", l.ID, err)
	}
	rec := surveyOf(x, size)
	if hex != "" && dir != "" && size > 0 {
		if data, err := json.Marshal(rec); err == nil {
			writeCacheFile(dir, hex, data)
		}
		// Kept until the survey says whether the layer needs it: most
		// do not, and writing every index would double a first mount.
		fresh.Store(hex, x)
	}
	return rec, nil
}

// fresh holds the indexes read by this process whose layers' surveys
// have not yet said whether they are needed (RecoverCopy), by diff id.
var fresh sync.Map

// keepIndex caches the index of l, read by this process, if lost says
// the view needs it; and lets it go.
func keepIndex(l Layer, lost bool) {
	hex, err := parseDigest(l.DiffID)
	if err != nil {
		return
	}
	if x, ok := fresh.LoadAndDelete(hex); ok && lost {
		writeIndex(hex, tarSplitSize(l), x.(*layertar.Index))
	}
}

// LoadIndex returns the index of the tar-split at tarSplit, which
// records the layer of diff id diffID: from the cache where
// RecoverCopy left it, otherwise read again.
func LoadIndex(l Layer) (*layertar.Index, error) {
	size := tarSplitSize(l)
	hex, err := parseDigest(l.DiffID)
	if x, ok := fresh.Load(hex); ok && err == nil {
		return x.(*layertar.Index), nil
	}
	if data := cachedIndex(l); data != nil {
		if x, err := layertar.UnmarshalIndex(data); err == nil {
			return x, nil
		}
	}
	x, err := layertar.ReadIndex(TarLayer(l))
	if err != nil {
		return nil, fmt.Errorf("reading the tar-split of layer %s: %w", l.ID, err)
	}
	if hex != "" {
		writeIndex(hex, size, x)
	}
	return x, nil
}

// maxIndex bounds a cached index: about 100 bytes an entry.
const maxIndex = 1 << 30

var indexWrites sync.Mutex

func writeIndex(hex string, size int64, x *layertar.Index) {
	dir := cacheRoot("index")
	if dir == "" || size == 0 {
		return
	}
	data, err := x.MarshalBinary()
	if err != nil {
		return
	}
	// The size of the tar-split it came from, then the index.
	data = append(binary.LittleEndian.AppendUint64(nil, uint64(size)), data...)
	indexWrites.Lock()
	defer indexWrites.Unlock()
	writeCacheFile(dir, hex, data)
}

// tarSplitSize is the size of l's tar-split file, or 0.
func tarSplitSize(l Layer) int64 {
	var st unix.Stat_t
	if l.TarSplit == "" || unix.Lstat(l.TarSplit, &st) != nil {
		return 0
	}
	return st.Size
}

// cacheRoot is the per-user cache directory called name, or "" when
// caching is off.
func cacheRoot(name string) string {
	d := cacheDir()
	if d == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(d), name)
}

// writeCacheFile stores data at dir/name atomically; failing is no
// error: the cache only saves time.
func writeCacheFile(dir, name string, data []byte) {
	if err := os.MkdirAll(dir, 0o700); err != nil && !errors.Is(err, syscall.EEXIST) {
		return
	}
	f, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr != nil || cerr != nil || os.Rename(f.Name(), filepath.Join(dir, name)) != nil {
		os.Remove(f.Name())
	}
}
