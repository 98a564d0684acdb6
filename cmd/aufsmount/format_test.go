package main

import (
	"testing"
	"time"

	"github.com/aufsmount/aufsmount/layerstore"
)

func TestRelativeTime(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "N/A"},
		{now.Add(-70 * time.Minute), "About an hour ago"},
		{time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC), "3 years ago"},
		// A time in another zone is the same instant.
		{now.In(time.FixedZone("x", 3600)).Add(-5 * time.Second), "5 seconds ago"},
	}
	for _, tt := range tests {
		if got := relativeTime(tt.t, now); got != tt.want {
			t.Errorf("relativeTime(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestHumanSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{-1, "-"},
		{0, "0B"},
		{1, "1B"},
		{999, "999B"},
		{1000, "1kB"},
		{1024, "1.02kB"},
		{1234567, "1.23MB"},
		{4_860_000, "4.86MB"},
		{99_949, "99.9kB"},
		{99_950, "100kB"},
		{999_499, "999kB"},
		{999_999, "1MB"}, // not "1e+03kB"
		{1_000_000_000, "1GB"},
		{1_500_000_000_000, "1.5TB"},
		{1<<63 - 1, "9.22EB"},
	}
	for _, tt := range tests {
		if got := humanSize(tt.n); got != tt.want {
			t.Errorf("humanSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	// Four digits, as docker's VIRTUAL SIZE.
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{-1, "-"},
		{5, "5B"},
		{1_982_330, "1.982MB"}, // docker images --format '{{.VirtualSize}}' of a 1982330-byte image
		{207_289_555, "207.3MB"},
		{999_950, "1000kB"},
	} {
		if got := humanSizeDigits(tt.n, 4); got != tt.want {
			t.Errorf("humanSizeDigits(%d, 4) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestShortID(t *testing.T) {
	hex := "3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741"
	tests := []struct{ id, want string }{
		{hex, "3f57d9401f8d"},
		{hex + "-init", "3f57d9401f8d-init"},
		{"abc", "abc"},
		{"abc-init", "abc-init"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := layerstore.ShortID(tt.id); got != tt.want {
			t.Errorf("layerstore.ShortID(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestEllipsisOneLine(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"short", 45, "short"},
		{"abcdef", 6, "abcdef"},
		{"abcdefg", 6, "abcde…"},
		{"héllo wörld", 5, "héll…"}, // runes, not bytes
		{"/bin/sh -c #(nop)\tCMD [\"sh\"]\n", 45, "/bin/sh -c #(nop) CMD [\"sh\"] "},
	}
	for _, tt := range tests {
		if got := ellipsis(oneLine(tt.s), tt.n); got != tt.want {
			t.Errorf("ellipsis(oneLine(%q), %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}
