// Package sqlitero reads the tables of a SQLite 3 database file, strictly
// read-only and without cgo, for the few small databases a store keeps
// (Podman 5's libpod/db.sql). It is no SQL engine: it finds a table by
// name in sqlite_schema, walks its b-tree in rowid order and decodes each
// row's record, as https://www.sqlite.org/fileformat2.html lays them out.
//
// It reads through an io.ReaderAt and nothing else: it never writes,
// never takes SQLite's locks and never creates a -wal, -shm or -journal
// file, as SQLite's immutable=1 would. Only the main file is read: a
// -wal file beside it may hold committed pages that are newer, and a hot
// -journal one the pages an interrupted transaction overwrote. Pending
// says whether either is there, so that the caller can warn.
//
// What is not read: index b-trees (and so WITHOUT ROWID tables, which are
// stored as one), UTF-16 databases, the values of VIRTUAL generated
// columns (given as NULL), and a DEFAULT that is an expression, for rows
// written before ALTER TABLE added its column (an error for such a row).
// Of the column affinities only REAL's is applied on reading, as SQLite
// does (it keeps a whole REAL as an integer on disk). A damaged or hostile
// file (truncated, page numbers out of range, cycles among pages, absurd
// sizes) gives an error, never a panic or an endless loop.
package sqlitero

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// The file header (fileformat2 section 1.3).
const (
	headerSize = 100
	magic      = "SQLite format 3\x00"
)

// maxPages bounds a database's page count as SQLite does (a 32-bit page
// number); the real bound is the file's size.
const maxPages = 1<<32 - 2

// DB is an open database file.
type DB struct {
	r        io.ReaderAt
	pageSize int    // bytes per page
	usable   int    // pageSize less the reserved bytes at each page's end
	pages    uint32 // pages in the database
}

// Open reads the header of the database in r, size bytes long.
func Open(r io.ReaderAt, size int64) (*DB, error) {
	var h [headerSize]byte
	if size < headerSize {
		return nil, fmt.Errorf("not a SQLite database: %d bytes, shorter than its header", size)
	}
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	if string(h[:16]) != magic {
		return nil, errors.New("not a SQLite 3 database (no \"SQLite format 3\" header)")
	}
	ps := int(binary.BigEndian.Uint16(h[16:]))
	if ps == 1 {
		ps = 65536
	}
	if ps < 512 || (ps > 32768 && ps != 65536) || ps&(ps-1) != 0 {
		return nil, fmt.Errorf("page size %d is not a power of two from 512 to 65536", ps)
	}
	// Read versions above 2 are formats this reader (like SQLite) cannot read.
	if h[19] < 1 || h[19] > 2 {
		return nil, fmt.Errorf("file format read version %d is not 1 or 2", h[19])
	}
	usable := ps - int(h[20])
	if usable < 480 {
		return nil, fmt.Errorf("%d reserved bytes leave %d usable of a %d-byte page, below the 480 the format requires", h[20], usable, ps)
	}
	// The payload fractions are fixed by the format; other values mean
	// the overflow rules below would cut payloads at the wrong place.
	if h[21] != 64 || h[22] != 32 || h[23] != 32 {
		return nil, fmt.Errorf("payload fractions %d/%d/%d are not 64/32/32", h[21], h[22], h[23])
	}
	switch enc := binary.BigEndian.Uint32(h[56:]); enc {
	case 0, 1: // 0: no text written yet
	case 2, 3:
		return nil, fmt.Errorf("text encoding is UTF-16 (%d); only UTF-8 databases are read", enc)
	default:
		return nil, fmt.Errorf("text encoding %d is not one SQLite knows", enc)
	}
	have := size / int64(ps)
	if have > maxPages {
		have = maxPages
	}
	pages := uint32(have)
	// The header's page count is valid only when written by a SQLite
	// that also stamped version-valid-for with the change counter.
	if n := binary.BigEndian.Uint32(h[28:]); n != 0 && binary.BigEndian.Uint32(h[24:]) == binary.BigEndian.Uint32(h[92:]) {
		if n > pages {
			return nil, fmt.Errorf("truncated: the header counts %d pages of %d bytes, the file holds %d", n, ps, pages)
		}
		pages = n
	}
	if pages == 0 {
		return nil, fmt.Errorf("truncated: %d bytes hold no whole page of %d", size, ps)
	}
	return &DB{r: r, pageSize: ps, usable: usable, pages: pages}, nil
}

// PageSize is the database's page size in bytes.
func (db *DB) PageSize() int { return db.pageSize }

// page reads page n (numbered from 1), cut to its usable bytes.
func (db *DB) page(n uint32) ([]byte, error) {
	if n < 1 || n > db.pages {
		return nil, fmt.Errorf("page %d is out of range 1-%d", n, db.pages)
	}
	p := make([]byte, db.pageSize)
	if _, err := db.r.ReadAt(p, int64(n-1)*int64(db.pageSize)); err != nil {
		return nil, fmt.Errorf("reading page %d: %w", n, err)
	}
	return p[:db.usable], nil
}

// Pending names the files beside the database at path that may hold what
// is not in it yet (a non-empty -wal or -journal file): this package
// reads the main file only. Lstat leaves their times alone.
func Pending(path string) []string {
	var out []string
	for _, suffix := range []string{"-wal", "-journal"} {
		if st, err := os.Lstat(path + suffix); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
			out = append(out, path+suffix)
		}
	}
	return out
}
