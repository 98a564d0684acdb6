package sqlitero

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The databases in testdata were written by a real SQLite (testdata/gen.py
// remakes them); what they hold is written out below as SQLite's own
// sqlite3 command shows it.

// load is the ungzipped content of testdata/name.gz.
func load(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func openBytes(t *testing.T, data []byte) *DB {
	t.Helper()
	db, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

type row struct {
	rowid int64
	vals  []any
}

// rows reads every row of table.
func rows(t *testing.T, db *DB, table string) ([]string, []row) {
	t.Helper()
	tb, err := db.Table(table)
	if err != nil {
		t.Fatalf("Table(%q): %v", table, err)
	}
	var out []row
	if err := tb.Rows(func(rowid int64, r []any) error {
		out = append(out, row{rowid, r})
		return nil
	}); err != nil {
		t.Fatalf("Rows(%q): %v", table, err)
	}
	return tb.Columns, out
}

// pattern is what gen.py stores: "0123456789" repeated, cut to n bytes.
func pattern(n int) string { return strings.Repeat("0123456789", n/10+1)[:n] }

func TestBasic(t *testing.T) {
	for _, c := range []struct {
		name     string
		pageSize int
		big      map[string]int // row name: text length
	}{
		{"basic-512.db", 512, map[string]int{"p000100": 89, "p000476": 465, "p000477": 466, "p000478": 467,
			"p000557": 546, "p001054": 1043, "p001536": 1525, "p100000": 99988}},
		{"basic-4096.db", 4096, map[string]int{"p000100": 89, "p004060": 4049, "p004061": 4050, "p004062": 4051,
			"p004591": 4580, "p008672": 8660, "p012288": 12276, "p100000": 99988}},
		{"basic-65536.db", 65536, map[string]int{"p000100": 89, "p065500": 65488, "p065501": 65489, "p065502": 65490,
			"p073741": 73729, "p139262": 139250, "p196608": 196596, "p100000": 99988}},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := openBytes(t, load(t, c.name))
			if db.PageSize() != c.pageSize {
				t.Errorf("PageSize() = %d, want %d", db.PageSize(), c.pageSize)
			}
			tables, err := db.Tables()
			if want := []string{"kinds", "big", "many", "added", "desckey", "tablepk", "quoted", "gen", "norowid"}; err != nil || !reflect.DeepEqual(tables, want) {
				t.Errorf("Tables() = %q, %v; want %q", tables, err, want)
			}

			cols, got := rows(t, db, "KINDS") // names match as in SQLite, whatever their case
			if want := []string{"id", "t", "i", "r", "b", "n"}; !reflect.DeepEqual(cols, want) {
				t.Errorf("kinds columns = %q, want %q", cols, want)
			}
			want := []row{
				{-5, []any{int64(-5), "negative rowid", int64(2), nil, nil, nil}},
				{1, []any{int64(1), "hello", int64(0), 1.5, []byte{0, 1, 0xff}, nil}},
				{2, []any{int64(2), "grüße", int64(1), -0.25, []byte{}, nil}},
				{3, []any{int64(3), "", int64(-1), 0.0, []byte{0x80}, nil}},
				{10, []any{int64(10), "int8", int64(127), 1e300, nil, "x"}},
				{11, []any{int64(11), "int16", int64(-129), nil, nil, int64(7)}},
				{12, []any{int64(12), "int24", int64(8388607), nil, nil, nil}},
				{13, []any{int64(13), "int32", int64(-2147483648), nil, nil, nil}},
				{14, []any{int64(14), "int48", int64(140737488355327), nil, nil, nil}},
				{15, []any{int64(15), "int64", int64(9223372036854775807), nil, nil, nil}},
				{16, []any{int64(16), "int64 min", int64(-9223372036854775808), nil, nil, nil}},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("kinds =\n%#v\nwant\n%#v", got, want)
			}

			_, got = rows(t, db, "big")
			if len(got) != len(c.big) {
				t.Errorf("big: %d rows, want %d", len(got), len(c.big))
			}
			for _, r := range got {
				name, _ := r.vals[0].(string)
				data, _ := r.vals[1].(string)
				n, ok := c.big[name]
				if !ok || data != pattern(n) {
					t.Errorf("big: row %q has %d bytes of data (%.20q...), want %d of the pattern", name, len(data), data, n)
				}
			}

			_, got = rows(t, db, "many")
			if len(got) != 3000 {
				t.Errorf("many: %d rows, want 3000", len(got))
			}
			for i, r := range got {
				if k := int64(i + 1); r.rowid != k || !reflect.DeepEqual(r.vals, []any{k, "v" + strconv.FormatInt(k, 10)}) {
					t.Errorf("many: row %d = %d %v, want %d [%d v%d]", i, r.rowid, r.vals, k, k, k)
					break
				}
			}

			for _, tc := range []struct {
				table string
				cols  []string
				rows  []row
			}{
				// The row written before b was added reads as its DEFAULT.
				{"added", []string{"a", "b"}, []row{{1, []any{"before", int64(42)}}, {2, []any{"after", int64(7)}}}},
				// INTEGER PRIMARY KEY DESC is no rowid alias: id is stored.
				{"desckey", []string{"id", "v"}, []row{{1, []any{int64(100), "a"}}, {2, []any{int64(50), "b"}}}},
				// PRIMARY KEY(id) as a table constraint is one.
				{"tablepk", []string{"v", "id"}, []row{{7, []any{"seven", int64(7)}}, {9, []any{"nine", int64(9)}}}},
				{"quoted", []string{"col one", "col two", "col`three", "col four"}, []row{{1, []any{"1", int64(2), "3", "4"}}}},
				// The VIRTUAL column is not stored, the STORED one is.
				{"gen", []string{"a", "v", "s", "z"}, []row{{1, []any{int64(5), nil, int64(15), "zed"}}}},
			} {
				cols, got := rows(t, db, tc.table)
				if !reflect.DeepEqual(cols, tc.cols) || !reflect.DeepEqual(got, tc.rows) {
					t.Errorf("%s = %q %v, want %q %v", tc.table, cols, got, tc.cols, tc.rows)
				}
			}

			for table, want := range map[string]string{
				"norowid":    `table "norowid" is WITHOUT ROWID`,
				"kinds_t":    `no such table "kinds_t"`, // an index
				"kinds_view": `no such table "kinds_view"`,
				"nope":       `no such table "nope"`,
			} {
				if _, err := db.Table(table); err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("Table(%q) = %v, want an error with %q", table, err, want)
				}
			}
			if _, err := db.Table("nope"); !errors.Is(err, ErrNoTable) {
				t.Errorf("Table(nope) = %v, want ErrNoTable", err)
			}
		})
	}
}

// TestReserved reads pages whose last 32 bytes are reserved, so that the
// usable size, not the page size, splits payloads.
func TestReserved(t *testing.T) {
	db := openBytes(t, load(t, "reserved.db"))
	if db.PageSize() != 1024 || db.usable != 992 {
		t.Errorf("page size %d, usable %d; want 1024, 992", db.PageSize(), db.usable)
	}
	_, got := rows(t, db, "t")
	want := []row{{1, []any{int64(1), pattern(5000)}}, {2, []any{int64(2), "short"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("t = %.80v, want %.80v", got, want)
	}
}

func TestLocalSize(t *testing.T) {
	// The spec's formulas worked by hand: X = U-35, M = (U-12)*32/255-23,
	// K = M+((P-M)%(U-4)).
	for _, c := range []struct{ usable, payload, want int }{
		{512, 100, 100},
		{512, 477, 477}, // X
		{512, 478, 39},  // K = 478 > X: M
		{512, 557, 49},  // K = 49
		{512, 1054, 39}, // K = 546 > X
		{4096, 4061, 4061},
		{4096, 4062, 489},
		{4096, 4591, 499},
		{65536, 65501, 65501},
		{65536, 65502, 8199},
		{65536, 73741, 8209},
		{992, 5004, 99},
		{480, 446, 35},
	} {
		db := &DB{usable: c.usable}
		if got := db.localSize(c.payload); got != c.want {
			t.Errorf("localSize(U=%d, P=%d) = %d, want %d", c.usable, c.payload, got, c.want)
		}
	}
}
