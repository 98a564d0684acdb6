package layerstore_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

func writeStore(t *testing.T, names ...string) string {
	t.Helper()
	base := st.NewLayer("", st.F("a", "a"))
	var imgs []*st.Image
	for _, n := range names {
		imgs = append(imgs, &st.Image{Names: []string{n}, Layers: []*st.Layer{base}})
	}
	b, err := (&st.Store{Images: imgs}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	return b.Root
}

// A root one level off names the root next to it.
func TestNearRoots(t *testing.T) {
	root := writeStore(t, "busybox:latest")
	for _, off := range []string{filepath.Join(root, "aufs"), filepath.Join(root, "image", "aufs"), filepath.Dir(root)} {
		_, err := layerstore.Open(off)
		want := "opening store " + off + ": no store here: not a Docker root (image/<driver>/ of aufs, overlay2, fuse-overlayfs, overlay, vfs, or a pre-1.10 repositories-aufs or graph/), a containers/storage graphroot (overlay-layers/, vfs-layers/), a containerd root (io.containerd.metadata.v1.bolt/), an image archive or layout, nor a host's filesystem (var/lib/ and etc/) (did you mean " + root + "?)"
		if err == nil || err.Error() != want {
			t.Errorf("Open(%s): %v\nwant %s", off, err, want)
		}
	}
	if _, err := layerstore.Open(t.TempDir()); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("Open of an empty directory: %v, want no suggestion", err)
	}
}

// A user who may not read the store is told which directory. Root reads
// everything: as root the test writes the store and runs again as another
// user, who gets its path in $AUFSMOUNT_TEST_UNREADABLE.
func TestPermissionError(t *testing.T) {
	root, child := os.LookupEnv("AUFSMOUNT_TEST_UNREADABLE")
	if !child {
		root = writeStore(t, "busybox:latest")
		testenv.Public(t, filepath.Dir(root))
		if err := os.Chmod(root, 0); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(root, 0o700)
		if testenv.AsNobody(t, "AUFSMOUNT_TEST_UNREADABLE="+root) {
			return
		}
	}
	_, err := layerstore.Open(root)
	var pe *layerstore.PermissionError
	if !errors.As(err, &pe) || pe.Dir != root || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Open of an unreadable store: %v", err)
	}
}

// A name without its namespace or registry suggests the names it ends.
func TestSuggestSameName(t *testing.T) {
	root := writeStore(t, "team/app:v1", "registry:5000/team/app:v2", "other/apple:v1", "busybox:latest")
	s, err := layerstore.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string][]string{
		"app:v1":      {"team/app:v1", "registry:5000/team/app:v2"},
		"team/app:v2": {"team/app:v1", "registry:5000/team/app:v2"}, // the same name first, as before
		"app":         {"team/app:v1", "registry:5000/team/app:v2"},
	} {
		_, err := s.Resolve(ref)
		var nf *layerstore.NotFoundError
		if !errors.As(err, &nf) || !slices.Equal(nf.Suggestions, want) {
			t.Errorf("Resolve(%q): %v, want suggestions %q", ref, err, want)
		}
	}
}
