package sqlitero

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoTable is returned (wrapped) by Table for a name sqlite_schema does
// not hold.
var ErrNoTable = errors.New("no such table")

// schemaRoot is sqlite_schema's root page, always page 1.
const schemaRoot = 1

// Table is one table of a database.
type Table struct {
	Name    string
	Columns []string // as declared
	db      *DB
	root    uint32
	alias   int   // the INTEGER PRIMARY KEY column, which holds the rowid; -1 if none
	stored  []int // the column each of a record's values belongs to
	cols    []column
}

// schemaEntry is a row of sqlite_schema (type, name, tbl_name, rootpage, sql).
type schemaEntry struct {
	typ, name string
	root      int64
	sql       string
}

func (db *DB) schema(fn func(schemaEntry) error) error {
	return db.walk(schemaRoot, func(_ int64, payload []byte) error {
		v, err := record(payload)
		if err != nil {
			return fmt.Errorf("sqlite_schema: %w", err)
		}
		if len(v) < 5 {
			return fmt.Errorf("sqlite_schema: a row of %d values, not 5", len(v))
		}
		var e schemaEntry
		e.typ, _ = v[0].(string)
		e.name, _ = v[1].(string)
		e.root, _ = v[3].(int64)
		e.sql, _ = v[4].(string)
		return fn(e)
	})
}

// Tables lists the names of the database's tables, in sqlite_schema's order.
func (db *DB) Tables() ([]string, error) {
	var out []string
	err := db.schema(func(e schemaEntry) error {
		if e.typ == "table" {
			out = append(out, e.name)
		}
		return nil
	})
	return out, err
}

// Table finds the table called name (case-insensitively, as SQLite does).
func (db *DB) Table(name string) (*Table, error) {
	var found *schemaEntry
	err := db.schema(func(e schemaEntry) error {
		if e.typ == "table" && strings.EqualFold(e.name, name) && found == nil {
			found = &e
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("%w %q", ErrNoTable, name)
	}
	if found.root < 1 || found.root > int64(db.pages) {
		if found.root == 0 {
			return nil, fmt.Errorf("table %q is a virtual table, with no b-tree of its own", name)
		}
		return nil, fmt.Errorf("table %q: root page %d is out of range 1-%d", name, found.root, db.pages)
	}
	d, err := parseCreate(found.sql)
	if err != nil {
		return nil, fmt.Errorf("table %q: %w", name, err)
	}
	if d.withoutRowid {
		return nil, fmt.Errorf("table %q is WITHOUT ROWID, kept in an index b-tree, which is not read", name)
	}
	t := &Table{Name: found.name, db: db, root: uint32(found.root), alias: d.alias, cols: d.columns}
	for i, c := range d.columns {
		t.Columns = append(t.Columns, c.name)
		if !c.virtual {
			t.stored = append(t.stored, i)
		}
	}
	return t, nil
}

// Column is the index of the column called name (case-insensitively), or -1.
func (t *Table) Column(name string) int {
	for i, c := range t.Columns {
		if strings.EqualFold(c, name) {
			return i
		}
	}
	return -1
}

// Rows calls fn with each row, in rowid order: one value per column, each
// nil (NULL), int64, float64, string (text) or []byte (blob). The INTEGER
// PRIMARY KEY column, if any, holds the rowid. A column added after a row
// was written holds its DEFAULT; one whose DEFAULT is an expression is an
// error for such a row.
func (t *Table) Rows(fn func(rowid int64, row []any) error) error {
	return t.db.walk(t.root, func(rowid int64, payload []byte) error {
		v, err := record(payload)
		if err != nil {
			return fmt.Errorf("table %q, rowid %d: %w", t.Name, rowid, err)
		}
		if len(v) > len(t.stored) {
			return fmt.Errorf("table %q, rowid %d: %d values for %d stored columns", t.Name, rowid, len(v), len(t.stored))
		}
		row := make([]any, len(t.Columns))
		for i, c := range t.stored {
			col := t.cols[c]
			switch {
			case i < len(v):
				row[c] = v[i]
			case col.defErr != nil:
				return fmt.Errorf("table %q, rowid %d: column %q, added after the row was written: %w", t.Name, rowid, col.name, col.defErr)
			default:
				row[c] = col.def
			}
			if n, ok := row[c].(int64); ok && col.real() {
				row[c] = float64(n)
			}
		}
		if t.alias >= 0 {
			row[t.alias] = rowid
		}
		return fn(rowid, row)
	})
}
