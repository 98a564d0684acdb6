package fs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// What the FUSE nodes and View read of one entry of a layer, in one place
// so that a mount and a View never disagree.

// errChanged says a layer's file is not the one its index describes.
var errChanged = errors.New("not the file indexed: the layer changed")

// openHandle opens the regular file rel described by a for a FUSE open:
// a layer directory's file by its descriptor, a tar layer's from the
// stream.
func (l *layer) openHandle(rel string, a *fuse.Attr) (fs.FileHandle, error) {
	if l.tar != nil {
		r, err := l.tarFile(rel)
		if err != nil {
			return nil, err
		}
		return &tarHandle{l: l, rel: rel, r: r}, nil
	}
	fd, err := l.openFile(rel, a)
	if err != nil {
		return nil, err
	}
	return &fileHandle{fd: fd}, nil
}

// openReader opens the regular file rel described by a for View.Open:
// a directory layer's file, or a tar layer's bytes read from its stream
// as they are asked for (a diff stops at the first difference).
func (l *layer) openReader(rel string, a *fuse.Attr) (io.ReadCloser, error) {
	if l.tar == nil {
		fd, err := l.openFile(rel, a)
		if err != nil {
			return nil, err
		}
		return os.NewFile(uintptr(fd), "/"+rel), nil
	}
	r, err := l.tarFile(rel)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(r), nil
}

// openFile opens the regular file rel described by a, for reading. The
// file must be the one the index saw: a layer changed while mounted must
// not show another file's bytes under these attributes. The inode number
// alone is not enough (ext4 hands a freed number to the next new file); a
// new or rewritten file has a new ctime.
func (l *layer) openFile(rel string, a *fuse.Attr) (int, error) {
	fd, err := l.Open(rel, unix.O_RDONLY)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	err = unix.Fstat(fd, &st)
	if err == nil {
		l.restoreStat(rel, &st)
	}
	if err != nil || !sameFile(l, &st, a) {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: %w", rel, errChanged)
	}
	return fd, nil
}

// sameFile tells whether st is still the file a was made from.
func sameFile(l *layer, st *unix.Stat_t, a *fuse.Attr) bool {
	return inoOf(l.num, st.Ino) == a.Ino && uint64(st.Size) == a.Size &&
		uint64(st.Ctim.Sec) == a.Ctime && uint32(st.Ctim.Nsec) == a.Ctimensec &&
		uint64(st.Mtim.Sec) == a.Mtime && uint32(st.Mtim.Nsec) == a.Mtimensec
}

// readlink returns the target of the symlink rel described by a.
func (l *layer) readlink(rel string, a *fuse.Attr) (string, error) {
	if l.tar != nil {
		return l.tarReadlink(rel)
	}
	return l.Readlink(rel, int(a.Size))
}

// listXattrs lists rel's attributes as the view shows them: the layer's
// own, less those its encoding says belong to the filesystem that wrote
// it (overlayfs's trusted.overlay.*).
func (l *layer) listXattrs(rel string) ([]string, error) {
	if l.tar != nil {
		return l.tarXattrs(rel)
	}
	names, err := l.ListXattrs(rel)
	restored, recreated := l.restoredXattrs(rel)
	if err != nil && !(errors.Is(err, unix.ENOENT) && recreated) {
		return nil, err
	}
	out := names[:0]
	have := map[string]bool{}
	for _, n := range names {
		if !l.enc.Private(n) {
			out = append(out, n)
			have[n] = true
		}
	}
	for n := range restored {
		if !have[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out[len(have):])
	return out, nil
}

// getXattr returns rel's attribute name as the view shows it: ENODATA for
// one its encoding keeps private.
func (l *layer) getXattr(rel, name string) ([]byte, error) {
	if l.enc.Private(name) {
		return nil, unix.ENODATA
	}
	if l.tar != nil {
		return l.tarXattr(rel, name)
	}
	v, err := l.GetXattr(rel, name)
	if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOENT) {
		restored, recreated := l.restoredXattrs(rel)
		if r, ok := restored[name]; ok {
			return []byte(r), nil // a value on disk, even another, is shown as it is
		}
		if recreated {
			return nil, unix.ENODATA
		}
	}
	return v, err
}
