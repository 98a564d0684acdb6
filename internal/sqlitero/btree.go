package sqlitero

import (
	"encoding/binary"
	"fmt"
)

// Page types of a b-tree page's first byte (fileformat2 section 1.6).
const (
	tableInterior = 0x05
	tableLeaf     = 0x0D
	indexInterior = 0x02
	indexLeaf     = 0x0A
)

// maxDepth is as deep as a table b-tree can be: SQLite itself reports a
// deeper one as corrupt (BTCURSOR_MAX_DEPTH).
const maxDepth = 20

// maxPayload is SQLite's hard upper bound on a row's size
// (SQLITE_MAX_LENGTH's largest setting).
const maxPayload = 1<<31 - 1

// walk calls fn with each row of the table b-tree rooted at page root, in
// rowid order. The payload is fn's to keep.
func (db *DB) walk(root uint32, fn func(rowid int64, payload []byte) error) error {
	w := &walker{db: db, seen: map[uint32]bool{}, budget: int(db.pages), fn: fn}
	return w.page(root, 0)
}

type walker struct {
	db   *DB
	seen map[uint32]bool // pages of the tree so far: a page met twice is a cycle
	// budget is how many more overflow pages the walk may read: each
	// belongs to one cell, so a whole tree has fewer than the file has
	// pages, and cells sharing a chain cannot make a walk quadratic.
	budget int
	fn     func(int64, []byte) error
}

func (w *walker) page(n uint32, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("page %d: b-tree deeper than %d", n, maxDepth)
	}
	if w.seen[n] {
		return fmt.Errorf("page %d is reached twice in one b-tree (a cycle)", n)
	}
	w.seen[n] = true
	p, err := w.db.page(n)
	if err != nil {
		return err
	}
	hdr := 0
	if n == 1 {
		hdr = headerSize // page 1's b-tree header follows the file header
	}
	var hsize int
	switch p[hdr] {
	case tableLeaf:
		hsize = 8
	case tableInterior:
		hsize = 12
	case indexInterior, indexLeaf:
		return fmt.Errorf("page %d is an index b-tree page where a table's was expected", n)
	default:
		return fmt.Errorf("page %d is not a b-tree page (type 0x%02x)", n, p[hdr])
	}
	cells := int(binary.BigEndian.Uint16(p[hdr+3:]))
	ptrs := hdr + hsize
	if ptrs+2*cells > len(p) {
		return fmt.Errorf("page %d: %d cells do not fit the page", n, cells)
	}
	for i := range cells {
		off := int(binary.BigEndian.Uint16(p[ptrs+2*i:]))
		if off < ptrs+2*cells || off >= len(p) {
			return fmt.Errorf("page %d: cell %d at offset %d is outside the cell content area", n, i, off)
		}
		if p[hdr] == tableInterior {
			if off+4 > len(p) {
				return fmt.Errorf("page %d: cell %d is cut off", n, i)
			}
			if err := w.page(binary.BigEndian.Uint32(p[off:]), depth+1); err != nil {
				return err
			}
			continue
		}
		rowid, payload, err := w.leafCell(p[off:])
		if err != nil {
			return fmt.Errorf("page %d: cell %d: %w", n, i, err)
		}
		if err := w.fn(rowid, payload); err != nil {
			return err
		}
	}
	if p[hdr] == tableInterior {
		return w.page(binary.BigEndian.Uint32(p[hdr+8:]), depth+1)
	}
	return nil
}

// leafCell decodes a table leaf cell (payload size, rowid, payload, and
// the first overflow page if the payload spills), with c running to the
// end of the page's usable bytes.
func (w *walker) leafCell(c []byte) (int64, []byte, error) {
	size, k1, err := uvarint(c)
	if err != nil {
		return 0, nil, fmt.Errorf("payload size: %w", err)
	}
	rowid, k2, err := uvarint(c[k1:])
	if err != nil {
		return 0, nil, fmt.Errorf("rowid: %w", err)
	}
	c = c[k1+k2:]
	if size > maxPayload {
		return 0, nil, fmt.Errorf("payload of %d bytes is over SQLite's limit", size)
	}
	local := w.db.localSize(int(size))
	if local == int(size) {
		if local > len(c) {
			return 0, nil, fmt.Errorf("payload of %d bytes runs past the page", size)
		}
		return int64(rowid), append([]byte(nil), c[:local]...), nil
	}
	if local+4 > len(c) {
		return 0, nil, fmt.Errorf("payload's first %d bytes run past the page", local)
	}
	payload, err := w.overflow(c[:local], binary.BigEndian.Uint32(c[local:]), int(size))
	return int64(rowid), payload, err
}

// localSize is how much of a table leaf cell's payload of p bytes is kept
// on its page, the rest going to overflow pages (fileformat2 section
// 1.6): with U the usable page size, all of it if p <= X = U-35;
// otherwise K = M+((p-M) mod (U-4)) if K <= X, else M, where
// M = ((U-12)*32/255)-23, so that the last overflow page is well used.
func (db *DB) localSize(p int) int {
	u := db.usable
	x := u - 35
	if p <= x {
		return p
	}
	m := (u-12)*32/255 - 23
	if k := m + (p-m)%(u-4); k <= x {
		return k
	}
	return m
}

// overflow gathers a payload of size bytes: local is what its cell keeps,
// the rest is in a chain of overflow pages from first, each a 4-byte next
// page number and U-4 bytes of payload.
func (w *walker) overflow(local []byte, first uint32, size int) ([]byte, error) {
	per := w.db.usable - 4
	// A payload needing more pages than are left is a lie, and must not
	// size an allocation.
	need := (size - len(local) + per - 1) / per
	if need > w.budget {
		return nil, fmt.Errorf("payload of %d bytes needs %d overflow pages, more than the file's %d pages leave", size, need, w.db.pages)
	}
	w.budget -= need
	out := make([]byte, len(local), size)
	copy(out, local)
	seen := map[uint32]bool{}
	for next := first; len(out) < size; {
		if next == 0 {
			return nil, fmt.Errorf("overflow chain ends after %d of %d bytes", len(out), size)
		}
		if seen[next] {
			return nil, fmt.Errorf("overflow page %d is reached twice (a cycle)", next)
		}
		seen[next] = true
		p, err := w.db.page(next)
		if err != nil {
			return nil, fmt.Errorf("overflow: %w", err)
		}
		n := min(per, size-len(out))
		out = append(out, p[4:4+n]...)
		next = binary.BigEndian.Uint32(p)
	}
	return out, nil
}
