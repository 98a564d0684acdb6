package fs

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/workpool"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// A layer served from its tar stream (Layer.Archive), not a directory:
// what the directory's fds give a layer, the index of its tar gives,
// and a regular file's bytes are read from the stream at the offset the
// index recorded. Its whiteouts and opaque directories are the index's
// markers (the tar's .wh. names, which the index takes out of the
// listing), so the merge treats it as any layer whose markers a
// tar-split gave back.

// tarEncoding reads a tar layer's listing: its index took the .wh.
// names out (into its markers), so every name it lists is plain; and its
// root is never opaque, as Docker's overlay2 and containerd's overlayfs
// snapshotter show an image layer (docs/whiteouts.md).
var tarEncoding = &whiteout.Encoding{Name: "tar", RootNotOpaque: true}

// openTarLayer loads ly's tar stream for serving.
func openTarLayer(ly Layer, num uint64) (*layer, error) {
	a := ly.Archive
	name := a.Archive + ":" + a.Member
	if a.Load == nil {
		return nil, fmt.Errorf("opening layer %s: nothing loads it", name)
	}
	ts, err := a.Load()
	if err != nil {
		return nil, err // it names the blob and the archive
	}
	return &layer{id: ly.ID, dir: name, num: num, enc: tarEncoding, tar: ts, archive: a}, nil
}

// tarIndex is the index of the layer's tar, loaded once (loadIndexes
// starts that for a mount). One that cannot
// be loaded (its cache file read and decoded, else the stream indexed
// again) leaves the layer empty, and the log says why.
func (l *layer) tarIndex() *layertar.Index {
	l.tarOnce.Do(func() {
		x := l.tar.Index
		if x == nil {
			var err error
			if x, err = l.tar.LoadIndex(); err != nil {
				l.logf("layer %s: %v: shown empty", l.dir, err)
				x = &layertar.Index{Root: &layertar.Meta{Mode: unix.S_IFDIR | 0o755}}
			}
		}
		if l.asStored {
			x = x.AsStored()
		}
		if l.archive.NoTrustedXattrs {
			x.KeepXattrs(func(name string) bool { return !strings.HasPrefix(name, "trusted.") })
		}
		l.tar.Index = x
	})
	return l.tar.Index
}

// loadIndexes decodes, in the background, top first, the indexes of the
// tar layers of ls (a view about to be mounted) that were opened from
// the cache, while the mount is made: the first use of each waits for
// it. Only a mount starts it: its layers stay open while it serves,
// where a View is closed when its command is done.
func loadIndexes(ls []*layer) {
	go workpool.Each(len(ls), workpool.Cores(), func(i int) {
		if l := ls[i]; l.tar != nil {
			l.tarIndex()
		}
	})
}

// tarMeta is what the layer's tar records at rel, or nil.
func (l *layer) tarMeta(rel string) *layertar.Meta {
	x := l.tarIndex()
	if rel == "" {
		return x.Root
	}
	return x.Lookup(parentOf(rel), path.Base(rel))
}

// tarStat fills st for rel of a tar layer. Its inode number is made
// from the path of its hard-link group, so the names of one link share
// it and every lookup and listing gives the same.
func (l *layer) tarStat(rel string, st *unix.Stat_t) error {
	m := l.tarMeta(rel)
	if m == nil {
		return unix.ENOENT
	}
	g, n := rel, uint32(1)
	switch m.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		g, n = l.tarIndex().Group(rel, m)
	case unix.S_IFDIR:
		n = 2
		for _, c := range l.tarIndex().Dirs[rel] {
			if c.Mode&unix.S_IFMT == unix.S_IFDIR {
				n++
			}
		}
	}
	h := fnv.New64a()
	h.Write([]byte(g))
	metaStat(m, h.Sum64()&(1<<inoBits-1), n, st)
	switch m.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		st.Size = m.Size
	case unix.S_IFLNK:
		st.Size = int64(len(m.Target))
	}
	st.Blocks = (st.Size + 511) / 512
	if m.Sparse != nil {
		// A sparse file takes the blocks of its data, as unpacked.
		var data int64
		for _, f := range m.Sparse {
			data += f.Length
		}
		st.Blocks = (data + 511) / 512
	}
	st.Blksize = 4096
	return nil
}

// tarList is a tar layer's listing of directory rel.
func (l *layer) tarList(rel string) ([]dirent, error) {
	if m := l.tarMeta(rel); m == nil || m.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil, unix.ENOENT
	}
	ms := l.tarIndex().Dirs[rel]
	ents := make([]dirent, len(ms))
	for i, m := range ms {
		ents[i] = dirent{name: m.Name, isDir: m.Mode&unix.S_IFMT == unix.S_IFDIR}
	}
	return ents, nil
}

// tarFile is the regular file rel of a tar layer, as a reader of its
// bytes in the stream (a sparse file's fragments, and zeros between).
func (l *layer) tarFile(rel string) (*io.SectionReader, error) {
	m := l.tarMeta(rel)
	if m == nil || m.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%s: %w", rel, errChanged)
	}
	return m.Open(l.tar.Data), nil
}

// tarXattrs lists rel's attributes in a tar layer.
func (l *layer) tarXattrs(rel string) ([]string, error) {
	m := l.tarMeta(rel)
	if m == nil {
		return nil, unix.ENOENT
	}
	names := make([]string, 0, len(m.Xattrs))
	for n := range m.Xattrs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// tarXattr is rel's attribute name in a tar layer.
func (l *layer) tarXattr(rel, name string) ([]byte, error) {
	m := l.tarMeta(rel)
	if m == nil {
		return nil, unix.ENOENT
	}
	v, ok := m.Xattrs[name]
	if !ok {
		return nil, unix.ENODATA
	}
	return []byte(v), nil
}

// tarReadlink is the target of the symlink rel of a tar layer.
func (l *layer) tarReadlink(rel string) (string, error) {
	m := l.tarMeta(rel)
	if m == nil || m.Mode&unix.S_IFMT != unix.S_IFLNK {
		return "", fmt.Errorf("%s: %w", rel, errChanged)
	}
	return m.Target, nil
}

// tarHandle is an open file of a tar layer, read from the stream.
type tarHandle struct {
	l   *layer
	rel string
	r   *io.SectionReader
}

// read reads the file at off. The stream was checked whole when the
// layer was opened, so a failure is the archive changing or going bad
// under the mount: it is logged, and the read fails.
func (h *tarHandle) read(dest []byte, off int64) (fuse.ReadResult, error) {
	n, err := h.r.ReadAt(dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		h.l.logf("layer %s: reading %s: %v", h.l.dir, h.rel, err)
		return nil, err
	}
	return fuse.ReadResultData(dest[:n]), nil
}
