package storetest

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"
	"golang.org/x/sys/unix"
)

// beneath is a tar-split FileGetter that opens names beneath a layer
// directory and follows no symlink on the way (storage.NewPathFileGetter
// would follow them out of the layer).
type beneath struct{ root string }

func (b beneath) Get(name string) (io.ReadCloser, error) {
	dir, err := unix.Open(b.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: b.root, Err: err}
	}
	defer unix.Close(dir)
	fd, err := unix.Openat2(dir, name, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, &os.PathError{Op: "openat2", Path: filepath.Join(b.root, name), Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// reassemble gives back the tar stream of a layer from its tar-split and
// its directory, and returns its digest.
func reassemble(t *testing.T, tarSplit, dir string) string {
	t.Helper()
	f, err := os.Open(tarSplit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", tarSplit, err)
	}
	stream := asm.NewOutputTarStream(beneath{dir}, storage.NewJSONUnpacker(z))
	defer stream.Close()
	h := sha256.New()
	if _, err := io.Copy(h, stream); err != nil {
		t.Fatalf("reassembling %s from %s: %v", tarSplit, dir, err)
	}
	return digestOf(h)
}

// The tar-split of every image layer, with the layer directory, gives back
// a stream whose sha256 is the layer's diff id, as the metadata says.
func TestTarSplitReassembles(t *testing.T) {
	f := newFixture()
	b, err := f.s.Write(t.TempDir(), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(b.Root, "image", "aufs")
	n := 0
	for _, im := range f.s.Images {
		var cfg struct {
			RootFS struct {
				DiffIDs []string `json:"diff_ids"`
			}
		}
		readJSON(t, filepath.Join(img, "imagedb/content/sha256", b.ImageID[im]), &cfg)
		if !slices.Equal(cfg.RootFS.DiffIDs, reversed(b.DiffIDs[im])) {
			t.Errorf("%v: diff_ids %v, Built says %v", im.Names, cfg.RootFS.DiffIDs, b.DiffIDs[im])
		}
		for i, dir := range b.Chain[im] {
			ldb := filepath.Join(img, "layerdb/sha256", strings.TrimPrefix(b.ChainIDs[im][i], "sha256:"))
			got := reassemble(t, filepath.Join(ldb, "tar-split.json.gz"), dir)
			if want := read(t, filepath.Join(ldb, "diff")); got != want || got != b.DiffIDs[im][i] {
				t.Errorf("%v layer %d: reassembled %s, diff %s, Built %s", im.Names, i, got, want, b.DiffIDs[im][i])
			}
			if d, err := DiffID(b.ChainLayers[im][i]); err != nil || d != got {
				t.Errorf("%v layer %d: DiffID %s (%v), reassembled %s", im.Names, i, d, err, got)
			}
			n++
		}
	}
	if n < 4 {
		t.Errorf("only %d layers checked", n)
	}

	g, err := f.s.Write(t.TempDir(), layerstore.LayoutGraph)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range f.s.Images {
		for i, dir := range g.Chain[im] {
			got := reassemble(t, filepath.Join(g.Root, "graph", filepath.Base(dir), "tar-data.json.gz"), dir)
			if want, _ := DiffID(g.ChainLayers[im][i]); got != want {
				t.Errorf("pre-1.10 %v layer %d: reassembled %s, want %s", im.Names, i, got, want)
			}
		}
	}
	// An empty pre-1.10 layer is the tar of nothing: Docker's well-known
	// empty layer.
	if got := reassemble(t, filepath.Join(g.Root, "graph", filepath.Base(g.LayerDir(f.img2, 1)), "tar-data.json.gz"), g.LayerDir(f.img2, 1)); got != "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef" {
		t.Errorf("empty layer: %s", got)
	}
}

// The stream holds what the description says, as a Docker tar has it.
func TestWriteTar(t *testing.T) {
	f := newFixture()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(WriteTar(pw, f.base)) }()
	hdrs := map[string]*tar.Header{}
	var order []string
	sizes := map[string]int64{}
	tr := tar.NewReader(pr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdrs[h.Name] != nil {
			t.Errorf("%q twice", h.Name)
		}
		hdrs[h.Name] = h
		order = append(order, h.Name)
		n, err := io.Copy(io.Discard, tr)
		if err != nil {
			t.Fatal(err)
		}
		sizes[h.Name] = n
	}
	type want struct {
		typ      byte
		mode     int64
		uid, gid int
		size     int64
		link     string
		mtime    time.Time
		xattrs   map[string]string
	}
	for name, w := range map[string]want{
		"etc/":                           {typ: tar.TypeDir, mode: 0755, mtime: DefaultTime},
		"etc/passwd":                     {typ: tar.TypeReg, mode: 0644, size: 30, mtime: DefaultTime},
		"etc/shadow":                     {typ: tar.TypeReg, mode: 0, size: 14, mtime: DefaultTime},
		"tmp/":                           {typ: tar.TypeDir, mode: 01777, mtime: DefaultTime},
		"usr/bin/su":                     {typ: tar.TypeReg, mode: 04755, size: 9, mtime: DefaultTime},
		"usr/bin/su2":                    {typ: tar.TypeLink, mode: 04755, link: "usr/bin/su", mtime: DefaultTime},
		"usr/bin/su3":                    {typ: tar.TypeLink, mode: 04755, link: "usr/bin/su", mtime: DefaultTime},
		"usr/bin/wall":                   {typ: tar.TypeReg, mode: 02755, gid: 5, size: 4, mtime: DefaultTime},
		"usr/bin/ping":                   {typ: tar.TypeReg, mode: 0755, size: 4, mtime: DefaultTime, xattrs: map[string]string{"security.capability": capNetRaw, "user.note": "hi", "trusted.t": "v"}},
		"home/u/":                        {typ: tar.TypeDir, mode: 0700, uid: 1000, gid: 1000, mtime: t1999.Truncate(time.Second), xattrs: map[string]string{"user.dir": "1"}},
		"abs":                            {typ: tar.TypeSymlink, mode: 0777, uid: 3, gid: 4, link: "/etc/passwd", mtime: t1999.Truncate(time.Second), xattrs: map[string]string{"trusted.link": "x"}},
		"dev/null":                       {typ: tar.TypeChar, mode: 0666, mtime: DefaultTime},
		"dev/sda":                        {typ: tar.TypeBlock, mode: 0660, mtime: DefaultTime},
		"run/fifo":                       {typ: tar.TypeFifo, mode: 0644, uid: 7, gid: 8, mtime: DefaultTime},
		"big":                            {typ: tar.TypeReg, mode: 0644, size: 3<<20 + 5, mtime: DefaultTime},
		"sparse":                         {typ: tar.TypeReg, mode: 0644, size: 64 << 20, mtime: DefaultTime},
		"new\nline":                      {typ: tar.TypeReg, mode: 0644, size: 1, mtime: DefaultTime},
		"\xff\xfe-latin1":                {typ: tar.TypeReg, mode: 0644, size: 1, mtime: DefaultTime},
		".wh.gone":                       {typ: tar.TypeReg, mode: 0444, mtime: DefaultTime},
		"usr/lib/.wh..wh.plnk-lookalike": {typ: tar.TypeReg, mode: 0644, mtime: DefaultTime},
	} {
		h := hdrs[name]
		if h == nil {
			t.Errorf("%q: not in the tar", name)
			continue
		}
		x := map[string]string{}
		for k, v := range h.PAXRecords {
			if n, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
				x[n] = v
			}
		}
		if h.Typeflag != w.typ || h.Mode != w.mode || h.Uid != w.uid || h.Gid != w.gid || h.Size != w.size || sizes[name] != w.size ||
			h.Linkname != w.link || !h.ModTime.Equal(w.mtime) || !h.AccessTime.IsZero() || h.Uname != "" || len(x) != len(w.xattrs) {
			t.Errorf("%q: %+v, want %+v", name, h, w)
		}
		for k, v := range w.xattrs {
			if x[k] != v {
				t.Errorf("%q: xattr %s = %q, want %q", name, k, x[k], v)
			}
		}
	}
	if h := hdrs["dev/null"]; h != nil && (h.Devmajor != 1 || h.Devminor != 3) {
		t.Errorf("dev/null: device %d:%d", h.Devmajor, h.Devminor)
	}
	if _, ok := hdrs["run/sock"]; ok {
		t.Error("a socket in the tar")
	}
	if _, ok := hdrs["./"]; ok {
		t.Error("an implicit root in the tar")
	}
	// Creation order, parents first.
	if i, j := slices.Index(order, "usr/"), slices.Index(order, "usr/bin/su"); i < 0 || i > j || order[0] != "etc/" {
		t.Errorf("order %q", order)
	}
	// The other layer: the opaque marker, whiteouts, a described root.
	var names []string
	for h := range tarHeaders(t, NewLayer("", D("").WithMode(0700), OPQ("etc"), WH("usr/bin/wall"))) {
		names = append(names, h.Name)
		if h.Name == "./" && (h.Typeflag != tar.TypeDir || h.Mode != 0700) {
			t.Errorf("root: %+v", h)
		}
		if strings.Contains(h.Name, ".wh.") && (h.Typeflag != tar.TypeReg || h.Size != 0 || h.Mode != 0444) {
			t.Errorf("%q: %+v", h.Name, h)
		}
	}
	if want := []string{"./", "etc/", "etc/.wh..wh..opq", "usr/", "usr/bin/", "usr/bin/.wh.wall"}; !slices.Equal(names, want) {
		t.Errorf("names %q, want %q", names, want)
	}
	// The diff id is the stream's; a different description, a different one.
	a, _ := DiffID(f.base)
	c, _ := DiffID(NewLayer("", F("x", "2")))
	if a == c || !strings.HasPrefix(a, "sha256:") || len(a) != 71 {
		t.Errorf("DiffID %s %s", a, c)
	}
}

func tarHeaders(t *testing.T, l *Layer) func(func(*tar.Header) bool) {
	t.Helper()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(WriteTar(pw, l)) }()
	return func(yield func(*tar.Header) bool) {
		defer pr.Close()
		tr := tar.NewReader(pr)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !yield(h) {
				return
			}
		}
	}
}

// Two descriptions with one tar are one layer to Docker: Write refuses
// them at one place of a chain.
func TestWriteSameTarDifferentLayers(t *testing.T) {
	a := NewLayer("a", F("x", "1"), Mknod("s", Socket, 0, 0))
	b := NewLayer("b", F("x", "1"))
	s := &Store{Images: []*Image{{Names: []string{"a"}, Layers: []*Layer{a}}, {Names: []string{"b"}, Layers: []*Layer{b}}}}
	if _, err := s.Write(t.TempDir(), layerstore.LayoutCAS); err == nil || !strings.Contains(err.Error(), "same tar") {
		t.Errorf("got %v", err)
	}
}

// The tar streams: a big layer does not need its size in memory.
func TestWriteBigLayerStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 256 MiB")
	}
	l := NewLayer("big", Big("blob", 256<<20))
	s := &Store{Images: []*Image{{Names: []string{"big"}, Layers: []*Layer{l}}}}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	b, err := s.Write(t.TempDir(), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&m1)
	if n := m1.TotalAlloc - m0.TotalAlloc; n > 32<<20 {
		t.Errorf("writing a 256 MiB layer allocated %d MiB", n>>20)
	}
	img := s.Images[0]
	ldb := filepath.Join(b.Root, "image/aufs/layerdb/sha256", strings.TrimPrefix(b.ChainIDs[img][0], "sha256:"))
	if got := reassemble(t, filepath.Join(ldb, "tar-split.json.gz"), b.Chain[img][0]); got != b.DiffIDs[img][0] {
		t.Errorf("reassembled %s, diff id %s", got, b.DiffIDs[img][0])
	}
}
