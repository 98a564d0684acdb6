package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// legacySave writes a docker save of Docker before 1.10 holding img and
// another image of its base layer, and the store of the model.
func legacySave(t *testing.T) (img, base *st.Image, b *st.ArchiveBuilt, store *st.Built) {
	t.Helper()
	img = archiveImage()
	base = &st.Image{Names: []string{"test/base:1"}, Layers: img.Layers[:1]}
	imgs := []*st.Image{img, base}
	store, err := (&st.Store{Driver: st.DriverOverlay2, Images: imgs}).Write(filepath.Join(t.TempDir(), "store"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	b, err = (&st.Archive{Kind: st.DockerSaveLegacy, Images: imgs}).Write(filepath.Join(t.TempDir(), "old.tar"))
	if err != nil {
		t.Fatal(err)
	}
	return img, base, b, store
}

// TestArchiveLegacy opens a docker save of Docker before 1.10 with the
// binary: images lists its tags with the image ids docker load gives
// them, each image mounts as the model, verify reads every layer.tar,
// and history, inspect, layers, mount-all and save work as for any
// docker save.
func TestArchiveLegacy(t *testing.T) {
	testenv.FUSE(t)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	img, base, b, store := legacySave(t)
	stdout, stderr, code := run(t, "--root", b.Path, "images", "--no-trunc")
	if code != 0 || stderr != "" {
		t.Fatalf("images: exit %d, stderr %q", code, stderr)
	}
	for _, i := range []*st.Image{img, base} {
		repo, _, _ := strings.Cut(i.Names[0], ":")
		if !strings.Contains(stdout, b.ImageID[i]) || !strings.Contains(stdout, repo) {
			t.Errorf("images does not list %s as %s:\n%s", i.Names[0], b.ImageID[i], stdout)
		}
	}
	for _, i := range []*st.Image{img, base} {
		if err := st.Compare(mountRef(t, b.Path, i.Names[0]), store.View(i), archiveCompare); err != nil {
			t.Errorf("%s: %v", i.Names[0], err)
		}
	}
	if stdout, stderr, code := run(t, "--root", b.Path, "verify"); code != 0 || strings.Count(stdout, "OK ") < 2 {
		t.Errorf("verify: exit %d: %s%s", code, stdout, stderr)
	}
	for _, args := range [][]string{
		{"history", "test/app:1"},
		{"inspect", "test/app:1"},
		{"layers", "test/app:1"},
	} {
		if stdout, stderr, code := run(t, append([]string{"--root", b.Path}, args...)...); code != 0 || stdout == "" {
			t.Errorf("%s: exit %d: %s%s", args[0], code, stdout, stderr)
		}
	}
	all := t.TempDir()
	if _, stderr, code := run(t, "--root", b.Path, "mount-all", all); code != 0 {
		t.Fatalf("mount-all: exit %d: %s", code, stderr)
	}
	t.Cleanup(func() { daemonUnmount(t, all) })
	if _, err := os.Stat(filepath.Join(all, "images", "test", "app:1", "etc", "app.conf")); err != nil {
		t.Errorf("mount-all: %v", err)
	}
	out := filepath.Join(t.TempDir(), "saved.tar")
	if _, stderr, code := run(t, "--root", b.Path, "save", "-o", out, "test/app:1"); code != 0 {
		t.Fatalf("save: exit %d: %s", code, stderr)
	}
	if err := st.Compare(mountRef(t, out, "test/app:1"), store.View(img), archiveCompare); err != nil {
		t.Errorf("the saved archive mounted: %v", err)
	}
}

// TestArchiveLegacyDocker has a private Docker 20.10 load the legacy
// save: its image ids must be ours.
func TestArchiveLegacyDocker(t *testing.T) {
	testenv.FUSE(t)
	dockerd := testenv.Tool(t, "dockerd")
	docker := testenv.Tool(t, "docker")
	img, base, b, _ := legacySave(t)
	e := startEngine(t, dockerd, docker, "vfs")
	e.docker("load", "-i", b.Path)
	for _, i := range []*st.Image{img, base} {
		got := strings.TrimSpace(e.docker("image", "inspect", "-f", "{{.Id}}", i.Names[0]))
		if got != "sha256:"+b.ImageID[i] {
			t.Errorf("%s: docker load made %s, we say %s", i.Names[0], got, b.ImageID[i])
		}
		stdout, _, code := run(t, "--root", b.Path, "inspect", "-f", "{{.Id}}", i.Names[0])
		if code != 0 || strings.TrimSpace(stdout) != got {
			t.Errorf("%s: inspect says %q (exit %d), docker %s", i.Names[0], stdout, code, got)
		}
	}
	e.stop()
}
