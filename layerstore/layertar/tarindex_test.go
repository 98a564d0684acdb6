package layertar

import (
	"archive/tar"
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tarOf writes the headers (with data of their Size, filled with 'x')
// as a PAX tar.
func tarOf(t *testing.T, hdrs ...*tar.Header) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range hdrs {
		if h.ModTime.IsZero() {
			h.ModTime = time.Unix(1000, 0)
		}
		if h.Format == 0 {
			h.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
		}
	}
	tw.Close()
	return b.Bytes()
}

func TestIndexTar(t *testing.T) {
	data := tarOf(t,
		&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644, Size: 10, Uid: 1, Gid: 2},
		// Its mode and owner are the group's: unpacking applies them.
		&tar.Header{Name: "etc/hard", Typeflag: tar.TypeLink, Linkname: "etc/passwd", Mode: 0o640, Uid: 3, Gid: 4},
		&tar.Header{Name: "etc/link", Typeflag: tar.TypeSymlink, Linkname: "../bin/sh", Mode: 0o777},
		&tar.Header{Name: "etc/cap", Typeflag: tar.TypeReg, Mode: 0o755, Size: 3,
			PAXRecords: map[string]string{"SCHILY.xattr.security.capability": "\x01\x02"}},
		&tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3},
		&tar.Header{Name: "etc/.wh.shadow", Typeflag: tar.TypeReg, Mode: 0o600},
		&tar.Header{Name: "var/.wh..wh..opq", Typeflag: tar.TypeReg, Mode: 0o600},
		&tar.Header{Name: "gone/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "gone/in", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		&tar.Header{Name: "gone", Typeflag: tar.TypeReg, Mode: 0o600, Size: 2},
		&tar.Header{Name: ".wh..wh.plnk/", Typeflag: tar.TypeDir, Mode: 0o700},
		&tar.Header{Name: ".wh..wh.plnk/12.34", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "etc/.wh..wh.orph/x/y", Typeflag: tar.TypeReg, Mode: 0o644},
	)
	x, err := IndexTar(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	const t0 = 1000 * int64(time.Second)
	// Offsets: each header is one 512-byte block, and cap's PAX records
	// two more (their header and themselves); data is padded to 512.
	want := map[string][]Meta{
		"": {
			{Name: "dev", Mode: unix.S_IFDIR | 0o755, Mtime: t0},
			{Name: "etc", Mode: unix.S_IFDIR | 0o755, Mtime: t0},
			{Name: "gone", Mode: unix.S_IFREG | 0o600, Mtime: t0, Size: 2, Off: 8192},
			{Name: "var", Mode: unix.S_IFDIR | 0o755, Mtime: t0}, // made for its opaque marker
		},
		"dev": {{Name: "null", Mode: unix.S_IFCHR | 0o666, Mtime: t0, Rdev: unix.Mkdev(1, 3)}},
		"etc": {
			{Name: "cap", Mode: unix.S_IFREG | 0o755, Mtime: t0, Size: 3, Off: 4096, Xattrs: map[string]string{"security.capability": "\x01\x02"}},
			{Name: "hard", Mode: unix.S_IFREG | 0o640, UID: 3, GID: 4, Mtime: t0, Size: 10, Off: 1024, Link: "etc/passwd"},
			{Name: "link", Mode: unix.S_IFLNK | 0o777, Mtime: t0, Target: "../bin/sh"},
			{Name: "passwd", Mode: unix.S_IFREG | 0o640, UID: 3, GID: 4, Mtime: t0, Size: 10, Off: 1024},
		},
	}
	if !reflect.DeepEqual(x.Dirs, want) {
		t.Errorf("dirs\n got %+v\nwant %+v", x.Dirs, want)
	}
	if !reflect.DeepEqual(x.Links, map[string]uint32{"etc/passwd": 2}) {
		t.Errorf("links %v", x.Links)
	}
	if !reflect.DeepEqual(x.Markers.WhitedOut("etc"), []string{"shadow"}) || !x.Markers.IsOpaque("var") {
		t.Errorf("markers %+v", x.Markers)
	}
	// The offsets are where the data is.
	for _, c := range []struct {
		off  int64
		size int
	}{{1024, 10}, {4096, 3}, {8192, 2}} {
		if got := string(data[c.off : c.off+int64(c.size)]); got != strings.Repeat("x", c.size) || data[c.off-1] == 'x' {
			t.Errorf("data at %d: %q", c.off, got)
		}
	}
	// The binary form keeps the offsets and targets.
	enc, _ := x.MarshalBinary()
	y, err := UnmarshalIndex(enc)
	if err != nil || !reflect.DeepEqual(y.Dirs, want) {
		t.Errorf("round trip: %v\n%+v", err, y)
	}
}

func TestIndexTarRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"parent is a file", tarOf(t,
			&tar.Header{Name: "a", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
			&tar.Header{Name: "a/b", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1}),
			"entry a/b: a above it is not a directory"},
		{"grandparent is a symlink", tarOf(t,
			&tar.Header{Name: "a", Typeflag: tar.TypeSymlink, Linkname: "/etc"},
			&tar.Header{Name: "a/b/c", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1}),
			"entry a/b/c: a above it is not a directory"},
		{"sparse map past its data", gnuSparse(t, "00000000000\x0000000001000\x00"), "entry s: a sparse file: sparse map: its fragments hold 512 bytes, its data 0"},
		{"truncated", tarOf(t, &tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2000})[:1200],
			"reading the layer's tar at byte"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := IndexTar(bytes.NewReader(c.data))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

// gnuSparse is a tar of one old-GNU sparse file "s" of 4096 bytes and
// no data (Go's tar writer writes no sparse files): a GNU header whose
// type is 'S', with its real size and the sparse map entry given.
func gnuSparse(t *testing.T, entry string) []byte {
	b := tarOf(t, &tar.Header{Name: "s", Typeflag: tar.TypeReg, Mode: 0o644, Format: tar.FormatGNU})
	h := b[:512]
	h[156] = tar.TypeGNUSparse
	copy(h[386:410], entry)
	copy(h[483:495], "00000010000\x00") // realsize
	copy(h[148:156], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:156], []byte(fmt.Sprintf("%06o\x00 ", sum)))
	return b
}

// A hard link to a hard link joins the first file's group: the file
// keeps its name and data, and all three names share it (Docker and GNU
// tar write such chains).
func TestIndexTarLinkToLink(t *testing.T) {
	x, err := IndexTar(bytes.NewReader(tarOf(t,
		&tar.Header{Name: "a", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3},
		&tar.Header{Name: "b", Typeflag: tar.TypeLink, Linkname: "a", Mode: 0o644},
		&tar.Header{Name: "c", Typeflag: tar.TypeLink, Linkname: "b", Mode: 0o600, Uid: 7},
	)))
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := x.Lookup("", "a"), x.Lookup("", "b"), x.Lookup("", "c")
	switch {
	case a == nil || b == nil || c == nil:
		t.Fatalf("a %v, b %v, c %v", a, b, c)
	case a.Name != "a" || a.Link != "" || a.Size != 3 || a.Off != 512:
		t.Errorf("a: %+v, want the file a of 3 bytes at 512, linking nothing", *a)
	case b.Link != "a" || c.Link != "a":
		t.Errorf("b links %q, c links %q; want both a", b.Link, c.Link)
	case a.Mode != unix.S_IFREG|0o600 || a.UID != 7:
		t.Errorf("a: mode %o, uid %d; want the last link header's 0600 and 7", a.Mode, a.UID)
	case x.Links["a"] != 3:
		t.Errorf("a's group has %d names, want 3", x.Links["a"])
	}
}

// A file over a directory of the same tar removes what the directory
// held, all the way down, as unpacking does; a directory made again
// there later holds only what comes after it.
func TestIndexTarFileOverDirectory(t *testing.T) {
	x, err := IndexTar(bytes.NewReader(tarOf(t,
		&tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "d/e/f", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		&tar.Header{Name: "d/g", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		&tar.Header{Name: "dd/h", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		&tar.Header{Name: "d", Typeflag: tar.TypeReg, Mode: 0o600, Size: 2},
		&tar.Header{Name: "x/y/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "x", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		&tar.Header{Name: "x/", Typeflag: tar.TypeDir, Mode: 0o700},
		&tar.Header{Name: "x/z", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
	)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for dir, ms := range x.Dirs {
		for _, m := range ms {
			got = append(got, fmt.Sprintf("%s/%s %o", dir, m.Name, m.Mode))
		}
	}
	sort.Strings(got)
	want := []string{"/d 100600", "/dd 40755", "/x 40700", "dd/h 100644", "x/z 100644"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("index:\n%q\nwant\n%q", got, want)
	}
}

// A layer shown as stored lists its markers' entries, as the tar holds
// them, among its files, and whites nothing out; the merged view's index
// keeps them apart, as markers.
func TestIndexTarAsStored(t *testing.T) {
	mtime := time.Unix(1461235327, 0)
	x, err := IndexTar(bytes.NewReader(tarOf(t,
		&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime},
		&tar.Header{Name: "etc/.wh.passwd", Typeflag: tar.TypeReg, Mode: 0o600, Uid: 3, ModTime: mtime},
		&tar.Header{Name: "etc/group", Typeflag: tar.TypeReg, Mode: 0o644, ModTime: mtime},
		&tar.Header{Name: "var/.wh..wh..opq", Typeflag: tar.TypeReg, Mode: 0, ModTime: mtime},
		&tar.Header{Name: "etc/.wh.passwd", Typeflag: tar.TypeReg, Mode: 0o644, Uid: 4, ModTime: mtime},
	)))
	if err != nil {
		t.Fatal(err)
	}
	list := func(x *Index, dir string) string {
		var s []string
		for _, m := range x.Dirs[dir] {
			s = append(s, fmt.Sprintf("%s %o %d", m.Name, m.Mode, m.UID))
		}
		return strings.Join(s, ", ")
	}
	if got, want := list(x, "etc"), "group 100644 0"; got != want {
		t.Errorf("merged etc: %s, want %s", got, want)
	}
	if !x.Markers.IsOpaque("var") || len(x.Markers.WhitedOut("etc")) != 1 {
		t.Errorf("merged markers: %+v", x.Markers)
	}
	s := x.AsStored()
	for dir, want := range map[string]string{
		"etc": ".wh.passwd 100644 4, group 100644 0",
		"var": ".wh..wh..opq 100000 0",
		"":    "etc 40755 0, var 40755 0",
	} {
		if got := list(s, dir); got != want {
			t.Errorf("as stored, %q: %s, want %s", dir, got, want)
		}
	}
	if s.Markers.IsOpaque("var") || len(s.Markers.WhitedOut("etc")) != 0 {
		t.Errorf("as stored, markers: %+v", s.Markers)
	}
	if got := list(x, "etc"); got != "group 100644 0" {
		t.Errorf("AsStored changed the merged index: etc is %s", got)
	}
}

// Markers that are not the empty file engines write: a marker with data
// reads its own bytes, a symlink marker keeps its target, a hard link,
// a directory or a marker of a directory a file later replaced is not
// listed as stored.
func TestIndexTarAsStoredOddMarkers(t *testing.T) {
	stream := tarOf(t,
		&tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "d/.wh.data", Typeflag: tar.TypeReg, Mode: 0o644, Size: 5},
		&tar.Header{Name: "d/.wh.sym", Typeflag: tar.TypeSymlink, Linkname: "elsewhere", Mode: 0o777},
		&tar.Header{Name: "d/.wh.hard", Typeflag: tar.TypeLink, Linkname: "d/.wh.data"},
		&tar.Header{Name: "d/.wh.dir/", Typeflag: tar.TypeDir, Mode: 0o700},
		&tar.Header{Name: "e/.wh.gone", Typeflag: tar.TypeReg, Mode: 0o600},
		&tar.Header{Name: "e", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "e/", Typeflag: tar.TypeDir, Mode: 0o755},
	)
	x, err := IndexTar(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	s := x.AsStored()
	var got []string
	for _, dir := range []string{"d", "e"} {
		for _, m := range s.Dirs[dir] {
			got = append(got, fmt.Sprintf("%s/%s %o %d %q", dir, m.Name, m.Mode, m.Size, m.Target))
		}
	}
	want := []string{
		`d/.wh.data 100644 5 ""`,
		`d/.wh.sym 120777 0 "elsewhere"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("as stored:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	m := s.Lookup("d", ".wh.data")
	if m == nil {
		t.Fatal("d/.wh.data is not listed")
	}
	data := make([]byte, m.Size)
	if _, err := m.Open(bytes.NewReader(stream)).ReadAt(data, 0); err != nil || string(data) != "xxxxx" {
		t.Errorf("d/.wh.data reads %q, %v, want its own bytes", data, err)
	}
}
