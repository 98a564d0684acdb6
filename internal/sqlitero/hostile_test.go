package sqlitero

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// readAll reads every row of every table, as the fuzz target does.
func readAll(data []byte) error {
	db, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	tables, err := db.Tables()
	if err != nil {
		return err
	}
	for _, name := range tables {
		t, err := db.Table(name)
		if err != nil {
			continue // WITHOUT ROWID and the like: refused by name, tested apart
		}
		if err := t.Rows(func(int64, []any) error { return nil }); err != nil {
			return err
		}
	}
	return nil
}

// TestHostile breaks basic-512.db (301 pages of 512 bytes; "many" is an
// interior page at 213, "big" the table with overflow chains) one way at
// a time: each must be an error that says what is wrong.
func TestHostile(t *testing.T) {
	orig := load(t, "basic-512.db")
	const ps, many = 512, 213
	if orig[(many-1)*ps] != tableInterior {
		t.Fatalf("page %d is not the interior page the cases below expect", many)
	}
	at := func(page, off int) int { return (page-1)*ps + off }
	// overflowPage finds a page in the middle of one of big's overflow
	// chains: its payload is gen.py's digits and it has a next page.
	overflowPage := func(data []byte) int {
		digits := func(b []byte) bool {
			return !bytes.ContainsFunc(b, func(r rune) bool { return r < '0' || r > '9' })
		}
		for p := 2; p <= len(data)/ps; p++ {
			b := data[at(p, 0):at(p+1, 0)]
			if n := binary.BigEndian.Uint32(b); n != 0 && int(n) <= len(data)/ps && digits(b[4:]) {
				return p
			}
		}
		t.Fatal("no overflow page with a next page")
		return 0
	}
	for _, c := range []struct {
		name  string
		edit  func(d []byte) []byte
		want  string
		table string // the table whose rows give the error; "" for Open's
	}{
		{"shorter than the header", func(d []byte) []byte { return d[:50] }, "shorter than its header", ""},
		{"no magic", func(d []byte) []byte { d[0] = 's'; return d }, "not a SQLite 3 database", ""},
		{"page size 1000", func(d []byte) []byte { binary.BigEndian.PutUint16(d[16:], 1000); return d }, "page size 1000 is not a power of two", ""},
		{"page size 256", func(d []byte) []byte { binary.BigEndian.PutUint16(d[16:], 256); return d }, "page size 256 is not", ""},
		{"read version 3", func(d []byte) []byte { d[19] = 3; return d }, "read version 3", ""},
		{"40 reserved bytes", func(d []byte) []byte { d[20] = 40; return d }, "leave 472 usable", ""},
		{"payload fraction", func(d []byte) []byte { d[21] = 65; return d }, "payload fractions 65/32/32", ""},
		{"UTF-16", func(d []byte) []byte { d[59] = 2; return d }, "UTF-16 (2); only UTF-8", ""},
		{"encoding 7", func(d []byte) []byte { d[59] = 7; return d }, "text encoding 7", ""},
		{"truncated", func(d []byte) []byte { return d[:10*ps] }, "truncated: the header counts 301 pages of 512 bytes, the file holds 10", ""},
		{"truncated, no page count", func(d []byte) []byte { d[95]++; return d[:200*ps] }, "is out of range 1-200", "many"},
		{"schema page an index page", func(d []byte) []byte { d[100] = indexLeaf; return d }, "page 1 is an index b-tree page", "kinds"},
		{"child out of range", func(d []byte) []byte { binary.BigEndian.PutUint32(d[at(many, 8):], 99999); return d }, "page 99999 is out of range 1-301", "many"},
		{"child is its parent", func(d []byte) []byte { binary.BigEndian.PutUint32(d[at(many, 8):], many); return d }, "page 213 is reached twice", "many"},
		{"not a b-tree page", func(d []byte) []byte { d[at(many, 0)] = 7; return d }, "page 213 is not a b-tree page (type 0x07)", "many"},
		{"too many cells", func(d []byte) []byte { binary.BigEndian.PutUint16(d[at(many, 3):], 0xffff); return d }, "65535 cells do not fit", "many"},
		{"cell in the header", func(d []byte) []byte { binary.BigEndian.PutUint16(d[at(many, 12):], 3); return d }, "cell 0 at offset 3 is outside", "many"},
		{"too deep", func(d []byte) []byte {
			// Pages 213-240 become interior pages without cells, each
			// the parent of the next.
			for p := many; p < many+28; p++ {
				b := d[at(p, 0):at(p+1, 0)]
				clear(b)
				b[0] = tableInterior
				binary.BigEndian.PutUint32(b[8:], uint32(p+1))
			}
			return d
		}, "b-tree deeper than 20", "many"},
		{"overflow cycle", func(d []byte) []byte {
			p := overflowPage(d)
			binary.BigEndian.PutUint32(d[at(p, 0):], uint32(p))
			return d
		}, "is reached twice (a cycle)", "big"},
		{"overflow chain cut", func(d []byte) []byte { binary.BigEndian.PutUint32(d[at(overflowPage(d), 0):], 0); return d }, "overflow chain ends after", "big"},
		{"overflow out of range", func(d []byte) []byte { binary.BigEndian.PutUint32(d[at(overflowPage(d), 0):], 5000); return d }, "overflow: page 5000 is out of range", "big"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := c.edit(bytes.Clone(orig))
			db, err := Open(bytes.NewReader(d), int64(len(d)))
			if c.table != "" && err == nil {
				var tb *Table
				if tb, err = db.Table(c.table); err == nil {
					err = tb.Rows(func(int64, []any) error { return nil })
				}
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error with %q", err, c.want)
			}
		})
	}
}

func TestLeafCellHostile(t *testing.T) {
	db := &DB{pageSize: 512, usable: 512, pages: 10, r: bytes.NewReader(make([]byte, 5120))}
	for _, c := range []struct {
		name string
		cell []byte
		want string
	}{
		{"size cut off", []byte{0x81}, "payload size: varint cut off"},
		{"rowid cut off", []byte{0x05, 0xff}, "rowid: varint cut off"},
		{"past SQLite's limit", []byte{0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01}, "payload of 34359738368 bytes is over SQLite's limit"},
		{"more pages than the file", append([]byte{0x84, 0x80, 0x80, 0x00, 0x01}, make([]byte, 43)...), "payload of 8388608 bytes needs 16513 overflow pages"},
		{"local past the page", []byte{0x64, 0x01, 'a', 'b'}, "payload of 100 bytes runs past the page"},
		{"overflow pointer past the page", append([]byte{0x83, 0x60, 0x01}, make([]byte, 39)...), "payload's first 39 bytes run past the page"},
	} {
		w := &walker{db: db, seen: map[uint32]bool{}, budget: int(db.pages)}
		if _, _, err := w.leafCell(c.cell); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: leafCell = %v, want an error with %q", c.name, err, c.want)
		}
	}
}
