package main

import (
	"fmt"
	"strings"
	"time"
)

// relativeTime says how long ago t was, the way docker's CREATED column
// does ("3 years ago", "About an hour ago"); "N/A" when t is unknown.
func relativeTime(t, now time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return humanDuration(now.Sub(t)) + " ago"
}

// humanDuration rounds d to the single unit docker prints.
func humanDuration(d time.Duration) string {
	secs := int64(d / time.Second)
	mins := int64(d / time.Minute)
	// Hours round to the nearest, so that 90 minutes reads "2 hours".
	hours := int64((d + 30*time.Minute) / time.Hour)
	const day, week, month, year = 24, 24 * 7, 24 * 30, 24 * 365
	switch {
	case secs < 1:
		return "Less than a second"
	case secs == 1:
		return "1 second"
	case secs < 60:
		return fmt.Sprintf("%d seconds", secs)
	case mins == 1:
		return "About a minute"
	case mins < 60:
		return fmt.Sprintf("%d minutes", mins)
	case hours == 1:
		return "About an hour"
	case hours < 2*day:
		return fmt.Sprintf("%d hours", hours)
	case hours < 2*week:
		return fmt.Sprintf("%d days", hours/day)
	case hours < 2*month:
		return fmt.Sprintf("%d weeks", hours/week)
	case hours < 2*year:
		return fmt.Sprintf("%d months", hours/month)
	}
	return fmt.Sprintf("%d years", int64(d/time.Hour)/year)
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

// driverColumn is the DRIVER column of a listing: shown only when the
// store holds more than one storage driver.
type driverColumn bool

func newDriverColumn(s interface{ Drivers() []string }) driverColumn {
	return len(s.Drivers()) > 1
}

func (d driverColumn) header() string {
	if d {
		return "\tDRIVER"
	}
	return ""
}

func (d driverColumn) cell(driver string) string {
	if d {
		return "\t" + driver
	}
	return ""
}
