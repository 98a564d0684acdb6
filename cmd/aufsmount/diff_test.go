package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aufsmount/aufsmount/fs/viewplan"
	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/changes"
)

func TestQuotePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/etc/passwd", "/etc/passwd"},
		{"/a b/c d", "/a b/c d"},
		{"/new\nline", `/new\nline`},
		{"/tab\there\r", `/tab\there\r`},
		{`/back\slash`, `/back\\slash`},
		{"/bad\xff\xfe", `/bad\377\376`},
		{"/ünïcode/日本", "/ünïcode/日本"},
		{"/bell\a\x00\x7f", `/bell\007\000\177`},
		{"/nbsp\u00a0zwsp\u200b", `/nbsp\302\240zwsp\342\200\213`},
		{"/cut\xe2\x82", `/cut\342\202`},
		{`/\101`, `/\\101`}, // an escape-looking name stays told apart
	}
	for _, tt := range tests {
		if got := quotePath(tt.in); got != tt.want {
			t.Errorf("quotePath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// diffStore is a store of images that differ in every way diff tells.
type diffStore struct {
	*st.Built
	base, a, b, g1, g2, g3 *st.Image
	ctr                    *st.Container
}

func writeDiffStore(t testing.TB, layout layerstore.Layout, aufsLinks bool) *diffStore {
	t.Helper()
	base := st.NewLayer("base",
		st.F("etc/passwd", "root"), st.F("etc/group", "g"), st.F("etc/hosts", "h"),
		st.F("opt/app/bin/run", "x"), st.F("opt/app/lib/a", "a"), st.F("opt/keep", "k"),
		st.F("var/cache/a", "a"), st.F("var/cache/b", "b"), st.F("var/log/syslog", "s"),
		st.F("usr/share/doc/x", "x"), st.F("data", "file"),
		st.F("bin/busybox", "bb"), st.H("bin/sh", "bin/busybox"), st.F("bin/tool", "v1"), st.H("bin/tool2", "bin/tool"),
		st.F("x/mode", "m"), st.F("x/owner", "o"), st.F("x/xattr", "x").WithXattr("user.a", "1"), st.F("x/mtime", "t"),
		st.F("x/same", "s"), st.L("x/link", "a"), st.Mknod("x/dev", st.CharDev, 1, 3), st.F("x/content", "abce"),
		st.F("lib/l1", "1"), st.F("lib/sub/l2", "2"),
		st.F("odd/new\nline", "n"), st.F("odd/bad\xff", "b"))
	a1 := st.NewLayer("a1",
		st.WH("etc/hosts"), st.F("only-in-a", "1"), st.F("etc/passwd", "root"), st.D("var/cache").WithMode(0700),
		st.WH("odd/bad\xff"))
	b1 := st.NewLayer("b1",
		st.OPQ("var/cache"), st.F("var/cache/c", "c"), st.WH("opt/app"), st.D("data"), st.F("data/new", "n"),
		st.L("usr/share/doc", "/usr/doc"), st.F("bin/busybox", "bb"), st.H("bin/ls", "bin/busybox"),
		st.F("bin/tool", "v2"), st.H("bin/tool2", "bin/tool"),
		st.F("x/mode", "m").WithMode(0600), st.F("x/owner", "o").WithOwner(1, 1), st.F("x/xattr", "x").WithXattr("user.a", "2"),
		st.F("x/mtime", "t").WithMtime(time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)), st.F("x/same", "s"),
		st.L("x/link", "b"), st.Mknod("x/dev", st.CharDev, 1, 5), st.F("x/content", "abcd"),
		st.D("lib").WithXattr("user.d", "1"), st.F("tmp/t1", "1"), st.F("odd/new\nline", "changed"))
	b2 := st.NewLayer("b2", st.WH("tmp/t1"))
	gen := st.Generate(st.GenOptions{Seed: 5, Layers: 8, Entries: 1500, MaxSize: 512})
	s := &diffStore{
		base: &st.Image{Names: []string{"test/base:1"}, Layers: []*st.Layer{base}},
		a:    &st.Image{Names: []string{"test/a:1"}, Layers: []*st.Layer{base, a1}},
		b:    &st.Image{Names: []string{"test/b:1"}, Layers: []*st.Layer{base, b1, b2}},
		g1:   &st.Image{Names: []string{"test/g:1"}, Layers: gen[:6]},
		g2:   &st.Image{Names: []string{"test/g:2"}, Layers: append(slices.Clone(gen[:4]), gen[6:8]...)},
		g3:   &st.Image{Names: []string{"test/g:3"}, Layers: gen},
	}
	s.ctr = &st.Container{Name: "ctr", Image: s.b, RW: st.NewLayer("", st.F("tmp/new", "n"), st.WH("etc/group"), st.F("x/dev", "now a file"))}
	store := &st.Store{Images: []*st.Image{s.base, s.a, s.b, s.g1, s.g2, s.g3}, Containers: []*st.Container{s.ctr}, AufsHardlinkWhiteouts: aufsLinks}
	b, err := store.Write(filepath.Join(t.TempDir(), "docker"), layout)
	if err != nil {
		t.Fatalf("writing the store: %v", err)
	}
	s.Built = b
	return s
}

// diffAB is what diff test/a:1 test/b:1 must print, one item a path.
var diffAB = []string{
	"A /bin/ls", "C /bin/tool", "C /bin/tool2", "C /data", "A /data/new", "A /etc/hosts", "C /lib",
	"A /odd/bad\xff", "C /odd/new\nline", "D /only-in-a",
	"D /opt/app", "D /opt/app/bin", "D /opt/app/bin/run", "D /opt/app/lib", "D /opt/app/lib/a",
	"A /tmp", "C /usr/share/doc", "D /usr/share/doc/x",
	"C /var/cache", "D /var/cache/a", "D /var/cache/b", "A /var/cache/c",
	"C /x/content", "C /x/dev", "C /x/link", "C /x/mode", "C /x/owner", "C /x/xattr",
}

func showChanges(cs []changes.Change) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Kind.String()+" "+c.Path)
	}
	return out
}

// TestDiffMatchesFullComparison checks that looking only at what the
// unshared layers touch gives what comparing every path gives.
func TestDiffMatchesFullComparison(t *testing.T) {
	for _, layout := range layouts {
		for _, aufsLinks := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/aufs-links=%v", layout, aufsLinks), func(t *testing.T) {
				s := writeDiffStore(t, layout, aufsLinks)
				store, err := layerstore.Open(s.Root)
				if err != nil {
					t.Fatal(err)
				}
				pairs := [][2]string{
					{"test/a:1", "test/b:1"}, {"test/b:1", "test/a:1"}, {"test/a:1", "test/a:1"},
					{"test/base:1", "test/b:1"}, {"test/b:1", "ctr"}, {"ctr", "test/a:1"}, {"test/base:1", "ctr"},
					{"test/g:1", "test/g:2"}, {"test/g:2", "test/g:3"}, {"test/g:3", "test/g:1"}, {"test/a:1", "test/g:1"},
				}
				for _, pair := range pairs {
					t1, err1 := store.Resolve(pair[0])
					t2, err2 := store.Resolve(pair[1])
					if err1 != nil || err2 != nil {
						t.Fatal(err1, err2)
					}
					fast, err := changes.BetweenTargets(t1, t2)
					if err != nil {
						t.Fatalf("diff %s %s: %v", pair[0], pair[1], err)
					}
					full := fullDiffTargets(t, t1, t2)
					if !slices.Equal(showChanges(fast), showChanges(full)) {
						t.Errorf("diff %s %s:\n got %q\nfull %q", pair[0], pair[1], showChanges(fast), showChanges(full))
					}
					if !sort.SliceIsSorted(fast, func(i, j int) bool { return fast[i].Path < fast[j].Path }) {
						t.Errorf("diff %s %s: not sorted: %q", pair[0], pair[1], showChanges(fast))
					}
					if pair[0] == pair[1] && len(fast) > 0 {
						t.Errorf("diff %s %s: %q", pair[0], pair[1], showChanges(fast))
					}
					if len(full) == 0 && pair[0] != pair[1] {
						t.Errorf("diff %s %s: no difference found", pair[0], pair[1])
					}
				}
				t1, _ := store.Resolve("test/a:1")
				t2, _ := store.Resolve("test/b:1")
				got, _ := changes.BetweenTargets(t1, t2)
				want := slices.Clone(diffAB)
				sort.Slice(want, func(i, j int) bool { return want[i][2:] < want[j][2:] })
				if !slices.Equal(showChanges(got), want) {
					t.Errorf("diff test/a:1 test/b:1:\n got %q\nwant %q", showChanges(got), want)
				}
			})
		}
	}
}

func fullDiffTargets(t *testing.T, t1, t2 *layerstore.Target) []changes.Change {
	t.Helper()
	a, err := viewplan.Open(t1)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := viewplan.Open(t2)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cs, err := changes.Full(a, b)
	if err != nil {
		t.Fatalf("full diff %s %s: %v", t1.Ref, t2.Ref, err)
	}
	return cs
}

func TestDiffCommand(t *testing.T) {
	for _, layout := range layouts {
		s := writeDiffStore(t, layout, false)
		env := []string{"AUFSMOUNT_ROOT=" + s.Root}
		out := mustSucceed(t, env, "diff", "test/a:1", "test/b:1")
		// diffAB as printed: sorted by path, odd bytes and line breaks escaped.
		want := []string{
			"A /bin/ls", "C /bin/tool", "C /bin/tool2", "C /data", "A /data/new", "A /etc/hosts", "C /lib",
			`A /odd/bad\377`, `C /odd/new\nline`, "D /only-in-a",
			"D /opt/app", "D /opt/app/bin", "D /opt/app/bin/run", "D /opt/app/lib", "D /opt/app/lib/a",
			"A /tmp", "C /usr/share/doc", "D /usr/share/doc/x",
			"C /var/cache", "D /var/cache/a", "D /var/cache/b", "A /var/cache/c",
			"C /x/content", "C /x/dev", "C /x/link", "C /x/mode", "C /x/owner", "C /x/xattr",
		}
		if got := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); !slices.Equal(got, want) {
			t.Errorf("%v: diff printed\n%s\nwant\n%s", layout, out, strings.Join(want, "\n"))
		}

		var js []struct {
			Op, Path   string
			PathBase64 string `json:"path_base64"`
		}
		if err := json.Unmarshal([]byte(mustSucceed(t, env, "diff", "--json", "test/a:1", "test/b:1")), &js); err != nil {
			t.Fatalf("diff --json: %v", err)
		}
		var got []string
		for _, j := range js {
			p := j.Path
			if j.PathBase64 != "" {
				raw, err := base64.StdEncoding.DecodeString(j.PathBase64)
				if err != nil {
					t.Fatal(err)
				}
				p = string(raw)
			} else if !strings.Contains(p, "\n") && p == "/odd/new\nline" {
				t.Errorf("path %q lost its newline", p)
			}
			got = append(got, j.Op+" "+p)
		}
		want = slices.Clone(diffAB)
		sort.Slice(want, func(i, j int) bool { return want[i][2:] < want[j][2:] })
		if !slices.Equal(got, want) {
			t.Errorf("%v: diff --json gave %q\nwant %q", layout, got, want)
		}

		if out := mustSucceed(t, env, "diff", "test/b:1", "test/b:1"); out != "" {
			t.Errorf("an image against itself: %q", out)
		}
		if out := mustSucceed(t, env, "diff", "--json", "test/b:1", "test/b:1"); strings.TrimSpace(out) != "[]" {
			t.Errorf("an image against itself, json: %q", out)
		}
		out = mustSucceed(t, env, "diff", "test/b:1", "ctr")
		for _, w := range []string{"A /.dockerenv\n", "D /etc/group\n", "A /tmp/new\n", "C /x/dev\n"} {
			if !strings.Contains(out, w) {
				t.Errorf("%v: diff of an image and its container does not say %q:\n%s", layout, w, out)
			}
		}
	}
	s := writeSample(t, layerstore.LayoutCAS)
	env := []string{"AUFSMOUNT_ROOT=" + s.Root}
	if out := mustSucceed(t, env, "diff", "busybox", "user/app:v1"); out != "D /bin/sh\nA /etc/motd\n" {
		t.Errorf("diff busybox user/app:v1 = %q", out)
	}
	r := aufsmount(t, env, "diff", "busybox", "nosuch")
	if r.code != 1 || !strings.Contains(r.stderr, "nosuch: not found") || r.stdout != "" {
		t.Errorf("diff with an unknown image: %+v", r)
	}
	for _, args := range [][]string{{"diff"}, {"diff", "busybox"}, {"diff", "a", "b", "c"}, {"diff", "--bogus", "a", "b"}} {
		if r := aufsmount(t, env, args...); r.code != 2 {
			t.Errorf("aufsmount %q: exit %d, want 2 (%s)", args, r.code, r.stderr)
		}
	}
}
