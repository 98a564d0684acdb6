package fs

import (
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// listing parses "name name/ name" (a trailing slash marks a directory); "-" is a layer without the directory.
func listing(s string) []dirent {
	if s == "-" {
		return nil
	}
	ents := []dirent{}
	for _, f := range strings.Fields(s) {
		ents = append(ents, dirent{name: strings.TrimSuffix(f, "/"), isDir: strings.HasSuffix(f, "/")})
	}
	return ents
}

// show renders a merge result as "name@layer" or "name/@layer+lower,lower".
func show(ms []entry) string {
	var parts []string
	for _, m := range ms {
		s := m.name
		if m.attr.Mode&unix.S_IFMT == unix.S_IFDIR {
			s += "/"
		}
		s += fmt.Sprintf("@%d", m.layer)
		for i, l := range m.lowers {
			if i == 0 {
				s += "+"
			} else {
				s += ","
			}
			s += fmt.Sprint(l)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestMergeListings(t *testing.T) {
	tests := []struct {
		rule   string
		layers []string // top first
		want   string
	}{
		{"single layer", []string{"a b/ c"}, "a@0 b/@0 c@0"},
		{"top wins for files", []string{"a", "a b"}, "a@0 b@1"},
		{"dirs merge through every layer", []string{"d/", "d/", "d/"}, "d/@0+1,2"},
		{"whiteout hides below", []string{".wh.a", "a b"}, "b@1"},
		{"whiteout hides every layer below", []string{".wh.a", "x", "a"}, "x@1"},
		{"whiteout does not hide its own layer", []string{"a .wh.a", "a"}, "a@0"},
		{"whiteout does not hide above", []string{"a", ".wh.a"}, "a@0"},
		{"same-layer whiteout makes a dir opaque", []string{"d/ .wh.d", "d/"}, "d/@0"},
		{"same-layer whiteout under an upper dir closes the merge there", []string{"d/", "d/ .wh.d", "d/"}, "d/@0+1"},
		{"whiteout in the middle stops a dir merge", []string{"d/", ".wh.d", "d/"}, "d/@0"},
		{"whiteout file itself never shown", []string{".wh.gone"}, ""},
		{"opaque stops lower layers", []string{".wh..wh..opq a", "b"}, "a@0"},
		{"opaque in a lower layer shows itself", []string{"a", ".wh..wh..opq b", "c"}, "a@0 b@1"},
		{"meta entries never shown", []string{".wh..wh.aufs .wh..wh.plnk/ .wh..wh.orph/ a"}, "a@0"},
		{"meta dirs never merge", []string{".wh..wh.plnk/", ".wh..wh.plnk/"}, ""},
		{"file hides dir below", []string{"d", "d/"}, "d@0"},
		{"dir hides file below", []string{"d/", "d"}, "d/@0"},
		{"no merging through a file", []string{"d/", "d", "d/"}, "d/@0"},
		{"no merging through a symlink-like non-dir", []string{"d/", "d", "d/", "d/"}, "d/@0"},
		{"missing layer is skipped", []string{"d/", "-", "d/"}, "d/@0+2"},
		{"dot whiteouts hide nothing", []string{".wh.. .wh... .wh.", "a"}, "a@1"},
		{"whiteout of an absent name", []string{".wh.nothing", "a"}, "a@1"},
		{"sorted bytewise", []string{"b a \xff B"}, "B@0 a@0 b@0 \xff@0"},
		{"lower file under opaque top", []string{".wh..wh..opq", "a"}, ""},
		{"whiteout of a dir below with files", []string{".wh.d", "d/"}, ""},
		{"dir appears below a whiteout again", []string{".wh.d", "x", "d/"}, "x@1"},
		{"lower whiteout only hides lower", []string{"d/", "d/", ".wh.d", "d/"}, "d/@0+1"},
	}
	for _, tt := range tests {
		var ls [][]dirent
		for _, l := range tt.layers {
			ls = append(ls, listing(l))
		}
		got, err := mergeOnDisk(t, whiteout.Aufs, ls, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.rule, err)
		}
		if got := show(got); got != tt.want {
			t.Errorf("%s: merge(%q) = %q; want %q", tt.rule, tt.layers, got, tt.want)
		}
	}
}

// TestMergeEncodings runs rule cases that every encoding with whiteouts
// can write down through each of them: the view must not depend on how a
// layer marks what it deletes.
func TestMergeEncodings(t *testing.T) {
	tests := []struct {
		rule   string
		layers []string // top first, aufs notation
		want   string
	}{
		{"whiteout hides below", []string{".wh.a", "a b"}, "b@1"},
		{"whiteout hides every layer below", []string{".wh.a", "x", "a"}, "x@1"},
		{"whiteout does not hide above", []string{"a", ".wh.a"}, "a@0"},
		{"whiteout in the middle stops a dir merge", []string{"d/", ".wh.d", "d/"}, "d/@0"},
		{"opaque stops lower layers", []string{".wh..wh..opq a", "b"}, "a@0"},
		{"opaque in a lower layer shows itself", []string{"a", ".wh..wh..opq b", "c"}, "a@0 b@1"},
		{"dirs merge through every layer", []string{"d/", "d/", "d/"}, "d/@0+1,2"},
		{"no merging through a file", []string{"d/", "d", "d/"}, "d/@0"},
		{"lower whiteout only hides lower", []string{"d/", "d/", ".wh.d", "d/"}, "d/@0+1"},
		{"missing layer is skipped", []string{"d/", "-", "d/"}, "d/@0+2"},
	}
	forms := []struct {
		enc *whiteout.Encoding
		dev func(string) bool
	}{
		{whiteout.Aufs, nil},
		{whiteout.Overlay, nil},
		{whiteout.FuseOverlayfs, nil},
		{whiteout.FuseOverlayfs, func(string) bool { return true }},
		{whiteout.FuseOverlayfs, byLength},
	}
	for i, f := range forms {
		t.Run(fmt.Sprintf("%s-%d", f.enc.Name, i), func(t *testing.T) {
			needDevices(t, f.enc)
			for _, tt := range tests {
				var ls [][]dirent
				for _, l := range tt.layers {
					ls = append(ls, listing(l))
				}
				got, err := mergeOnDisk(t, f.enc, ls, f.dev)
				if err != nil {
					t.Fatalf("%s: %v", tt.rule, err)
				}
				if got := show(got); got != tt.want {
					t.Errorf("%s: merge(%q) = %q; want %q", tt.rule, tt.layers, got, tt.want)
				}
			}
		})
	}
}

// TestMergeOverlayDetails checks what only the overlay forms have: a
// character device that is not 0/0 is a device, an opaque attribute
// counts only with the value "y", and a name that aufs would take for a
// marker is an ordinary name.
func TestMergeOverlayDetails(t *testing.T) {
	needDevices(t, whiteout.Overlay)
	base := t.TempDir()
	top, low := filepath.Join(base, "top"), filepath.Join(base, "low")
	for _, d := range []string{top, low, top + "/o", low + "/o", top + "/x", low + "/x"} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(unix.Mknod(top+"/tty", unix.S_IFCHR|0o620, int(unix.Mkdev(5, 0))))
	must(unix.Mknod(top+"/gone", unix.S_IFCHR|0o600, 0))
	must(unix.Mknod(top+"/blk", unix.S_IFBLK|0o600, 0))
	must(os.WriteFile(top+"/.wh.kept", nil, 0o644))
	must(os.WriteFile(top+"/.wh..wh..opq", nil, 0o644))
	must(unix.Setxattr(top+"/o", "trusted.overlay.opaque", []byte("y"), 0))
	must(unix.Setxattr(top+"/x", "trusted.overlay.opaque", []byte("x"), 0))
	for _, f := range []string{"tty", "gone", "blk", "kept", "o/below", "x/below"} {
		must(os.WriteFile(low+"/"+f, nil, 0o644))
	}
	u, err := newUnion([]Layer{{ID: "top", Dir: top, Encoding: whiteout.Overlay}, {ID: "low", Dir: low, Encoding: whiteout.Overlay}}, log.New(io.Discard, "", 0))
	must(err)
	defer u.close()
	root, err := u.mergeDir("", []int32{0, 1})
	must(err)
	if got, want := show(root), ".wh..wh..opq@0 .wh.kept@0 blk@0 kept@1 o/@0+1 tty@0 x/@0+1"; got != want {
		t.Errorf("root = %q, want %q", got, want)
	}
	o, err := u.mergeDir("o", []int32{0, 1})
	must(err)
	if got := show(o); got != "" {
		t.Errorf("opaque o = %q, want nothing from below", got)
	}
	x, err := u.mergeDir("x", []int32{0, 1})
	must(err)
	if got, want := show(x), "below@1"; got != want {
		t.Errorf("x (opaque=x) = %q, want %q", got, want)
	}
	// The kernel merges every layer's root, opaque or not.
	must(unix.Setxattr(top, "trusted.overlay.opaque", []byte("y"), 0))
	root, err = u.mergeDir("", []int32{0, 1})
	must(err)
	if got, want := show(root), ".wh..wh..opq@0 .wh.kept@0 blk@0 kept@1 o/@0+1 tty@0 x/@0+1"; got != want {
		t.Errorf("root over an opaque-marked root = %q, want %q", got, want)
	}
}

// TestViewMarkers: markers restored from a tar-split hide what they
// record, as if the layer directory had them: in the merge, in which and
// in the layer walk that diff uses.
func TestViewMarkers(t *testing.T) {
	base := t.TempDir()
	top, low := filepath.Join(base, "top"), filepath.Join(base, "low")
	for _, d := range []string{top + "/d", top + "/o", low + "/d", low + "/o"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{top + "/o/mine", low + "/d/gone", low + "/d/kept", low + "/o/hidden"} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := &whiteout.Markers{}
	m.Add("d/.wh.gone")
	m.Add("o/.wh..wh..opq")
	v, err := OpenView([]Layer{
		{ID: "top", Dir: top, Encoding: whiteout.Overlay, Markers: m},
		{ID: "low", Dir: low, Encoding: whiteout.Overlay},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	names := func(p string) string {
		ents, err := v.ReadDir(p)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range ents {
			out = append(out, fmt.Sprintf("%s@%d", e.Name, e.Layer))
		}
		return strings.Join(out, " ")
	}
	if got, want := names("d"), "kept@1"; got != want {
		t.Errorf("d = %q, want %q", got, want)
	}
	if got, want := names("o"), "mine@0"; got != want {
		t.Errorf("o = %q, want %q", got, want)
	}
	ps, err := v.Which("d/gone")
	if err != nil || len(ps) != 1 || ps[0].Reason != WhitedOut || ps[0].By != 0 {
		t.Errorf("which d/gone = %+v, %v", ps, err)
	}
	ps, err = v.Which("o/hidden")
	if err != nil || len(ps) != 1 || ps[0].Reason != UnderOpaque || ps[0].By != 0 {
		t.Errorf("which o/hidden = %+v, %v", ps, err)
	}
	var walked []string
	v.WalkLayer(0, func(p string, k ChangeKind, isDir bool) error {
		walked = append(walked, fmt.Sprintf("%d:%s", k, p))
		return nil
	})
	if got, want := strings.Join(walked, " "), "0: 0:d 1:d/gone 0:o 2:o 0:o/mine"; got != want {
		t.Errorf("walk = %q, want %q", got, want)
	}
}
