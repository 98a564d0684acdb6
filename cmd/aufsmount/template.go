package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/urfave/cli/v2"
)

// listing is the rows of a docker-like listing (images, ps, history),
// each a map from docker's template field names ({{.ID}}, {{.Tag}} ...)
// to what the cell shows, and how they print.
type listing struct {
	def     string            // the default format: "table {{.ID}}\t..."
	headers map[string]string // field -> its column header
	rows    []row
}

// row is one row of a listing. As JSON ({{json .}}, --format json) it is
// what docker prints for its rows, which go through json.Marshal: <, >
// and & escaped ("\u003cnone\u003e", "0.0.0.0:80-\u003e80/tcp").
type row map[string]string

func (r row) MarshalJSON() ([]byte, error) { return json.Marshal(map[string]string(r)) }

func formatFlag(fields string) cli.Flag {
	return &cli.StringFlag{Name: "format", Usage: "print with a Go template, as docker does: `FORMAT` is \"table\", \"table TEMPLATE\" (with a header), \"json\" (an object a line), or a TEMPLATE of the fields " + fields}
}

// templateFuncs are the functions docker's templates have.
var templateFuncs = template.FuncMap{
	"json": func(v any) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.Encode(v)
		return strings.TrimSpace(b.String())
	},
	"split": strings.Split,
	"join":  strings.Join,
	"title": strings.Title, //nolint:staticcheck // what docker offers
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"pad": func(s string, before, after int) string {
		return strings.Repeat(" ", max(before, 0)) + s + strings.Repeat(" ", max(after, 0))
	},
	"truncate": func(s string, n int) string {
		if n < 0 || len(s) < n {
			return s
		}
		return s[:n]
	},
	"println": func(args ...any) string { return fmt.Sprintln(args...) },
}

// parseTemplate parses a docker --format template: \t and \n written out
// stand for a tab and a newline, and a field no row has is an error.
func parseTemplate(cmd, text string) (*template.Template, error) {
	text = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(text)
	tmpl, err := template.New(cmd).Funcs(templateFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, usageErrorf("%s: --format: %v", cmd, err)
	}
	return tmpl, nil
}

// usesField says whether a --format reads one of fields of a row, or
// the whole row ({{json .}}), so that what is costly to work out is only
// worked out when shown. The default formats, and a template that does
// not parse (its error comes later), say yes.
func usesField(format string, fields ...string) bool {
	rest, _ := strings.CutPrefix(format, "table")
	if rest = strings.TrimSpace(rest); rest == "" || format == "json" {
		return true
	}
	tmpl, err := template.New("").Funcs(templateFuncs).Parse(rest)
	if err != nil {
		return true
	}
	var uses func(n parse.Node) bool
	uses = func(n parse.Node) bool {
		switch n := n.(type) {
		case *parse.DotNode:
			return true
		case *parse.FieldNode:
			return slices.Contains(fields, n.Ident[0])
		case *parse.VariableNode: // $ is the row; $.Size one of its fields
			return n.Ident[0] == "$" && (len(n.Ident) == 1 || slices.Contains(fields, n.Ident[1]))
		case *parse.ChainNode:
			return uses(n.Node)
		case *parse.ListNode:
			return n != nil && slices.ContainsFunc(n.Nodes, uses)
		case *parse.ActionNode:
			return uses(n.Pipe)
		case *parse.PipeNode:
			return n != nil && slices.ContainsFunc(n.Cmds, func(c *parse.CommandNode) bool { return uses(c) })
		case *parse.CommandNode:
			return slices.ContainsFunc(n.Args, uses)
		case *parse.IfNode:
			return uses(n.Pipe) || uses(n.List) || uses(n.ElseList)
		case *parse.RangeNode:
			return uses(n.Pipe) || uses(n.List) || uses(n.ElseList)
		case *parse.WithNode:
			return uses(n.Pipe) || uses(n.List) || uses(n.ElseList)
		case *parse.TemplateNode:
			return uses(n.Pipe)
		}
		return false
	}
	return uses(tmpl.Tree.Root)
}

// fits says how a column may be cut to fit a terminal, by its header.
var fits = map[string]fitMode{"COMMAND": cutEnd, "CREATED BY": cutEnd, "DIR": cutPath, "PORTS": cutEnd, "MOUNTS": cutEnd}

// print writes the listing in format ("" for the default): a table,
// cut to width where width > 0; one JSON object a row; or the template
// once a row.
func (l *listing) print(w io.Writer, cmd, format string, width int) error {
	if format == "" || format == "table" {
		format = l.def
	}
	if format == "json" {
		for _, r := range l.rows {
			if _, err := io.WriteString(w, templateFuncs["json"].(func(any) string)(r)+"\n"); err != nil {
				return err
			}
		}
		return nil
	}
	rest, isTable := strings.CutPrefix(format, "table")
	if !isTable {
		tmpl, err := parseTemplate(cmd, format)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		for _, r := range l.rows {
			if err := tmpl.Execute(&b, r); err != nil {
				return fmt.Errorf("%s: --format: %v", cmd, err)
			}
			b.WriteByte('\n')
		}
		_, err = w.Write(b.Bytes())
		return err
	}
	tmpl, err := parseTemplate(cmd, strings.TrimSpace(rest))
	if err != nil {
		return err
	}
	cells := func(data row) ([]string, error) {
		var b bytes.Buffer
		if err := tmpl.Execute(&b, data); err != nil {
			return nil, fmt.Errorf("%s: --format: %v", cmd, err)
		}
		return strings.Split(b.String(), "\t"), nil
	}
	head, err := cells(l.headers)
	if err != nil {
		return err
	}
	cols := make([]column, len(head))
	for i, h := range head {
		cols[i] = column{header: h, fit: fits[h]}
	}
	g := newGrid(width, cols...)
	g.minWidth = 10 // as docker's tables
	for _, r := range l.rows {
		c, err := cells(r)
		if err != nil {
			return err
		}
		g.add(c...)
	}
	return g.write(w)
}

// clock is where the commands get the time to say how long ago things
// were ("3 years ago"); tests fix it.
var clock = time.Now
