package layertar

import (
	"strings"
	"testing"
)

// TestSparseMapRefused: a sparse map that does not hold together is
// refused, saying why.
func TestSparseMapRefused(t *testing.T) {
	for _, c := range []struct {
		name           string
		pairs          []int64
		size, physical int64
		want           string
	}{
		{"overlap", []int64{0, 10, 5, 10}, 100, 20, "fragment 1 (10 bytes at 5) overlaps another or passes the end (100 bytes)"},
		{"past the end", []int64{95, 10}, 100, 10, "fragment 0 (10 bytes at 95) overlaps another or passes the end (100 bytes)"},
		{"less data than the map", []int64{0, 10, 50, 10}, 100, 30, "its fragments hold 20 bytes, its data 30"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := fragments(c.pairs, c.size, c.physical, 512)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
	for _, c := range []struct{ in, want string }{
		{"1,2,3", "3 numbers, not pairs"},
		{"1,x", `"x" is not a number`},
	} {
		if _, err := pax0Map(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("pax0Map(%q): %v, want %q", c.in, err, c.want)
		}
	}
	if _, _, err := pax1Map([]byte("2\n0\n10\n")); err == nil || !strings.Contains(err.Error(), "ends early") {
		t.Errorf("a PAX 1.0 map cut short: %v", err)
	}
}
