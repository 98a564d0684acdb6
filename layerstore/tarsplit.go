package layerstore

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/vbatts/tar-split/tar/storage"

	"github.com/aufsmount/aufsmount/layerstore/layertar"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// maxTarSplit bounds one tar-split's uncompressed size: about 700 bytes
// an entry, so this is tens of millions of entries.
const maxTarSplit = 16 << 30

// TarLayer is what package layertar needs to rebuild or check image
// layer l of a Target: its directory and encoding, its diff id, and its
// tar-split, opened read-only without following links or moving its
// atime.
// OpenTarSplit fails with layertar.ErrNoTarSplit where l has none.
func TarLayer(l Layer) layertar.Layer {
	return layertar.Layer{
		Dir:        l.Dir,
		Encoding:   l.Encoding,
		Whole:      l.Encoding == whiteout.None,
		EngineRoot: l.EngineRoot,
		DiffID:     l.DiffID,
		// A layer with a blob is containerd's, which refuses trusted.*.
		NoTrustedXattrs: l.Blob != "",
		OpenTarSplit: func() (io.ReadCloser, error) {
			if l.TarSplit == "" && l.Blob != "" {
				return blobTarSplit(l.Blob, l.BlobType)
			}
			if l.TarSplit == "" {
				return nil, layertar.ErrNoTarSplit
			}
			return openTarSplit(l.TarSplit)
		},
	}
}

// HasTarSplit says whether l has a tar-split to look for: its own, or
// (containerd) a blob that stands in for one.
func (l Layer) HasTarSplit() bool { return l.TarSplit != "" || l.Blob != "" }

// openTarSplit opens the gzipped tar-split at p, uncompressed.
func openTarSplit(p string) (io.ReadCloser, error) {
	f, err := openNoatime(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", p, layertar.ErrNoTarSplit)
	}
	if err != nil {
		return nil, corrupt(p, bare(err))
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, corrupt(p, errors.New("not a regular file"))
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, corrupt(p, fmt.Errorf("not gzip: %w", err))
	}
	return &gzipFile{Reader: zr, f: f, p: p}, nil
}

// gzipFile is an open tar-split; its read errors name the file.
type gzipFile struct {
	*gzip.Reader
	f *os.File
	p string
}

func (g *gzipFile) Read(b []byte) (int, error) {
	n, err := g.Reader.Read(b)
	if err != nil && err != io.EOF {
		err = corrupt(g.p, err)
	}
	return n, err
}

func (g *gzipFile) Close() error { return g.f.Close() }

// tarSplitMarkers reads the tar-split at p (tar-split's JSON packer
// format, gzipped: one entry a line) and returns the whiteouts and opaque
// markers of the layer's tar, by the names of its file entries. Only
// lines that can hold a marker are decoded: those that name ".wh.", and
// those whose name is not UTF-8 (name_raw, base64). A missing file is
// (nil, nil): not every layer has one.
func tarSplitMarkers(p string) (*whiteout.Markers, error) {
	zr, err := openTarSplit(p)
	if errors.Is(err, layertar.ErrNoTarSplit) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	r := bufio.NewReaderSize(io.LimitReader(zr, maxTarSplit), 1<<20)
	m := &whiteout.Markers{}
	for n := 1; ; n++ {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: a segment of a huge header.
			// It cannot be a file entry's name alone; read it whole.
			var rest []byte
			rest, err = r.ReadBytes('\n')
			line = append(append([]byte(nil), line...), rest...)
		}
		if len(line) > 0 && (bytes.Contains(line, []byte(whiteout.Prefix)) || bytes.Contains(line, []byte(`"name_raw"`))) {
			var e storage.Entry
			if jerr := json.Unmarshal(line, &e); jerr != nil {
				return nil, corrupt(p, fmt.Errorf("entry %d: %w", n, jerr))
			}
			if e.Type == storage.FileType {
				m.Add(e.GetName())
			}
		}
		if err == io.EOF {
			return m, nil
		}
		if err != nil {
			return nil, err // a *CorruptError naming p (gzipFile)
		}
	}
}
