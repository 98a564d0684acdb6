package fs

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// fuzzNames are the names the fuzzed listings draw from: plain names, the
// whiteouts of each, the opaque marker, aufs bookkeeping, and whiteouts
// that hide nothing. ".wh..wh" whites out ".wh"; ".wh..wh..opqx" is
// bookkeeping, not the marker.
var fuzzNames = []string{
	"a", "b", ".wh",
	".wh.a", ".wh.b", ".wh..wh",
	".wh..wh..opq", ".wh..wh.aufs", ".wh..wh.plnk", ".wh..wh..opqx", ".wh..wh.",
	".wh.", ".wh..", ".wh...",
}

const (
	fuzzMaxLayers = 6
	fuzzNext      = 0xff // the next bytes are the next layer's
	fuzzMissing   = 0xfe // this layer does not have the directory
)

// decodeListings turns fuzz input into the listings of one directory in
// up to fuzzMaxLayers layers, top first. Every other byte is an entry:
// the name fuzzNames[b % n], a directory when (b / n) is odd. A layer
// never lists a name twice.
func decodeListings(data []byte) [][]dirent {
	ls := [][]dirent{{}}
	missing := []bool{false}
	for _, b := range data {
		cur := len(ls) - 1
		switch b {
		case fuzzNext:
			if len(ls) < fuzzMaxLayers {
				ls = append(ls, []dirent{})
				missing = append(missing, false)
			}
			continue
		case fuzzMissing:
			missing[cur] = true
			continue
		}
		n := len(fuzzNames)
		e := dirent{name: fuzzNames[int(b)%n], isDir: (int(b)/n)%2 == 1}
		if !slices.ContainsFunc(ls[cur], func(d dirent) bool { return d.name == e.name }) {
			ls[cur] = append(ls[cur], e)
		}
	}
	for i := range ls {
		if missing[i] {
			ls[i] = nil
		}
	}
	return ls
}

// encodeListings is decodeListings backwards, for seeds written like the
// table of TestMergeListings: "a b/ .wh.c" per layer, "-" for a layer
// without the directory.
func encodeListings(t testing.TB, layers ...string) []byte {
	var out []byte
	for i, l := range layers {
		if i > 0 {
			out = append(out, fuzzNext)
		}
		if l == "-" {
			out = append(out, fuzzMissing)
			continue
		}
		for _, f := range strings.Fields(l) {
			name, dir := strings.CutSuffix(f, "/")
			k := slices.Index(fuzzNames, name)
			if k < 0 {
				t.Fatalf("seed name %q is not in fuzzNames", name)
			}
			if dir {
				k += len(fuzzNames)
			}
			out = append(out, byte(k))
		}
	}
	return out
}

// refEntry is what the reference model shows for a name.
type refEntry struct {
	layer  int
	isDir  bool
	lowers []int
}

// refMerge is the merged directory by the rules of docs/whiteouts.md,
// written from the rules alone, one name at a time, top layer down:
//
//   - a name starting with ".wh." never shows (whiteouts, the opaque
//     marker, aufs bookkeeping);
//   - the topmost layer holding the name decides what shows; a directory
//     takes in the same-named directories below it until a layer holds a
//     non-directory there (no merging through it);
//   - after a layer, nothing below it counts for the name if that layer
//     holds .wh.<name> (its own entry still shows) or .wh..wh..opq;
//   - a layer without the directory adds nothing and hides nothing.
func refMerge(listings [][]dirent) map[string]refEntry {
	has := func(ls []dirent, name string) (dirent, bool) {
		for _, d := range ls {
			if d.name == name {
				return d, true
			}
		}
		return dirent{}, false
	}
	out := map[string]refEntry{}
	for _, ls := range listings {
		for _, d := range ls {
			name := d.name
			if _, done := out[name]; done || strings.HasPrefix(name, ".wh.") {
				continue
			}
			var e *refEntry
			merging := false
			for i, layer := range listings {
				if d, ok := has(layer, name); ok {
					switch {
					case e == nil:
						e = &refEntry{layer: i, isDir: d.isDir}
						merging = d.isDir
					case merging && d.isDir:
						e.lowers = append(e.lowers, i)
					default:
						merging = false
					}
				}
				_, whited := has(layer, ".wh."+name)
				_, opaque := has(layer, ".wh..wh..opq")
				if whited || opaque {
					break
				}
			}
			if e != nil {
				out[name] = *e
			}
		}
	}
	return out
}

// showListings renders listings the way the seeds are written, layers
// separated by "|".
func showListings(ls [][]dirent) string {
	var layers []string
	for _, l := range ls {
		if l == nil {
			layers = append(layers, "-")
			continue
		}
		var names []string
		for _, d := range l {
			if d.isDir {
				names = append(names, d.name+"/")
			} else {
				names = append(names, d.name)
			}
		}
		layers = append(layers, strings.Join(names, " "))
	}
	return strings.Join(layers, " | ")
}

// FuzzMerge checks union.mergeDir, over layer directories written in
// each encoding, against refMerge on the same listings. The first byte
// picks the encoding (and, for fuse-overlayfs, which entries use the
// device form); the rest are the listings.
func FuzzMerge(f *testing.F) {
	seeds := [][]string{
		{"a b/ .wh"},
		{"a", "a b"},
		{"a/", "a/", "a/"},
		{".wh.a", "a b"},
		{"a .wh.a", "a"},
		{"a/ .wh.a", "a/"},
		{"a/", "a/ .wh.a", "a/"},
		{"a/", ".wh.a", "a/"},
		{".wh..wh..opq a", "b"},
		{"a", ".wh..wh..opq b", "a/ b/"},
		{".wh..wh.aufs .wh..wh.plnk/ a", ".wh..wh.plnk/"},
		{"a", "a/"},
		{"a/", "a", "a/"},
		{"a/", "-", "a/"},
		{".wh.. .wh... .wh.", "a"},
		{".wh..wh .wh..wh..opqx", ".wh a b/"},
		{".wh..wh.", "a/", "-", ".wh.b", "b/ a/", "a/ b"},
	}
	for _, s := range seeds {
		for e := range whiteout.All {
			f.Add(append([]byte{byte(e)}, encodeListings(f, s...)...))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		enc := whiteout.All[int(data[0])%len(whiteout.All)]
		needDevices(t, enc)
		form := data[0] / byte(len(whiteout.All))
		useDevice := func(name string) bool { return (form>>(len(name)%8))&1 == 1 }
		ls := decodeListings(data[1:])
		for i := range ls {
			ls[i] = canExpress(enc, ls[i], useDevice)
		}
		listings := enc.Name + ": " + showListings(ls)
		got, err := mergeOnDisk(t, enc, ls, useDevice)
		if err != nil {
			t.Fatalf("%q: %v", listings, err)
		}
		want := refMerge(ls)
		for i, m := range got {
			if i > 0 && got[i-1].name >= m.name {
				t.Fatalf("%q: result not sorted or not unique at %q", listings, m.name)
			}
			w, ok := want[m.name]
			if !ok {
				t.Errorf("%q: shows %q, which the rules hide", listings, m.name)
				continue
			}
			var lowers []int
			for _, l := range m.lowers {
				lowers = append(lowers, int(l))
			}
			isDir := m.attr.Mode&unix.S_IFMT == unix.S_IFDIR
			if int(m.layer) != w.layer || isDir != w.isDir || !slices.Equal(lowers, w.lowers) {
				t.Errorf("%q: %q from layer %d (dir %v, lowers %v); the rules say layer %d (dir %v, lowers %v)",
					listings, m.name, m.layer, isDir, lowers, w.layer, w.isDir, w.lowers)
			}
		}
		if len(got) != len(want) {
			var names []string
			for _, m := range got {
				names = append(names, m.name)
			}
			for name := range want {
				if !slices.Contains(names, name) {
					t.Errorf("%q: %q is missing; the rules show it from layer %d", listings, name, want[name].layer)
				}
			}
		}
	})
}
