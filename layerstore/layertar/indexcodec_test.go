package layertar

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// TestIndexCodec: an index comes back from its encoding as it was, and
// anything cut short or altered is an error, never a panic.
func TestIndexCodec(t *testing.T) {
	x := &Index{
		Dirs: map[string][]Meta{
			"":    {{Name: "bin", Mode: 0o40755, Mtime: 1461235327000000000}},
			"bin": {{Name: "busybox", Mode: 0o100755, Size: 2, Mtime: -5}, {Name: "ping", Mode: 0o104755, UID: 1000, GID: 1000, Xattrs: map[string]string{"security.capability": "\x01\x00\x00\x02"}}, {Name: "sh", Mode: 0o100755, Size: 2, Link: "bin/busybox"}},
			"dev": {{Name: "null", Mode: 0o20666, Rdev: 259}},
		},
		Links:   map[string]uint32{"bin/busybox": 2},
		Markers: whiteout.Markers{Opaque: map[string]bool{"var": true}, Whiteouts: map[string][]string{"etc": {"motd", "\xff"}}},
		MarkerEntries: map[string][]Meta{
			"etc": {{Name: ".wh.motd", Mode: 0o100000, Mtime: 9}, {Name: ".wh.\xff", Mode: 0o100600, UID: 7}},
			"var": {{Name: ".wh..wh..opq", Mode: 0o100644}},
		},
		Root: &Meta{Mode: 0o40755, Mtime: 7},
	}
	data, err := x.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, x) {
		t.Errorf("round trip:\n%+v\nwant\n%+v", got, x)
	}
	p, err := Pack(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, name, want string }{{"bin", "ping", "ping 104755 1000"}, {"bin", "sh", "sh 100755 0 bin/busybox"}, {"", "bin", "bin 40755 0"}, {"bin", "nope", ""}, {"none", "x", ""}} {
		m, ok := p.Lookup(c.dir, c.name)
		got := ""
		if ok {
			got = fmt.Sprintf("%s %o %d", m.Name, m.Mode, m.UID)
			if m.Link != "" {
				got += " " + m.Link
			}
		}
		if got != c.want {
			t.Errorf("Lookup(%q, %q) = %q, want %q", c.dir, c.name, got, c.want)
		}
	}
	if g, n := p.Group("bin/sh", &Meta{Link: "bin/busybox"}); g != "bin/busybox" || n != 2 {
		t.Errorf("group of bin/sh: %s %d", g, n)
	}
	if sp := p.Specials("dev"); len(sp) != 1 || sp[0].Name != "null" || sp[0].Rdev != 259 {
		t.Errorf("specials of dev: %+v", sp)
	}
	for _, bad := range [][]byte{nil, []byte("not an index"), data[:len(data)-1], append(append([]byte{}, data...), 0), data[:len(indexMagic)+3]} {
		if _, err := UnmarshalIndex(bad); err == nil {
			t.Errorf("decoding %q: no error", bad)
		}
	}
}

// FuzzUnmarshalIndex: whatever the cache holds decodes or fails cleanly,
// and what decodes encodes back to a record that decodes the same.
func FuzzUnmarshalIndex(f *testing.F) {
	x := &Index{Dirs: map[string][]Meta{"": {{Name: "a", Mode: 0o100644, Size: 1}}}, Links: map[string]uint32{}, Root: &Meta{}}
	data, err := x.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	// The valid seed decodes: the target's checks say nothing of a
	// record it rejects.
	if y, err := UnmarshalIndex(data); err != nil {
		f.Errorf("the valid seed does not decode: %v", err)
	} else if d := y.Dirs[""]; len(d) != 1 || d[0].Name != "a" || d[0].Mode != 0o100644 || d[0].Size != 1 {
		f.Errorf("the valid seed decodes to %+v", y.Dirs)
	}
	f.Add(data)
	// One with every section: markers and their entries too.
	full := &Index{
		Dirs:          map[string][]Meta{"": {{Name: "etc", Mode: 0o40755}}, "etc": {{Name: "hosts", Mode: 0o100644, Size: 3, Off: 1536}}},
		Links:         map[string]uint32{"etc/hosts": 2},
		Markers:       whiteout.Markers{Opaque: map[string]bool{"etc": true}, Whiteouts: map[string][]string{"etc": {"motd"}}},
		MarkerEntries: map[string][]Meta{"etc": {{Name: ".wh.motd", Mode: 0o100000}, {Name: ".wh..wh..opq", Mode: 0o100644}}},
		Root:          &Meta{Mode: 0o40755},
	}
	fullData, err := full.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	if y, err := UnmarshalIndex(fullData); err != nil || len(y.MarkerEntries["etc"]) != 2 || y.MarkerEntries["etc"][0].Name != ".wh.motd" {
		f.Errorf("the seed with markers decodes to %+v, %v", y, err)
	}
	f.Add(fullData)
	f.Add([]byte(indexMagic + "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := Pack(bytes.NewReader(data), int64(len(data))); err == nil {
			p.Lookup("", "a")
		}
		x, err := UnmarshalIndex(data)
		if err != nil {
			return
		}
		again, err := x.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		y, err := UnmarshalIndex(again)
		if err != nil {
			t.Fatalf("re-encoded index does not decode: %v", err)
		}
		if !reflect.DeepEqual(x, y) {
			t.Errorf("decoded %+v, re-decoded %+v", x, y)
		}
	})
}
