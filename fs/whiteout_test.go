package fs

import (
	"fmt"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		kind   nameKind
		target string
	}{
		{"etc", namePlain, ""},
		{".wh", namePlain, ""},
		{".whx", namePlain, ""},
		{"a.wh.b", namePlain, ""},
		{".wh.etc", nameWhiteout, "etc"},
		{".wh..bashrc", nameWhiteout, ".bashrc"},
		{".wh..wh..opq", nameOpaque, ""},
		{".wh..wh.aufs", nameMeta, ""},
		{".wh..wh.plnk", nameMeta, ""},
		{".wh..wh.orph", nameMeta, ""},
		{".wh..wh.", nameMeta, ""},
		{".wh..wh..opqx", nameMeta, ""},
		{".wh.", nameWhiteout, ""},
		{".wh..", nameWhiteout, ""},
		{".wh...", nameWhiteout, ""},
		{".wh.a b\n\xff", nameWhiteout, "a b\n\xff"},
		{".wh..wh", nameWhiteout, ".wh"},
	}
	for _, tt := range tests {
		k, target := classify(tt.name)
		if k != tt.kind || target != tt.target {
			t.Errorf("classify(%q) = %v, %q; want %v, %q", tt.name, k, target, tt.kind, tt.target)
		}
	}
}

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
func show(ms []*merged) string {
	var parts []string
	for _, m := range ms {
		s := m.name
		if m.isDir {
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
		if got := show(mergeListings(ls)); got != tt.want {
			t.Errorf("%s: merge(%q) = %q; want %q", tt.rule, tt.layers, got, tt.want)
		}
	}
}
