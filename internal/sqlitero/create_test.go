package sqlitero

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseCreate(t *testing.T) {
	type col struct {
		name    string
		typ     string
		virtual bool
		def     any
		real    bool
	}
	for _, c := range []struct {
		sql          string
		cols         []col
		alias        int
		withoutRowid bool
	}{
		{"CREATE TABLE t(a, b)", []col{{name: "a"}, {name: "b"}}, -1, false},
		{"CREATE TABLE t(id integer primary key, v TEXT)", []col{{name: "id", typ: "INTEGER"}, {name: "v", typ: "TEXT"}}, 0, false},
		// Only the exact type INTEGER makes a rowid alias.
		{"CREATE TABLE t(id INT PRIMARY KEY)", []col{{name: "id", typ: "INT"}}, -1, false},
		{"CREATE TABLE t(id INTEGER PRIMARY KEY DESC)", []col{{name: "id", typ: "INTEGER"}}, -1, false},
		{"CREATE TABLE t(id INTEGER PRIMARY KEY ASC)", []col{{name: "id", typ: "INTEGER"}}, 0, false},
		{"CREATE TABLE t(v, id INTEGER NOT NULL, CONSTRAINT pk PRIMARY KEY (id DESC))", []col{{name: "v"}, {name: "id", typ: "INTEGER"}}, 1, false},
		{"CREATE TABLE t(a INTEGER, b INTEGER, PRIMARY KEY(a, b))", []col{{name: "a", typ: "INTEGER"}, {name: "b", typ: "INTEGER"}}, -1, false},
		{"CREATE TABLE t(k TEXT PRIMARY KEY, v) WITHOUT ROWID", []col{{name: "k", typ: "TEXT"}, {name: "v"}}, -1, true},
		{"CREATE TABLE t(\"without\" rowid)", []col{{name: "without", typ: "ROWID"}}, -1, false},
		{`CREATE TABLE "a b"("x""y" VARCHAR(10, 2) NOT NULL, [z] DOUBLE PRECISION, 'w' -- note (
			, /* c, d */ ` + "`q`" + ` FLOAT DEFAULT -1.5e3)`,
			[]col{{name: `x"y`, typ: "VARCHAR"}, {name: "z", typ: "DOUBLE PRECISION", real: true}, {name: "w"}, {name: "q", typ: "FLOAT", def: -1500.0, real: true}}, -1, false},
		{"CREATE TABLE t(a INT CHECK (a > 0) DEFAULT 0x10, b TEXT DEFAULT 'it''s', c DEFAULT NULL, d DEFAULT TRUE, e REAL DEFAULT +2)",
			[]col{{name: "a", typ: "INT", def: int64(16)}, {name: "b", typ: "TEXT", def: "it's"}, {name: "c"}, {name: "d", def: int64(1)}, {name: "e", typ: "REAL", def: int64(2), real: true}}, -1, false},
		{"CREATE TABLE t(a, v GENERATED ALWAYS AS (a*2), s AS (a || 'x') STORED, w INT AS (1) VIRTUAL)",
			[]col{{name: "a"}, {name: "v", virtual: true}, {name: "s"}, {name: "w", typ: "INT", virtual: true}}, -1, false},
		{"CREATE TABLE t(p REFERENCES other(id) ON DELETE CASCADE, FOREIGN KEY (p) REFERENCES other(id), UNIQUE (p), CHECK (p <> 1))",
			[]col{{name: "p"}}, -1, false},
	} {
		d, err := parseCreate(c.sql)
		if err != nil {
			t.Errorf("parseCreate(%q): %v", c.sql, err)
			continue
		}
		var got []col
		for _, x := range d.columns {
			got = append(got, col{x.name, x.typ, x.virtual, x.def, x.real()})
		}
		if !reflect.DeepEqual(got, c.cols) || d.alias != c.alias || d.withoutRowid != c.withoutRowid {
			t.Errorf("parseCreate(%q) = %+v alias %d without rowid %v; want %+v alias %d without rowid %v",
				c.sql, got, d.alias, d.withoutRowid, c.cols, c.alias, c.withoutRowid)
		}
	}
	for sql, want := range map[string]string{
		"CREATE TABLE t":                  "without a column list",
		"CREATE TABLE t()":                "empty column definition",
		"CREATE TABLE t(a, (b)":           "unbalanced parentheses",
		"CREATE TABLE t(PRIMARY KEY (a))": "without columns",
		"CREATE TABLE t('a)":              "unterminated quote '",
	} {
		if _, err := parseCreate(sql); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseCreate(%q) = %v, want an error with %q", sql, err, want)
		}
	}
	// A DEFAULT that is an expression is known not to be known.
	d, err := parseCreate("CREATE TABLE t(a DEFAULT (1+1), b DEFAULT CURRENT_TIME)")
	if err != nil || len(d.columns) != 2 || d.columns[0].defErr == nil || d.columns[1].defErr == nil {
		t.Errorf("parseCreate with expression DEFAULTs = %+v, %v; want both with a defErr", d, err)
	}
}
