package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// show is a node as the tables write it: "path layer" for a non-directory,
// "path/ layer [merged layers]" for a directory, "/ ..." for the root.
func show(n Node) string {
	if n.Entry.Kind == Dir {
		return fmt.Sprintf("%s/ %d %v", n.Path, n.Layer, n.Layers)
	}
	return fmt.Sprintf("%s %d", n.Path, n.Layer)
}

func lay(entries ...Entry) *Layer { return &Layer{Entries: entries} }

func TestMergeRules(t *testing.T) {
	tests := []struct {
		name   string
		layers []*Layer // top first
		want   []string // without the root unless the case is about it
	}{
		{
			name:   "one layer",
			layers: []*Layer{lay(F("a", "1"), D("d"), F("d/b", "2"))},
			want:   []string{"a 0", "d/ 0 [0]", "d/b 0"},
		},
		{
			name:   "upper file hides lower file",
			layers: []*Layer{lay(F("a", "up")), lay(F("a", "down"), F("b", "x"))},
			want:   []string{"a 0", "b 1"},
		},
		{
			name:   "whiteout hides a lower file and is not shown",
			layers: []*Layer{lay(WH("a")), lay(F("a", "x"), F("b", "y"))},
			want:   []string{"b 1"},
		},
		{
			name:   "whiteout hides a lower directory and all it holds",
			layers: []*Layer{lay(WH("d")), lay(F("d/x", "1"), F("d/e/y", "2"), F("z", ""))},
			want:   []string{"z 1"},
		},
		{
			name:   "whiteout hides every layer below, not only the next",
			layers: []*Layer{lay(WH("a")), lay(F("b", "")), lay(F("a", ""))},
			want:   []string{"b 1"},
		},
		{
			name:   "whiteout does not hide a name above it",
			layers: []*Layer{lay(F("a", "top")), lay(WH("a")), lay(F("a", "bottom"))},
			want:   []string{"a 0"},
		},
		{
			name:   "a raw .wh. file is a whiteout: told by name alone",
			layers: []*Layer{lay(F(".wh.a", "")), lay(F("a", ""), F("b", ""))},
			want:   []string{"b 1"},
		},
		{
			name:   "whiteout in a subdirectory",
			layers: []*Layer{lay(WH("d/x")), lay(F("d/x", ""), F("d/y", ""))},
			want:   []string{"d/ 0 [0 1]", "d/y 1"},
		},
		{
			name:   "whiteout and name in the same layer: the name stays",
			layers: []*Layer{lay(WH("a"), F("a", "new")), lay(F("a", "old"), F("b", ""))},
			want:   []string{"a 0", "b 1"},
		},
		{
			name:   "whiteout and directory in the same layer: an opaque directory",
			layers: []*Layer{lay(WH("d"), F("d/new", "")), lay(F("d/old", ""), F("b", ""))},
			want:   []string{"b 1", "d/ 0 [0]", "d/new 0"},
		},
		{
			name:   "whiteout and directory of the same layer below a merging directory",
			layers: []*Layer{lay(F("d/top", "")), lay(WH("d"), F("d/mid", "")), lay(F("d/low", ""))},
			want:   []string{"d/ 0 [0 1]", "d/mid 1", "d/top 0"},
		},
		{
			name:   "whiteout below stops a merging directory",
			layers: []*Layer{lay(F("d/a", "")), lay(WH("d")), lay(F("d/b", ""))},
			want:   []string{"d/ 0 [0]", "d/a 0"},
		},
		{
			name:   "opaque marker: nothing from below",
			layers: []*Layer{lay(OPQ("d"), F("d/new", "")), lay(F("d/old", ""), F("e", ""))},
			want:   []string{"d/ 0 [0]", "d/new 0", "e 1"},
		},
		{
			name:   "opaque marker in a middle layer",
			layers: []*Layer{lay(F("d/top", "")), lay(OPQ("d"), F("d/mid", "")), lay(F("d/low", ""))},
			want:   []string{"d/ 0 [0 1]", "d/mid 1", "d/top 0"},
		},
		{
			name:   "opaque marker on an otherwise empty directory",
			layers: []*Layer{lay(OPQ("d")), lay(F("d/old", ""))},
			want:   []string{"d/ 0 [0]"},
		},
		{
			name:   "opaque root",
			layers: []*Layer{lay(OPQ(""), F("x", "")), lay(F("y", ""))},
			want:   []string{"/ 0 [0]", "x 0"},
		},
		{
			name: "aufs bookkeeping is never shown, merged or descended into",
			layers: []*Layer{
				lay(F(".wh..wh.aufs", ""), F(".wh..wh.plnk/123.456", "x"), D(".wh..wh.orph"), F(".wh..wh.other", ""), F("a", "")),
				lay(F(".wh..wh.plnk/lower", ""), F("aufs", ""), F("plnk", ""), F("b", "")),
			},
			want: []string{"a 0", "aufs 1", "b 1", "plnk 1"},
		},
		{
			name: `whiteouts of "", "." and ".." hide nothing`,
			layers: []*Layer{
				lay(F(".wh.", ""), F(".wh..", ""), F(".wh...", ""), F("d/.wh..", ""), F("d/.wh...", "")),
				lay(F("a", ""), F("d/x", "")),
			},
			want: []string{"/ 0 [0 1]", "a 1", "d/ 0 [0 1]", "d/x 1"},
		},
		{
			name:   "directories merge through layers without the name",
			layers: []*Layer{lay(F("d/a", "")), lay(F("x", "")), lay(F("d/b", "")), lay(F("d/c", ""))},
			want:   []string{"d/ 0 [0 2 3]", "d/a 0", "d/b 2", "d/c 3", "x 1"},
		},
		{
			name:   "a file above a directory hides it and all it holds",
			layers: []*Layer{lay(F("d", "file")), lay(F("d/x", ""), F("d/e/y", ""))},
			want:   []string{"d 0"},
		},
		{
			name:   "a directory above a file: the file and everything below it are hidden",
			layers: []*Layer{lay(F("d/a", "")), lay(F("d", "file")), lay(F("d/b", ""))},
			want:   []string{"d/ 0 [0]", "d/a 0"},
		},
		{
			name:   "a directory above a symlink does not merge through it",
			layers: []*Layer{lay(F("d/a", "")), lay(L("d", "/etc")), lay(F("d/b", ""))},
			want:   []string{"d/ 0 [0]", "d/a 0"},
		},
		{
			name:   "a symlink hides a lower directory and is never followed",
			layers: []*Layer{lay(L("etc", "/"), L("b", "a")), lay(F("etc/passwd", ""), F("b/x", "")), lay(F("a/y", ""))},
			want:   []string{"a/ 2 [2]", "a/y 2", "b 0", "etc 0"},
		},
		{
			name:   "a whiteout under a symlinked name is not applied through the link",
			layers: []*Layer{lay(L("b", "a")), lay(WH("b/y")), lay(F("a/y", ""))},
			want:   []string{"a/ 2 [2]", "a/y 2", "b 0"},
		},
		{
			name:   "a whiteout in a directory hidden by a file above counts for nothing",
			layers: []*Layer{lay(F("d/a", "")), lay(F("d", "")), lay(WH("d/b")), lay(F("d/b", ""), F("c", ""))},
			want:   []string{"c 3", "d/ 0 [0]", "d/a 0"},
		},
		{
			name:   "devices, fifos and sockets hide like files",
			layers: []*Layer{lay(Mknod("dev", CharDev, 1, 3), Mknod("p", Fifo, 0, 0), Mknod("s", Socket, 0, 0)), lay(F("dev/null", ""), F("p", ""), F("s/x", ""))},
			want:   []string{"dev 0", "p 0", "s 0"},
		},
		{
			name:   "implicit parents of a whiteout are directories",
			layers: []*Layer{lay(WH("a/b/c")), lay(F("a/b/c", ""), F("a/b/d", ""))},
			want:   []string{"a/ 0 [0 1]", "a/b/ 0 [0 1]", "a/b/d 1"},
		},
		{
			name:   "names with any bytes, sorted bytewise",
			layers: []*Layer{lay(F("a b", ""), F("a\nb", ""), F("a/b", ""), F("\xff\xfe", ""), F("a-b", ""))},
			want:   []string{"a/ 0 [0]", "a\nb 0", "a b 0", "a-b 0", "a/b 0", "\xff\xfe 0"},
		},
		{
			name:   "no layers",
			layers: nil,
			want:   []string{"/ 0 []"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes, err := TryMerge(tt.layers)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			keepRoot := slices.ContainsFunc(tt.want, func(s string) bool { return strings.HasPrefix(s, "/ ") })
			for _, n := range nodes {
				if n.Path == "" && !keepRoot {
					continue
				}
				got = append(got, show(n))
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got\n\t%q\nwant\n\t%q", got, want)
			}
			if !slices.IsSortedFunc(nodes, func(a, b Node) int { return strings.Compare(a.Path, b.Path) }) {
				t.Errorf("nodes not sorted by path")
			}
		})
	}
}

func TestMergeAttributes(t *testing.T) {
	top := D("d").WithMode(01700).WithOwner(5, 6).WithXattr("user.top", "1")
	nodes := Merge([]*Layer{
		lay(top, F("d/f", "up").WithMode(04755).WithOwner(7, 8)),
		lay(D("d").WithMode(0755), F("d/f", "down"), F("d/g", "")),
	})
	byPath := map[string]Node{}
	for _, n := range nodes {
		byPath[n.Path] = n
	}
	d := byPath["d"]
	if d.Entry.Mode != 01700 || d.Entry.UID != 5 || d.Entry.GID != 6 || d.Entry.Xattrs["user.top"] != "1" {
		t.Errorf("merged dir takes the topmost attributes: got %+v", d.Entry)
	}
	if f := byPath["d/f"]; string(f.Entry.Data) != "up" || f.Entry.Mode != 04755 || f.Entry.UID != 7 {
		t.Errorf("d/f: got %+v", f.Entry)
	}
	if g := byPath["d/g"]; g.Entry.Mode != 0644 || !g.Entry.Mtime.Equal(DefaultTime) || !g.Entry.Atime.Equal(DefaultTime) {
		t.Errorf("defaults not filled in: %+v", g.Entry)
	}
	if r := byPath[""]; r.Entry.Mode != 0755 || r.Entry.Kind != Dir {
		t.Errorf("root: %+v", r.Entry)
	}
}

func TestMergeHardlinks(t *testing.T) {
	nodes := Merge([]*Layer{
		lay(WH("c")),
		lay(F("a", "data").WithMode(0600), H("b", "a"), H("c", "b"), L("s", "a"), H("t", "s"), F("other", "")),
	})
	got := map[string]Node{}
	for _, n := range nodes {
		got[n.Path] = n
	}
	if _, ok := got["c"]; ok {
		t.Errorf("c is whited out")
	}
	for _, p := range []string{"a", "b"} {
		n := got[p]
		if n.Origin != "a" || n.Nlink != 3 || n.Layer != 1 || n.Entry.Kind != File || string(n.Entry.Data) != "data" || n.Entry.Mode != 0600 {
			t.Errorf("%s: got %+v", p, n)
		}
	}
	if n := got["t"]; n.Origin != "s" || n.Nlink != 2 || n.Entry.Kind != Symlink || n.Entry.Target != "a" || n.Entry.Path != "s" {
		t.Errorf("t: got %+v", n)
	}
	if n := got["other"]; n.Origin != "other" || n.Nlink != 1 {
		t.Errorf("other: got %+v", n)
	}
}

func TestMergeBadDescriptions(t *testing.T) {
	tests := []struct {
		name string
		l    *Layer
		want string
	}{
		{"path twice", lay(F("a", ""), F("a", "")), `"a" given twice`},
		{"dir twice", lay(D("a"), D("a")), `"a" given twice`},
		{"file then dir", lay(F("a", ""), D("a")), `"a" given twice`},
		{"child of a file", lay(F("a", ""), F("a/b", "")), `parent "a" is a file`},
		{"child of a symlink", lay(L("a", "/etc"), F("a/passwd", "")), `parent "a" is a symlink`},
		{"leading slash", lay(F("/a", "")), "bad path"},
		{"dot-dot", lay(F("a/../b", "")), "bad path"},
		{"empty component", lay(F("a//b", "")), "bad path"},
		{"trailing slash", lay(F("a/", "")), "bad path"},
		{"whiteout with leading slash", lay(WH("/a")), "bad path"},
		{"NUL", lay(F("a\x00b", "")), "NUL"},
		{"root file", lay(F("", "")), "cannot be the layer root"},
		{"hard link to nothing", lay(H("b", "a")), "not an earlier entry"},
		{"hard link to a later entry", lay(H("b", "a"), F("a", "")), "not an earlier entry"},
		{"hard link to a dir", lay(D("a"), H("b", "a")), "directory"},
		{"empty symlink", lay(L("a", "")), "bad symlink target"},
		{"symlink with data", lay(Entry{Path: "a", Kind: Symlink, Target: "x", Data: []byte("y")}), "with content"},
		{"unknown kind", lay(Entry{Path: "a", Kind: 99}), "unknown kind"},
		{"empty layer with entries", &Layer{Empty: true, Entries: []Entry{F("a", "")}}, "Empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := TryMerge([]*Layer{lay(), tt.l})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "layer 1") {
				t.Errorf("got %v, want an error about layer 1 saying %q", err, tt.want)
			}
		})
	}
}
