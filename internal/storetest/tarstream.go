package storetest

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"
)

// A layer comes from a tar stream: its sha256 is the layer's diff id, and
// the tar-split Docker keeps of it gives the stream back from the layer
// directory (docs/formats.md, tar-split). The stream is made from the
// description, the same whatever the driver: every entry in creation
// order, whiteouts and opaque markers as the empty files .wh.<name> and
// .wh..wh..opq (as a tar has them, whatever the driver), the headers as
// Docker's tar writer makes them (PAX format, mtimes in whole seconds, no
// atime, no user or group names, xattrs as SCHILY.xattr.<name> records).
// A socket cannot be in a tar: it is left out (Docker skips them too), as
// is a hard link to one. The root is in it, as "./", only when the
// description gives it attributes (D("")).

// WriteTar writes the tar stream of l (its Tar, where it has one).
func WriteTar(w io.Writer, l *Layer) error {
	if l.Tar != nil {
		_, err := w.Write(l.Tar)
		return err
	}
	x, err := expand(l)
	if err != nil {
		return fmt.Errorf("layer %s: %w", l.name(), err)
	}
	return writeTar(w, x, make([]byte, 256<<10))
}

// DiffID is "sha256:<hex>" of the tar stream of l: its diff id.
func DiffID(l *Layer) (string, error) {
	h := sha256.New()
	if err := WriteTar(h, l); err != nil {
		return "", err
	}
	return digestOf(h), nil
}

func digestOf(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// writeTar streams the tar of x, content included, through buf.
func writeTar(w io.Writer, x *expanded, buf []byte) error {
	tw := tar.NewWriter(w)
	for _, r := range x.order {
		hdr := tarHeader(x, r)
		if hdr == nil {
			continue
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("tar header of %q: %w", r.path, err)
		}
		if hdr.Size > 0 {
			if _, err := io.CopyBuffer(tw, Content(r.e), buf); err != nil {
				return fmt.Errorf("tar content of %q: %w", r.path, err)
			}
		}
	}
	return tw.Close()
}

// tarHeader is the header of r, or nil when it is not in the tar.
func tarHeader(x *expanded, r *raw) *tar.Header {
	e := r.e
	name := r.path
	if r.path == rootPath {
		if r.implicit {
			return nil
		}
		name = "."
	}
	typ := map[Kind]byte{Dir: tar.TypeDir, File: tar.TypeReg, Whiteout: tar.TypeReg, Opaque: tar.TypeReg,
		Symlink: tar.TypeSymlink, Hardlink: tar.TypeLink, CharDev: tar.TypeChar, BlockDev: tar.TypeBlock, Fifo: tar.TypeFifo}
	var link string
	switch e.Kind {
	case Socket:
		return nil
	case Dir:
		name += "/"
	case Symlink:
		link = e.Target
	case Hardlink:
		// The link carries the attributes of its inode, as Docker's
		// writer (which stats the file) gives them.
		link = r.origin
		e = x.byPath[r.origin].e
		if e.Kind == Socket {
			return nil
		}
	}
	hdr := &tar.Header{
		Typeflag: typ[r.e.Kind],
		Name:     name,
		Linkname: link,
		Mode:     int64(e.Mode),
		Uid:      e.UID,
		Gid:      e.GID,
		ModTime:  e.Mtime.Truncate(time.Second),
		Format:   tar.FormatPAX,
	}
	switch e.Kind {
	case File:
		if r.e.Kind != Hardlink {
			hdr.Size = e.FileSize()
		}
	case CharDev, BlockDev:
		hdr.Devmajor, hdr.Devminor = int64(e.Major), int64(e.Minor)
	}
	for _, k := range sortedKeys(e.Xattrs) {
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+k] = e.Xattrs[k]
	}
	return hdr
}

// writeTarSplit streams the tar of x through tar-split as Docker's layer
// store does when it applies a layer (asm.NewInputTarStream with a JSON
// packer into gzip), writing the tar-split to path; it returns the diff
// id. Nothing but buffers is held: the content streams from Content.
func writeTarSplit(path string, mode os.FileMode, x *expanded, buf []byte) (diffID string, size int64, err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return "", 0, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	z := gzip.NewWriter(bw)
	pr, pw := io.Pipe()
	werr := make(chan error, 1)
	go func() {
		err := writeTar(pw, x, buf)
		pw.CloseWithError(err)
		werr <- err
	}()
	stream, _ := asm.NewInputTarStream(pr, storage.NewJSONPacker(z), nil) // never fails
	h := sha256.New()
	size, err = io.Copy(h, stream)
	pr.Close() // a writer the packer stopped reading from returns
	if werr := <-werr; err == nil {
		err = werr
	}
	if err == nil {
		err = z.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return "", 0, err
	}
	return digestOf(h), size, nil
}

// layerTar is the tar stream of one layer description.
type layerTar struct {
	diffID string
	size   int64  // of the tar stream
	file   string // where its tar-split is
	placed bool   // file is in the store: another place gets a copy
}

// tars streams the tar of each layer, once per description and a few at
// a time, keeping each tar-split in the directory tmp until placeTarSplit
// puts it where the store wants it: the place depends on the chain id,
// which needs the diff ids of every layer below.
func (w *storeWriter) tars(layers []*Layer, tmp string, mode os.FileMode) error {
	w.tar = map[*Layer]*layerTar{}
	byDesc := map[string]*layerTar{}
	var todo []*Layer
	for _, l := range layers {
		if w.tar[l] != nil {
			continue
		}
		d := digestLayer(l)
		if byDesc[d] == nil {
			byDesc[d] = &layerTar{file: filepath.Join(tmp, fmt.Sprintf("tar-split-%d.json.gz", len(todo)))}
			todo = append(todo, l)
		}
		w.tar[l] = byDesc[d]
	}
	return parallel(len(todo), func() func(int) error {
		buf := make([]byte, 256<<10)
		return func(i int) error {
			l := todo[i]
			t := w.tar[l]
			d, n, err := writeTarSplit(t.file, mode, w.expanded[l], buf)
			if err != nil {
				return fmt.Errorf("tar stream of layer %s: %w", l.name(), err)
			}
			t.diffID, t.size = d, n
			return nil
		}
	})
}

// placeTarSplit puts the tar-split of l at dest.
func (w *storeWriter) placeTarSplit(l *Layer, dest string) error {
	t := w.tar[l]
	if !t.placed {
		t.placed = true
		err := os.Rename(t.file, dest)
		t.file = dest
		return err
	}
	return copyFile(t.file, dest)
}

// copyFile copies src to the new file dest, with its mode.
func copyFile(src, dest string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
