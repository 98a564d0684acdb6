package fs

import (
	"bytes"
	"io"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// bindFixture is two aufs layers and a store root beside them holding
// what a container binds: its hosts file and two volumes, and traps.
type bindFixture struct {
	layers []Layer
	root   string
}

func writeFiles(t *testing.T, base string, files map[string]string) {
	t.Helper()
	for p, data := range files {
		full := filepath.Join(base, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(data, "->"); ok {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(data), 0644); err != nil {
			t.Fatal(err)
		}
	}
}

func newBindFixture(t *testing.T) *bindFixture {
	dir := t.TempDir()
	top, low, root := filepath.Join(dir, "top"), filepath.Join(dir, "low"), filepath.Join(dir, "docker")
	writeFiles(t, top, map[string]string{
		"etc/hosts":      "127.0.0.1 image\n",
		"var/lib/db/old": "from the image",
		"srv/":           "",
	})
	writeFiles(t, low, map[string]string{
		"etc/passwd":   "root:x:0:0\n",
		"etc/.wh.gone": "",
		"file":         "a file, not a directory",
	})
	writeFiles(t, root, map[string]string{
		"containers/c1/hosts":                 "10.0.0.2 web\n",
		"containers/c1/hostname":              "web\n",
		"volumes/db/_data/table":              "rows",
		"volumes/db/_data/.wh.not-a-whiteout": "kept",
		"volumes/sub/_data/inner":             "nested",
		"volumes/evil/_data":                  "->/etc",
		"containers/c1/resolv.conf":           "->/etc/resolv.conf",
		"elsewhere/":                          "",
	})
	return &bindFixture{
		layers: []Layer{{ID: "top", Dir: top}, {ID: "low", Dir: low}},
		root:   root,
	}
}

func readAll(t *testing.T, v *View, p string) string {
	t.Helper()
	f, err := v.Open(p)
	if err != nil {
		t.Fatalf("open %s: %v", p, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func names(t *testing.T, v *View, p string) []string {
	t.Helper()
	ents, err := v.ReadDir(p)
	if err != nil {
		t.Fatalf("readdir %s: %v", p, err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name)
	}
	return out
}

func TestBinds(t *testing.T) {
	f := newBindFixture(t)
	var logged bytes.Buffer
	binds := []Bind{
		{Dest: "/etc/hosts", Root: f.root, Source: "containers/c1/hosts"},
		{Dest: "etc/hostname", Root: f.root, Source: "containers/c1/hostname", ID: "hostname of c1"},
		{Dest: "/etc/resolv.conf", Root: f.root, Source: "containers/c1/resolv.conf"}, // a symlink: refused
		{Dest: "/var/lib/db", Root: f.root, Source: "volumes/db/_data"},
		{Dest: "/var/lib/db/sub", Root: f.root, Source: "volumes/sub/_data"}, // nested in a bind
		{Dest: "/srv/evil", Root: f.root, Source: "volumes/evil/_data"},      // a symlink to /etc: refused
		{Dest: "/srv/up", Root: f.root, Source: "../.."},                     // leaves the root: refused
		{Dest: "/nowhere/x", Root: f.root, Source: "elsewhere"},              // no /nowhere in the view
		{Dest: "/file/x", Root: f.root, Source: "elsewhere"},                 // /file is a file
	}
	v, err := OpenViewWith(f.layers, binds)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	v.u.log = log.New(&logged, "", 0)

	if got := readAll(t, v, "/etc/hosts"); got != "10.0.0.2 web\n" {
		t.Errorf("/etc/hosts = %q, want the container's", got)
	}
	if got := readAll(t, v, "etc/hostname"); got != "web\n" {
		t.Errorf("/etc/hostname = %q", got)
	}
	if got, want := names(t, v, "/etc"), []string{"hostname", "hosts", "passwd"}; !reflect.DeepEqual(got, want) {
		t.Errorf("/etc = %q, want %q (resolv.conf refused, gone whited out)", got, want)
	}
	if got, want := names(t, v, "/var/lib/db"), []string{".wh.not-a-whiteout", "sub", "table"}; !reflect.DeepEqual(got, want) {
		t.Errorf("/var/lib/db = %q, want %q: the volume, not the image's directory", got, want)
	}
	if got := readAll(t, v, "/var/lib/db/sub/inner"); got != "nested" {
		t.Errorf("nested bind: %q", got)
	}
	if got := readAll(t, v, "/var/lib/db/.wh.not-a-whiteout"); got != "kept" {
		t.Errorf("a .wh. name in a volume: %q", got)
	}
	if got := names(t, v, "/srv"); len(got) != 0 {
		t.Errorf("/srv = %q: refused binds must not show", got)
	}
	e, err := v.Lookup("/etc/hostname")
	if err != nil || e.LayerID != "hostname of c1" || e.Layer < 2 {
		t.Errorf("/etc/hostname: %+v, %v: want it from the bind", e, err)
	}
	if e, err := v.Lookup("/var/lib/db/table"); err != nil || e.LayerID != "volumes/db/_data" {
		t.Errorf("/var/lib/db/table: %+v, %v", e, err)
	}
	if _, err := v.Xattrs("/var/lib/db/table"); err != nil {
		t.Errorf("xattrs in a bind: %v", err)
	}

	// The directories above bind points have numbers of their own; the
	// others keep their layer's.
	plain, err := OpenView(f.layers)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	for _, p := range []string{"etc", "var", "var/lib"} {
		a, _ := v.Lookup(p)
		b, _ := plain.Lookup(p)
		if a.Ino == b.Ino {
			t.Errorf("/%s has its layer's inode number %#x above a bind", p, a.Ino)
		}
	}
	for _, p := range []string{"srv", "etc/passwd"} {
		a, _ := v.Lookup(p)
		b, _ := plain.Lookup(p)
		if a.Ino != b.Ino {
			t.Errorf("/%s: inode %#x, without binds %#x", p, a.Ino, b.Ino)
		}
	}
	if _, err := v.Lookup("/file/x"); err == nil {
		t.Errorf("/file/x shows through a file")
	}
	if _, err := v.Which("/var/lib/db/table"); err != nil {
		t.Errorf("which in a bind: %v", err)
	}
	v.ReadDir("/")
	for _, want := range []string{"/nowhere is not a directory of the view", "/file is not a directory of the view"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log %q does not say %q", logged.String(), want)
		}
	}
}

func TestBindsRefused(t *testing.T) {
	f := newBindFixture(t)
	var logged bytes.Buffer
	u, err := newUnion(f.layers, log.New(&logged, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	defer u.close()
	num := uint64(2)
	u.addBinds([]Bind{
		{Dest: "/etc/resolv.conf", Root: f.root, Source: "containers/c1/resolv.conf"},
		{Dest: "/srv/evil", Root: f.root, Source: "volumes/evil/_data"},
		{Dest: "/srv/up", Root: f.root, Source: "../.."},
		{Dest: "/", Root: f.root, Source: "elsewhere"},
		{Dest: "/srv/a", Root: f.root, Source: "elsewhere"},
		{Dest: "/srv/a/", Root: f.root, Source: "elsewhere"},
	}, func() uint64 { num++; return num })
	if u.binds == nil || len(u.binds.points) != 1 || u.binds.points[0].dest != "srv/a" {
		t.Fatalf("binds opened: %+v", u.binds)
	}
	for _, want := range []string{
		"containers/c1/resolv.conf at /etc/resolv.conf: not shown: " + f.root + "/containers/c1/resolv.conf is a symlink, which is never followed",
		"volumes/evil/_data at /srv/evil: not shown: " + f.root + "/volumes/evil/_data is a symlink, which is never followed",
		`../.. at /srv/up: not shown: "../.." is not a path inside ` + f.root,
		"elsewhere at /: not shown: not a path below the root",
		"elsewhere at /srv/a: not shown: another bind is there",
	} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log does not say %q:\n%s", want, logged.String())
		}
	}
}

func TestPlanTree(t *testing.T) {
	l := []Layer{{Dir: "/x"}}
	entries := []TreeEntry{
		{Path: "images/x:5000", Layers: l},
		{Path: "images/x:5000/z:1", Layers: l},
		{Path: "images/a:1", Layers: l},
		{Path: "images/a:1", Layers: l},
		{Path: "images/../etc", Layers: l},
		{Path: "images/b:1/", Layers: l},
	}
	kept, left := PlanTree(entries)
	var got []string
	for _, e := range kept {
		got = append(got, e.Path)
	}
	if want := []string{"images/x:5000/z:1", "images/a:1", "images/b:1/"}; !reflect.DeepEqual(got, want) {
		t.Errorf("kept %q, want %q", got, want)
	}
	var why []string
	for _, lo := range left {
		why = append(why, lo.Entry.Path+": "+lo.Reason)
	}
	want := []string{
		"images/x:5000: images/x:5000 is a directory of other views (images/x:5000/z:1)",
		"images/a:1: another view is at images/a:1",
		`images/../etc: "images/../etc" is not a usable path`,
	}
	if !reflect.DeepEqual(why, want) {
		t.Errorf("left out:\n%s\nwant\n%s", strings.Join(why, "\n"), strings.Join(want, "\n"))
	}
}
