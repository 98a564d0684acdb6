package layerstore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/aufsmount/aufsmount/internal/workpool"
)

// Limits on what is read from one file: a store file larger than this is
// corrupt, and a bound keeps a bad store from exhausting memory.
const (
	maxJSON  = 64 << 20 // image configs, graph json, container configs, tag stores
	maxList  = 16 << 20 // aufs/layers files
	maxSmall = 4 << 10  // cache-id, diff, parent, size, mount-id ...
)

// readFile reads a regular file of the store, read-only. It does not
// follow a symlink in the last component and does not block on a fifo.
// Its errors do not repeat p: callers wrap them in a *CorruptError naming
// p.
func readFile(p string, limit int64) ([]byte, error) {
	f, err := openNoatime(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, errors.New("is a symlink, not a file")
		}
		return nil, bare(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, bare(err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%v)", st.Mode().Type())
	}
	// Sized from the stat, so a big file is read into one buffer; the
	// limit still holds if it grew since.
	buf := make([]byte, 0, min(st.Size(), limit)+1)
	data, err := readAllInto(buf, io.LimitReader(f, limit+1))
	if err != nil {
		return nil, bare(err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// noatimeRefused is set once the kernel refuses O_NOATIME (we neither own
// the store's files nor have CAP_FOWNER); reads then go without it.
var noatimeRefused atomic.Bool

// openNoatime opens p without updating its access time where the kernel
// allows: a store is evidence, and reading it must leave its atimes be.
func openNoatime(p string, flags int) (*os.File, error) {
	flags |= syscall.O_CLOEXEC
	if !noatimeRefused.Load() {
		f, err := os.OpenFile(p, flags|syscall.O_NOATIME, 0)
		if !errors.Is(err, syscall.EPERM) {
			return f, err
		}
		noatimeRefused.Store(true)
	}
	return os.OpenFile(p, flags, 0)
}

// readDir lists a directory of the store, sorted by name, as os.ReadDir
// does, but without touching the directory's atime.
func readDir(dir string) ([]os.DirEntry, error) {
	f, err := openNoatime(dir, os.O_RDONLY|syscall.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	return ents, err
}

// bare drops the path from an *fs.PathError, for errors that will be
// wrapped with the path anyway.
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readSmall reads one of the small one-line files of a layerdb entry,
// trimming white space as Docker does.
func readSmall(p string) (string, error) {
	data, err := readFile(p, maxSmall)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(data)), nil
}

// readSmallOptional is readSmall, with a missing file read as "".
func readSmallOptional(p string) (string, error) {
	s, err := readSmall(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return s, err
}

// parseSize parses a size file (layersize, layerdb size): a decimal
// number of bytes; anything else is unknown (-1), since a size is only
// shown, never relied on.
func parseSize(data []byte) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// readSize reads a size file; -1 when it is missing or unreadable.
func readSize(p string) int64 {
	data, err := readFile(p, maxSmall)
	if err != nil {
		return -1
	}
	return parseSize(data)
}

// exists says whether p exists (without following a final symlink).
func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// isDir says whether p is a directory (following symlinks: used only for
// the fixed layout markers, never for a name read from a file).
func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// checkLayerDir says whether p is a real directory: a symlink at
// aufs/diff/<id> could point anywhere on the host, so it is corrupt.
func checkLayerDir(p string) error {
	st, err := os.Lstat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &CorruptError{File: p, Err: errors.New("layer directory is missing")}
		}
		return &CorruptError{File: p, Err: bare(err)}
	}
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		return &CorruptError{File: p, Err: errors.New("layer directory is a symlink")}
	case !st.IsDir():
		return &CorruptError{File: p, Err: fmt.Errorf("layer directory is not a directory (%v)", st.Mode().Type())}
	}
	return nil
}

// corrupt wraps err as a *CorruptError naming file, unless it already is one.
func corrupt(file string, err error) *CorruptError {
	var ce *CorruptError
	if errors.As(err, &ce) {
		return ce
	}
	return &CorruptError{File: file, Err: err}
}

// readers is how many metadata reads run at once: a cold store's files
// come from disk, and a chain of 60 layers read one by one waits on 300
// of them in turn.
const readers = 8

// forEach calls f(0) ... f(n-1) on up to readers goroutines.
func forEach(n int, f func(i int)) { workpool.Each(n, readers, f) }

// readAllInto is io.ReadAll into buf's room first.
func readAllInto(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
