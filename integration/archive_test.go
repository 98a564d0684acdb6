package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/imagetar"
)

// TestArchiveRules mounts every rule case as an image of an image
// archive of each kind, its layers served from their tar streams (plain,
// gzip, zstd), and compares the whole tree with the model of the same
// image in a store.
func TestArchiveRules(t *testing.T) {
	testenv.FUSE(t)
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	var imgs []*st.Image
	for i, tc := range ruleCases() {
		imgs = append(imgs, &st.Image{Names: []string{fmt.Sprintf("test/rule:%d", i)}, Layers: tc.layers})
	}
	store, err := (&st.Store{Driver: st.DriverOverlay2, Images: imgs}).Write(filepath.Join(t.TempDir(), "store"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct {
		name string
		a    st.Archive
	}{
		{"docker save", st.Archive{Kind: st.DockerSave}},
		{"docker save 25", st.Archive{Kind: st.DockerSave25}},
		{"docker save before 1.10", st.Archive{Kind: st.DockerSaveLegacy}},
		{"oci-archive", st.Archive{Kind: st.OCIArchive}},
		{"oci-archive gzip", st.Archive{Kind: st.OCIArchive, Compression: "gzip"}},
		{"oci-archive zstd", st.Archive{Kind: st.OCIArchive, Compression: "zstd"}},
		{"oci layout gzip", st.Archive{Kind: st.OCILayout, Compression: "gzip"}},
	} {
		t.Run(a.name, func(t *testing.T) {
			a.a.Images = imgs
			b, err := a.a.Write(filepath.Join(t.TempDir(), "image"))
			if err != nil {
				t.Fatal(err)
			}
			for i, tc := range ruleCases() {
				t.Run(tc.name, func(t *testing.T) {
					mnt := mountRef(t, b.Path, fmt.Sprintf("test/rule:%d", i))
					if err := st.Compare(mnt, store.View(imgs[i]), archiveCompare); err != nil {
						t.Error(err)
					}
					first := inodes(t, mnt)
					checkInodesAgree(t, mnt, first)
					// Each blob's indexes are cached by its digest; a
					// remount reads them, and numbers the same.
					for _, d := range b.Blobs[imgs[i]] {
						for _, ext := range []string{".seekable", ".tar"} {
							if _, err := os.Stat(filepath.Join(cache, "aufsmount/archive", d[len("sha256:"):]+ext)); err != nil {
								t.Errorf("blob %s: %v", d, err)
							}
						}
					}
					umountNow(t, mnt)
					mountRefAt(t, b.Path, fmt.Sprintf("test/rule:%d", i), mnt)
					sameInodes(t, "a remount", first, inodes(t, mnt))
					if err := st.Compare(mnt, store.View(imgs[i]), archiveCompare); err != nil {
						t.Errorf("remounted: %v", err)
					}
				})
			}
		})
	}
}

// TestArchiveNoCache mounts an image of a zstd and of a gzip
// oci-archive, of a gzip OCI layout, and of a docker save with -o
// kernel, with AUFSMOUNT_NO_CACHE set: nothing is cached, the view is
// the model's, and no file's access time moves.
func TestArchiveNoCache(t *testing.T) {
	testenv.FUSE(t)
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("AUFSMOUNT_NO_CACHE", "1")
	tc := ruleCases()[0]
	img := &st.Image{Names: []string{"test/rule:0"}, Layers: tc.layers}
	store, err := (&st.Store{Driver: st.DriverOverlay2, Images: []*st.Image{img}}).Write(filepath.Join(t.TempDir(), "store"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kind st.ArchiveKind
		comp string
	}{{st.OCIArchive, "zstd"}, {st.OCIArchive, "gzip"}, {st.OCILayout, "gzip"}, {st.DockerSaveLegacy, ""}} {
		b, err := (&st.Archive{Kind: c.kind, Compression: c.comp, Images: []*st.Image{img}}).Write(filepath.Join(t.TempDir(), "image"))
		if err != nil {
			t.Fatal(err)
		}
		// Reading the view (Compare reads every file) reads the
		// archive, and must not touch its access time: it is old, so
		// relatime would move it on a read.
		old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
		filepath.Walk(b.Path, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				os.Chtimes(p, old, time.Now())
			}
			return nil
		})
		snap := roSnap(t, filepath.Dir(b.Path))
		if err := st.Compare(mountRef(t, b.Path, "test/rule:0"), store.View(img), archiveCompare); err != nil {
			t.Errorf("%s: %v", c.comp, err)
		}
		checkStoreUnchanged(t, filepath.Dir(b.Path), c.comp+" view read whole", snap)
	}
	// The kernel path has no directory to stack: FUSE serves it.
	b, err := (&st.Archive{Kind: st.DockerSave, Images: []*st.Image{img}}).Write(filepath.Join(t.TempDir(), "image"))
	if err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	_, stderr, code := run(t, "--root", b.Path, "mount", "-o", "kernel", "test/rule:0", mnt)
	t.Cleanup(func() { unmountRef(t, mnt) })
	if code != 0 || !strings.Contains(stderr, "(a layer of an image archive)") || !strings.Contains(stderr, "serving through FUSE") {
		t.Fatalf("-o kernel: exit %d, stderr %q", code, stderr)
	}
	if err := st.Compare(mnt, store.View(img), archiveCompare); err != nil {
		t.Errorf("-o kernel: %v", err)
	}
	if ents, err := os.ReadDir(cache); err != nil || len(ents) != 0 {
		t.Errorf("the cache holds %v (%v), want nothing", ents, err)
	}
}

// archiveCompare compares a view of an image archive with the model as
// far as layer tars record it: times to the second, no root mtime, no
// sockets (as a view restored from tar-splits), and no holes.
var archiveCompare = st.CompareOptions{Restored: true, Dense: true}

// TestArchiveTruncatedGzip mounts an image of an OCI layout whose gzip
// layer ends early, its manifest naming the truncated blob (so the
// store opens, and only decompressing finds it): the mount fails,
// naming the member and the archive, and nothing is mounted.
func TestArchiveTruncatedGzip(t *testing.T) {
	testenv.FUSE(t)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i * i >> 7)
	}
	img := &st.Image{Names: []string{"test/app:1"}, Layers: []*st.Layer{l(st.F("etc/motd", "hello")), l(st.F("big", string(big)))}}
	b, err := (&st.Archive{Kind: st.OCILayout, Compression: "gzip", Images: []*st.Image{img}}).Write(filepath.Join(t.TempDir(), "layout"))
	if err != nil {
		t.Fatal(err)
	}
	old := b.Blobs[img][1]
	data, err := os.ReadFile(filepath.Join(b.Path, imagetar.BlobPath(old)))
	if err != nil {
		t.Fatal(err)
	}
	cut := data[:len(data)/2]
	cutDigest := imagetar.Digest(cut)
	blob := imagetar.BlobPath(cutDigest)
	if err := os.WriteFile(filepath.Join(b.Path, blob), cut, 0o644); err != nil {
		t.Fatal(err)
	}
	// The manifest names the new blob, and index.json the new manifest.
	var idx map[string]any
	readJSONFile(t, filepath.Join(b.Path, "index.json"), &idx)
	desc := idx["manifests"].([]any)[0].(map[string]any)
	var m map[string]any
	readJSONFile(t, filepath.Join(b.Path, imagetar.BlobPath(desc["digest"].(string))), &m)
	layer := m["layers"].([]any)[1].(map[string]any)
	if layer["digest"] != old {
		t.Fatalf("the manifest's second layer is %v, want %s", layer["digest"], old)
	}
	layer["digest"], layer["size"] = cutDigest, len(cut)
	mdata, _ := json.Marshal(m)
	desc["digest"], desc["size"] = imagetar.Digest(mdata), len(mdata)
	if err := os.WriteFile(filepath.Join(b.Path, imagetar.BlobPath(imagetar.Digest(mdata))), mdata, 0o644); err != nil {
		t.Fatal(err)
	}
	idata, _ := json.Marshal(idx)
	if err := os.WriteFile(filepath.Join(b.Path, "index.json"), idata, 0o644); err != nil {
		t.Fatal(err)
	}
	mountFailure(t, b.Path, "test/app:1", t.TempDir(), "layer "+blob+" of "+b.Path+": ", "truncated")
}

func readJSONFile(t *testing.T, p string, v any) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		t.Fatal(err)
	}
}
