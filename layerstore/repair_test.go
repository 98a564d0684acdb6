package layerstore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"
	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// writeTarSplit makes a real tar stream of the given entries (names
// ending in "/" are directories) and writes its tar-split to p.
func writeTarSplit(t testing.TB, p string, names ...string) {
	t.Helper()
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	for _, n := range names {
		h := &tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg}
		if strings.HasSuffix(n, "/") {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	r, err := asm.NewInputTarStream(&tarBuf, storage.NewJSONPacker(zw), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	zw.Close()
}

func TestTarSplitMarkers(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "tar-split.json.gz")
	writeTarSplit(t, p, "etc/", "etc/.wh.motd", "./usr/", "usr/share/", "usr/share/.wh..wh..opq", ".wh.bin",
		"etc/passwd", "etc/.wh.\xff\xfe", ".wh..wh.plnk/", "etc/x.wh.y")
	m, err := tarSplitMarkers(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.WhitedOut("etc"), ","); got != "motd,\xff\xfe" {
		t.Errorf("etc whiteouts %q", got)
	}
	if got := strings.Join(m.WhitedOut(""), ","); got != "bin" {
		t.Errorf("root whiteouts %q", got)
	}
	if !m.IsOpaque("usr/share") || len(m.Opaque) != 1 {
		t.Errorf("opaque %v", m.Opaque)
	}
	if m, err := tarSplitMarkers(filepath.Join(dir, "none")); m != nil || err != nil {
		t.Errorf("missing file: %v, %v", m, err)
	}
	bad := filepath.Join(dir, "bad.json.gz")
	os.WriteFile(bad, []byte("not gzip"), 0o644)
	if _, err := tarSplitMarkers(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad gzip: %v", err)
	}
	data, _ := os.ReadFile(p)
	trunc := filepath.Join(dir, "trunc.json.gz")
	os.WriteFile(trunc, data[:len(data)/2], 0o644)
	if _, err := tarSplitMarkers(trunc); err == nil || !strings.Contains(err.Error(), trunc) {
		t.Errorf("truncated: %v", err)
	}
}

// TestRecoverMarkers: an overlay2 layer whose tar-split records a
// whiteout and an opaque directory its directory lacks gets them as
// Markers, and is reported; a layer that has them is left alone; a
// container layer above is reported as unrecoverable.
func TestRecoverMarkers(t *testing.T) {
	testenv.Root(t, "writing 0/0 devices and trusted xattrs")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	c, f := casFixtureOf(t, "overlay2")
	top, base := f.layers[f.bbTop][0], f.layers[f.bbTop][1]
	topDiff := filepath.Join(c.root, "overlay2", top, "diff")
	baseDiff := filepath.Join(c.root, "overlay2", base, "diff")
	for _, d := range []string{topDiff + "/etc", topDiff + "/usr", baseDiff + "/etc"} {
		os.MkdirAll(d, 0o755)
	}
	chainDir := func(i int) string {
		return filepath.Join(c.root, "image/overlay2/layerdb", strings.Replace(c.chains[f.bbTop][i], ":", "/", 1))
	}
	// top: lost both markers; base: has its whiteout as a device.
	writeTarSplit(t, filepath.Join(chainDir(1), "tar-split.json.gz"), "etc/", "etc/.wh.motd", "usr/", "usr/.wh..wh..opq")
	writeTarSplit(t, filepath.Join(chainDir(0), "tar-split.json.gz"), "etc/", "etc/.wh.issue")
	if err := unix.Mknod(baseDiff+"/etc/issue", unix.S_IFCHR|0o600, 0); err != nil {
		t.Fatal(err)
	}
	s := c.open()
	tg, err := s.Resolve("web")
	if err != nil {
		t.Fatal(err)
	}
	repairs, err := s.RecoverMarkers(tg)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range repairs {
		got = append(got, r.String())
	}
	mount, init := filepath.Join(c.root, "overlay2", f.cmount, "diff"), filepath.Join(c.root, "overlay2", f.cinit, "diff")
	want := []string{
		"layer " + top + " (" + topDiff + ") lacks 1 whiteouts and 1 opaque markers that its tar-split records (copied without device nodes or xattrs?): the view follows the tar-split",
		"layer " + f.cmount + " (" + mount + ") has no tar-split; if it lost whiteouts or opaque markers when the store was copied, they cannot be recovered",
		"layer " + f.cinit + " (" + init + ") has no tar-split; if it lost whiteouts or opaque markers when the store was copied, they cannot be recovered",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("repairs\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	m := tg.Stack[2].Markers
	if !m.Hides("etc", "motd") || !m.IsOpaque("usr") || m.Len() != 2 {
		t.Errorf("top's markers %+v", m)
	}
	if tg.Stack[3].Markers != nil {
		t.Errorf("base got markers %+v", tg.Stack[3].Markers)
	}
	// With the markers in place, nothing is reported.
	if err := unix.Mknod(topDiff+"/etc/motd", unix.S_IFCHR|0o600, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(topDiff+"/usr", "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	tg, _ = s.Resolve("web")
	if repairs, err := s.RecoverMarkers(tg); err != nil || len(repairs) != 0 {
		t.Errorf("intact layer: %v, %v", repairs, err)
	}
	// The second look came from the cache, keyed by diff id; a record
	// whose tar-split changed size is read again.
	cached, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "aufsmount/markers/*"))
	if len(cached) != 2 {
		t.Errorf("cache holds %d records, want 2 (one per image layer): %v", len(cached), cached)
	}
	writeTarSplit(t, filepath.Join(chainDir(1), "tar-split.json.gz"), "etc/", "etc/.wh.motd", "usr/", "usr/.wh..wh..opq", "etc/.wh.gone")
	tg, _ = s.Resolve("web")
	repairs, err = s.RecoverMarkers(tg)
	if err != nil || len(repairs) != 3 || repairs[0].Whiteouts != 1 || repairs[0].Opaque != 0 {
		t.Errorf("after the tar-split changed: %+v, %v; want etc/gone lost", repairs, err)
	}
	// An aufs layer is never looked at: its markers are plain files.
	if losable(whiteout.Aufs) || losable(whiteout.None) || !losable(whiteout.Overlay) || !losable(whiteout.FuseOverlayfs) {
		t.Error("losable wrong")
	}
}
