package layerstore

import (
	"strings"
	"testing"
)

func TestUvarint(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want uint64
		err  string
	}{
		{[]byte{0x01}, 1, ""},
		{[]byte{0x8f, 0x4e}, 9999, ""},
		{nil, 0, "missing"},
		{[]byte{0x80}, 0, "varint of 1 bytes is truncated"},
		{[]byte{0x01, 0x02}, 0, "1 bytes after the varint"},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 0, "varint of 11 bytes overflows 64 bits"},
	} {
		got, err := uvarint(c.in)
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("uvarint(% x) = %d, %v; want error %q", c.in, got, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("uvarint(% x) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
}

func TestAnyValue(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{[]byte("\x0a\x01t\x12\x02{}"), "{}"},
		{[]byte("\x12\x02{}"), "{}"},
		{[]byte("\x0a\x01t"), ""},                                        // no value
		{[]byte("\x0a\x09t\x12\x02{}"), ""},                              // a length past the end
		{[]byte("\x08\x01\x12\x02{}"), ""},                               // a varint field
		{[]byte("\x12\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"), ""}, // an oversized length
	} {
		if got := string(anyValue(c.in)); got != c.want {
			t.Errorf("anyValue(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPlatform(t *testing.T) {
	for _, c := range []struct {
		want, os, arch, variant string
		match                   bool
	}{
		{"linux/amd64", "linux", "amd64", "", true},
		{"linux/amd64", "linux", "arm64", "", false},
		{"linux/arm/v7", "linux", "arm", "v7", true},
		{"linux/arm/v7", "linux", "arm", "v6", false},
		{"linux/arm", "linux", "arm", "v6", true},
		{"linux/arm64/v8", "linux", "arm64", "", true},
		{"linux/arm64", "linux", "arm64", "v8", true},
		{"windows/amd64", "linux", "amd64", "", false},
	} {
		p, err := parsePlatform(c.want)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.matches(&ociPlatform{OS: c.os, Architecture: c.arch, Variant: c.variant}); got != c.match {
			t.Errorf("%s matches %s/%s/%s: %v, want %v", c.want, c.os, c.arch, c.variant, got, c.match)
		}
	}
	for _, bad := range []string{"linux", "linux/", "/amd64", "a/b/c/d"} {
		if _, err := parsePlatform(bad); err == nil {
			t.Errorf("parsePlatform(%q): no error", bad)
		}
	}
}

// An index's manifest is chosen for the platform among those present,
// attestations aside; otherwise the others present are offered.
func TestPlatformChoose(t *testing.T) {
	entries := []*ociPlatform{
		nil, // an attestation without a platform
		{OS: "unknown", Architecture: "unknown"},
		{OS: "linux", Architecture: "amd64"}, // its blob not here
		{OS: "linux", Architecture: "arm64", Variant: "v8"},
		{OS: "linux", Architecture: "arm", Variant: "v7"},
	}
	present := func(i int) bool { return i != 2 }
	for _, c := range []struct {
		want    platform
		i       int
		offered []string
	}{
		{platform{os: "linux", arch: "arm64"}, 3, nil},
		{platform{os: "linux", arch: "arm", variant: "v7"}, 4, nil},
		{platform{os: "linux", arch: "amd64"}, -1, []string{"linux/arm64/v8", "linux/arm/v7"}},
	} {
		i, offered := c.want.choose(entries, present)
		if i != c.i || strings.Join(offered, " ") != strings.Join(c.offered, " ") {
			t.Errorf("%s: %d %q, want %d %q", c.want, i, offered, c.i, c.offered)
		}
	}
}
