package layerstore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/seekable"
)

// arcImages are two images sharing a base, one with a step that made
// no layer, as an archive and a store both hold them.
func arcImages() (busybox, app *storetest.Image) {
	base := storetest.NewLayer("base", storetest.D("bin"), storetest.F("bin/sh", "#!sh"), storetest.D("etc"),
		storetest.F("etc/passwd", "root:x:0:0"), storetest.D("a"), storetest.F("a/x", "x"))
	top := storetest.NewLayer("top", storetest.WH("etc/passwd"), storetest.OPQ("a"), storetest.F("a/y", "y"))
	env := &storetest.Layer{CreatedBy: "#(nop)  ENV X=1", Empty: true}
	busybox = &storetest.Image{Names: []string{"busybox:latest"}, Layers: []*storetest.Layer{base, top}}
	app = &storetest.Image{Names: []string{"registry.example:5000/team/app:v2"},
		Layers: []*storetest.Layer{base, env, storetest.NewLayer("app", storetest.F("app", "app"))}}
	return busybox, app
}

func TestArchiveKinds(t *testing.T) {
	busybox, app := arcImages()
	store, err := (&storetest.Store{Driver: storetest.DriverOverlay2, Images: []*storetest.Image{busybox, app}}).Write(t.TempDir(), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		a      storetest.Archive
		driver string
		comp   seekable.Compression
		member string // the start of a layer's member name
	}{
		{"docker save", storetest.Archive{Kind: storetest.DockerSave}, "docker-archive", seekable.Uncompressed, ""},
		{"docker save 25", storetest.Archive{Kind: storetest.DockerSave25}, "docker-archive", seekable.Uncompressed, "blobs/sha256/"},
		{"oci-archive", storetest.Archive{Kind: storetest.OCIArchive}, "oci-archive", seekable.Uncompressed, "blobs/sha256/"},
		{"oci-archive gzip", storetest.Archive{Kind: storetest.OCIArchive, Compression: "gzip"}, "oci-archive", seekable.Gzip, "blobs/sha256/"},
		{"oci-archive zstd index", storetest.Archive{Kind: storetest.OCIArchive, Compression: "zstd", Index: true}, "oci-archive", seekable.Zstd, "blobs/sha256/"},
		{"oci layout gzip", storetest.Archive{Kind: storetest.OCILayout, Compression: "gzip"}, "oci", seekable.Gzip, "blobs/sha256/"},
		{"oci layout index", storetest.Archive{Kind: storetest.OCILayout, Index: true}, "oci", seekable.Uncompressed, "blobs/sha256/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.a.Images = []*storetest.Image{busybox, app}
			b, err := c.a.Write(filepath.Join(t.TempDir(), "image"))
			if err != nil {
				t.Fatal(err)
			}
			s, err := layerstore.Open(b.Path)
			if err != nil {
				t.Fatal(err)
			}
			if p := s.Problems(); len(p) != 0 {
				t.Errorf("problems: %v", p)
			}
			if s.Layout() != layerstore.LayoutArchive || !slices.Equal(s.Drivers(), []string{c.driver}) {
				t.Errorf("layout %v, drivers %v", s.Layout(), s.Drivers())
			}
			imgs := s.Images()
			if len(imgs) != 2 {
				t.Fatalf("images %+v", imgs)
			}
			for _, img := range []*storetest.Image{busybox, app} {
				if b.ImageID[img] != store.ImageID[img] {
					t.Errorf("%v: archive's image id %s, the store's %s", img.Names, b.ImageID[img], store.ImageID[img])
				}
				tg, err := s.Resolve(img.Names[0])
				if err != nil {
					t.Fatal(err)
				}
				if tg.Image.ID != store.ImageID[img] || !slices.Equal(tg.Image.Names, img.Names) {
					t.Errorf("%v resolved to %s %v", img.Names, tg.Image.ID, tg.Image.Names)
				}
				checkArchiveLayers(t, tg, store.DiffIDs[img], c.comp, c.member)
				cfg, err := s.ImageConfig(tg)
				if sum := sha256.Sum256(cfg); err != nil || hex.EncodeToString(sum[:]) != tg.Image.ID {
					t.Errorf("config: %v, digest %x", err, sum)
				}
				if byID, err := s.Resolve(tg.Image.ID[:12]); err != nil || byID.Image.ID != tg.Image.ID {
					t.Errorf("by short id: %v", err)
				}
			}
			tg, _ := s.Resolve("registry.example:5000/team/app:v2")
			h, err := s.History(tg)
			if err != nil {
				t.Fatal(err)
			}
			var steps []string
			for _, e := range h {
				steps = append(steps, e.CreatedBy)
			}
			want := []string{"/bin/sh -c app", "/bin/sh -c #(nop)  ENV X=1", "/bin/sh -c base"}
			if !slices.Equal(steps, want) || h[1].Layer != nil || h[0].Layer == nil || h[0].ImageID != tg.Image.ID {
				t.Errorf("history %q, want %q", steps, want)
			}
			ls, err := s.Layers()
			if err != nil || len(ls) != 3 {
				t.Errorf("layers %v %v", ls, err)
			}
		})
	}
}

// checkArchiveLayers checks each layer of t against the diff ids, top
// first, and its blob where the archive says it is.
func checkArchiveLayers(t *testing.T, tg *layerstore.Target, diffIDs []string, comp seekable.Compression, member string) {
	t.Helper()
	if len(tg.Layers) != len(diffIDs) || len(tg.Stack) != len(diffIDs) {
		t.Fatalf("%s: %d layers, %d in its stack, want %d", tg.Ref, len(tg.Layers), len(tg.Stack), len(diffIDs))
	}
	for i, l := range tg.Layers {
		b := l.Archive
		if l.DiffID != diffIDs[i] || b == nil || l.Dir != "" || l.ChainID[7:] != l.ID {
			t.Fatalf("layer %d: %+v, want diff id %s and a blob", i, l, diffIDs[i])
		}
		if b.Compression != comp || !strings.HasPrefix(b.Member, member) || !strings.HasPrefix(l.Where(), b.Archive+":") {
			t.Errorf("layer %d: blob %+v, want %v under %q", i, b, comp, member)
		}
		f, err := os.Open(b.File)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		_, err = io.Copy(h, io.NewSectionReader(f, b.Offset, b.Size))
		f.Close()
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); err != nil || got != b.Digest {
			t.Errorf("layer %d: the bytes at %s %d+%d hash to %s, its digest is %s (%v)", i, b.File, b.Offset, b.Size, got, b.Digest, err)
		}
		if comp == seekable.Uncompressed && b.Digest != l.DiffID {
			t.Errorf("layer %d: a plain tar's digest %s is not its diff id %s", i, b.Digest, l.DiffID)
		}
	}
}

func TestArchiveRefNames(t *testing.T) {
	busybox, app := arcImages()
	b, err := (&storetest.Archive{Kind: storetest.OCILayout, Images: []*storetest.Image{busybox, app},
		RefNames: map[*storetest.Image]string{busybox: "latest", app: "quay.io/team/app:1"}}).Write(filepath.Join(t.TempDir(), "oci"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := layerstore.Open(b.Path)
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{"latest": "latest", "quay.io/team/app:1": "quay.io/team/app:1"} {
		tg, err := s.Resolve(ref)
		if err != nil {
			t.Errorf("%s: %v", ref, err)
			continue
		}
		if !slices.Equal(tg.Image.Names, []string{want}) || tg.Name != want {
			t.Errorf("%s: names %v, name %s", ref, tg.Image.Names, tg.Name)
		}
	}
	if _, err := s.Resolve("busybox:latest"); err == nil {
		t.Errorf("busybox:latest found, but the layout names it only latest")
	}
}

func TestArchivePlatform(t *testing.T) {
	busybox, _ := arcImages()
	b, err := (&storetest.Archive{Kind: storetest.OCIArchive, Index: true, Images: []*storetest.Image{busybox}}).Write(filepath.Join(t.TempDir(), "a.tar"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = layerstore.OpenWith(b.Path, layerstore.Options{Platform: "linux/s390x"})
	if err == nil || !strings.Contains(err.Error(), b.Path) || !strings.Contains(err.Error(), "no manifest for linux/s390x") || !strings.Contains(err.Error(), "choose with --platform") {
		t.Errorf("error %v", err)
	}
}
