package layerstore_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

// indexEvents records what IndexArchive tells its IndexProgress.
type indexEvents struct {
	starts           []string // "image layers bytes"
	read             int64
	layersDone, ends int
}

func (e *indexEvents) progress() layerstore.IndexProgress {
	return layerstore.IndexProgress{
		Start: func(image string, layers int, bytes int64) {
			e.starts = append(e.starts, fmt.Sprintf("%s %d %d", image, layers, bytes))
		},
		Progress:  func(n int64) { e.read += n },
		LayerDone: func() { e.layersDone++ },
		End:       func() { e.ends++ },
	}
}

// TestIndexArchive indexes the images of archives of each kind through
// IndexArchive: its progress is told the layers with no index cached
// and their blobs' bytes, then those bytes as they are read, each layer
// and the end; the indexes are then cached, and a second pass, or one
// without a cache, tells nothing.
func TestIndexArchive(t *testing.T) {
	busybox, app := arcImages()
	blobSize := func(b *storetest.ArchiveBuilt, img *storetest.Image, i int) int64 {
		st, err := os.Stat(filepath.Join(b.Path, "blobs/sha256", b.Blobs[img][i][len("sha256:"):]))
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	for _, c := range []struct {
		name string
		a    storetest.Archive
		ref  string
		// The starts of indexing busybox, then app (which shares its
		// base, indexed by then), as "name layers bytes"; nil to take
		// the bytes from the layout's blobs.
		want []string
	}{
		{"docker save", storetest.Archive{Kind: storetest.DockerSave}, "docker-archive:%s:%s",
			[]string{"busybox:latest 2 9728", "registry.example:5000/team/app:v2 1 2048"}},
		{"oci layout gzip", storetest.Archive{Kind: storetest.OCILayout, Compression: "gzip"}, "oci:%s:%s", nil},
		{"oci layout zstd", storetest.Archive{Kind: storetest.OCILayout, Compression: "zstd", Index: true}, "oci:%s:%s", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			cache := t.TempDir()
			t.Setenv("XDG_CACHE_HOME", cache)
			t.Setenv("AUFSMOUNT_NO_CACHE", "")
			c.a.Images = []*storetest.Image{busybox, app}
			b, err := c.a.Write(filepath.Join(t.TempDir(), "image"))
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			if want == nil {
				want = []string{
					fmt.Sprintf("busybox:latest 2 %d", blobSize(b, busybox, 0)+blobSize(b, busybox, 1)),
					fmt.Sprintf("registry.example:5000/team/app:v2 1 %d", blobSize(b, app, 1)),
				}
			}
			s, err := layerstore.Open(b.Path)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, img := range []*storetest.Image{busybox, app} {
				tg, err := s.Resolve(img.Names[0])
				if err != nil {
					t.Fatal(err)
				}
				var e indexEvents
				layerstore.IndexArchive(tg, e.progress())
				got = append(got, e.starts...)
				var bytes int64
				var layers int
				fmt.Sscanf(want[i], img.Names[0]+" %d %d", &layers, &bytes)
				if len(e.starts) != 1 || e.read != bytes || e.layersDone != layers || e.ends != 1 {
					t.Errorf("%s: starts %q, %d bytes read, %d layers done, %d ends; want %d bytes, %d layers, one end", img.Names[0], e.starts, e.read, e.layersDone, e.ends, bytes, layers)
				}
				for _, d := range b.Blobs[img] {
					for _, ext := range []string{".seekable", ".tar"} {
						if _, err := os.Stat(filepath.Join(cache, "aufsmount/archive", d[len("sha256:"):]+ext)); err != nil {
							t.Errorf("%s: %v", img.Names[0], err)
						}
					}
				}
				// Cached now: nothing to do.
				var again indexEvents
				layerstore.IndexArchive(tg, again.progress())
				if again.starts != nil || again.read != 0 || again.layersDone != 0 || again.ends != 0 {
					t.Errorf("%s again: %+v", img.Names[0], again)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("starts %q, want %q", got, want)
			}
		})
	}
}

// TestIndexArchiveNoCache: without a cache the pass is the view's own,
// and IndexArchive reads nothing; a store's image has no blob to index.
func TestIndexArchiveNoCache(t *testing.T) {
	busybox, app := arcImages()
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	b, err := (&storetest.Archive{Kind: storetest.OCILayout, Compression: "gzip", Images: []*storetest.Image{busybox, app}}).Write(filepath.Join(t.TempDir(), "layout"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := (&storetest.Store{Driver: storetest.DriverOverlay2, Images: []*storetest.Image{busybox}}).Write(t.TempDir(), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	s, err := layerstore.Open(store.Root)
	if err != nil {
		t.Fatal(err)
	}
	own, err := s.Resolve("busybox:latest")
	if err != nil {
		t.Fatal(err)
	}
	var e indexEvents
	layerstore.IndexArchive(own, e.progress())
	t.Setenv("AUFSMOUNT_NO_CACHE", "1")
	arc, err := s.Resolve("oci:" + b.Path + ":busybox:latest")
	if err != nil {
		t.Fatal(err)
	}
	layerstore.IndexArchive(arc, e.progress())
	if e.starts != nil || e.read != 0 || e.layersDone != 0 || e.ends != 0 {
		t.Errorf("told %+v", e)
	}
	if ents, err := os.ReadDir(cache); err != nil || len(ents) != 0 {
		t.Errorf("the cache holds %v (%v)", ents, err)
	}
}
