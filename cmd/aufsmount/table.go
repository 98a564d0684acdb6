package main

import (
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// column is one column of a table: its header, and how it may be cut
// when the table is wider than the terminal.
type column struct {
	header string
	fit    fitMode
}

type fitMode int

const (
	keep    fitMode = iota // never cut
	cutEnd                 // cut at the end, with "…" (commands)
	cutPath                // cut at the start, with ".../" (paths)
)

// minCut is the narrowest a cut column gets.
const minCut = 12

// grid is the table the listings print: columns three spaces apart, each as
// wide as its widest cell (and at least minWidth, counting the spaces),
// the last not padded. On a terminal narrower than the table, the
// columns that may be cut are, widest first, down to minCut.
type grid struct {
	cols     []column
	rows     [][]string
	minWidth int // docker's tables: 10
	width    int // the terminal's width; 0: do not fit
}

func newGrid(width int, cols ...column) *grid {
	return &grid{cols: cols, width: width}
}

func (t *grid) add(cells ...string) { t.rows = append(t.rows, cells) }

const colGap = 3

func (t *grid) write(w io.Writer) error {
	n := len(t.cols)
	widths := make([]int, n)
	all := append([][]string{t.headers()}, t.rows...)
	for _, r := range all {
		for i := 0; i < n && i < len(r); i++ {
			widths[i] = max(widths[i], utf8.RuneCountInString(r[i]))
		}
	}
	pad := func(i int) int { return max(widths[i]+colGap, t.minWidth) }
	if t.width > 0 {
		total := 0
		for i := range widths {
			if i < n-1 {
				total += pad(i)
			} else {
				total += widths[i]
			}
		}
		for total > t.width {
			// A column's worth off the widest that may be cut, until the
			// table fits or every one is down to minCut: the wide ones
			// are cut to the same width.
			best := -1
			for i, c := range t.cols {
				if c.fit != keep && widths[i] > minCut && (best < 0 || widths[i] > widths[best]) {
					best = i
				}
			}
			if best < 0 {
				break
			}
			widths[best]--
			total--
		}
	}
	var b strings.Builder
	for _, r := range all {
		for i := 0; i < n; i++ {
			cell := ""
			if i < len(r) {
				cell = fitCell(r[i], widths[i], t.cols[i].fit)
			}
			b.WriteString(cell)
			if i < n-1 {
				b.WriteString(strings.Repeat(" ", pad(i)-utf8.RuneCountInString(cell)))
			}
		}
		// Trailing spaces of an empty last cell go, as tabwriter's do.
		line := strings.TrimRight(b.String(), " ")
		b.Reset()
		if _, err := io.WriteString(w, line+"\n"); err != nil {
			return err
		}
	}
	return nil
}

func (t *grid) headers() []string {
	h := make([]string, len(t.cols))
	for i, c := range t.cols {
		h[i] = c.header
	}
	return h
}

// fitCell cuts s to width runes as mode says.
func fitCell(s string, width int, mode fitMode) string {
	if mode == keep || utf8.RuneCountInString(s) <= width {
		return s
	}
	if mode == cutPath {
		return cutLeft(s, width)
	}
	return ellipsis(s, width)
}

// cutLeft keeps the end of path p in n runes, starting ".../" (or
// "..." when even the last component is too long).
func cutLeft(p string, n int) string {
	r := []rune(p)
	if len(r) <= n {
		return p
	}
	if n <= 4 {
		return string(r[len(r)-n:])
	}
	tail := string(r[len(r)-(n-4):])
	if i := strings.IndexByte(tail, '/'); i >= 0 {
		return ".../" + tail[i+1:]
	}
	return "..." + string(r[len(r)-(n-3):])
}

// terminalWidth is the width of the terminal w is, or 0 when w is not a
// terminal: a table printed to a pipe or a file is never cut.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Col == 0 {
		return 0
	}
	return int(ws.Col)
}

// shortDir is a layer directory as a table shows it without --no-trunc:
// the store's root left out and every id cut to 12 hex digits, as in
// ".../overlay2/3f9c0a1b2c3d.../diff".
func shortDir(dir, root string) string {
	rel, ok := strings.CutPrefix(dir, strings.TrimSuffix(root, "/")+"/")
	if !ok {
		return dir
	}
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		base, init := strings.CutSuffix(p, "-init")
		if len(base) == 64 && isLowerHex(base) {
			parts[i] = base[:12] + "..."
			if init {
				parts[i] += "-init"
			}
		}
	}
	return ".../" + strings.Join(parts, "/")
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
