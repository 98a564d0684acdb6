package integration

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
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
// each entry by its name (and each directory a name lies in), read with
// archive/tar. The rule cases hold no hard links.
func rawTarTree(t *testing.T, l *st.Layer) map[string]info {
	t.Helper()
	var buf bytes.Buffer
	if err := st.WriteTar(&buf, l); err != nil {
		t.Fatal(err)
	}
	out := map[string]info{"": {Mode: unix.S_IFDIR | 0o755}}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.Trim(path.Clean(h.Name), "/")
		for d := path.Dir(name); d != "." && d != ""; d = path.Dir(d) {
			if _, ok := out[d]; !ok {
				out[d] = info{Mode: unix.S_IFDIR | 0o755}
			}
		}
		e := info{UID: uint32(h.Uid), GID: uint32(h.Gid), Mode: uint32(h.Mode) & 0o7777, Target: h.Linkname}
		switch h.Typeflag {
		case tar.TypeDir:
			e.Mode |= unix.S_IFDIR
		case tar.TypeSymlink:
			e.Mode |= unix.S_IFLNK
			e.Size = int64(len(h.Linkname))
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			e.Mode |= unix.S_IFREG
			e.Size = int64(len(data))
			e.Hash = fmt.Sprintf("%x", sha256.Sum256(data))
		default:
			t.Fatalf("%s: a %c entry: the rule cases hold none", name, h.Typeflag)
		}
		out[name] = e
	}
	ino := uint64(0)
	for p, e := range out {
		ino++
		e.Ino = ino
		out[p] = e
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
