package fs

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

// tarLayer makes a layer served from the tar the headers make (files'
// data is their Linkname field's text, for brevity).
func tarLayer(t *testing.T, id string, hdrs ...*tar.Header) Layer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range hdrs {
		h.ModTime, h.Format = time.Unix(1000, 0), tar.FormatPAX
		data := ""
		if h.Typeflag == tar.TypeReg {
			data, h.Linkname = h.Linkname, ""
			h.Size = int64(len(data))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, data)
	}
	tw.Close()
	x, err := layertar.IndexTar(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return Layer{ID: id, Archive: &ArchiveLayer{Archive: "test.tar", Member: id, Load: func() (*TarStream, error) {
		return &TarStream{Index: x, Data: bytes.NewReader(b.Bytes()), File: f, Close: f.Close}, nil
	}}}
}

// TestTarLayer reads a tar layer over a directory layer through a View:
// the tar's whiteouts and opaque directory hide the directory's entries,
// and its files, hard links, symlinks, devices and attributes show as
// its index records them.
func TestTarLayer(t *testing.T) {
	t.Run("index loaded", func(t *testing.T) { testTarLayer(t, false) })
	// The index decoded at the layer's first use, as a layer opened from
	// the cache has it (TarStream.LoadIndex).
	t.Run("index loaded later", func(t *testing.T) { testTarLayer(t, true) })
}

// lazily is ly with its index left to TarStream.LoadIndex, which fails
// with err where err is not nil.
func lazily(ly Layer, err error) Layer {
	load := ly.Archive.Load
	a := *ly.Archive
	a.Load = func() (*TarStream, error) {
		ts, lerr := load()
		if lerr != nil {
			return nil, lerr
		}
		x := ts.Index
		ts.Index, ts.LoadIndex = nil, func() (*layertar.Index, error) { return x, err }
		return ts, nil
	}
	ly.Archive = &a
	return ly
}

func testTarLayer(t *testing.T, later bool) {
	low := t.TempDir()
	for _, p := range []string{"etc/passwd", "etc/group", "opt/old", "keep"} {
		os.MkdirAll(filepath.Join(low, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(low, p), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	top := tarLayer(t, "top",
		&tar.Header{Name: "etc/.wh.passwd", Typeflag: tar.TypeReg, Mode: 0o600},
		&tar.Header{Name: "opt/", Typeflag: tar.TypeDir, Mode: 0o750},
		&tar.Header{Name: "opt/.wh..wh..opq", Typeflag: tar.TypeReg, Mode: 0o600},
		&tar.Header{Name: "opt/new", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "new"},
		&tar.Header{Name: "bin/sh", Typeflag: tar.TypeReg, Mode: 0o755, Uid: 7, Gid: 8, Linkname: "#!sh",
			PAXRecords: map[string]string{"SCHILY.xattr.user.x": "1"}},
		&tar.Header{Name: "bin/link", Typeflag: tar.TypeLink, Linkname: "bin/sh", Mode: 0o755, Uid: 7, Gid: 8},
		&tar.Header{Name: "lnk", Typeflag: tar.TypeSymlink, Linkname: "bin/sh", Mode: 0o777},
		&tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3},
	)
	if later {
		top = lazily(top, nil)
	}
	v, err := OpenView([]Layer{top, {ID: "low", Dir: low}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	names := func(p string) []string {
		ents, err := v.ReadDir(p)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range ents {
			out = append(out, e.Name)
		}
		return out
	}
	for p, want := range map[string][]string{
		"":    {"bin", "dev", "etc", "keep", "lnk", "opt"},
		"etc": {"group"},
		"opt": {"new"},
		"bin": {"link", "sh"},
	} {
		if got := names(p); !reflect.DeepEqual(got, want) {
			t.Errorf("%q lists %q, want %q", p, got, want)
		}
	}
	sh, err := v.Lookup("bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	link, _ := v.Lookup("bin/link")
	if sh.Ino != link.Ino || sh.Nlink != 2 || sh.Ino <= 1 || sh.Size != 4 || sh.Mode != unix.S_IFREG|0o755 ||
		sh.Uid != 7 || sh.Gid != 8 || sh.Mtime.Unix() != 1000 || sh.LayerID != "top" {
		t.Errorf("bin/sh %+v, bin/link %+v", sh, link)
	}
	ents, _ := v.ReadDir("bin")
	if ents[1].Ino != sh.Ino {
		t.Errorf("readdir gives bin/sh inode %d, lookup %d", ents[1].Ino, sh.Ino)
	}
	opt, _ := v.Lookup("opt")
	if opt.Mode != unix.S_IFDIR|0o750 || opt.Nlink != 2 {
		t.Errorf("opt %+v", opt)
	}
	f, err := v.Open("bin/link")
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil || string(data) != "#!sh" {
		t.Errorf("bin/link reads %q, %v", data, err)
	}
	if target, err := v.Readlink("lnk"); err != nil || target != "bin/sh" {
		t.Errorf("lnk: %q, %v", target, err)
	}
	if x, err := v.Xattrs("bin/sh"); err != nil || !reflect.DeepEqual(x, map[string][]byte{"user.x": []byte("1")}) {
		t.Errorf("bin/sh's xattrs: %q, %v", x, err)
	}
	if dev, _ := v.Lookup("dev/null"); dev.Mode != unix.S_IFCHR|0o666 || dev.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("dev/null %+v", dev)
	}
	if keep, _ := v.Lookup("keep"); keep.LayerID != "low" {
		t.Errorf("keep shown by %q", keep.LayerID)
	}
	type change struct {
		path string
		kind ChangeKind
	}
	var changes []change
	v.WalkLayer(0, func(p string, k ChangeKind, isDir bool) error {
		if k != Holds {
			changes = append(changes, change{p, k})
		}
		return nil
	})
	if want := []change{{"etc/passwd", WhitesOut}, {"opt", MakesOpaque}}; !reflect.DeepEqual(changes, want) {
		t.Errorf("changes %v, want %v", changes, want)
	}
}

// TestTarLayerLoadFails: a layer whose blob cannot be loaded fails the
// opening with its loader's error.
func TestTarLayerLoadFails(t *testing.T) {
	l := Layer{ID: "x", Archive: &ArchiveLayer{Load: func() (*TarStream, error) { return nil, io.ErrUnexpectedEOF }}}
	if _, err := OpenView([]Layer{l}); err != io.ErrUnexpectedEOF {
		t.Errorf("error %v", err)
	}
}

// TestTarLayerIndexFails: a layer whose index cannot be loaded after it
// opened is shown empty, over the layers below it, and the log says why.
func TestTarLayerIndexFails(t *testing.T) {
	low := t.TempDir()
	if err := os.WriteFile(filepath.Join(low, "keep"), []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	top := lazily(tarLayer(t, "top", &tar.Header{Name: "new", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "n"}), io.ErrUnexpectedEOF)
	var logged bytes.Buffer
	u, err := newUnion([]Layer{top, {ID: "low", Dir: low}}, log.New(&logged, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	defer u.close()
	root, err := u.rootEntry()
	if err != nil {
		t.Fatal(err)
	}
	v := &View{u: u, dirs: map[string][]entry{}, root: *root}
	ents, err := v.ReadDir("")
	if err != nil || len(ents) != 1 || ents[0].Name != "keep" {
		t.Errorf("the root lists %+v, %v; want keep alone", ents, err)
	}
	if want := "layer test.tar:top: unexpected EOF: shown empty\n"; logged.String() != want {
		t.Errorf("logged %q, want %q", logged.String(), want)
	}
}

// TestTarViewWithoutOpen mounts a view of tar layers alone: its files are
// read right, and only the first file's open and close reach the server
// (which answers ENOSYS, so the kernel opens and closes files itself
// from then on).
func TestTarViewWithoutOpen(t *testing.T) {
	testenv.FUSE(t)
	top := tarLayer(t, "top",
		&tar.Header{Name: "a", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "alpha"},
		&tar.Header{Name: "d/b", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "beta"})
	low := tarLayer(t, "low", &tar.Header{Name: "c", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "gamma"})
	var requests lockedBuffer // the server logs as the test reads
	mnt := t.TempDir()
	srv, err := Mount(mnt, []Layer{top, low}, Options{FsName: "test", Debug: true, Logger: log.New(&requests, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Unmount()
	for p, want := range map[string]string{"a": "alpha", "d/b": "beta", "c": "gamma"} {
		for range 2 {
			if data, err := os.ReadFile(filepath.Join(mnt, p)); err != nil || string(data) != want {
				t.Errorf("%s reads %q, %v; want %q", p, data, err, want)
			}
		}
	}
	// The poll hack's own file aside (node 2^64-1), one OPEN (the first)
	// and one FLUSH (its close), each answered ENOSYS; no RELEASE.
	count := map[string]int{}
	for _, l := range strings.Split(requests.String(), "\n") {
		for _, op := range []string{"OPEN", "FLUSH", "RELEASE"} {
			if strings.Contains(l, ": "+op+" n") && !strings.Contains(l, op+" n18446744073709551615") {
				count[op]++
			}
		}
	}
	if want := map[string]int{"OPEN": 1, "FLUSH": 1}; !reflect.DeepEqual(count, want) {
		t.Errorf("requests %v reached the server, want %v:\n%s", count, want, requests.String())
	}
}

// lockedBuffer is a bytes.Buffer that a server's log may write while a
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
