package changes

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/aufsmount/aufsmount/fs"
	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

func TestKindString(t *testing.T) {
	tests := []struct {
		c    Change
		kind string
		want string
	}{
		{Change{Path: "/etc/motd", Kind: Modified}, "C", "C /etc/motd"},
		{Change{Path: "/new file", Kind: Added}, "A", "A /new file"},
		{Change{Path: "/gone", Kind: Deleted}, "D", "D /gone"},
		{Change{Path: "/x", Kind: Kind(7)}, "Kind(7)", "Kind(7) /x"},
	}
	for _, tt := range tests {
		if got := tt.c.Kind.String(); got != tt.kind {
			t.Errorf("Kind(%d).String() = %q, want %q", int(tt.c.Kind), got, tt.kind)
		}
		if got := tt.c.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.c, got, tt.want)
		}
	}
	// The values are containers/storage's ChangeModify, ChangeAdd, ChangeDelete.
	if Modified != 0 || Added != 1 || Deleted != 2 {
		t.Errorf("Modified, Added, Deleted = %d, %d, %d, want 0, 1, 2", Modified, Added, Deleted)
	}
}

func TestSharedLayers(t *testing.T) {
	chain := func(dirs ...string) []fs.Layer {
		var ls []fs.Layer
		for _, d := range dirs {
			ls = append(ls, fs.Layer{ID: d, Dir: "/s/aufs/diff/" + d})
		}
		return ls
	}
	tests := []struct {
		a, b []fs.Layer
		want int
	}{
		{chain("c", "b", "a"), chain("d", "b", "a"), 2},
		{chain("c", "b", "a"), chain("c", "b", "a"), 3},
		{chain("b", "a"), chain("x", "c", "b", "a"), 2},
		{chain("a"), chain("b"), 0},
		{chain("b", "a"), chain("a", "b"), 0},
		{chain("a", "x"), chain("a", "y"), 0}, // same top over different bases: nothing shared
		{nil, chain("a"), 0},
	}
	for _, tt := range tests {
		if got := sharedLayers(tt.a, tt.b); got != tt.want {
			t.Errorf("sharedLayers(%v, %v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func show(cs []Change) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.String())
	}
	return out
}

// TestBetweenReadsOnlyWhatDiffers diffs two images that share a big
// base: only the directories the small top layers touch may be read.
func TestBetweenReadsOnlyWhatDiffers(t *testing.T) {
	gen := st.Generate(st.GenOptions{Seed: 11, Layers: 2, Entries: 12000, MaxSize: 64})
	top1 := st.NewLayer("one", st.F("etc/motd", "one"), st.F("srv/app/config", "1"))
	top2 := st.NewLayer("two", st.F("etc/motd", "two"), st.F("srv/app/other", "2"), st.WH("srv/gone"))
	i1 := &st.Image{Names: []string{"big:1"}, Layers: append(slices.Clone(gen), top1)}
	i2 := &st.Image{Names: []string{"big:2"}, Layers: append(slices.Clone(gen), top2)}
	b, err := (&st.Store{Images: []*st.Image{i1, i2}}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	var layers [2][]fs.Layer
	for i, img := range []*st.Image{i1, i2} {
		for _, d := range b.Chain[img] {
			layers[i] = append(layers[i], fs.Layer{ID: filepath.Base(d), Dir: d})
		}
	}
	va, err := fs.OpenView(layers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer va.Close()
	vb, err := fs.OpenView(layers[1])
	if err != nil {
		t.Fatal(err)
	}
	defer vb.Close()
	got, err := Between(va, vb)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"C /etc/motd", "D /srv/app/config", "A /srv/app/other"}
	if !slices.Equal(show(got), want) {
		t.Errorf("Between = %q, want %q", show(got), want)
	}
	// "", etc, srv, srv/app in each: the base's other directories stay unread.
	if n := va.Indexed() + vb.Indexed(); n > 8 {
		t.Errorf("Between merged %d directories", n)
	}
	full, err := Full(va, vb)
	if err != nil || !slices.Equal(show(full), want) {
		t.Errorf("Full = %q, %v", show(full), err)
	}
	if va.Indexed() < 100 {
		t.Fatalf("Full merged %d directories: the base is too small to show anything", va.Indexed())
	}
}

func TestOfContainerRefusesAnImage(t *testing.T) {
	img := &st.Image{Names: []string{"base:1"}, Layers: []*st.Layer{st.NewLayer("base", st.F("etc/motd", "hello"))}}
	b, err := (&st.Store{Images: []*st.Image{img}}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	s, err := layerstore.Open(b.Root)
	if err != nil {
		t.Fatal(err)
	}
	target, err := s.Resolve("base:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OfContainer(target, nil); err == nil || err.Error() != "base:1 is not a container" {
		t.Errorf("OfContainer of an image: %v, want base:1 is not a container", err)
	}
}
