// Package imagetar writes image archives as `docker save` of Docker 25
// and later writes them: manifest.json and repositories for every
// loader since Docker 1.10, a legacy directory per layer (VERSION, json,
// layer.tar), and the OCI image layout (oci-layout, index.json,
// blobs/sha256/) holding the uncompressed layer tars under their diff
// ids, the image configs under their ids, and an OCI manifest per image.
//
// The archive is written in one pass, entry by entry: a layer's tar goes
// straight from its source into the archive, its size given before its
// bytes, and nothing is held but buffers.
package imagetar

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// Writer writes the entries of an archive.
type Writer struct {
	tw   *tar.Writer
	seen map[string]bool // every name written, and every directory
}

// NewWriter starts an archive on w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{tw: tar.NewWriter(w), seen: map[string]bool{}}
}

// Epoch is the mtime of the entries Docker dates to the Unix epoch:
// manifest.json, repositories, oci-layout, index.json, the OCI manifests.
var Epoch = time.Unix(0, 0)

func (w *Writer) header(h *tar.Header) error {
	name := strings.TrimSuffix(h.Name, "/")
	if w.seen[name] {
		return fmt.Errorf("archive entry %s written twice", name)
	}
	w.seen[name] = true
	h.Format = tar.FormatPAX
	h.ModTime = h.ModTime.Truncate(time.Second)
	return w.tw.WriteHeader(h)
}

// Has tells whether name was written already.
func (w *Writer) Has(name string) bool { return w.seen[strings.TrimSuffix(name, "/")] }

// Dirs writes the directories leading to name (a slash-separated path)
// that are not written yet.
func (w *Writer) Dirs(name string, mtime time.Time) error {
	dir := path.Dir(name)
	if dir == "." || dir == "/" || w.seen[dir] {
		return nil
	}
	if err := w.Dirs(dir, mtime); err != nil {
		return err
	}
	return w.header(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: mtime})
}

// File writes a regular file holding data, after its directories.
func (w *Writer) File(name string, data []byte, mtime time.Time) error {
	if err := w.Dirs(name, mtime); err != nil {
		return err
	}
	if err := w.header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime}); err != nil {
		return err
	}
	_, err := w.tw.Write(data)
	return err
}

// Symlink writes a symbolic link to target, after its directories.
func (w *Writer) Symlink(name, target string, mtime time.Time) error {
	if err := w.Dirs(name, mtime); err != nil {
		return err
	}
	return w.header(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: mtime})
}

// ErrSize says a stream was not the size announced in its header.
var ErrSize = errors.New("stream size differs from the size announced")

// Stream writes a regular file of size bytes that fill writes: the
// header first, then fill's bytes as they come. Writing more or fewer
// than size bytes is an error wrapping ErrSize; the archive is then
// unusable.
func (w *Writer) Stream(name string, size int64, mtime time.Time, fill func(io.Writer) error) error {
	if err := w.Dirs(name, mtime); err != nil {
		return err
	}
	if err := w.header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: size, ModTime: mtime}); err != nil {
		return err
	}
	lw := &limited{w: w.tw, left: size}
	if err := fill(lw); err != nil {
		if lw.over {
			return fmt.Errorf("%s: more than %d bytes: %w", name, size, ErrSize)
		}
		return err
	}
	if lw.over || lw.left != 0 {
		return fmt.Errorf("%s: %d bytes, not the %d announced: %w", name, size-lw.left+lw.extra, size, ErrSize)
	}
	return nil
}

// limited passes at most left bytes to w, and fails past them.
type limited struct {
	w     io.Writer
	left  int64
	extra int64
	over  bool
}

func (l *limited) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		l.over = true
		l.extra += int64(len(p)) - l.left
		return 0, ErrSize
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}

// Close ends the archive: the padding of the last entry and the two zero
// blocks of the end.
func (w *Writer) Close() error { return w.tw.Close() }
