package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

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
	ents, err := os.ReadDir(filepath.Join(all, "layers"))
	if err != nil || len(ents) == 0 {
		t.Fatalf("layers/: %v, %v", ents, err)
	}
	for _, e := range ents {
		if _, err := os.ReadDir(filepath.Join(all, "layers", e.Name())); err != nil {
			t.Error(err)
		}
	}
}
