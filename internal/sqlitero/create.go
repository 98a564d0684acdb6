package sqlitero

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// What Table needs of a table's CREATE TABLE statement, as sqlite_schema
// keeps it: its columns in order, which of them is the rowid, which are
// not stored, and whether it has rowids at all.

type column struct {
	name    string
	typ     string // the declared type, upper case, words joined by one space
	pk      bool   // PRIMARY KEY as a column constraint
	pkDesc  bool   // ... with DESC, which SQLite does not make a rowid alias
	virtual bool   // GENERATED ... VIRTUAL (the default): not in the record
	// def is the DEFAULT a row written before the column was added (by
	// ALTER TABLE) reads as; defErr says why it is not known, for a
	// DEFAULT that is an expression rather than a literal.
	def    any
	defErr error
}

// real says the column has REAL affinity (its type names REAL, FLOA or
// DOUB and not INT): SQLite keeps such a value that is whole as an integer
// on disk, and reads it back as a float.
func (c column) real() bool {
	return !strings.Contains(c.typ, "INT") && !strings.Contains(c.typ, "CHAR") && !strings.Contains(c.typ, "CLOB") &&
		!strings.Contains(c.typ, "TEXT") && !strings.Contains(c.typ, "BLOB") &&
		(strings.Contains(c.typ, "REAL") || strings.Contains(c.typ, "FLOA") || strings.Contains(c.typ, "DOUB"))
}

type createTable struct {
	columns      []column
	alias        int // the rowid alias column, -1 if none
	withoutRowid bool
}

// constraintWords end a column's type name.
var constraintWords = []string{"CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT", "COLLATE", "REFERENCES", "GENERATED", "AS"}

// tableConstraints begin a table constraint rather than a column.
var tableConstraints = []string{"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}

func parseCreate(sql string) (*createTable, error) {
	toks, err := tokenize(sql)
	if err != nil {
		return nil, err
	}
	open := slices.IndexFunc(toks, func(t token) bool { return t.is("(") })
	if open < 0 {
		return nil, errors.New("CREATE TABLE without a column list")
	}
	items, rest, err := splitList(toks[open+1:])
	if err != nil {
		return nil, err
	}
	d := &createTable{alias: -1}
	var pkCols []string
	for _, it := range items {
		if len(it) == 0 {
			return nil, errors.New("empty column definition")
		}
		if slices.Contains(tableConstraints, it[0].word()) {
			if cols := primaryKeyColumns(it); cols != nil {
				pkCols = cols
			}
			continue
		}
		d.columns = append(d.columns, parseColumn(it))
	}
	if len(d.columns) == 0 {
		return nil, errors.New("CREATE TABLE without columns")
	}
	for i := 0; i+1 < len(rest); i++ {
		if rest[i].word() == "WITHOUT" && rest[i+1].word() == "ROWID" {
			d.withoutRowid = true
		}
	}
	// A rowid alias is a column of type INTEGER that is the one primary
	// key, declared on the column (but not DESC) or as PRIMARY KEY(col).
	for i, c := range d.columns {
		if c.typ != "INTEGER" {
			continue
		}
		if c.pk && !c.pkDesc || len(pkCols) == 1 && strings.EqualFold(pkCols[0], c.name) {
			d.alias = i
		}
	}
	return d, nil
}

// parseColumn reads a column definition: name, type, constraints.
func parseColumn(it []token) column {
	c := column{name: it[0].s}
	i := 1
	var typ []string
	for ; i < len(it) && !slices.Contains(constraintWords, it[i].word()); i++ {
		if it[i].is("(") { // VARCHAR(10), DECIMAL(10, 2)
			i = skipParens(it, i)
			continue
		}
		typ = append(typ, strings.ToUpper(it[i].s))
	}
	c.typ = strings.Join(typ, " ")
	generated, stored := false, false
	for ; i < len(it); i++ {
		switch it[i].word() {
		case "PRIMARY":
			c.pk = true
			if i+2 < len(it) && it[i+1].word() == "KEY" && it[i+2].word() == "DESC" {
				c.pkDesc = true
			}
		case "AS":
			generated = true
		case "DEFAULT":
			c.def, c.defErr = literal(it[i+1:])
		case "STORED":
			stored = true
		}
		if it[i].is("(") {
			i = skipParens(it, i)
		}
	}
	c.virtual = generated && !stored
	return c
}

// literal is the value of a DEFAULT's literal: a number, with its sign, a
// string, NULL, TRUE or FALSE.
func literal(toks []token) (any, error) {
	neg := false
	if len(toks) > 0 && (toks[0].is("-") || toks[0].is("+")) {
		neg, toks = toks[0].is("-"), toks[1:]
	}
	if len(toks) == 0 {
		return nil, errors.New("DEFAULT without a value")
	}
	t := toks[0]
	switch {
	case t.number:
		if v, err := strconv.ParseInt(t.s, 0, 64); err == nil {
			if neg {
				v = -v
			}
			return v, nil
		}
		v, err := strconv.ParseFloat(t.s, 64)
		if err != nil {
			return nil, fmt.Errorf("DEFAULT %s is not a number", t.s)
		}
		if neg {
			v = -v
		}
		return v, nil
	case neg:
	case t.quoted && t.q != '[' && t.q != '`':
		return t.s, nil
	case t.word() == "NULL":
		return nil, nil
	case t.word() == "TRUE":
		return int64(1), nil
	case t.word() == "FALSE":
		return int64(0), nil
	}
	return nil, fmt.Errorf("DEFAULT %s is not a literal this reader evaluates", t.s)
}

// primaryKeyColumns is the column list of a PRIMARY KEY table
// constraint, nil for another constraint.
func primaryKeyColumns(it []token) []string {
	i := 0
	if it[0].word() == "CONSTRAINT" {
		i = 2
	}
	if i+2 >= len(it) || it[i].word() != "PRIMARY" || it[i+1].word() != "KEY" || !it[i+2].is("(") {
		return nil
	}
	items, _, err := splitList(it[i+3:])
	if err != nil {
		return nil
	}
	var cols []string
	for _, c := range items {
		if len(c) > 0 {
			cols = append(cols, c[0].s)
		}
	}
	return cols
}

// splitList splits the tokens after an opening parenthesis at its
// top-level commas, up to its closing one, returning what follows.
func splitList(toks []token) (items [][]token, rest []token, err error) {
	depth, start := 0, 0
	for i, t := range toks {
		switch {
		case t.is("("):
			depth++
		case t.is(")") && depth > 0:
			depth--
		case t.is(")"):
			return append(items, toks[start:i]), toks[i+1:], nil
		case t.is(",") && depth == 0:
			items = append(items, toks[start:i])
			start = i + 1
		}
	}
	return nil, nil, errors.New("unbalanced parentheses")
}

// skipParens is the index of the parenthesis closing the one at it[i],
// or the last index if it is not closed.
func skipParens(it []token, i int) int {
	depth := 0
	for ; i < len(it); i++ {
		switch {
		case it[i].is("("):
			depth++
		case it[i].is(")"):
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return len(it) - 1
}

// token is a word (identifier or keyword, s unquoted), a quoted
// identifier or string, or one punctuation character.
type token struct {
	s      string
	quoted bool
	q      byte // the opening quote
	punct  bool
	number bool
}

func (t token) is(p string) bool { return t.punct && t.s == p }

// word is the token in upper case if it can be a keyword, else "".
func (t token) word() string {
	if t.quoted || t.punct || t.number {
		return ""
	}
	return strings.ToUpper(t.s)
}

// tokenize splits SQL into tokens, dropping white space and comments.
func tokenize(sql string) ([]token, error) {
	var out []token
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case strings.HasPrefix(sql[i:], "--"):
			if j := strings.IndexByte(sql[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(sql)
			}
		case strings.HasPrefix(sql[i:], "/*"):
			if j := strings.Index(sql[i+2:], "*/"); j >= 0 {
				i += j + 4
			} else {
				i = len(sql)
			}
		case c == '"' || c == '\'' || c == '`' || c == '[':
			end := c
			if c == '[' {
				end = ']'
			}
			var b strings.Builder
			j := i + 1
			for {
				k := strings.IndexByte(sql[j:], end)
				if k < 0 {
					return nil, fmt.Errorf("unterminated quote %c in %q", c, clip(sql))
				}
				b.WriteString(sql[j : j+k])
				j += k + 1
				// A doubled quote is the quote itself ([...] has no escape).
				if end == ']' || j >= len(sql) || sql[j] != end {
					break
				}
				b.WriteByte(end)
				j++
			}
			out = append(out, token{s: b.String(), quoted: true, q: c})
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(sql) && sql[i+1] >= '0' && sql[i+1] <= '9':
			j := i + 1
			for j < len(sql) && (isWordByte(sql[j]) || sql[j] == '.' ||
				(sql[j] == '+' || sql[j] == '-') && (sql[j-1] == 'e' || sql[j-1] == 'E') && !strings.HasPrefix(strings.ToLower(sql[i:j]), "0x")) {
				j++
			}
			out = append(out, token{s: sql[i:j], number: true})
			i = j
		case isWordByte(c):
			j := i
			for j < len(sql) && isWordByte(sql[j]) {
				j++
			}
			out = append(out, token{s: sql[i:j]})
			i = j
		default:
			out = append(out, token{s: sql[i : i+1], punct: true})
			i++
		}
	}
	return out, nil
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
