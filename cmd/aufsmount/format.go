package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/aufsmount/aufsmount/layerstore"
)

// relativeTime says how long ago t was, the way docker's CREATED column
// does ("3 years ago", "About an hour ago"); "N/A" when t is unknown.
func relativeTime(t, now time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return layerstore.HumanDuration(now.Sub(t)) + " ago"
}

// humanSize prints a byte count in decimal units with three significant
// digits, as docker images and docker history do; "-" when unknown (< 0).
func humanSize(n int64) string { return humanSizeDigits(n, 3) }

// humanSizeDigits is humanSize with digits significant digits (docker's
// VIRTUAL SIZE has 4).
func humanSizeDigits(n int64, digits int) string {
	if n < 0 {
		return "-"
	}
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	v := float64(n)
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	s := fmt.Sprintf("%.*g", digits, v)
	// 999.9 kB rounds to "1e+03": carry into the next unit instead.
	if strings.Contains(s, "e") && i < len(units)-1 {
		v /= 1000
		i++
		s = fmt.Sprintf("%.*g", digits, v)
	}
	return s + units[i]
}

// oneLine makes s safe for a table cell: tabs and line breaks would break
// the columns.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return ' '
		}
		return r
	}, s)
}

// ellipsis cuts s to at most n runes, ending with "…" when cut.
func ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return string(r[:n])
	}
	return string(r[:n-1]) + "…"
}
