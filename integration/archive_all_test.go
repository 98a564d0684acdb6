package integration

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// TestArchiveMountAll mounts every image of a gzip oci-archive in one
// tree: each is the model's view, and each layer's raw view is there.
func TestArchiveMountAll(t *testing.T) {
	testenv.FUSE(t)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	var imgs []*st.Image
	for i, tc := range ruleCases()[:3] {
		imgs = append(imgs, &st.Image{Names: []string{fmt.Sprintf("test/rule:%d", i)}, Layers: tc.layers})
	}
	store, err := (&st.Store{Driver: st.DriverOverlay2, Images: imgs}).Write(filepath.Join(t.TempDir(), "store"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	b, err := (&st.Archive{Kind: st.OCIArchive, Compression: "gzip", Images: imgs}).Write(filepath.Join(t.TempDir(), "image"))
	if err != nil {
		t.Fatal(err)
	}
	all := t.TempDir()
	if _, stderr, code := run(t, "--root", b.Path, "mount-all", all); code != 0 || stderr != "" {
		t.Fatalf("mount-all: exit %d: %s", code, stderr)
	}
	t.Cleanup(func() { daemonUnmount(t, all) })
	for i, img := range imgs {
		if err := st.Compare(filepath.Join(all, "images", "test", fmt.Sprintf("rule:%d", i)), store.View(img), archiveCompare); err != nil {
			t.Errorf("images/test/rule:%d: %v", i, err)
		}
		if err := st.Compare(filepath.Join(all, "ids", b.ImageID[img]), store.View(img), archiveCompare); err != nil {
			t.Errorf("ids/%s: %v", b.ImageID[img], err)
		}
	}
	// layers/ holds each layer once, under its chain id, as its tar
	// stores it: whiteouts and opaque markers as the .wh. files the tar
	// holds, nothing whited out.
	want := map[string]*st.Layer{}
	for _, img := range imgs {
		for i := range b.DiffIDs[img] {
			want[chainOf(b.DiffIDs[img][:i+1])] = img.Layers[i]
		}
	}
	ents, err := os.ReadDir(filepath.Join(all, "layers"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if len(got) != len(want) {
		t.Fatalf("layers/ holds %d layers, want %d: %v", len(got), len(want), got)
	}
	for id, l := range want {
		exp := rawTarTree(t, l)
		if diffs := diffTrees(exp, walk(t, filepath.Join(all, "layers", id)), rawTarIgnore); len(diffs) > 0 {
			t.Errorf("layers/%s: %d differences:\n%s", id, len(diffs), strings.Join(head(diffs, 20), "\n"))
		}
	}
	// The whiteout of rule 0's second layer is its tar's file.
	wh := filepath.Join(all, "layers", chainOf(b.DiffIDs[imgs[0]]), "etc", ".wh.passwd")
	if fi, err := os.Lstat(wh); err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 {
		t.Errorf("%s: %v, %v, want an empty file", wh, fi, err)
	}
}

// chainOf is the chain id (hex) of the diff ids, base first.
func chainOf(diffIDs []string) string {
	chain := diffIDs[0]
	for _, d := range diffIDs[1:] {
		chain = fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(chain+" "+d)))
	}
	return strings.TrimPrefix(chain, "sha256:")
}

// rawTarTree is what the layer's tar, as the fixture writes it, holds:
// each entry by its name, read with archive/tar (readTarTree), and each
// directory a name lies in that the tar does not give.
func rawTarTree(t *testing.T, l *st.Layer) map[string]info {
	t.Helper()
	var buf bytes.Buffer
	if err := st.WriteTar(&buf, l); err != nil {
		t.Fatal(err)
	}
	out, _ := readTarTree(t, "the layer's tar", &buf)
	ino := uint64(len(out))
	dir := func(d string) {
		if _, ok := out[d]; !ok {
			ino++
			out[d] = info{Mode: unix.S_IFDIR | 0o755, Ino: ino}
		}
	}
	names := make([]string, 0, len(out))
	for p := range out {
		names = append(names, p)
	}
	dir("")
	for _, p := range names {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			dir(d)
		}
	}
	return out
}

// rawTarIgnore compares what rawTarTree knows: kind, mode, owner, size,
// content and link target; a directory the tar only implies is compared
// by kind alone.
func rawTarIgnore(p string, w, g *info) {
	g.Mtime, g.Atime, g.Ctime, g.Blocks, g.Nlink, g.Xattrs = w.Mtime, w.Atime, w.Ctime, w.Blocks, w.Nlink, w.Xattrs
	if g.Mode&unix.S_IFMT == unix.S_IFDIR {
		g.Size, g.Mode, g.UID, g.GID = w.Size, w.Mode&unix.S_IFMT|g.Mode&^unix.S_IFMT, w.UID, w.GID
	}
	if g.Mode&unix.S_IFMT != unix.S_IFREG {
		g.Hash = w.Hash
	}
}
