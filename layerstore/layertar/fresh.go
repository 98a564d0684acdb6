package layertar

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/beneath"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// Fresh is a layer to write as a new tar of what its directory holds
// now, for a layer that has no tar-split (a container's writable layer,
// a store that lost it) or whose directory no longer matches it.
//
// The tar is what Docker's own layer tars are like: PAX format, entries
// sorted by name within each directory (a directory before what it
// holds), mtimes in whole seconds, no atime, no user or group names,
// extended attributes as SCHILY.xattr.<name> records, hard links within
// the layer as TypeLink entries to the first of their names, sockets left
// out. Whiteouts and opaque directories are written in the OCI form,
// whatever the layer's encoding: an empty file .wh.<name>, and
// .wh..wh..opq first in an opaque directory. The encoding's own
// bookkeeping (aufs .wh..wh.aufs, .wh..wh.plnk/, .wh..wh.orph/, the
// overlay attributes trusted.overlay.* and the like) is left out. The
// layer root itself is not an entry.
type Fresh struct {
	Layer
	// Base, when set, is a directory the layer is written as a diff
	// against, marked in BaseEncoding: an entry that Base has the same
	// (type, mode bits, owner, size, mtime, device number, link target,
	// extended attributes and, for a directory, opacity) is left out,
	// and a directory only in Base's likeness is written only for what
	// changed below it.
	//
	// For a Whole layer (vfs, overlay v1's root/) Base is the whole tree
	// of the layer below, and every name Base has that the layer does
	// not becomes a whiteout: the diff Docker's naive differ makes. For
	// an overlay v1 container's upper/, which began as a copy of its
	// init layer's upper/, Base is that upper/, and nothing is whited
	// out for what Base has and the layer does not.
	Base         string
	BaseEncoding *whiteout.Encoding
	// CompareContent also compares the contents of regular files that
	// Base has with the same metadata (and another inode), as a naive
	// differ does not: for a diff against a tree known to have changed
	// without its metadata showing it.
	CompareContent bool
	// Markers, when set, are whiteouts and opaque directories the layer
	// has besides those its directory shows: the ones its tar-split
	// records that a copy of the store lost (layerstore.RecoverMarkers).
	Markers *whiteout.Markers
	// Mounts are directories of other trees written at their Dest, each
	// whole and opaque, in place of what the layer has at and below Dest
	// (freshmounts.go). A name in one that a layer cannot hold is left
	// out, and told to LeftOut.
	Mounts  []Mount
	LeftOut func(path string)
}

// ErrWholeTree is what FreshSize and WriteFresh return for a Whole layer
// with no Base: a whole tree is not a diff, unless it is a base layer,
// whose caller says so by giving the layer's Encoding as whiteout.None
// and Whole false.
var ErrWholeTree = errors.New("the layer is a whole tree, not a diff: it needs the tree of the layer below")

// FreshSize is the length in bytes of the tar WriteFresh would write, and
// its number of entries, from the directory's metadata alone: a dry run
// that writes every header to a counter and skips the contents.
func FreshSize(f Fresh) (size int64, entries int, err error) {
	c := &sizeSink{}
	if err := walkFresh(f, c); err != nil {
		return 0, 0, err
	}
	return c.n + 2*blockSize, c.entries, nil
}

// WriteFresh writes the layer's fresh tar into w; the report has its
// size, digest (the diff id it makes) and number of entries. progress,
// if set, is told the bytes written as they go.
func WriteFresh(f Fresh, w io.Writer, progress func(int64)) (*Report, error) {
	sum := sha256.New()
	out := &counter{w: io.MultiWriter(w, sum), progress: progress}
	s := &tarSink{tw: tar.NewWriter(out), out: out, buf: make([]byte, copyBuf)}
	if err := walkFresh(f, s); err != nil {
		if out.err != nil {
			return nil, out.err
		}
		return nil, err
	}
	if err := s.tw.Close(); err != nil {
		return nil, err
	}
	return &Report{Size: out.n, Digest: "sha256:" + hex.EncodeToString(sum.Sum(nil)), Entries: s.entries}, nil
}

// blockSize is a tar block: headers and data are padded to whole ones.
const blockSize = 512

// A freshSink takes the entries of a fresh tar in order. content, for a
// regular file with data, opens it; the sink reads hdr.Size bytes of it.
type freshSink interface {
	put(hdr *tar.Header, content func() (*os.File, error)) error
}

// sizeSink counts what a tar.Writer would write.
type sizeSink struct {
	n       int64
	entries int
}

func (c *sizeSink) put(hdr *tar.Header, _ func() (*os.File, error)) error {
	n, err := headerLen(hdr)
	if err != nil {
		return err
	}
	c.n += n + roundBlock(hdr.Size)
	c.entries++
	return nil
}

// headerLen is how many bytes a tar.Writer writes for hdr before its
// content: the header block, and any PAX or GNU extended header before it.
func headerLen(hdr *tar.Header) (int64, error) {
	var n byteCounter
	tw := tar.NewWriter(&n)
	if err := tw.WriteHeader(hdr); err != nil {
		return 0, fmt.Errorf("tar header of %q: %w", hdr.Name, err)
	}
	return int64(n), nil
}

type byteCounter int64

func (c *byteCounter) Write(p []byte) (int, error) { *c += byteCounter(len(p)); return len(p), nil }

// tarSink writes the entries.
type tarSink struct {
	tw      *tar.Writer
	out     *counter
	buf     []byte
	entries int
}

func (s *tarSink) put(hdr *tar.Header, content func() (*os.File, error)) error {
	if err := s.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("tar header of %q: %w", hdr.Name, err)
	}
	s.entries++
	if hdr.Size == 0 {
		return nil
	}
	f, err := content()
	if err != nil {
		return fmt.Errorf("%s: %w", hdr.Name, err)
	}
	defer f.Close()
	n, err := io.CopyBuffer(s.tw, io.LimitReader(f, hdr.Size), s.buf)
	if s.out.err != nil {
		return s.out.err
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", hdr.Name, err)
	}
	if n < hdr.Size {
		return fmt.Errorf("%s: shrank from %d to %d bytes while being written", hdr.Name, hdr.Size, n)
	}
	return nil
}

// walkFresh walks the layer and hands its entries to sink.
func walkFresh(f Fresh, sink freshSink) error {
	if f.Whole && f.Base == "" {
		return ErrWholeTree
	}
	enc := f.Encoding
	if enc == nil {
		enc = whiteout.None
	}
	root, err := beneath.OpenRoot(f.Dir)
	if err != nil {
		return err
	}
	defer root.Close()
	mnt, err := openMounts(f.Mounts, f.LeftOut)
	if err != nil {
		return err
	}
	defer mnt.close()
	w := &freshWalker{f: f, enc: enc, root: root, sink: sink, links: map[devIno]string{}, mnt: mnt}
	var base *baseDir
	if f.Base != "" {
		benc := f.BaseEncoding
		if benc == nil {
			benc = whiteout.None
		}
		broot, err := beneath.OpenRoot(f.Base)
		if err != nil {
			return err
		}
		defer broot.Close()
		w.base = broot
		w.benc = benc
		base = &baseDir{rel: ""}
	}
	return w.dir("", base)
}

type devIno struct{ dev, ino uint64 }

type freshWalker struct {
	f          Fresh
	enc, benc  *whiteout.Encoding
	root, base *beneath.Root
	sink       freshSink
	links      map[devIno]string // the first name written of each inode with more than one link
	pending    []*tar.Header     // directories like Base's, written only if something below them is
	mnt        *mountSet
	cmpA, cmpB []byte
}

// baseDir is the directory of Base at the same path as the one walked;
// nil where Base has none.
type baseDir struct{ rel string }

// child is one name of a directory, in the layer or in Base.
type child struct {
	name string
	st   unix.Stat_t
	kind whiteout.Kind
	hide string // for a whiteout: the name it hides
}

// list reads directory rel of r, stats each name (never following it)
// and classifies it in enc; it also tells whether the directory is
// opaque in enc.
func list(r *beneath.Root, rel string, enc *whiteout.Encoding) ([]child, bool, error) {
	fd, err := r.OpenDir(rel)
	if err != nil {
		return nil, false, fmt.Errorf("reading %s/%s: %w", r.Dir, rel, err)
	}
	defer unix.Close(fd)
	ents, err := beneath.ReadDirents(fd, make([]byte, 64<<10))
	if err != nil {
		return nil, false, fmt.Errorf("reading %s/%s: %w", r.Dir, rel, err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name < ents[j].Name })
	out := make([]child, 0, len(ents))
	opaque := false
	for _, e := range ents {
		c := child{name: e.Name}
		if err := unix.Fstatat(fd, e.Name, &c.st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if beneath.Gone(err) {
				continue
			}
			return nil, false, fmt.Errorf("%s/%s: %w", r.Dir, path.Join(rel, e.Name), err)
		}
		c.kind, c.hide = enc.Classify(e.Name, c.st.Mode&unix.S_IFMT, c.st.Rdev)
		if c.kind == whiteout.Opaque {
			opaque = true
		}
		out = append(out, c)
	}
	var buf [4]byte
	for _, x := range enc.OpaqueXattrs {
		if n, err := unix.Fgetxattr(fd, x, buf[:]); err == nil && enc.OpaqueValue(x, buf[:n]) {
			opaque = true
		}
	}
	return out, opaque, nil
}

// dir writes what directory rel of the layer holds; its own header is
// written, or pending, already.
func (w *freshWalker) dir(rel string, base *baseDir) error {
	kids, opaque, err := list(w.root, rel, w.enc)
	if err != nil {
		return err
	}
	kids = w.mnt.holdable(rel, kids)
	var bkids []child
	bopaque := false
	byName := map[string]*child{}
	if base != nil {
		if bkids, bopaque, err = list(w.base, base.rel, w.benc); err != nil {
			return err
		}
		for i := range bkids {
			byName[bkids[i].name] = &bkids[i]
		}
	}
	opaque = opaque || w.f.Markers.IsOpaque(rel)
	if opaque && !(base != nil && bopaque) {
		if err := w.marker(rel, whiteout.OpaqueName); err != nil {
			return err
		}
	}
	// Whiteouts first, then the entries: an applier that does not keep
	// a layer's own entries from its whiteouts cannot lose any.
	whited := map[string]bool{}
	baseWhited := map[string]bool{}
	for _, b := range bkids {
		if b.kind == whiteout.Whiteout && b.hide != "" {
			baseWhited[b.hide] = true
		}
	}
	for _, c := range kids {
		if c.kind != whiteout.Whiteout || c.hide == "" || whited[c.hide] {
			continue
		}
		whited[c.hide] = true
		if baseWhited[c.hide] {
			continue
		}
		if err := w.marker(rel, whiteout.Prefix+c.hide); err != nil {
			return err
		}
	}
	for _, name := range w.f.Markers.WhitedOut(rel) {
		if !whited[name] {
			whited[name] = true
			if err := w.marker(rel, whiteout.Prefix+name); err != nil {
				return err
			}
		}
	}
	if w.f.Whole && base != nil {
		have := map[string]bool{}
		for _, c := range kids {
			have[c.name] = true
		}
		for _, b := range bkids {
			if !have[b.name] && !whited[b.name] && b.kind == whiteout.Plain {
				whited[b.name] = true
				if err := w.marker(rel, whiteout.Prefix+b.name); err != nil {
					return err
				}
			}
		}
	}
	for i := range kids {
		c := &kids[i]
		if c.kind != whiteout.Plain {
			continue // markers, written above; bookkeeping, never
		}
		p := path.Join(rel, c.name)
		if w.mnt.covers(p) {
			continue // a mount's, written by mountsIn
		}
		var b *child
		if base != nil {
			if bc := byName[c.name]; bc != nil && bc.kind == whiteout.Plain {
				b = bc
			}
		}
		isDir := c.st.Mode&unix.S_IFMT == unix.S_IFDIR
		var below *baseDir
		if b != nil && b.st.Mode&unix.S_IFMT == unix.S_IFDIR && isDir {
			below = &baseDir{rel: path.Join(base.rel, c.name)}
		}
		hdr, err := w.header(p, &c.st)
		if err != nil {
			return err
		}
		if hdr == nil {
			continue // a socket, which a tar cannot hold
		}
		same := false
		if b != nil {
			if same, err = w.same(p, &c.st, hdr, path.Join(base.rel, c.name), &b.st); err != nil {
				return err
			}
		}
		if !isDir {
			if same {
				continue
			}
			if err := w.file(p, hdr, &c.st); err != nil {
				return err
			}
			continue
		}
		if same {
			w.pending = append(w.pending, hdr)
		} else if err := w.put(hdr, nil); err != nil {
			return err
		}
		if err := w.dir(p, below); err != nil {
			return err
		}
		if same && len(w.pending) > 0 && w.pending[len(w.pending)-1] == hdr {
			w.pending = w.pending[:len(w.pending)-1]
		}
	}
	return w.mountsIn(rel, kids)
}

// put writes hdr, after the directories above it that were held back.
func (w *freshWalker) put(hdr *tar.Header, content func() (*os.File, error)) error {
	for _, d := range w.pending {
		if err := w.sink.put(d, nil); err != nil {
			return err
		}
	}
	w.pending = w.pending[:0]
	w.mnt.name(hdr)
	return w.sink.put(hdr, content)
}

// marker writes the empty file name in directory rel: a whiteout or an
// opaque marker, in the OCI form, owned by root, with the directory's
// mtime.
func (w *freshWalker) marker(rel, name string) error {
	var st unix.Stat_t
	if err := w.root.Lstat(rel, &st); err != nil {
		return fmt.Errorf("%s/%s: %w", w.f.Dir, rel, err)
	}
	return w.put(&tar.Header{
		Typeflag: tar.TypeReg,
		Name:     path.Join(rel, name),
		Mode:     0o600,
		ModTime:  time.Unix(st.Mtim.Sec, 0),
		Format:   tar.FormatPAX,
	}, nil)
}

// file writes a non-directory, as a hard link to the first name of its
// inode where one was written already.
func (w *freshWalker) file(p string, hdr *tar.Header, st *unix.Stat_t) error {
	if st.Nlink > 1 {
		k := devIno{uint64(st.Dev), st.Ino}
		if first, ok := w.links[k]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			return w.put(hdr, nil)
		}
		w.links[k] = hdr.Name
	}
	var content func() (*os.File, error)
	if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
		content = func() (*os.File, error) {
			fd, err := w.root.Open(p, unix.O_RDONLY)
			if err != nil {
				return nil, err
			}
			return os.NewFile(uintptr(fd), p), nil
		}
	}
	return w.put(hdr, content)
}
