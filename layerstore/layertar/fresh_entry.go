package layertar

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/beneath"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// What a fresh tar says of one entry, and whether it is the same as the base's.

// header is the tar header of entry p of the layer, nil for a socket.
func (w *freshWalker) header(p string, st *unix.Stat_t) (*tar.Header, error) {
	hdr := &tar.Header{
		Name:    p,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: time.Unix(st.Mtim.Sec, 0),
		Format:  tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
	case unix.S_IFDIR:
		hdr.Typeflag, hdr.Name = tar.TypeDir, p+"/"
	case unix.S_IFLNK:
		hdr.Typeflag = tar.TypeSymlink
		t, err := w.root.Readlink(p, int(st.Size))
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", w.f.Dir, p, err)
		}
		hdr.Linkname = t
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil, nil
	}
	xs, err := xattrsOf(w.root, p, w.enc)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", w.f.Dir, p, err)
	}
	for k, v := range xs {
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+k] = v
	}
	return hdr, nil
}

// xattrsOf is the extended attributes of p that belong to the image:
// all but the encoding's own.
func xattrsOf(r *beneath.Root, p string, enc *whiteout.Encoding) (map[string]string, error) {
	names, err := r.ListXattrs(p)
	if err != nil {
		return nil, err
	}
	var out map[string]string
	for _, n := range names {
		if enc.Private(n) {
			continue
		}
		v, err := r.GetXattr(p, n)
		if errors.Is(err, unix.ENODATA) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("xattr %s: %w", n, err)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[n] = string(v)
	}
	return out, nil
}

// same tells whether entry p of the layer (st, and its header hdr) is
// what Base has at bp (bst): type, mode bits, owner, size, mtime to the
// nanosecond, device number, link target and extended attributes.
func (w *freshWalker) same(p string, st *unix.Stat_t, hdr *tar.Header, bp string, bst *unix.Stat_t) (bool, error) {
	typ := st.Mode & unix.S_IFMT
	if typ != bst.Mode&unix.S_IFMT || st.Mode&0o7777 != bst.Mode&0o7777 || st.Uid != bst.Uid || st.Gid != bst.Gid ||
		st.Mtim != bst.Mtim {
		return false, nil
	}
	switch typ {
	case unix.S_IFREG, unix.S_IFLNK:
		if st.Size != bst.Size {
			return false, nil
		}
	case unix.S_IFCHR, unix.S_IFBLK:
		if st.Rdev != bst.Rdev {
			return false, nil
		}
	}
	if typ == unix.S_IFLNK {
		t, err := w.base.Readlink(bp, int(bst.Size))
		if err != nil {
			return false, fmt.Errorf("%s/%s: %w", w.f.Base, bp, err)
		}
		if t != hdr.Linkname {
			return false, nil
		}
	}
	if typ == unix.S_IFREG && w.f.CompareContent && (st.Dev != bst.Dev || st.Ino != bst.Ino) {
		eq, err := w.sameContent(p, bp)
		if err != nil || !eq {
			return false, err
		}
	}
	if typ == unix.S_IFDIR {
		if HasOpaque(w.root, w.enc, p) != HasOpaque(w.base, w.benc, bp) {
			return false, nil
		}
	}
	bx, err := xattrsOf(w.base, bp, w.benc)
	if err != nil {
		return false, fmt.Errorf("%s/%s: %w", w.f.Base, bp, err)
	}
	n := 0
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok {
			continue
		}
		n++
		if bv, ok := bx[name]; !ok || !bytes.Equal([]byte(bv), []byte(v)) {
			return false, nil
		}
	}
	return n == len(bx), nil
}

// sameContent compares the bytes of file p of the layer and bp of Base.
func (w *freshWalker) sameContent(p, bp string) (bool, error) {
	open := func(r *beneath.Root, rel string) (*os.File, error) {
		fd, err := r.Open(rel, unix.O_RDONLY)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", r.Dir, rel, err)
		}
		return os.NewFile(uintptr(fd), rel), nil
	}
	a, err := open(w.root, p)
	if err != nil {
		return false, err
	}
	defer a.Close()
	b, err := open(w.base, bp)
	if err != nil {
		return false, err
	}
	defer b.Close()
	if w.cmpA == nil {
		w.cmpA, w.cmpB = make([]byte, 256<<10), make([]byte, 256<<10)
	}
	for {
		n, errA := io.ReadFull(a, w.cmpA)
		m, errB := io.ReadFull(b, w.cmpB)
		if n != m || !bytes.Equal(w.cmpA[:n], w.cmpB[:m]) {
			return false, nil
		}
		if errA == io.EOF || errA == io.ErrUnexpectedEOF {
			return errB == io.EOF || errB == io.ErrUnexpectedEOF, nil
		}
		if errA != nil {
			return false, errA
		}
		if errB != nil {
			return false, nil
		}
	}
}
