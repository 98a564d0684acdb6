package layerstore_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/seekable"
)

// TestContainerdFromBlobs reads containerd images whose snapshots are
// gone: each layer is its blob in the content store (gzip, zstd, a plain
// tar), served as an archive's, even where a lower layer's snapshot is
// another image's; a blob gone too is said, naming its digest.
func TestContainerdFromBlobs(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	base := storetest.NewLayer("base", storetest.D("etc"), storetest.F("etc/passwd", "root:x:0:0"), storetest.F("etc/motd", "hello"))
	top := storetest.NewLayer("top", storetest.WH("etc/motd"), storetest.F("etc/app", "app"))
	app := &storetest.CDImage{Names: []string{"docker.io/library/app:1"}, Layers: []*storetest.Layer{base}}
	gz := &storetest.CDImage{Names: []string{"docker.io/library/gz:1"}, Layers: []*storetest.Layer{base, top}, NoUnpack: true, Compression: "gzip"}
	zs := &storetest.CDImage{Names: []string{"docker.io/library/zs:1"}, Layers: []*storetest.Layer{storetest.NewLayer("zs", storetest.F("z", "zz"))}, NoUnpack: true, Compression: "zstd"}
	plain := &storetest.CDImage{Names: []string{"docker.io/library/plain:1"}, Layers: []*storetest.Layer{storetest.NewLayer("plain", storetest.F("p", "pp"))}, NoUnpack: true}
	gone := &storetest.CDImage{Names: []string{"docker.io/library/gone:1"}, Layers: []*storetest.Layer{storetest.NewLayer("gone", storetest.F("g", "gg"))}, NoUnpack: true}
	b, err := (&storetest.Containerd{Namespaces: []*storetest.CDNamespace{{Name: "default", Images: []*storetest.CDImage{app, gz, zs, plain, gone}}}}).Write(filepath.Join(t.TempDir(), "containerd"))
	if err != nil {
		t.Fatal(err)
	}
	content := filepath.Join(b.Root, "io.containerd.content.v1.content")
	goneBlob := b.Blobs[gone][0]
	if err := os.Remove(filepath.Join(content, "blobs", "sha256", strings.TrimPrefix(goneBlob, "sha256:"))); err != nil {
		t.Fatal(err)
	}
	s, err := layerstore.Open(b.Root)
	if err != nil {
		t.Fatal(err)
	}
	notes := map[string]string{}
	for _, img := range s.Images() {
		notes[strings.Join(img.Names, ",")] = img.Note
	}
	const fromBlobs = "not unpacked (no overlayfs snapshot holds its top layer: imported without unpacking, or its snapshots removed): served from its layer blobs"
	wantNotes := map[string]string{
		"app:1":   "",
		"gz:1":    fromBlobs,
		"zs:1":    fromBlobs,
		"plain:1": fromBlobs,
		"gone:1":  "not unpacked (no overlayfs snapshot holds its top layer), and its layer blob " + goneBlob + " is gone too: it cannot be mounted",
	}
	if len(notes) != len(wantNotes) {
		t.Errorf("images: %v", notes)
	}
	for name, want := range wantNotes {
		if notes[name] != want {
			t.Errorf("image %s: note %q, want %q", name, notes[name], want)
		}
	}

	cases := []struct {
		ref         string
		img         *storetest.CDImage
		compression seekable.Compression
		files       map[string]string // path -> content, in the top layer's tar
	}{
		{"gz:1", gz, seekable.Gzip, map[string]string{"etc/app": "app"}},
		{"zs:1", zs, seekable.Zstd, map[string]string{"z": "zz"}},
		{"plain:1", plain, seekable.Uncompressed, map[string]string{"p": "pp"}},
	}
	for _, c := range cases {
		t.Run(c.ref, func(t *testing.T) {
			tg, err := s.Resolve(c.ref)
			if err != nil {
				t.Fatal(err)
			}
			if len(tg.Layers) != len(c.img.Layers) || len(tg.Stack) != len(c.img.Layers) {
				t.Fatalf("%d layers, a stack of %d; want %d", len(tg.Layers), len(tg.Stack), len(c.img.Layers))
			}
			for i, l := range tg.Layers {
				blob := b.Blobs[c.img][len(c.img.Layers)-1-i]
				a := l.Archive
				switch {
				case a == nil:
					t.Fatalf("layer %d: no blob, dir %q", i, l.Dir)
				case l.Dir != "" || l.Blob != "" || l.EngineRoot:
					t.Errorf("layer %d: dir %q, blob %q, engine root %v: a blob's layer has none", i, l.Dir, l.Blob, l.EngineRoot)
				case a.Archive != content || a.Member != "blobs/sha256/"+strings.TrimPrefix(blob, "sha256:") || a.File != filepath.Join(content, a.Member):
					t.Errorf("layer %d: archive %s, member %s, file %s", i, a.Archive, a.Member, a.File)
				case a.Digest != blob || a.Compression != c.compression || a.Offset != 0:
					t.Errorf("layer %d: digest %s (want %s), compression %v (want %v), offset %d", i, a.Digest, blob, a.Compression, c.compression, a.Offset)
				case l.ID != strings.TrimPrefix(l.ChainID, "sha256:") || l.DiffID == "":
					t.Errorf("layer %d: id %s, chain id %s, diff id %s", i, l.ID, l.ChainID, l.DiffID)
				}
			}
			ts, err := layerstore.OpenArchiveLayer(tg.Layers[0].Archive, tg.Layers[0].DiffID)
			if err != nil {
				t.Fatal(err)
			}
			defer ts.Close()
			for p, want := range c.files {
				dir, name := "", p
				if i := strings.LastIndexByte(p, '/'); i >= 0 {
					dir, name = p[:i], p[i+1:]
				}
				m := ts.Index.Lookup(dir, name)
				if m == nil {
					t.Errorf("%s: not in the layer's index", p)
					continue
				}
				got, err := io.ReadAll(io.NewSectionReader(ts.Data, m.Off, m.Size))
				if err != nil || string(got) != want {
					t.Errorf("%s: %q (%v), want %q", p, got, err, want)
				}
			}
		})
	}
	// gz:1's base is app:1's layer: it has a snapshot, but gz:1 takes
	// its blob, as for every layer of an image not unpacked.
	tg, err := s.Resolve("gz:1")
	if err != nil {
		t.Fatal(err)
	}
	if a := tg.Layers[1].Archive; a == nil || tg.Layers[1].ChainID != tg.Layers[1].DiffID {
		t.Errorf("gz:1's base: %+v", tg.Layers[1])
	}
	if _, err := s.Resolve("gone:1"); err == nil || !strings.Contains(err.Error(), "its layer blob "+goneBlob+" is gone too") {
		t.Errorf("gone:1: %v", err)
	}
}
