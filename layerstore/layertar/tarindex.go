package layertar

import (
	"archive/tar"
	"fmt"
	"io"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// IndexTar reads a layer's tar stream once into an Index whose regular
// files carry where their data starts in the stream (a sparse file's,
// where each fragment of it is) and whose symlinks their targets: what
// serving the layer from the stream needs (a layer of an image archive,
// read through layerstore/seekable). Entries are taken as unpacking
// takes them: a later entry of a path replaces the earlier one, a file
// over a directory removes what it held, and a directory a name lies in
// but the tar does not give is made 0755 with the entry's time. An entry
// under a name that is not a directory, and a sparse file whose map
// cannot be read, are refused, naming the entry.
func IndexTar(r io.Reader) (*Index, error) {
	cr := &countingReader{r: r}
	tr := tar.NewReader(cr)
	ix := newIndexer()
	next := int64(0) // where the next entry's headers start
	for {
		cr.capture(next)
		hdr, err := tr.Next()
		if err == io.EOF {
			return ix.finish(), nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the layer's tar at byte %d: %w", cr.n, err)
		}
		// tar.Reader has read up to the data.
		end := cr.n + DataSize(hdr)
		var frags []Fragment
		if IsSparse(hdr) {
			if cr.over {
				return nil, fmt.Errorf("entry %s: a sparse file whose headers pass %d bytes", clipName(hdr.Name), maxSparseHeaders)
			}
			if frags, end, err = sparseMap(hdr, cr.buf, next, cr.n); err != nil {
				return nil, fmt.Errorf("entry %s: a sparse file: %w", clipName(hdr.Name), err)
			}
		}
		next = NextEntry(end)
		if underMeta(hdr.Name) {
			continue // aufs bookkeeping is never shown, nor what it holds
		}
		if err := ix.parents(hdr); err != nil {
			return nil, err
		}
		old, had := ix.lookupPath(hdr.Name)
		p, ok := ix.add(hdr, cr.n)
		if ok && p != "" && frags != nil && hdr.Typeflag != tar.TypeLink {
			m := ix.byPath[p]
			m.Sparse = frags
			ix.byPath[p] = m
		}
		if ok && had && old.Mode&unix.S_IFMT == unix.S_IFDIR && ix.byPath[p].Mode&unix.S_IFMT != unix.S_IFDIR {
			ix.removeUnder(p)
		}
		if ok && p != "" && !had {
			ix.recorded(p)
		}
	}
}

// lookupPath is the entry recorded at the tar name's path, if any.
func (ix *indexer) lookupPath(name string) (Meta, bool) {
	p, ok := tarPath(name)
	if !ok {
		return Meta{}, false
	}
	m, found := ix.byPath[p]
	return m, found
}

// parents checks that every directory above hdr's name is one, making
// those the tar has not given.
func (ix *indexer) parents(hdr *tar.Header) error {
	p, ok := tarPath(hdr.Name)
	if !ok || p == "" {
		return nil
	}
	var missing []string
	for q := parentOf(p); q != ""; q = parentOf(q) {
		m, found := ix.byPath[q]
		if !found {
			missing = append(missing, q)
			continue
		}
		if m.Mode&unix.S_IFMT != unix.S_IFDIR {
			return fmt.Errorf("entry %s: %s above it is not a directory", clipName(hdr.Name), clipName(q))
		}
		break
	}
	for _, q := range missing {
		ix.byPath[q] = Meta{Name: q[strings.LastIndexByte(q, '/')+1:], Mode: unix.S_IFDIR | 0o755, Mtime: hdr.ModTime.UnixNano()}
		ix.recorded(q)
	}
	return nil
}

// recorded notes p, newly in byPath, in its directory's kids.
func (ix *indexer) recorded(p string) {
	if ix.kids == nil {
		ix.kids = map[string][]string{}
	}
	d := parentOf(p)
	ix.kids[d] = append(ix.kids[d], p)
}

// removeUnder removes what directory p held, all the way down.
func (ix *indexer) removeUnder(p string) {
	for _, q := range ix.kids[p] {
		delete(ix.byPath, q)
		ix.removeUnder(q)
	}
	delete(ix.kids, p)
	delete(ix.x.MarkerEntries, p) // the layer as stored had them in p
}

// underMeta says whether the tar name lies in an aufs bookkeeping
// directory (.wh..wh.plnk/...), which the view never shows: making that
// directory for it would.
func underMeta(name string) bool {
	p, ok := tarPath(name)
	if !ok {
		return false
	}
	for q := parentOf(p); q != ""; q = parentOf(q) {
		if k, _ := whiteout.Aufs.Classify(path.Base(q), 0, 0); k == whiteout.Meta {
			return true
		}
	}
	return false
}

// clipName keeps a hostile name short in a message.
func clipName(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// countingReader counts the bytes read through it, and keeps those
// from a place on (an entry's headers, read by tar.Reader.Next), up to
// maxSparseHeaders: a sparse file's map is read from them.
type countingReader struct {
	r    io.Reader
	n    int64
	from int64
	buf  []byte
	over bool // more than maxSparseHeaders were to be kept
}

// capture keeps the bytes from off on, and forgets those kept before.
func (c *countingReader) capture(off int64) {
	c.from, c.buf, c.over = off, c.buf[:0], false
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if end := c.n + int64(n); end > c.from && !c.over {
		kept := p[max(c.from-c.n, 0):n]
		if len(c.buf)+len(kept) > maxSparseHeaders {
			c.over, c.buf = true, c.buf[:0]
		} else {
			c.buf = append(c.buf, kept...)
		}
	}
	c.n += int64(n)
	return n, err
}
