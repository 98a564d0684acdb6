package integration

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// diffImages are images sharing layers, and the pairs to compare.
type diffImages struct {
	built  *st.Built
	images map[string]*st.Image
	pairs  [][2]string
}

func writeDiffImages(t *testing.T, layout layerstore.Layout, aufsLinks bool) *diffImages {
	t.Helper()
	nl := func(entries ...st.Entry) *st.Layer { return st.NewLayer("RUN step", entries...) }
	base := nl(
		st.F("etc/passwd", "root"), st.F("etc/hosts", "h"), st.D("etc/ssl").WithMode(0700),
		st.F("opt/app/bin/run", "x"), st.F("opt/app/lib/a", "a"), st.F("opt/keep", "k"),
		st.F("var/cache/a", "a"), st.F("var/cache/b", "b"),
		st.F("usr/share/doc/x", "x"), st.F("data", "file"),
		st.F("bin/busybox", "bb"), st.H("bin/sh", "bin/busybox"), st.F("bin/tool", "v1"), st.H("bin/tool2", "bin/tool"),
		st.F("x/mode", "m"), st.F("x/owner", "o"), st.F("x/xattr", "x").WithXattr("user.a", "1"), st.F("x/mtime", "t"),
		st.L("x/link", "a"), st.Mknod("x/dev", st.BlockDev, 8, 1), st.F("x/content", "abce"), st.Big("x/big", 1<<20),
		st.F("odd/new\nline", "n"), st.F("odd/bad\xff", "b"), st.F("odd/sp ace", "s"))
	a1 := nl(st.WH("etc/hosts"), st.F("only-in-a", "1"), st.D("var/cache").WithMode(0700), st.WH("odd/bad\xff"),
		st.D("x").WithXattr("user.dir", "a"))
	b1 := nl(st.OPQ("var/cache"), st.F("var/cache/c", "c"), st.WH("opt/app"), st.D("data"), st.F("data/new", "n"),
		st.L("usr/share/doc", "/usr/doc"), st.F("bin/busybox", "bb"), st.H("bin/ls", "bin/busybox"),
		st.F("bin/tool", "v2"), st.H("bin/tool2", "bin/tool"),
		st.F("x/mode", "m").WithMode(0600), st.F("x/owner", "o").WithOwner(1, 1), st.F("x/xattr", "x").WithXattr("user.a", "2"),
		st.F("x/mtime", "t").WithMtime(time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)), st.L("x/link", "b"),
		st.Mknod("x/dev", st.BlockDev, 8, 2), st.F("x/content", "abcd"), st.F("odd/new\nline", "changed"),
		st.D("etc/ssl").WithMode(0755), st.F("etc/ssl/cert", "c"))
	b2 := nl(st.WH("etc/ssl"), st.F("etc/ssl", "now a file"), st.F("odd/sp ace", "s"))
	gen := st.Generate(st.GenOptions{Seed: 9, Layers: 6, Entries: 2000, MaxSize: 4096})
	d := &diffImages{images: map[string]*st.Image{
		"t/a:1": {Names: []string{"t/a:1"}, Layers: []*st.Layer{base, a1}},
		"t/b:1": {Names: []string{"t/b:1"}, Layers: []*st.Layer{base, b1, b2}},
		"t/g:1": {Names: []string{"t/g:1"}, Layers: gen[:4]},
		"t/g:2": {Names: []string{"t/g:2"}, Layers: append(slices.Clone(gen[:2]), gen[4:]...)},
	}}
	d.pairs = [][2]string{{"t/a:1", "t/b:1"}, {"t/b:1", "t/a:1"}, {"t/g:1", "t/g:2"}, {"t/a:1", "t/g:2"}}
	s := &st.Store{AufsHardlinkWhiteouts: aufsLinks}
	for _, name := range []string{"t/a:1", "t/b:1", "t/g:1", "t/g:2"} {
		s.Images = append(s.Images, d.images[name])
	}
	b, err := s.Write(filepath.Join(t.TempDir(), "docker"), layout)
	if err != nil {
		t.Fatalf("writing the store: %v", err)
	}
	d.built = b
	return d
}

// walkDiff is what diff must say about two walked trees: A, D or C for
// every path, C when anything but times, link counts, inode numbers or
// allocation differs.
func walkDiff(a, b map[string]info) []string {
	var out []string
	for p, ia := range a {
		ib, ok := b[p]
		switch {
		case !ok:
			out = append(out, "D /"+p)
		case ia.Mode != ib.Mode || ia.UID != ib.UID || ia.GID != ib.GID || ia.Rdev != ib.Rdev ||
			ia.Target != ib.Target || ia.Xattrs != ib.Xattrs || ia.Hash != ib.Hash:
			out = append(out, "C /"+p)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, "A /"+p)
		}
	}
	// "/" + "" is the root's "/".
	sort.Slice(out, func(i, j int) bool { return out[i][2:] < out[j][2:] })
	return out
}

// TestDiffAgainstMounts compares what aufsmount diff prints with the
// differences between two mounted views, walked as a user would.
func TestDiffAgainstMounts(t *testing.T) {
	testenv.FUSE(t)
	for _, layout := range layouts {
		for _, aufsLinks := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/aufs-links=%v", layout, aufsLinks), func(t *testing.T) {
				d := writeDiffImages(t, layout, aufsLinks)
				walks := map[string]map[string]info{}
				for name, img := range d.images {
					walks[name] = walk(t, mountLayers(t, d.built.Chain[img]))
				}
				for _, pair := range d.pairs {
					want := walkDiff(walks[pair[0]], walks[pair[1]])
					if len(want) == 0 {
						t.Fatalf("%s and %s show the same", pair[0], pair[1])
					}
					stdout, stderr, code := run(t, "--root", d.built.Root, "diff", "--json", pair[0], pair[1])
					if code != 0 || stderr != "" {
						t.Fatalf("diff --json %s %s: exit %d: %s", pair[0], pair[1], code, stderr)
					}
					if got := diffLines(t, stdout); !slices.Equal(got, want) {
						t.Errorf("diff %s %s:\n got %q\nwant %q", pair[0], pair[1], got, want)
					}
					// The text form: the same lines, one each, escaped.
					text, stderr, code := run(t, "--root", d.built.Root, "diff", pair[0], pair[1])
					lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
					if code != 0 || stderr != "" || len(lines) != len(want) {
						t.Errorf("diff %s %s: exit %d, %d lines for %d changes: %s", pair[0], pair[1], code, len(lines), len(want), stderr)
					}
				}
				text, _, _ := run(t, "--root", d.built.Root, "diff", "t/a:1", "t/b:1")
				for _, w := range []string{"C /odd/new\\nline\n", "A /odd/bad\\377\n", "C /etc/ssl\n", "D /opt/app/lib/a\n"} {
					if !strings.Contains(text, w) {
						t.Errorf("diff t/a:1 t/b:1 does not say %q:\n%s", w, text)
					}
				}
				if strings.Contains(text, "/etc/ssl/cert") || strings.Contains(text, "/x/mtime") || strings.Contains(text, "/odd/sp ace") {
					t.Errorf("diff t/a:1 t/b:1 lists a path that shows the same:\n%s", text)
				}
			})
		}
	}
}
