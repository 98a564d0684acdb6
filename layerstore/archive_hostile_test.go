package layerstore_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/imagetar"
	"github.com/aufsmount/aufsmount/layerstore/seekable"
)

// rewriteTar copies the tar src to a new file, each member through edit
// (which may change its header and return new data, or nil to drop it),
// then the extra members.
func rewriteTar(t *testing.T, src string, edit func(h *tar.Header, data []byte) []byte, extra ...*tar.Header) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out bytes.Buffer
	tr, tw := tar.NewReader(in), tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if data = edit(h, data); data == nil && h.Typeflag == tar.TypeReg {
			continue
		}
		h.Size = int64(len(data))
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	for _, h := range extra {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	p := filepath.Join(t.TempDir(), "hostile.tar")
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// editManifest changes manifest.json's first item.
func editManifest(f func(it *imagetar.ManifestItem)) func(h *tar.Header, data []byte) []byte {
	return func(h *tar.Header, data []byte) []byte {
		if h.Name != "manifest.json" {
			return data
		}
		var items []imagetar.ManifestItem
		json.Unmarshal(data, &items)
		f(&items[0])
		out, _ := json.Marshal(items)
		return out
	}
}

func TestArchiveHostile(t *testing.T) {
	busybox, _ := arcImages()
	dir := t.TempDir()
	save, err := (&storetest.Archive{Kind: storetest.DockerSave, Images: []*storetest.Image{busybox}}).Write(filepath.Join(dir, "save.tar"))
	if err != nil {
		t.Fatal(err)
	}
	save25, err := (&storetest.Archive{Kind: storetest.DockerSave25, Images: []*storetest.Image{busybox}}).Write(filepath.Join(dir, "save25.tar"))
	if err != nil {
		t.Fatal(err)
	}
	keep := func(_ *tar.Header, data []byte) []byte { return data }
	// relink points the first layer.tar link at target, and
	// manifest.json at that link.
	relink := func(target string) func(h *tar.Header, data []byte) []byte {
		link := ""
		return func(h *tar.Header, data []byte) []byte {
			if h.Typeflag == tar.TypeSymlink && strings.HasSuffix(h.Name, "/layer.tar") && link == "" {
				h.Linkname, link = target, h.Name
			}
			return editManifest(func(it *imagetar.ManifestItem) { it.Layers[0] = link })(h, data)
		}
	}
	notTar := filepath.Join(dir, "notes.txt")
	os.WriteFile(notTar, []byte(strings.Repeat("not a tar\n", 100)), 0o644)
	for _, c := range []struct {
		name, path string
		want       []string
	}{
		{"member with ..", rewriteTar(t, save.Path, keep, &tar.Header{Name: "../evil", Typeflag: tar.TypeReg}),
			[]string{"member ../evil: name with \"..\""}},
		{"member inside ..", rewriteTar(t, save.Path, keep, &tar.Header{Name: "blobs/../../evil", Typeflag: tar.TypeReg}),
			[]string{"member blobs/../../evil: name with \"..\""}},
		{"absolute member", rewriteTar(t, save.Path, keep, &tar.Header{Name: "/etc/cron.d/x", Typeflag: tar.TypeReg}),
			[]string{"member /etc/cron.d/x: absolute name"}},
		{"layer outside the archive", rewriteTar(t, save.Path, editManifest(func(it *imagetar.ManifestItem) { it.Layers[0] = "../../etc/passwd" })),
			[]string{"manifest.json", "member ../../etc/passwd: name with \"..\""}},
		{"layer at an absolute path", rewriteTar(t, save.Path, editManifest(func(it *imagetar.ManifestItem) { it.Layers[1] = "/etc/passwd" })),
			[]string{"manifest.json", "member /etc/passwd: absolute name"}},
		{"layer not in the archive", rewriteTar(t, save.Path, editManifest(func(it *imagetar.ManifestItem) { it.Layers[0] = "nothere/layer.tar" })),
			[]string{"manifest.json", "member nothere/layer.tar is not in the archive"}},
		{"config not in the archive", rewriteTar(t, save.Path, editManifest(func(it *imagetar.ManifestItem) { it.Config = "gone.json" })),
			[]string{"manifest.json", "member gone.json is not in the archive"}},
		{"layer symlinked out", rewriteTar(t, save25.Path, relink("/etc/passwd")),
			[]string{"layer.tar is a symlink to /etc/passwd, outside the archive"}},
		{"layer symlinked up", rewriteTar(t, save25.Path, relink("../../../etc/passwd")),
			[]string{"layer.tar is a symlink to ../../../etc/passwd, outside the archive"}},
		{"symlinks round", rewriteTar(t, save25.Path, relink("layer.tar")),
			[]string{"links go round or nest too deep"}},
		{"not a tar", notTar, []string{"not a directory, nor an image archive"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := layerstore.Open(c.path)
			if err == nil {
				t.Fatal("opened")
			}
			for _, w := range append(c.want, c.path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
				if testing.Verbose() && w == c.path {
					t.Log(err)
				}
			}
		})
	}
}

func TestArchiveHostileLayout(t *testing.T) {
	busybox, _ := arcImages()
	write := func(t *testing.T) *storetest.ArchiveBuilt {
		b, err := (&storetest.Archive{Kind: storetest.OCILayout, Compression: "gzip", Images: []*storetest.Image{busybox}}).Write(filepath.Join(t.TempDir(), "oci"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	blob := func(b *storetest.ArchiveBuilt, i int) string {
		return filepath.Join(b.Path, "blobs/sha256", strings.TrimPrefix(b.Blobs[busybox][i], "sha256:"))
	}
	t.Run("symlinked blob", func(t *testing.T) {
		b := write(t)
		p := blob(b, 0)
		outside := filepath.Join(t.TempDir(), "copy")
		data, _ := os.ReadFile(p)
		os.WriteFile(outside, data, 0o644)
		os.Remove(p)
		os.Symlink(outside, p)
		_, err := layerstore.Open(b.Path)
		if err == nil || !strings.Contains(err.Error(), p+": a symlink, or under one: not read") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("symlinked blobs directory", func(t *testing.T) {
		b := write(t)
		d := filepath.Join(b.Path, "blobs")
		moved := filepath.Join(t.TempDir(), "blobs")
		os.Rename(d, moved)
		os.Symlink(moved, d)
		_, err := layerstore.Open(b.Path)
		if err == nil || !strings.Contains(err.Error(), "a symlink, or under one: not read") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("index names a missing manifest", func(t *testing.T) {
		b := write(t)
		idx, m := layoutManifest(t, b.Path)
		os.Remove(m)
		_, err := layerstore.Open(b.Path)
		if err == nil || !strings.Contains(err.Error(), "index.json: manifests[0] ("+idx.Manifests[0].Digest+")") || !strings.Contains(err.Error(), m+": missing") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("layer blob missing", func(t *testing.T) {
		b := write(t)
		os.Remove(blob(b, 1))
		_, err := layerstore.Open(b.Path)
		if err == nil || !strings.Contains(err.Error(), blob(b, 1)+": missing") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("config altered", func(t *testing.T) {
		b := write(t)
		p := filepath.Join(b.Path, "blobs/sha256", b.ImageID[busybox])
		data, _ := os.ReadFile(p)
		os.WriteFile(p, bytes.Replace(data, []byte(`"os":"linux"`), []byte(`"os":"plan9"`), 1), 0o644)
		_, err := layerstore.Open(b.Path)
		if err == nil || !strings.Contains(err.Error(), p+": its digest is sha256:") {
			t.Errorf("error %v", err)
		}
	})
	// A blob whose bytes are not its media type's compression is read
	// as its bytes say, as engines read it; zeros where the gzip was are
	// then not the blob named, and opening the layer says so.
	t.Run("layer of another compression", func(t *testing.T) {
		b := write(t)
		st, _ := os.Stat(blob(b, 0))
		os.WriteFile(blob(b, 0), make([]byte, st.Size()), 0o644)
		s, err := layerstore.Open(b.Path)
		if err != nil {
			t.Fatal(err)
		}
		tg, err := s.Resolve("busybox:latest")
		if err != nil {
			t.Fatal(err)
		}
		base := tg.Layers[len(tg.Layers)-1]
		if base.Archive.Compression != seekable.Uncompressed {
			t.Errorf("the zeros are read as %v", base.Archive.Compression)
		}
		_, err = layerstore.OpenArchiveLayer(base.Archive, base.DiffID)
		if err == nil || !strings.Contains(err.Error(), "reading its blob: the blob's digest is sha256:") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("layer of a media type that is no layer", func(t *testing.T) {
		b := write(t)
		idx, m := layoutManifest(t, b.Path)
		mdata, _ := os.ReadFile(m)
		mdata = bytes.Replace(mdata, []byte("application/vnd.oci.image.layer.v1.tar+gzip"), []byte("application/vnd.oci.image.layer.v1.tar+gzip+encrypted"), 1)
		os.WriteFile(m, mdata, 0o644)
		idx.Manifests[0].Digest = digest.FromBytes(mdata).String()
		idx.Manifests[0].Size = int64(len(mdata))
		data, _ := json.Marshal(idx)
		os.WriteFile(filepath.Join(b.Path, "index.json"), data, 0o644)
		os.WriteFile(filepath.Join(b.Path, imagetar.BlobPath(idx.Manifests[0].Digest)), mdata, 0o644)
		_, err := layerstore.Open(b.Path)
		if err == nil || !strings.Contains(err.Error(), `media type "application/vnd.oci.image.layer.v1.tar+gzip+encrypted" is not a layer read here`) {
			t.Errorf("error %v", err)
		}
	})
}

// layoutManifest is the index.json of the OCI layout at dir and the file
// of its first manifest.
func layoutManifest(t *testing.T, dir string) (imagetar.Index, string) {
	t.Helper()
	var idx imagetar.Index
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err == nil {
		err = json.Unmarshal(data, &idx)
	}
	if err != nil || len(idx.Manifests) == 0 {
		t.Fatalf("index.json: %v, %d manifests", err, len(idx.Manifests))
	}
	return idx, filepath.Join(dir, imagetar.BlobPath(idx.Manifests[0].Digest))
}
